import * as tf from "@tensorflow/tfjs-core"
import type { ImageBatch, ImageSource } from "./types.js"

/** The batch as an NHWC float32 tensor (needs a registered tfjs backend; the pixels are copied). */
export const batchToTensor4D = (batch: ImageBatch): tf.Tensor4D => tf.tensor4d(batch.pixels, batch.shape, "float32")

/** Back from an NHWC tensor with 3 channels to a batch with the given ids. */
export const tensor4DToBatch = async (
  tensor: tf.Tensor4D,
  ids: string[],
  indices: number[] = ids.map((_, i) => i),
): Promise<ImageBatch> => {
  const [n, h, w, c] = tensor.shape
  if (c !== 3) throw new RangeError(`expected 3 channels, got ${c}`)
  if (ids.length !== n || indices.length !== n)
    throw new RangeError(`expected ${n} ids and indices, got ${ids.length} and ${indices.length}`)
  const pixels = (await tensor.data()) as Float32Array
  return { ids, indices, pixels: Float32Array.from(pixels), shape: [n, h, w, 3] }
}

/** The images of `source` with the given ids, in that order (ids may repeat), as one NHWC tensor. */
export const imagesById = async (source: ImageSource, ids: ReadonlyArray<string>): Promise<tf.Tensor4D> => {
  const position = new Map(source.ids.map((id, i) => [id, i]))
  const indices = ids.map((id) => {
    const i = position.get(id)
    if (i === undefined) throw new Error(`the clean images have no image '${id}' (connect the images the measurements were made from)`)
    return i
  })
  return batchToTensor4D(await source.load(indices))
}
