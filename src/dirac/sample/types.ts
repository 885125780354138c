import type * as tf from "@tensorflow/tfjs-core"

/** How y_t moves towards the next severity (paper Appendix I). */
export type UpdateRule = "look-ahead" | "small-look-ahead" | "look-back" | "small-look-back"

export interface GuidanceArgs {
  /** Step size eta; 0 turns guidance off. */
  readonly step: number
  /** std: eta / (2 sigma_1^2); error: eta / ||y~ - A_1(x^0)|| per image (DPS-style). */
  readonly scaling: "std" | "error"
  /** paper: descent on ||y~ - A_1(x^0)||^2 (Algorithm 1); official: the code's ascent sign. */
  readonly sign: "paper" | "official"
}

export interface SamplerArgs {
  readonly dt: number
  /** The run stops after the step whose t_next falls below t_stop (0: run to the end). */
  readonly stopT: number
  readonly startT?: number
  readonly update: UpdateRule
  /** delta of the small look-ahead/back rules. */
  readonly delT?: number
  readonly guidance: GuidanceArgs
  /** Return the posterior-mean estimate x^0 of the last step, or the iterate y_t itself. */
  readonly output: "x0" | "y"
}

/** Per-step record of the reverse process; image metrics only when the clean images are known. */
export interface StepRecord {
  readonly t: number
  /** eps_dc = mean((y~ - A_1(x^0))^2) per image: near sigma_1^2 when x^0 is consistent with the measurement. */
  readonly epsDc: number[]
  readonly psnrX0?: number[]
  readonly ssimX0?: number[]
  readonly psnrY?: number[]
  readonly ssimY?: number[]
  readonly perceptualX0?: number[]
  readonly perceptualY?: number[]
}

export interface SampleInput {
  /** Measurements y~ [B, H, W, 3]. */
  readonly measurements: tf.Tensor4D
  /** One id per measurement: seeds the reverse-process noise, so results do not depend on the batch. */
  readonly ids: ReadonlyArray<string>
  readonly seed: number
  /** Clean images for per-step metrics. */
  readonly clean?: tf.Tensor4D
  readonly onStep?: (record: StepRecord, step: number, total: number) => void
  /** Stops the run between two steps (the caller was interrupted). */
  readonly signal?: AbortSignal
  /** A perceptual distance per image (lower is better), recorded for x^0 and y_t when the clean images are known. */
  readonly perceptual?: (a: tf.Tensor4D, b: tf.Tensor4D) => Promise<number[]>
}
