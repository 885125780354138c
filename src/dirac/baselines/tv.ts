import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"
import { gradient, gradientAdjoint } from "./gradient.js"

export interface TvOptions {
  readonly lambda: number
  readonly iterations: number
  /** A bound on ||A_1||^2; default: estimated by power iteration (>= 1 for blur and masks, whose norm is about 1). */
  readonly operatorNormSquared?: number
}

/** ||A_1||^2 estimated by power iteration on A_1^T A_1 (per batch, from a fixed start), raised 2% for safety. */
export const operatorNormSquared = (process: DegradationProcess, shape: [number, number, number, number], iterations = 30): number => {
  const [, h, w, c] = shape
  let v = tf.tidy(() => {
    const ramp = tf.add(tf.randomUniform([1, h, w, c], 0, 1, "float32", 7), 0.5)
    return tf.div(ramp, tf.norm(ramp)) as tf.Tensor4D
  })
  let estimate = 0
  for (let k = 0; k < iterations; k++) {
    const next = tf.tidy(() => process.AT(process.A(v, 1), 1))
    estimate = tf.tidy(() => tf.norm(next).dataSync()[0]!)
    v.dispose()
    v = tf.tidy(() => tf.div(next, Math.max(estimate, 1e-12)) as tf.Tensor4D)
    next.dispose()
  }
  v.dispose()
  return estimate * 1.02
}

const norms = new WeakMap<DegradationProcess, Map<string, number>>()

/** operatorNormSquared, estimated once per process and image size (tuning solves many times with the same A_1). */
const cachedNormSquared = (process: DegradationProcess, [, h, w, c]: [number, number, number, number]): number => {
  const known = norms.get(process) ?? new Map<string, number>()
  norms.set(process, known)
  const key = `${h}x${w}x${c}`
  const value = known.get(key) ?? operatorNormSquared(process, [1, h, w, c])
  known.set(key, value)
  return value
}

/**
 * Total-variation reconstruction, min 1/2 ||A_1 x - y||^2 + lambda TV(x) over x in [0, 1], with isotropic TV per
 * channel, by Chambolle-Pock (primal-dual hybrid gradient) with K = [A_1; grad], ||K||^2 <= ||A_1||^2 + 8 and
 * tau = sigma = 0.99 / ||K||. Starts from x = clip(A_1^T y).
 */
export const tv = (process: DegradationProcess, y: tf.Tensor4D, options: TvOptions): tf.Tensor4D => {
  if (!(options.lambda > 0)) throw new RangeError(`lambda must be positive, got ${options.lambda}`)
  const shape = y.shape
  const normK = Math.sqrt(Math.max(options.operatorNormSquared ?? cachedNormSquared(process, shape), 1) + 8)
  const step = 0.99 / normK
  const lambda = options.lambda
  let x = tf.tidy(() => tf.clipByValue(process.AT(y, 1), 0, 1) as tf.Tensor4D)
  let bar = tf.clone(x)
  let p = tf.zerosLike(y)
  let qh = tf.zerosLike(x)
  let qw = tf.zerosLike(x)
  for (let k = 0; k < options.iterations; k++) {
    const next = tf.tidy(() => {
      // dual of the data term F1(z) = 1/2 ||z - y||^2: prox of sigma F1* is (v - sigma y) / (1 + sigma)
      const p1 = tf.div(tf.sub(tf.add(p, tf.mul(process.A(bar, 1), step)), tf.mul(y, step)), 1 + step)
      // dual of lambda ||.||_{2,1}: projection onto the pointwise ball of radius lambda
      const [gh, gw] = gradient(bar)
      const vh = tf.add(qh, tf.mul(gh, step))
      const vw = tf.add(qw, tf.mul(gw, step))
      const scale = tf.maximum(tf.div(tf.sqrt(tf.add(tf.square(vh), tf.square(vw))), lambda), 1)
      const qh1 = tf.div(vh, scale) as tf.Tensor4D
      const qw1 = tf.div(vw, scale) as tf.Tensor4D
      const x1 = tf.clipByValue(tf.sub(x, tf.mul(tf.add(process.AT(p1 as tf.Tensor4D, 1), gradientAdjoint(qh1, qw1)), step)), 0, 1)
      const bar1 = tf.sub(tf.mul(x1, 2), x)
      return { p1, qh1, qw1, x1, bar1 }
    })
    tf.dispose([x, bar, p, qh, qw])
    x = next.x1 as tf.Tensor4D
    bar = next.bar1 as tf.Tensor4D
    p = next.p1 as tf.Tensor4D
    qh = next.qh1 as tf.Tensor4D
    qw = next.qw1 as tf.Tensor4D
  }
  tf.dispose([bar, p, qh, qw])
  return x
}
