/**
 * Centre crop and antialiased bilinear resize, ported from Pillow (`Image.crop` + `Image.resize(BILINEAR)`,
 * libImaging/Resample.c, 8-bit fixed-point path) and torchvision's `center_crop` offsets. This is what the
 * official code runs (`torchvision.transforms.functional` on PIL images), so the result is bit-exact with
 * Pillow for the same decoded RGB bytes. sharp's own resize (libvips) differs: it box-shrinks first for large
 * factors and weights differently, so it is used only to decode.
 */

const PRECISION_BITS = 32 - 8 - 2

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface Rgb8 {
  readonly data: Uint8Array
  readonly width: number
  readonly height: number
}

/** Python's round(): halves go to the even neighbour. */
const roundHalfEven = (x: number): number => {
  const f = Math.floor(x)
  const d = x - f
  if (d > 0.5) return f + 1
  if (d < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}

/** torchvision `center_crop(img, size)` offsets for a square of side `size`: `int(round((H - size) / 2.0))`. */
export const centerCropOffsets = (width: number, height: number, size: number): { left: number; top: number } => ({
  left: roundHalfEven((width - size) / 2),
  top: roundHalfEven((height - size) / 2),
})

/** Crops a rectangle (must lie inside the image). */
export const cropRgb8 = (img: Rgb8, left: number, top: number, width: number, height: number): Rgb8 => {
  if (left < 0 || top < 0 || left + width > img.width || top + height > img.height) {
    throw new RangeError(`crop ${width}x${height}+${left}+${top} outside a ${img.width}x${img.height} image`)
  }
  if (left === 0 && top === 0 && width === img.width && height === img.height) return img
  const out = new Uint8Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3
    out.set(img.data.subarray(from, from + width * 3), y * width * 3)
  }
  return { data: out, width, height }
}

interface Coeffs {
  readonly ksize: number
  readonly bounds: Int32Array // per output: xmin, count
  readonly weights: Int32Array // per output: ksize fixed-point weights
}

/** Pillow `precompute_coeffs` + `normalize_coeffs_8bpc` for the triangle (bilinear) filter, support 1. */
const precomputeCoeffs = (inSize: number, outSize: number): Coeffs => {
  const scale = inSize / outSize
  const filterscale = Math.max(scale, 1)
  const support = filterscale
  const ksize = Math.ceil(support) * 2 + 1
  const bounds = new Int32Array(outSize * 2)
  const weights = new Int32Array(outSize * ksize)
  const k = new Float64Array(ksize)
  const ss = 1 / filterscale
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    const xmin = Math.max(0, Math.trunc(center - support + 0.5))
    const xmax = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin
    let ww = 0
    for (let x = 0; x < xmax; x++) {
      const t = Math.abs((x + xmin - center + 0.5) * ss)
      const w = t < 1 ? 1 - t : 0
      k[x] = w
      ww += w
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xmax && ww !== 0 ? k[x] / ww : 0
      weights[xx * ksize + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS))
    }
    bounds[xx * 2] = xmin
    bounds[xx * 2 + 1] = xmax
  }
  return { ksize, bounds, weights }
}

const clip8 = (v: number): number => (v >= 1 << (PRECISION_BITS + 8) ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS)

const resampleHorizontal = (img: Rgb8, outW: number, c: Coeffs): Rgb8 => {
  const { data, width, height } = img
  const out = new Uint8Array(outW * height * 3)
  const half = 1 << (PRECISION_BITS - 1)
  for (let y = 0; y < height; y++) {
    const row = y * width * 3
    for (let xx = 0; xx < outW; xx++) {
      const xmin = c.bounds[xx * 2]
      const n = c.bounds[xx * 2 + 1]
      const kOff = xx * c.ksize
      let s0 = half
      let s1 = half
      let s2 = half
      for (let x = 0; x < n; x++) {
        const w = c.weights[kOff + x]
        const p = row + (xmin + x) * 3
        s0 += data[p] * w
        s1 += data[p + 1] * w
        s2 += data[p + 2] * w
      }
      const o = (y * outW + xx) * 3
      out[o] = clip8(s0)
      out[o + 1] = clip8(s1)
      out[o + 2] = clip8(s2)
    }
  }
  return { data: out, width: outW, height }
}

const resampleVertical = (img: Rgb8, outH: number, c: Coeffs): Rgb8 => {
  const { data, width } = img
  const out = new Uint8Array(width * outH * 3)
  const half = 1 << (PRECISION_BITS - 1)
  const stride = width * 3
  for (let yy = 0; yy < outH; yy++) {
    const ymin = c.bounds[yy * 2]
    const n = c.bounds[yy * 2 + 1]
    const kOff = yy * c.ksize
    for (let i = 0; i < stride; i++) {
      let s = half
      for (let y = 0; y < n; y++) s += data[(ymin + y) * stride + i] * c.weights[kOff + y]
      out[yy * stride + i] = clip8(s)
    }
  }
  return { data: out, width, height: outH }
}

/** Pillow `Image.resize((outW, outH), Image.BILINEAR)` (antialiased when shrinking) on an RGB image. */
export const resizeBilinearPil = (img: Rgb8, outW: number, outH: number): Rgb8 => {
  let cur = img
  if (outW !== img.width) cur = resampleHorizontal(cur, outW, precomputeCoeffs(img.width, outW))
  if (outH !== img.height) cur = resampleVertical(cur, outH, precomputeCoeffs(img.height, outH))
  return cur
}

/** The official preprocessing: centre crop to the shorter side, then antialiased bilinear resize to a square. */
export const cropAndResizeSquare = (img: Rgb8, resolution: number): Rgb8 => {
  const side = Math.min(img.width, img.height)
  const { left, top } = centerCropOffsets(img.width, img.height, side)
  return resizeBilinearPil(cropRgb8(img, left, top, side, side), resolution, resolution)
}
