import * as tf from "@tensorflow/tfjs-core"
import { checkNoiseLevels, PAPER_NOISE, sigmaAt, type NoiseLevels } from "./noise-levels.js"
import { officialBlurSchedule } from "./official-blur-table.js"
import { checkTime, linearSchedule, severityAt, tableSchedule, type SeveritySchedule } from "./severity-schedule.js"
import type { DegradationFamily, FamilyDescription } from "./family.js"
import { gaussianBlurFamily } from "./gaussian-blur.js"
import { inpaintBoxFamily } from "./inpaint-box.js"
import { inpaintGaussianFamily } from "./inpaint-gaussian.js"

/**
 * Stochastic degradation process (paper Def. 3.3):
 *
 *   y_t = A_t x_0 + sigma_t z,   z ~ N(0, I),   A_t = A^{family}_{s(t)},
 *
 * with s(t) the severity schedule and sigma_t the geometric noise schedule.
 * A_t is linear; A_t^T is its exact adjoint.
 */
export interface DegradationProcess {
  readonly family: DegradationFamily
  readonly schedule: SeveritySchedule
  readonly noise: NoiseLevels
  severity(t: number): number
  /** A_t x (the identity at t = 0 for families with `identityAtT0`). */
  A(x: tf.Tensor4D, t: number): tf.Tensor4D
  /** A_t^T y. */
  AT(y: tf.Tensor4D, t: number): tf.Tensor4D
  sigma(t: number): number
  describe(): ProcessDescription
}

export interface ProcessDescription {
  readonly family: FamilyDescription
  readonly schedule: SeveritySchedule
  readonly noise: NoiseLevels
}

export interface ProcessOptions {
  /** Default: linear over `family.severityRange` (the unscheduled process). */
  readonly schedule?: SeveritySchedule
  /** Default: the paper's 0.01 -> 0.05. */
  readonly noise?: NoiseLevels
}

export const degradationProcess = (family: DegradationFamily, options: ProcessOptions = {}): DegradationProcess => {
  const schedule = options.schedule ?? linearSchedule(...family.severityRange)
  const noise = options.noise ?? PAPER_NOISE
  checkNoiseLevels(noise)
  const operator =
    (op: (x: tf.Tensor4D, s: number) => tf.Tensor4D) =>
    (x: tf.Tensor4D, t: number): tf.Tensor4D => {
      checkTime(t)
      return t === 0 && family.identityAtT0 ? tf.clone(x) : op(x, severityAt(schedule, t))
    }
  return {
    family,
    schedule,
    noise,
    severity: (t) => severityAt(schedule, t),
    A: operator(family.apply),
    AT: operator(family.adjoint),
    sigma: (t) => sigmaAt(noise, t),
    describe: () => ({ family: family.describe(), schedule, noise }),
  }
}

export const familyFromDescription = (description: FamilyDescription): DegradationFamily => {
  switch (description.kind) {
    case "gaussian-blur":
      return gaussianBlurFamily(description)
    case "inpaint-gaussian":
      return inpaintGaussianFamily(description)
    case "inpaint-box":
      return inpaintBoxFamily(description)
    default:
      throw new RangeError(`unknown degradation family ${JSON.stringify((description as { kind?: unknown }).kind)}`)
  }
}

const scheduleFromDescription = (schedule: SeveritySchedule): SeveritySchedule => {
  switch (schedule?.kind) {
    case "linear":
      return linearSchedule(schedule.from, schedule.to)
    case "table":
      return tableSchedule(schedule.t, schedule.severity)
    default:
      throw new RangeError(`unknown severity schedule ${JSON.stringify((schedule as { kind?: unknown })?.kind)}`)
  }
}

/** Rebuilds a process from `describe()` output (e.g. after a JSON round trip); validates it. */
export const processFromDescription = (description: ProcessDescription): DegradationProcess =>
  degradationProcess(familyFromDescription(description.family), {
    schedule: scheduleFromDescription(description.schedule),
    noise: description.noise,
  })

/** The paper's deblurring process: std 0.3 -> 3.0 along the official 102-point table, noise 0.01 -> 0.05. */
export const paperDeblurProcess = (): DegradationProcess => degradationProcess(gaussianBlurFamily(), { schedule: officialBlurSchedule() })

/** The paper's Gaussian inpainting process: w = 0.1 -> 50 (CelebA-HQ / FFHQ) or 0.1 -> 30 (ImageNet), linear. */
export const paperInpaintProcess = (dataset: "celeba" | "imagenet" = "celeba"): DegradationProcess =>
  degradationProcess(inpaintGaussianFamily({ widthMax: dataset === "imagenet" ? 30 : 50 }))
