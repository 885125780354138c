import * as tf from "@tensorflow/tfjs-core"

/**
 * NHWC images as a plain array (off the tfjs backend). The data loader's
 * `ImageBatch` (src/dirac/data/types.ts) is one too.
 */
export interface ImagePixels {
  readonly pixels: Float32Array
  readonly shape: readonly [number, number, number, number]
}

export type Images = tf.Tensor4D | ImagePixels

const isTensor = (x: Images): x is tf.Tensor4D => x instanceof tf.Tensor

/** The images with every value clipped to [0, 1] (metrics are defined on clipped images). Tensors: CPU backends only, see `readImages`. */
export const clippedImages = (x: Images): ImagePixels => {
  if (isTensor(x) && x.rank !== 4) throw new RangeError(`expected NHWC images, got shape [${x.shape}]`)
  const source = isTensor(x) ? x.dataSync() : x.pixels
  const pixels = new Float32Array(source.length)
  for (let i = 0; i < source.length; i++) pixels[i] = Math.min(1, Math.max(0, source[i]!))
  const [n, h, w, c] = x.shape
  return { pixels, shape: [n, h, w, c] }
}

/**
 * `clippedImages` on any backend. A GPU backend (webgpu) can only hand its
 * tensors back asynchronously, so code that may run there reads through this.
 */
export const readImages = async (x: Images): Promise<ImagePixels> => {
  if (!isTensor(x)) return clippedImages(x)
  if (x.rank !== 4) throw new RangeError(`expected NHWC images, got shape [${x.shape}]`)
  return clippedImages({ pixels: (await x.data()) as Float32Array, shape: x.shape })
}

export const checkSameShape = (a: ImagePixels, b: ImagePixels): void => {
  if (a.shape.length !== 4 || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new RangeError(`images differ in shape: [${a.shape}] vs [${b.shape}]`)
  }
}
