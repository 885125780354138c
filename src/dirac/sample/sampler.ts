import * as tf from "@tensorflow/tfjs-core"
import { readImages } from "../metrics/image-pixels.js"
import { psnr } from "../metrics/mse-psnr.js"
import { ssim } from "../metrics/ssim.js"
import { forward, type SongUNet } from "../network/index.js"
import type { DegradationProcess } from "../operators/process.js"
import { Rng, seedFromString } from "../random.js"
import { timeGrid } from "./time-grid.js"

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

/**
 * x^0 = Phi(y, sigma). Synchronous denoisers (tfjs) are differentiable, so guidance can take the gradient through
 * them; asynchronous ones (ONNX Runtime) serve unguided sampling only.
 */
export type Denoiser = (y: tf.Tensor4D, sigma: number) => tf.Tensor4D | Promise<tf.Tensor4D>

export class GuidanceNeedsGradient extends Error {
  override readonly name = "GuidanceNeedsGradient"
}

const sigmaVector = (sigma: number, n: number) => tf.fill([n], sigma) as tf.Tensor1D

/** The network as Algorithm 1 calls it: x^0 = Phi(y, sigma_t), in evaluation mode. */
export const networkDenoiser =
  (net: SongUNet): Denoiser =>
  (y, sigma) =>
    tf.tidy(() => forward(net, y, sigmaVector(sigma, y.shape[0])))

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
  const grid = timeGrid(args.dt, args.stopT, args.startT ?? 1)
  const yTilde = input.measurements
  const n = yTilde.shape[0]
  const perImage = yTilde.size / n
  const rngs = input.ids.map((id) => Rng.fromSeed(seedFromString(`${input.seed}/${id}`)))
  const sigma1 = process.sigma(args.startT ?? 1)
  const guided = args.guidance.step > 0
  const trajectory: StepRecord[] = []
  let y = tf.clone(yTilde)

  const dcLossPerImage = (x0: tf.Tensor4D) => tf.sum(tf.square(tf.sub(yTilde, process.A(x0, 1))), [1, 2, 3])

  for (const step of grid) {
    // Let timers, signals and progress through between steps: the steps themselves are synchronous tensor work.
    await new Promise((resolve) => setImmediate(resolve))
    if (input.signal?.aborted) {
      y.dispose()
      throw new Error("sampling was interrupted")
    }
    const sThis = process.sigma(step.tThis)
    const sNext = process.sigma(step.tNext)
    const dVar = sThis * sThis - sNext * sNext
    let x0: tf.Tensor4D
    let guidance: tf.Tensor4D | undefined
    if (guided) {
      let kept: { x0: tf.Tensor4D; losses: tf.Tensor1D } | undefined
      const { value, grad } = tf.valueAndGrad((yt: tf.Tensor) => {
        const estimate = denoise(yt as tf.Tensor4D, sThis)
        if (estimate instanceof Promise) {
          estimate.then(
            (t) => t.dispose(),
            () => undefined,
          )
          throw new GuidanceNeedsGradient(
            "guidance needs the gradient through the network, which this engine cannot give: sample with the tfjs engine",
          )
        }
        const perImageLoss = dcLossPerImage(estimate)
        kept = { x0: tf.keep(estimate), losses: tf.keep(perImageLoss) as tf.Tensor1D }
        return tf.sum(perImageLoss)
      })(y)
      value.dispose()
      x0 = kept!.x0
      const losses = await kept!.losses.data()
      kept!.losses.dispose()
      const scaler = losses.map((l) =>
        args.guidance.scaling === "std" ? (args.guidance.step * 0.5) / (sigma1 * sigma1) : args.guidance.step / Math.sqrt(l + 1e-30),
      )
      const sign = args.guidance.sign === "paper" ? -1 : 1
      guidance = tf.tidy(() =>
        tf.mul(
          grad,
          tf.tensor(
            Array.from(scaler, (c) => sign * dVar * c),
            [n, 1, 1, 1],
          ),
        ),
      ) as tf.Tensor4D
      grad.dispose()
    } else {
      x0 = await denoise(y, sThis)
    }
    const noise = tf.tensor4d(
      Float32Array.from({ length: y.size }, (_, k) => rngs[Math.floor(k / perImage)].normal() * Math.sqrt(Math.max(dVar, 0))),
      y.shape,
    )
    const next = tf.tidy(() => {
      const yHat = process.A(x0, step.tThis)
      let denoising = tf.mul(tf.sub(yHat, y), dVar / (sThis * sThis))
      if (guidance) denoising = tf.add(denoising, guidance)
      return tf.add(tf.add(tf.add(y, incrementalUpdate(process, args, x0, yHat, step.tThis, step.tNext)), denoising), noise) as tf.Tensor4D
    })
    trajectory.push(await record(process, yTilde, x0, next, step.tNext, input))
    input.onStep?.(trajectory[trajectory.length - 1], trajectory.length, grid.length)
    tf.dispose([noise, guidance as tf.Tensor, y])
    if (step.last) {
      if (args.output === "x0") {
        next.dispose()
        return { output: x0, trajectory }
      }
      x0.dispose()
      return { output: next, trajectory }
    }
    x0.dispose()
    y = next
  }
  return { output: y, trajectory }
}

/** R(x^0): the incremental reconstruction of Appendix I. At t = 1 the look-back rules look ahead. */
const incrementalUpdate = (
  process: DegradationProcess,
  args: SamplerArgs,
  x0: tf.Tensor4D,
  yHat: tf.Tensor4D,
  tThis: number,
  tNext: number,
): tf.Tensor4D => {
  const dt = args.dt
  const del = args.delT ?? dt / 2
  const A = (t: number) => process.A(x0, Math.min(Math.max(t, 0), 1))
  switch (args.update) {
    case "look-ahead":
      return tf.sub(A(tNext), yHat)
    case "small-look-ahead":
      return tf.mul(tf.sub(A(tThis - del), yHat), dt / del)
    case "look-back":
      return tThis + dt >= 1 ? tf.sub(A(tNext), yHat) : tf.sub(yHat, A(tThis + dt))
    case "small-look-back":
      return tThis + del >= 1 ? tf.mul(tf.sub(A(tThis - del), yHat), dt / del) : tf.mul(tf.sub(yHat, A(tThis + del)), dt / del)
  }
}

const record = async (
  process: DegradationProcess,
  yTilde: tf.Tensor4D,
  x0: tf.Tensor4D,
  y: tf.Tensor4D,
  t: number,
  input: SampleInput,
): Promise<StepRecord> => {
  const perImage = tf.tidy(() => tf.mean(tf.square(tf.sub(yTilde, process.A(x0, 1))), [1, 2, 3]))
  const epsDc = Array.from(await perImage.data())
  perImage.dispose()
  const clean = input.clean
  if (!clean) return { t, epsDc }
  const [px0, py, pClean] = await Promise.all([readImages(x0), readImages(y), readImages(clean)])
  const distortion = { psnrX0: psnr(px0, pClean), ssimX0: ssim(px0, pClean), psnrY: psnr(py, pClean), ssimY: ssim(py, pClean) }
  if (!input.perceptual) return { t, epsDc, ...distortion }
  return { t, epsDc, ...distortion, perceptualX0: await input.perceptual(x0, clean), perceptualY: await input.perceptual(y, clean) }
}
