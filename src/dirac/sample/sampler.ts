import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"
import { Rng, seedFromString } from "../random.js"
import type { Denoiser } from "./denoiser.js"
import { dataConsistencyGuidance, noGuidance } from "./guidance.js"
import { runReverseProcess } from "./loop.js"
import { stepRecord } from "./step-record.js"
import { timeGrid } from "./time-grid.js"
import type { SampleInput, SamplerArgs, StepRecord } from "./types.js"
import { diracStep, incrementalReconstruction, type StepNoise } from "./update-rule.js"

export { GuidanceNeedsGradient, networkDenoiser, type Denoiser } from "./denoiser.js"
export type { GuidanceArgs, SampleInput, SamplerArgs, StepRecord, UpdateRule } from "./types.js"

/** Noise drawn image by image from its own generator, seeded by `seed/id`, so results do not depend on the batch. */
const perImageNoise = (ids: ReadonlyArray<string>, seed: number, shape: [number, number, number, number]): StepNoise => {
  const rngs = ids.map((id) => Rng.fromSeed(seedFromString(`${seed}/${id}`)))
  const perImage = shape[1] * shape[2] * shape[3]
  return (std) =>
    tf.tensor4d(
      Float32Array.from({ length: shape[0] * perImage }, (_, k) => rngs[Math.floor(k / perImage)].normal() * std),
      shape,
    )
}

/**
 * Algorithm 1 of the paper, as the official sampler runs it: from y_1 = y~, for each step t -> t - dt
 *
 *   x^0 = Phi(y_t, sigma_t),  y^ = A_t(x^0)
 *   y_{t-dt} = y_t + R(x^0) + (sigma_t^2 - sigma_{t-dt}^2) / sigma_t^2 (y^ - y_t) [+ guidance] + sqrt(sigma_t^2 - sigma_{t-dt}^2) z
 *
 * with R the incremental reconstruction (look-ahead: A_{t-dt}(x^0) - y^). Guidance adds
 * -(sigma_t^2 - sigma_{t-dt}^2) c grad_{y_t} ||y~ - A_1(x^0)||^2 (the paper's sign). On the last step the output is
 * x^0 or y. Returns the output and the per-step records.
 */
export const diracSample = async (
  denoise: Denoiser,
  process: DegradationProcess,
  args: SamplerArgs,
  input: SampleInput,
): Promise<{ output: tf.Tensor4D; trajectory: StepRecord[] }> => {
  const startT = args.startT ?? 1
  const yTilde = input.measurements
  const guidance = args.guidance.step > 0 ? dataConsistencyGuidance(yTilde, process, args.guidance, process.sigma(startT)) : noGuidance
  const update = diracStep(process, incrementalReconstruction(args), perImageNoise(input.ids, input.seed, yTilde.shape))
  const trajectory: StepRecord[] = []
  const output = await runReverseProcess(
    { denoise, sigma: (t) => process.sigma(t), guidance, update },
    timeGrid(args.dt, args.stopT, startT),
    yTilde,
    {
      output: args.output,
      signal: input.signal,
      onStep: async ({ index, total, tNext, x0, y }) => {
        const record = await stepRecord(process, x0, y, tNext, input)
        trajectory.push(record)
        input.onStep?.(record, index, total)
      },
    },
  )
  return { output, trajectory }
}
