import { checkSameShape, clippedImages, type ImagePixels, type Images } from "./image-pixels.js"

/** Per-image MSE over H, W, C of already clipped images. */
export const mseOfPixels = (a: ImagePixels, b: ImagePixels): number[] => {
  checkSameShape(a, b)
  const n = a.shape[0]
  const size = a.pixels.length / n
  return Array.from({ length: n }, (_, k) => {
    let sum = 0
    for (let i = k * size; i < (k + 1) * size; i++) {
      const d = a.pixels[i]! - b.pixels[i]!
      sum += d * d
    }
    return sum / size
  })
}

/** PSNR in dB for data range 1 (official: 20 log10(1 / sqrt(MSE))); Infinity for equal images. */
export const psnrFromMse = (mse: number): number => -10 * Math.log10(mse)

/** Per-image mean squared error after clipping both inputs to [0, 1]. */
export const mse = (a: Images, b: Images): number[] => mseOfPixels(clippedImages(a), clippedImages(b))

/** Per-image PSNR (dB, data range 1) after clipping both inputs to [0, 1]. */
export const psnr = (a: Images, b: Images): number[] => mse(a, b).map(psnrFromMse)
