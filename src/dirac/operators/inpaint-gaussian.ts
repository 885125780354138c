import type { DegradationFamily } from "./family.js"
import { maskFamily } from "./mask-family.js"

/**
 * Gaussian inpainting mask (official `gaussian_mask_from_t`), severity = width w in px:
 *
 *   M_w[i, j] = (1 - exp(-((i - c_i)^2 + (j - c_j)^2) / (2 w^2)))^k,   (c_i, c_j) = (floor(H/2), floor(W/2)),
 *
 * k = 4, so (128, 128) is the masked centre of a 256 x 256 image (M = 0 there).
 * The official mask comes from scipy's `gaussian_filter` (truncate 4): outside
 * the box max(|i - c_i|, |j - c_j|) > R = floor(4 w + 0.5) the mask is exactly 1.
 * `truncate: null` gives the untruncated closed form. This equals the
 * official mask while R < ~1.5 min(H, W) (always at 256 x 256 with w <= 50);
 * beyond, scipy's reflections would also matter. w = 0 gives M = 1.
 * The process applies the identity at t = 0 (official M_0 = 1) although w(0) = 0.1.
 */
export interface InpaintGaussianOptions {
  /** w at t = 0 (official mask_min_std 0.1). */
  readonly widthMin?: number
  /** w at t = 1: 50 for CelebA-HQ / FFHQ (default), 30 for ImageNet. */
  readonly widthMax?: number
  /** Exponent k (official mask_pow 4). */
  readonly power?: number
  /** Truncation in units of w (scipy default 4); null: none. */
  readonly truncate?: number | null
}

export const gaussianMask = (height: number, width: number, w: number, power = 4, truncate: number | null = 4): Float32Array => {
  const mask = new Float32Array(height * width).fill(1)
  if (w === 0) return mask
  const ci = Math.floor(height / 2)
  const cj = Math.floor(width / 2)
  const radius = truncate === null ? Infinity : Math.floor(truncate * w + 0.5)
  const falloff = (d: number): number => (Math.abs(d) > radius ? 0 : Math.exp(-(d * d) / (2 * w * w)))
  const across = Array.from({ length: width }, (_, j) => falloff(j - cj))
  for (let i = 0; i < height; i++) {
    const down = falloff(i - ci)
    if (down === 0) continue
    for (let j = 0; j < width; j++) {
      if (across[j] === 0) continue
      mask[i * width + j] = (1 - down * across[j]!) ** power
    }
  }
  return mask
}

export const inpaintGaussianFamily = (options: InpaintGaussianOptions = {}): DegradationFamily => {
  const widthMin = options.widthMin ?? 0.1
  const widthMax = options.widthMax ?? 50
  const power = options.power ?? 4
  const truncate = options.truncate === undefined ? 4 : options.truncate
  if (!(widthMin >= 0 && widthMax >= widthMin && Number.isFinite(widthMax))) {
    throw new RangeError(`mask widths need 0 <= widthMin <= widthMax, got ${widthMin} .. ${widthMax}`)
  }
  if (!(power > 0) || (truncate !== null && !(truncate > 0 && Number.isFinite(truncate)))) {
    throw new RangeError(`power must be positive and truncate positive and finite (or null), got ${power}, ${truncate}`)
  }
  return maskFamily({
    kind: "inpaint-gaussian",
    severityLabel: "mask width (px)",
    severityRange: [widthMin, widthMax],
    description: { kind: "inpaint-gaussian", widthMin, widthMax, power, truncate },
    mask: (h, w, width) => gaussianMask(h, w, width, power, truncate),
  })
}
