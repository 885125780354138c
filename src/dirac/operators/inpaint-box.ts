import type { DegradationFamily } from "./family.js"
import { maskFamily } from "./mask-family.js"

/**
 * Box inpainting mask (official `InpaintingOperator(mask_type='box')`),
 * severity = box side s = B t in px (continuous). With b = floor(s) and
 * box(n) = rows [floor(H/2) - floor(n/2), + n) x cols [floor(W/2) - floor(n/2), + n):
 *
 *   M_s = 0 on box(b),   1 - s + b on box(b + 1) \ box(b),   1 elsewhere.
 *
 * box(b) lies inside box(b + 1) and shares two of its sides, so the
 * fractional border is an L of one-pixel width: on the bottom and right edges
 * when b is even, on the top and left edges when b is odd. As s grows past an
 * integer, the border value falls to 0 and the next box takes over, so M_s is
 * continuous in s. M_0 = 1. Boxes are clipped to the image (the official
 * slicing misbehaves for boxes larger than the image).
 */
export interface InpaintBoxOptions {
  /** Box side B at t = 1, in px. */
  readonly boxSize: number
}

const fillCentreBox = (mask: Float32Array, height: number, width: number, side: number, value: number): void => {
  const clip = (start: number, n: number) => [Math.max(0, start), Math.min(n, start + side)] as const
  const [r0, r1] = clip(Math.floor(height / 2) - Math.floor(side / 2), height)
  const [c0, c1] = clip(Math.floor(width / 2) - Math.floor(side / 2), width)
  for (let i = r0; i < r1; i++) mask.fill(value, i * width + c0, i * width + c1)
}

export const boxMask = (height: number, width: number, side: number): Float32Array => {
  const mask = new Float32Array(height * width).fill(1)
  const whole = Math.floor(side)
  fillCentreBox(mask, height, width, whole + 1, 1 - side + whole)
  fillCentreBox(mask, height, width, whole, 0)
  return mask
}

export const inpaintBoxFamily = (options: InpaintBoxOptions): DegradationFamily => {
  const { boxSize } = options
  if (!(boxSize > 0 && Number.isFinite(boxSize))) throw new RangeError(`boxSize must be positive, got ${boxSize}`)
  return maskFamily({
    kind: "inpaint-box",
    severityLabel: "box side (px)",
    severityRange: [0, boxSize],
    description: { kind: "inpaint-box", boxSize },
    mask: boxMask,
  })
}
