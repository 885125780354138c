import * as tf from "@tensorflow/tfjs-core"
import type { Denoiser } from "./denoiser.js"
import type { Guidance } from "./guidance.js"
import type { TimeStep } from "./time-grid.js"
import type { ReverseStep } from "./update-rule.js"

/** What a step produced: x^0 = Phi(y_t, sigma_t) and the next iterate y_{t_next}; both are disposed after the observer. */
export interface StepEvent {
  /** 1 for the first step. */
  readonly index: number
  readonly total: number
  readonly t: number
  readonly tNext: number
  readonly x0: tf.Tensor4D
  readonly y: tf.Tensor4D
}

/** Sees every step, e.g. to record metrics or write checkpoints; the loop waits for it. */
export type StepObserver = (event: StepEvent) => void | Promise<void>

export interface ReverseProcess {
  readonly denoise: Denoiser
  /** sigma_t, the noise level the denoiser is called with. */
  readonly sigma: (t: number) => number
  readonly guidance: Guidance
  readonly update: ReverseStep
}

export interface LoopOptions {
  /** Return x^0 of the last step, or the last iterate. */
  readonly output: "x0" | "y"
  readonly onStep?: StepObserver
  /** Stops the run between two steps. */
  readonly signal?: AbortSignal
}

/** Runs the reverse process from y = start over the time grid; the caller keeps `start`. */
export const runReverseProcess = async (
  { denoise, sigma, guidance, update }: ReverseProcess,
  grid: readonly TimeStep[],
  start: tf.Tensor4D,
  { output, onStep, signal }: LoopOptions,
): Promise<tf.Tensor4D> => {
  let y = tf.clone(start)
  for (const [i, step] of grid.entries()) {
    // Let timers, signals and progress through between steps: the steps themselves are synchronous tensor work.
    await new Promise((resolve) => setImmediate(resolve))
    if (signal?.aborted) {
      y.dispose()
      throw new Error("sampling was interrupted")
    }
    const estimate = await guidance.estimate(denoise, y, sigma(step.tThis))
    const next = update.step({ y, ...estimate }, step.tThis, step.tNext)
    estimate.guidance?.gradient.dispose()
    await onStep?.({ index: i + 1, total: grid.length, t: step.tThis, tNext: step.tNext, x0: estimate.x0, y: next })
    y.dispose()
    if (step.last) {
      const [kept, dropped] = output === "x0" ? [estimate.x0, next] : [next, estimate.x0]
      dropped.dispose()
      return kept
    }
    estimate.x0.dispose()
    y = next
  }
  return y
}
