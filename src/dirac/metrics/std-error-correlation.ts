import { clippedImages, type ImagePixels } from "./image-pixels.js"

/**
 * Does the pixelwise std over the samples of a measurement say where their mean is wrong? Pearson's r between
 * the std and the absolute error of the mean against the clean image (both clipped to [0, 1]), per image and
 * pooled over all pixels. r is null (undefined) where either has no spread (a constant std): never NaN.
 * A type, not an interface: it travels as JSON in the metric node's table.
 */
export type StdErrorCorrelation = {
  /** r of each measurement, in order. */
  readonly perImage: ReadonlyArray<number | null>
  /** r over the pixels of all measurements together. */
  readonly pooled: number | null
  /** Measurements whose r is defined; mean, std (over them, divided by their count) and interval are theirs. */
  readonly images: number
  readonly mean: number | null
  readonly std: number | null
  /** The 95% Student-t interval of the mean per-image r (at least two defined). */
  readonly interval: readonly [number, number] | null
}

/** Count, means, sums of squared deviations and of products of two paired series: what Pearson's r needs. */
export interface PairMoments {
  readonly n: number
  readonly meanA: number
  readonly meanB: number
  readonly ssA: number
  readonly ssB: number
  readonly sAB: number
}

/**
 * Below this standard deviation (data range 1) a series is constant up to the rounding of float32 pixels (6e-8
 * near 1) and r undefined.
 */
const SPREAD_FLOOR = 1e-6

const pearson = (m: PairMoments): number | null => {
  const flat = (ss: number) => Math.sqrt(ss / m.n) <= SPREAD_FLOOR
  if (m.n < 2 || flat(m.ssA) || flat(m.ssB)) return null
  return Math.max(-1, Math.min(1, m.sAB / Math.sqrt(m.ssA * m.ssB)))
}

/** Two-pass moments of two equally long series. */
const pairMoments = (a: Float64Array, b: Float64Array): PairMoments => {
  const n = a.length
  let sumA = 0
  let sumB = 0
  for (let i = 0; i < n; i++) {
    sumA += a[i]!
    sumB += b[i]!
  }
  const meanA = sumA / n
  const meanB = sumB / n
  let ssA = 0
  let ssB = 0
  let sAB = 0
  for (let i = 0; i < n; i++) {
    const da = a[i]! - meanA
    const db = b[i]! - meanB
    ssA += da * da
    ssB += db * db
    sAB += da * db
  }
  return { n, meanA, meanB, ssA, ssB, sAB }
}

/** The moments of two sets of pairs taken together (Chan, Golub and LeVeque's pairwise update). */
const merge = (x: PairMoments, y: PairMoments): PairMoments => {
  const n = x.n + y.n
  const [dA, dB] = [y.meanA - x.meanA, y.meanB - x.meanB]
  const w = (x.n * y.n) / n
  return {
    n,
    meanA: x.meanA + (dA * y.n) / n,
    meanB: x.meanB + (dB * y.n) / n,
    ssA: x.ssA + y.ssA + dA * dA * w,
    ssB: x.ssB + y.ssB + dB * dB * w,
    sAB: x.sAB + y.sAB + dA * dB * w,
  }
}

/**
 * Per measurement, the moments of (pixelwise std over its `samples` images, |their mean - clean|). `x` holds
 * the samples of a measurement together (samples * clean.shape[0] images), `clean` one image per measurement.
 */
export const stdErrorMoments = (x: ImagePixels, clean: ImagePixels, samples: number): PairMoments[] => {
  const [count, h, w, c] = clean.shape
  if (x.shape[0] !== count * samples || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== c)
    throw new RangeError(`expected ${samples} samples of each of ${count} images [${clean.shape.slice(1)}], got [${x.shape}]`)
  const [xs, cs] = [clippedImages(x).pixels, clippedImages(clean).pixels]
  const per = h * w * c
  return Array.from({ length: count }, (_, i) => {
    const [std, error] = [new Float64Array(per), new Float64Array(per)]
    for (let p = 0; p < per; p++) {
      let sum = 0
      for (let s = 0; s < samples; s++) sum += xs[(i * samples + s) * per + p]!
      const mean = sum / samples
      let squares = 0
      for (let s = 0; s < samples; s++) squares += (xs[(i * samples + s) * per + p]! - mean) ** 2
      std[p] = Math.sqrt(squares / samples)
      error[p] = Math.abs(mean - cs[i * per + p]!)
    }
    return pairMoments(std, error)
  })
}

/** Two-sided 95% quantiles of Student's t for 1 to 30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
]

/** The 0.975 quantile of Student's t; beyond the table, its Cornish-Fisher expansion around the normal's 1.96. */
export const tQuantile975 = (df: number): number => {
  if (df <= T_975.length) return T_975[df - 1]!
  const z = 1.959964
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)
}

/** Per-image and pooled r, with the mean, spread and 95% interval of the per-image values. */
export const summariseStdError = (moments: ReadonlyArray<PairMoments>): StdErrorCorrelation => {
  const perImage = moments.map(pearson)
  const defined = perImage.filter((r): r is number => r !== null)
  const k = defined.length
  const mean = k ? defined.reduce((s, r) => s + r, 0) / k : null
  const squares = mean === null ? 0 : defined.reduce((s, r) => s + (r - mean) ** 2, 0)
  const half = mean !== null && k >= 2 ? tQuantile975(k - 1) * Math.sqrt(squares / (k - 1) / k) : null
  return {
    perImage,
    pooled: moments.length ? pearson(moments.reduce(merge)) : null,
    images: k,
    mean,
    std: mean === null ? null : Math.sqrt(squares / k),
    interval: mean !== null && half !== null ? [mean - half, mean + half] : null,
  }
}

/** The rule by which a std map is called an uncertainty map, in words. */
export const UNCERTAINTY_MAP_RULE = "pooled r >= 0.3 and the 95% interval of the mean per-image r lies above 0"

/** Whether the std is clearly positively correlated with the error: see UNCERTAINTY_MAP_RULE. */
export const isUncertaintyMap = (c: StdErrorCorrelation): boolean =>
  c.pooled !== null && c.pooled >= 0.3 && c.interval !== null && c.interval[0] > 0
