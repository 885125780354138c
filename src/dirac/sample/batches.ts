/**
 * The reverse process over a set of measurements, batch by batch, with several samples per measurement, resumable
 * from any batch boundary: `from` gives the measurements done and their samples, and `onBatch` sees the same
 * after each batch (to report progress and checkpoint). Noise derives from (seed, id, sample), so the result
 * does not depend on the batch size or on where a run was resumed.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"
import type { Denoiser } from "./denoiser.js"
import { diracSample } from "./sampler.js"
import { addBatch, emptyTrajectories, type Trajectories } from "./trajectories.js"
import type { SamplerArgs } from "./types.js"

export interface SamplingState {
  /** Measurements done. */
  readonly done: number
  readonly trajectories: Trajectories
}

export interface BatchSampling {
  readonly denoiser: Denoiser
  readonly process: DegradationProcess
  readonly args: SamplerArgs
  /** Measurements y~ [N, H, W, 3] and their ids; the first `count` are sampled. */
  readonly y: tf.Tensor4D
  readonly ids: ReadonlyArray<string>
  readonly count: number
  readonly samples: number
  readonly batchSize: number
  readonly seed: number
  /** The clean images of the given ids, in their order, for per-step metrics. */
  readonly clean?: (ids: ReadonlyArray<string>) => Promise<tf.Tensor4D>
  readonly perceptual?: (a: tf.Tensor4D, b: tf.Tensor4D) => Promise<number[]>
  readonly signal?: AbortSignal
  /** After each step of the reverse process: measurements done, with the current batch's share as a fraction. */
  readonly onStep?: (measurementsDone: number) => void
}

export interface SampledSet {
  /** count x samples images, the samples of a measurement together (NHWC, flattened). */
  readonly x: Float32Array
  readonly state: SamplingState
}

export const repeatEach = <T>(items: ReadonlyArray<T>, n: number): T[] => items.flatMap((item) => Array.from({ length: n }, () => item))

/** Where a run that has done nothing starts. */
export const samplingStart = (job: Pick<BatchSampling, "args" | "process">): SamplingState => ({
  done: 0,
  trajectories: emptyTrajectories(job.args.dt, job.process.sigma(1) ** 2),
})

export const sampleInBatches = async (
  job: BatchSampling,
  from: SampledSet,
  onBatch: (done: SampledSet, stepsPerTrajectory: number) => Promise<void>,
): Promise<SampledSet> => {
  const { y, samples: n, count } = job
  const per = y.shape[1] * y.shape[2] * 3
  const x = from.x
  let state = from.state
  while (state.done < count) {
    const start = state.done
    const size = Math.min(job.batchSize, count - start)
    const ids = job.ids.slice(start, start + size)
    const batchY = tf.tidy(() =>
      tf.gather(
        tf.slice(y, [start, 0, 0, 0], [size, -1, -1, -1]),
        repeatEach(
          ids.map((_, i) => i),
          n,
        ),
      ),
    )
    const clean = job.clean ? await job.clean(repeatEach(ids, n)) : undefined
    try {
      const result = await diracSample(job.denoiser, job.process, job.args, {
        measurements: batchY,
        ids: ids.flatMap((id) => Array.from({ length: n }, (_, s) => `${id}#${s}`)),
        seed: job.seed,
        ...(job.signal ? { signal: job.signal } : {}),
        ...(job.onStep ? { onStep: (_: unknown, step: number, total: number) => job.onStep!(start + (size * step) / total) } : {}),
        ...(clean ? { clean } : {}),
        ...(clean && job.perceptual ? { perceptual: job.perceptual } : {}),
      })
      x.set(await result.output.data(), start * n * per)
      result.output.dispose()
      state = { done: start + size, trajectories: addBatch(state.trajectories, result.trajectory) }
      await onBatch({ x, state }, result.trajectory.length)
    } finally {
      tf.dispose([batchY, ...(clean ? [clean] : [])])
    }
  }
  return { x, state }
}
