import * as tf from "@tensorflow/tfjs-core"
import { batchToTensor4D } from "../data/tensor.js"
import type { ImageSource } from "../data/types.js"
import type { DegradationProcess } from "../operators/process.js"
import { Rng, seedFromString } from "../random.js"

/**
 * Standard normal noise z of one image, drawn from `Rng.fromSeed(seedFromString(id))`
 * in NHWC index order: the same for an id in every run, batch and machine.
 * (Not bit-equal to the official torch noise, which seeds MT19937 with str2int(fname).)
 */
export const measurementNoise = (id: string, shape: readonly [number, number, number]): tf.Tensor3D => {
  const values = Rng.fromSeed(seedFromString(id)).fillNormal(new Float32Array(shape[0] * shape[1] * shape[2]))
  return tf.tensor3d(values, [...shape])
}

/** The measurement y~ = A_1 x + sigma_1 z, with z of image b from `measurementNoise(ids[b], ...)`. */
export const measure = (process: DegradationProcess, x: tf.Tensor4D, ids: readonly string[]): tf.Tensor4D => {
  const [batch, h, w, c] = x.shape
  if (ids.length !== batch) throw new RangeError(`measure needs one id per image (${ids.length} ids, batch ${batch})`)
  return tf.tidy(() => {
    const clean = process.A(x, 1)
    const sigma = process.sigma(1)
    if (sigma === 0) return clean
    const z = tf.stack(ids.map((id) => measurementNoise(id, [h, w, c]))) as tf.Tensor4D
    return tf.add(clean, tf.mul(z, sigma))
  })
}

/** Measures every image of a source, `batchSize` at a time: y~ [count, H, W, 3] and the images' ids. */
export const measureSource = async (
  process: DegradationProcess,
  source: ImageSource,
  batchSize: number,
  onBatch?: (done: number) => Promise<void>,
): Promise<{ ids: string[]; y: tf.Tensor4D }> => {
  const r = source.resolution
  const perImage = r * r * 3
  const y = new Float32Array(source.count * perImage)
  const ids: string[] = []
  for await (const batch of source.batches(batchSize)) {
    const measured = tf.tidy(() => measure(process, batchToTensor4D(batch), batch.ids))
    y.set(await measured.data(), ids.length * perImage)
    measured.dispose()
    ids.push(...batch.ids)
    await onBatch?.(ids.length)
  }
  return { ids, y: tf.tensor4d(y.subarray(0, ids.length * perImage), [ids.length, r, r, 3]) }
}
