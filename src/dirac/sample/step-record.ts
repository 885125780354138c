import * as tf from "@tensorflow/tfjs-core"
import { dataConsistencyError } from "../metrics/data-consistency.js"
import { readImages } from "../metrics/image-pixels.js"
import { psnr } from "../metrics/mse-psnr.js"
import { ssim } from "../metrics/ssim.js"
import type { DegradationProcess } from "../operators/process.js"
import type { SampleInput, StepRecord } from "./types.js"

/** eps_dc of x^0 at t, and with the clean images PSNR, SSIM (and a perceptual distance) of x^0 and y. */
export const stepRecord = async (
  process: DegradationProcess,
  x0: tf.Tensor4D,
  y: tf.Tensor4D,
  t: number,
  input: SampleInput,
): Promise<StepRecord> => {
  const perImage = tf.tidy(() => dataConsistencyError(input.measurements, process, x0))
  const epsDc = Array.from(await perImage.data())
  perImage.dispose()
  const clean = input.clean
  if (!clean) return { t, epsDc }
  const [px0, py, pClean] = await Promise.all([readImages(x0), readImages(y), readImages(clean)])
  const distortion = { psnrX0: psnr(px0, pClean), ssimX0: ssim(px0, pClean), psnrY: psnr(py, pClean), ssimY: ssim(py, pClean) }
  if (!input.perceptual) return { t, epsDc, ...distortion }
  return { t, epsDc, ...distortion, perceptualX0: await input.perceptual(x0, clean), perceptualY: await input.perceptual(y, clean) }
}
