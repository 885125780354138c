import * as tf from "@tensorflow/tfjs-core"
import { dataConsistencyLoss } from "../metrics/data-consistency.js"
import type { DegradationProcess } from "../operators/process.js"
import { GuidanceNeedsGradient, type Denoiser } from "./denoiser.js"
import type { GuidanceArgs } from "./types.js"

/** The gradient a guidance adds to the update, per image scaled by `weights` and by sigma_t^2 - sigma_next^2. */
export interface GuidanceGradient {
  readonly gradient: tf.Tensor4D
  /** Signed step size per image. */
  readonly weights: Float32Array
}

/** x^0 = Phi(y_t, sigma_t), with the guidance gradient at y_t when guidance is on. */
export interface Estimate {
  readonly x0: tf.Tensor4D
  readonly guidance?: GuidanceGradient
}

/** How x^0 and its guidance gradient come from one forward pass of the denoiser at y_t. */
export interface Guidance {
  estimate(denoise: Denoiser, y: tf.Tensor4D, sigma: number): Promise<Estimate>
}

export const noGuidance: Guidance = {
  estimate: async (denoise, y, sigma) => ({ x0: await denoise(y, sigma) }),
}

/**
 * Guidance towards the measurement: the gradient of ||y~ - A_1(x^0)||^2 with respect to y_t, through the denoiser.
 * The paper's sign descends on it (Algorithm 1), the official code's ascends; `sigma1` scales the "std" step size.
 */
export const dataConsistencyGuidance = (
  measurements: tf.Tensor4D,
  process: DegradationProcess,
  args: GuidanceArgs,
  sigma1: number,
): Guidance => ({
  estimate: async (denoise, y, sigma) => {
    let kept: { x0: tf.Tensor4D; losses: tf.Tensor1D } | undefined
    const { value, grad } = tf.valueAndGrad((yt: tf.Tensor) => {
      const estimate = denoise(yt as tf.Tensor4D, sigma)
      if (estimate instanceof Promise) {
        estimate.then(
          (t) => t.dispose(),
          () => undefined,
        )
        throw new GuidanceNeedsGradient(
          "guidance needs the gradient through the network, which this engine cannot give: sample with the tfjs engine",
        )
      }
      const losses = dataConsistencyLoss(measurements, process, estimate)
      kept = { x0: tf.keep(estimate), losses: tf.keep(losses) }
      return tf.sum(losses)
    })(y)
    value.dispose()
    const losses = await kept!.losses.data()
    kept!.losses.dispose()
    const sign = args.sign === "paper" ? -1 : 1
    const stepSize = (loss: number) =>
      args.scaling === "std" ? (args.step * 0.5) / (sigma1 * sigma1) : args.step / Math.sqrt(loss + 1e-30)
    return { x0: kept!.x0, guidance: { gradient: grad as tf.Tensor4D, weights: Float32Array.from(losses, (l) => sign * stepSize(l)) } }
  },
})
