import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"
import { gradientNormal } from "./gradient.js"

export type TikhonovPrior = "identity" | "gradient"

export interface TikhonovOptions {
  readonly lambda: number
  readonly prior: TikhonovPrior
  readonly iterations: number
  /** Stop an image early once ||r|| <= tolerance ||A^T y||. Default 1e-6. */
  readonly tolerance?: number
}

/** Per-image inner products of NHWC batches, shape [n, 1, 1, 1]. */
const dots = (a: tf.Tensor, b: tf.Tensor): tf.Tensor4D => tf.sum(tf.mul(a, b), [1, 2, 3], true) as tf.Tensor4D

/** (A_1^T A_1 + lambda L^T L) x. */
export const tikhonovNormal =
  (process: DegradationProcess, lambda: number, prior: TikhonovPrior) =>
  (x: tf.Tensor4D): tf.Tensor4D =>
    tf.tidy(() => {
      const data = process.AT(process.A(x, 1), 1)
      const regular = prior === "identity" ? x : gradientNormal(x)
      return tf.add(data, tf.mul(regular, lambda)) as tf.Tensor4D
    })

/**
 * Tikhonov-regularised least squares, min ||A_1 x - y||^2 + lambda ||L x||^2, by conjugate gradient on the normal
 * equations (A_1^T A_1 + lambda L^T L) x = A_1^T y, each image of the batch its own system, from x = A_1^T y.
 */
export const tikhonov = (process: DegradationProcess, y: tf.Tensor4D, options: TikhonovOptions): tf.Tensor4D => {
  if (!(options.lambda > 0)) throw new RangeError(`lambda must be positive, got ${options.lambda}`)
  const apply = tikhonovNormal(process, options.lambda, options.prior)
  const tolerance = options.tolerance ?? 1e-6
  const b = tf.tidy(() => process.AT(y, 1))
  const stop = tf.tidy(() => tf.mul(dots(b, b), tolerance * tolerance))
  let x = tf.clone(b)
  let r = tf.tidy(() => tf.sub(b, apply(x)) as tf.Tensor4D)
  let p = tf.clone(r)
  let rr = dots(r, r)
  for (let k = 0; k < options.iterations; k++) {
    const next = tf.tidy(() => {
      const Ap = apply(p)
      const pAp = dots(p, Ap)
      const active = tf.logicalAnd(tf.greater(rr, stop), tf.greater(pAp, 0))
      const alpha = tf.where(active, tf.div(rr, tf.where(active, pAp, tf.onesLike(pAp))), tf.zerosLike(pAp))
      const x1 = tf.add(x, tf.mul(alpha, p)) as tf.Tensor4D
      const r1 = tf.sub(r, tf.mul(alpha, Ap)) as tf.Tensor4D
      const rr1 = dots(r1, r1)
      const beta = tf.where(active, tf.div(rr1, tf.where(active, rr, tf.onesLike(rr))), tf.zerosLike(rr))
      const p1 = tf.add(r1, tf.mul(beta, p)) as tf.Tensor4D
      return { x1, r1, p1, rr1 }
    })
    tf.dispose([x, r, p, rr])
    x = next.x1 as tf.Tensor4D
    r = next.r1 as tf.Tensor4D
    p = next.p1 as tf.Tensor4D
    rr = next.rr1 as tf.Tensor4D
  }
  tf.dispose([b, stop, r, p, rr])
  return x
}
