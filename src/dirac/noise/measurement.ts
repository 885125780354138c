import * as tf from "@tensorflow/tfjs-core"
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
