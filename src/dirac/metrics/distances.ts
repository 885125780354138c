import type { ImagePixels } from "./image-pixels.js"
import { mseOfPixels, psnrFromMse } from "./mse-psnr.js"
import { ssimFeatures, ssimFromFeatures, type SsimFeatures } from "./ssim.js"

/**
 * A dissimilarity M(A_ti x, A_tj x) for the greedy scheduler, averaged over the
 * clean images: d(ti, tj) = mean_x M(A_ti x, A_tj x); larger = more different.
 * `prepare` turns one candidate's degraded images (clipped to [0, 1]) into
 * whatever `distance` compares (pixels, SSIM statistics, network features),
 * once per candidate; `bytes` sizes it for the scheduler's bounded cache.
 * (Method syntax, so that any ScheduleDistance<F> is a ScheduleDistance<unknown>.)
 */
export interface ScheduleDistance<F = unknown> {
  readonly name: string
  prepare(degraded: ImagePixels): F | Promise<F>
  distance(a: F, b: F): number
  bytes(prepared: F): number
}

export type DistanceName = "ssim" | "mse" | "psnr"

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length

/** A distance from a per-image metric on image batches, e.g. a perceptual one. */
export const imageDistance = (
  name: string,
  perImage: (a: ImagePixels, b: ImagePixels) => ArrayLike<number>,
): ScheduleDistance<ImagePixels> => ({
  name,
  prepare: (degraded) => degraded,
  distance: (a, b) => mean(Array.from(perImage(a, b))),
  bytes: (x) => x.pixels.byteLength,
})

/** 1 - SSIM. */
export const ssimDistance: ScheduleDistance<SsimFeatures> = {
  name: "ssim",
  prepare: ssimFeatures,
  distance: (a, b) => 1 - mean(ssimFromFeatures(a, b)),
  bytes: (f) => f.planes.byteLength + f.mean.byteLength + f.variance.byteLength,
}

export const mseDistance: ScheduleDistance<ImagePixels> = imageDistance("mse", mseOfPixels)

/** PSNR of (nearly) equal images is capped here, so that distances stay finite. */
const PSNR_CAP_DB = 100

/**
 * 100 dB - PSNR (PSNR capped at 100 dB): -PSNR shifted to be >= 0, so the
 * scheduler balances steps of equal dB.
 */
export const psnrDistance: ScheduleDistance<ImagePixels> = imageDistance("psnr", (a, b) =>
  mseOfPixels(a, b).map((m) => PSNR_CAP_DB - Math.min(psnrFromMse(m), PSNR_CAP_DB)),
)

export const distanceByName = (name: DistanceName): ScheduleDistance<SsimFeatures> | ScheduleDistance<ImagePixels> => {
  switch (name) {
    case "ssim":
      return ssimDistance
    case "mse":
      return mseDistance
    case "psnr":
      return psnrDistance
    default:
      throw new RangeError(`unknown schedule distance ${JSON.stringify(name)}`)
  }
}
