import * as tf from "@tensorflow/tfjs-core"
import { readImages } from "../metrics/image-pixels.js"
import { psnr } from "../metrics/mse-psnr.js"
import type { FamilyKind } from "../operators/family.js"
import type { DegradationProcess } from "../operators/process.js"
import { tikhonov, type TikhonovPrior } from "./tikhonov.js"
import { tv } from "./tv.js"
import { wiener } from "./wiener.js"

export { dctI, laplacianSpectrum, symmetricFilterSpectrum } from "./dct-i.js"
export { gradient, gradientAdjoint } from "./gradient.js"
export { tikhonov, tikhonovNormal, type TikhonovPrior } from "./tikhonov.js"
export { operatorNormSquared, tv } from "./tv.js"
export { wiener } from "./wiener.js"

export type BaselineMethod = "wiener" | "tikhonov" | "tv"

/** The operator families each classical method can reconstruct from. */
export const METHOD_FAMILIES: Readonly<Record<BaselineMethod, ReadonlyArray<FamilyKind>>> = {
  wiener: ["gaussian-blur"],
  tikhonov: ["gaussian-blur", "inpaint-gaussian", "inpaint-box"],
  tv: ["gaussian-blur", "inpaint-gaussian", "inpaint-box"],
}

export interface BaselineOptions {
  readonly method: BaselineMethod
  readonly lambda: number
  /** tikhonov and tv. */
  readonly iterations: number
  /** wiener and tikhonov; default gradient. */
  readonly prior?: TikhonovPrior
}

/** A classical reconstruction of measurements y~ = A_1 x + noise: Wiener (closed form), Tikhonov (CG) or TV (Chambolle-Pock). */
export const baseline = (process: DegradationProcess, y: tf.Tensor4D, options: BaselineOptions): tf.Tensor4D => {
  const prior = options.prior ?? "gradient"
  switch (options.method) {
    case "wiener":
      return wiener(process, y, { lambda: options.lambda, prior })
    case "tikhonov":
      return tikhonov(process, y, { lambda: options.lambda, prior, iterations: options.iterations })
    case "tv":
      return tv(process, y, { lambda: options.lambda, iterations: options.iterations })
  }
}

const logGrid = (from: number, to: number, perDecade: number): number[] =>
  Array.from({ length: Math.round((to - from) * perDecade) + 1 }, (_, k) => 10 ** (from + k / perDecade))

/**
 * The lambda values tuning tries, log-spaced at 4 per decade: 1e-4 .. 10 for wiener and tikhonov, 1e-4 .. 1 for tv
 * (whose lambda weighs TV against 1/2 ||A x - y||^2). On the quickstart (blur std 1.5 at 32 px, sigma_1 0.05)
 * the best are near 0.18 (gradient prior), 0.056 (identity prior) and 0.01 (tv).
 */
export const LAMBDA_GRIDS: Readonly<Record<BaselineMethod, ReadonlyArray<number>>> = {
  wiener: logGrid(-4, 1, 4),
  tikhonov: logGrid(-4, 1, 4),
  tv: logGrid(-4, 0, 4),
}

export interface LambdaChoice {
  readonly lambda: number
  /** Mean PSNR (dB, after clipping to [0, 1]) on the tuning images, per grid value. */
  readonly scores: ReadonlyArray<{ readonly lambda: number; readonly psnr: number }>
}

/**
 * The grid value whose reconstructions of `y` have the highest mean PSNR against `clean` (first on ties),
 * reconstructing at most `batchSize` measurements at once.
 */
export const tuneLambda = async (
  process: DegradationProcess,
  y: tf.Tensor4D,
  clean: tf.Tensor4D,
  options: Omit<BaselineOptions, "lambda">,
  grid: ReadonlyArray<number> = LAMBDA_GRIDS[options.method],
  batchSize = y.shape[0],
): Promise<LambdaChoice> => {
  if (grid.length === 0) throw new RangeError("the lambda grid is empty")
  const count = y.shape[0]
  const scores: Array<{ lambda: number; psnr: number }> = []
  for (const lambda of grid) {
    let total = 0
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start)
      const part = (t: tf.Tensor4D) => t.slice([start, 0, 0, 0], [size, -1, -1, -1])
      const [x, reference] = tf.tidy(() => [baseline(process, part(y), { ...options, lambda }), part(clean)])
      const pixels = await Promise.all([readImages(x!), readImages(reference!)]).finally(() => tf.dispose([x!, reference!]))
      total += psnr(...pixels).reduce((a, b) => a + b, 0)
    }
    scores.push({ lambda, psnr: total / count })
  }
  const best = scores.reduce((a, b) => (b.psnr > a.psnr ? b : a))
  return { lambda: best.lambda, scores }
}
