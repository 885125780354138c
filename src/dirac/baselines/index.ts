import * as tf from "@tensorflow/tfjs-core"
import { psnr } from "../metrics/mse-psnr.js"
import type { DegradationProcess } from "../operators/process.js"
import { tikhonov, type TikhonovPrior } from "./tikhonov.js"
import { tv } from "./tv.js"

export { gradient, gradientAdjoint } from "./gradient.js"
export { tikhonov, tikhonovNormal, type TikhonovPrior } from "./tikhonov.js"
export { operatorNormSquared, tv } from "./tv.js"

export type BaselineMethod = "tikhonov" | "tv"

export interface BaselineOptions {
  readonly method: BaselineMethod
  readonly lambda: number
  readonly iterations: number
  /** tikhonov only; default gradient. */
  readonly prior?: TikhonovPrior
}

/** A classical reconstruction of measurements y~ = A_1 x + noise: Tikhonov (CG) or TV (Chambolle-Pock). */
export const baseline = (process: DegradationProcess, y: tf.Tensor4D, options: BaselineOptions): tf.Tensor4D =>
  options.method === "tikhonov"
    ? tikhonov(process, y, { lambda: options.lambda, prior: options.prior ?? "gradient", iterations: options.iterations })
    : tv(process, y, { lambda: options.lambda, iterations: options.iterations })

/** 8 values, log-spaced from 1e-4 to 10^-0.5 (about 0.32). */
export const LAMBDA_GRID: ReadonlyArray<number> = Array.from({ length: 8 }, (_, k) => 10 ** (-4 + k / 2))

export interface LambdaChoice {
  readonly lambda: number
  /** Mean PSNR (dB, after clipping to [0, 1]) on the tuning images, per grid value. */
  readonly scores: ReadonlyArray<{ readonly lambda: number; readonly psnr: number }>
}

/** The grid value whose reconstructions of `y` have the highest mean PSNR against `clean` (first on ties). */
export const tuneLambda = (
  process: DegradationProcess,
  y: tf.Tensor4D,
  clean: tf.Tensor4D,
  options: Omit<BaselineOptions, "lambda">,
  grid: ReadonlyArray<number> = LAMBDA_GRID,
): LambdaChoice => {
  if (grid.length === 0) throw new RangeError("the lambda grid is empty")
  const scores: Array<{ lambda: number; psnr: number }> = []
  for (const lambda of grid) {
    const x = baseline(process, y, { ...options, lambda })
    const values = psnr(x, clean)
    x.dispose()
    scores.push({ lambda, psnr: values.reduce((a, b) => a + b, 0) / values.length })
  }
  const best = scores.reduce((a, b) => (b.psnr > a.psnr ? b : a))
  return { lambda: best.lambda, scores }
}
