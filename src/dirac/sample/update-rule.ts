import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"
import type { Estimate } from "./guidance.js"
import type { SamplerArgs } from "./types.js"

/** The iterate y_t with the estimate x^0 = Phi(y_t, sigma_t) (and the guidance gradient) taken at it. */
export interface SamplerState extends Estimate {
  readonly y: tf.Tensor4D
}

/** One reverse step: y_{t_next} from the state at t. */
export interface ReverseStep {
  step(state: SamplerState, t: number, tNext: number): tf.Tensor4D
}

/** R(x^0), the incremental reconstruction (paper Appendix I), from A(s) = A_s(x^0) and y^ = A_t(x^0). */
export type IncrementalReconstruction = (A: (t: number) => tf.Tensor4D, yHat: tf.Tensor4D, t: number, tNext: number) => tf.Tensor4D

export const lookAhead: IncrementalReconstruction = (A, yHat, _t, tNext) => tf.sub(A(tNext), yHat)

export const smallLookAhead =
  (dt: number, del: number): IncrementalReconstruction =>
  (A, yHat, t) =>
    tf.mul(tf.sub(A(t - del), yHat), dt / del)

/** At t = 1 (nothing to look back to) the look-back rules look ahead. */
export const lookBack =
  (dt: number): IncrementalReconstruction =>
  (A, yHat, t, tNext) =>
    t + dt >= 1 ? lookAhead(A, yHat, t, tNext) : tf.sub(yHat, A(t + dt))

export const smallLookBack =
  (dt: number, del: number): IncrementalReconstruction =>
  (A, yHat, t, tNext) =>
    t + del >= 1 ? smallLookAhead(dt, del)(A, yHat, t, tNext) : tf.mul(tf.sub(yHat, A(t + del)), dt / del)

export const incrementalReconstruction = (args: Pick<SamplerArgs, "update" | "dt" | "delT">): IncrementalReconstruction => {
  const del = args.delT ?? args.dt / 2
  switch (args.update) {
    case "look-ahead":
      return lookAhead
    case "small-look-ahead":
      return smallLookAhead(args.dt, del)
    case "look-back":
      return lookBack(args.dt)
    case "small-look-back":
      return smallLookBack(args.dt, del)
  }
}

/** Standard normal noise times `std`, [B, H, W, C] like the iterate. */
export type StepNoise = (std: number) => tf.Tensor4D

/**
 * Algorithm 1's update, as the official sampler runs it, with dVar = sigma_t^2 - sigma_next^2:
 *
 *   y_next = y_t + R(x^0) + dVar / sigma_t^2 (A_t(x^0) - y_t) [+ dVar w grad] + sqrt(dVar) z
 */
export const diracStep = (process: DegradationProcess, reconstruction: IncrementalReconstruction, noise: StepNoise): ReverseStep => ({
  step: ({ y, x0, guidance }, t, tNext) => {
    const sThis = process.sigma(t)
    const sNext = process.sigma(tNext)
    const dVar = sThis * sThis - sNext * sNext
    const diffusion = noise(Math.sqrt(Math.max(dVar, 0)))
    const next = tf.tidy(() => {
      const A = (s: number) => process.A(x0, Math.min(Math.max(s, 0), 1))
      const yHat = process.A(x0, t)
      let denoising = tf.mul(tf.sub(yHat, y), dVar / (sThis * sThis))
      if (guidance) denoising = tf.add(denoising, weightedGradient(guidance.gradient, guidance.weights, dVar))
      return tf.add(tf.add(tf.add(y, reconstruction(A, yHat, t, tNext)), denoising), diffusion) as tf.Tensor4D
    })
    diffusion.dispose()
    return next
  },
})

const weightedGradient = (gradient: tf.Tensor4D, weights: Float32Array, dVar: number) =>
  tf.mul(
    gradient,
    tf.tensor(
      Array.from(weights, (w) => w * dVar),
      [weights.length, 1, 1, 1],
    ),
  )
