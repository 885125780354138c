import { checkSameShape, clippedImages, type ImagePixels, type Images } from "./image-pixels.js"

/**
 * SSIM (Wang et al. 2004) with the usual constants: 11 x 11 Gaussian window
 * (sigma 1.5, normalised 1-D taps at -5..5, applied separably), K1 = 0.01,
 * K2 = 0.03, data range L = 1, C1 = (K1 L)^2, C2 = (K2 L)^2:
 *
 *   SSIM = (2 mu_a mu_b + C1)(2 sigma_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(sigma_a^2 + sigma_b^2 + C2)),
 *
 * mu = G * x, sigma_a^2 = G * a^2 - mu_a^2, sigma_ab = G * (a b) - mu_a mu_b (no
 * sample-covariance correction). Filtering is "valid" (no padding): the map is
 * (H - 10) x (W - 10), averaged per channel, then over channels, per image.
 * This is `pytorch_msssim.ssim(..., size_average=False)` and skimage's
 * `structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=1)`; torchmetrics >= 1.x instead
 * reflect-pads and averages the full map (small differences near borders).
 */

const RADIUS = 5
const C1 = 0.01 ** 2
const C2 = 0.03 ** 2

const WINDOW: Float64Array = (() => {
  const g = Float64Array.from({ length: 2 * RADIUS + 1 }, (_, i) => Math.exp(-((i - RADIUS) ** 2) / (2 * 1.5 * 1.5)))
  const sum = g.reduce((s, v) => s + v, 0)
  return g.map((v) => v / sum)
})()

// The window's taps from the centre outwards (it is symmetric), for the unrolled loops below.
const [G5, G4, G3, G2, G1, G0] = WINDOW

/** Per-candidate part of SSIM: channel planes, local means and local variances. */
export interface SsimFeatures {
  readonly images: number
  readonly channels: number
  readonly height: number
  readonly width: number
  /** Planes (image-major, then channel) of H x W pixels. */
  readonly planes: Float32Array
  /** Planes of (H - 10) x (W - 10) local means. */
  readonly mean: Float32Array
  readonly variance: Float32Array
}

/**
 * Valid Gaussian filter G * a (or G * (a b) when `b` is given) of the H x W
 * plane at `offset`, into `out`; `row` and `rows` are scratch (see `scratch`).
 * Plain parameters, not closure variables, keep this hot loop fast in V8.
 */
const filterValid = (
  a: Float32Array,
  b: Float32Array | null,
  offset: number,
  h: number,
  w: number,
  out: Float64Array,
  row: Float64Array,
  rows: Float64Array,
): void => {
  const ow = w - 2 * RADIUS
  const oh = h - 2 * RADIUS
  for (let i = 0; i < h; i++) {
    const base = offset + i * w
    if (b === null) for (let j = 0; j < w; j++) row[j] = a[base + j]!
    else for (let j = 0; j < w; j++) row[j] = a[base + j]! * b[base + j]!
    const r = i * ow
    for (let j = 0; j < ow; j++) {
      rows[r + j] =
        G0 * row[j + 5]! +
        G1 * (row[j + 4]! + row[j + 6]!) +
        G2 * (row[j + 3]! + row[j + 7]!) +
        G3 * (row[j + 2]! + row[j + 8]!) +
        G4 * (row[j + 1]! + row[j + 9]!) +
        G5 * (row[j]! + row[j + 10]!)
    }
  }
  for (let i = 0; i < oh; i++) {
    const o = i * ow
    const [r0, r1, r2, r3, r4, r5] = [o, o + ow, o + 2 * ow, o + 3 * ow, o + 4 * ow, o + 5 * ow]
    const [r6, r7, r8, r9, r10] = [o + 6 * ow, o + 7 * ow, o + 8 * ow, o + 9 * ow, o + 10 * ow]
    for (let j = 0; j < ow; j++) {
      out[o + j] =
        G0 * rows[r5 + j]! +
        G1 * (rows[r4 + j]! + rows[r6 + j]!) +
        G2 * (rows[r3 + j]! + rows[r7 + j]!) +
        G3 * (rows[r2 + j]! + rows[r8 + j]!) +
        G4 * (rows[r1 + j]! + rows[r9 + j]!) +
        G5 * (rows[r0 + j]! + rows[r10 + j]!)
    }
  }
}

const scratch = (h: number, w: number) => ({
  area: (h - 2 * RADIUS) * (w - 2 * RADIUS),
  row: new Float64Array(w),
  rows: new Float64Array(h * (w - 2 * RADIUS)),
})

/** SSIM features of clipped images (see `clippedImages`). */
export const ssimFeatures = (x: ImagePixels): SsimFeatures => {
  const [n, h, w, c] = x.shape
  if (h <= 2 * RADIUS || w <= 2 * RADIUS) throw new RangeError(`SSIM needs images larger than 10 x 10, got ${h} x ${w}`)
  const planes = new Float32Array(n * c * h * w)
  for (let k = 0; k < n; k++)
    for (let ch = 0; ch < c; ch++) {
      const plane = (k * c + ch) * h * w
      for (let p = 0; p < h * w; p++) planes[plane + p] = x.pixels[(k * h * w + p) * c + ch]!
    }
  const { area, row, rows } = scratch(h, w)
  const mean = new Float32Array(n * c * area)
  const variance = new Float32Array(n * c * area)
  const mu = new Float64Array(area)
  const squares = new Float64Array(area)
  for (let p = 0; p < n * c; p++) {
    filterValid(planes, null, p * h * w, h, w, mu, row, rows)
    filterValid(planes, planes, p * h * w, h, w, squares, row, rows)
    for (let q = 0; q < area; q++) {
      mean[p * area + q] = mu[q]!
      variance[p * area + q] = squares[q]! - mu[q]! * mu[q]!
    }
  }
  return { images: n, channels: c, height: h, width: w, planes, mean, variance }
}

/** Per-image SSIM of two feature sets of equally shaped images. */
export const ssimFromFeatures = (a: SsimFeatures, b: SsimFeatures): number[] => {
  const { images: n, channels: c, height: h, width: w } = a
  if (n !== b.images || c !== b.channels || h !== b.height || w !== b.width) throw new RangeError("SSIM of differently shaped images")
  const { area, row, rows } = scratch(h, w)
  const cross = new Float64Array(area)
  const result: number[] = []
  for (let k = 0; k < n; k++) {
    let sum = 0
    for (let ch = 0; ch < c; ch++) {
      const p = k * c + ch
      filterValid(a.planes, b.planes, p * h * w, h, w, cross, row, rows)
      for (let q = 0; q < area; q++) {
        const ma = a.mean[p * area + q]!
        const mb = b.mean[p * area + q]!
        const cov = cross[q]! - ma * mb
        sum +=
          ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (a.variance[p * area + q]! + b.variance[p * area + q]! + C2))
      }
    }
    result.push(sum / (area * c))
  }
  return result
}

export const ssimOfPixels = (a: ImagePixels, b: ImagePixels): number[] => {
  checkSameShape(a, b)
  return ssimFromFeatures(ssimFeatures(a), ssimFeatures(b))
}

/** Per-image SSIM after clipping both inputs to [0, 1]. */
export const ssim = (a: Images, b: Images): number[] => ssimOfPixels(clippedImages(a), clippedImages(b))
