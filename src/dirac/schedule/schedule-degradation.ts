import * as tf from "@tensorflow/tfjs-core"
import { totalmem } from "node:os"
import { readImages, type ImagePixels } from "../metrics/image-pixels.js"
import type { DegradationFamily } from "../operators/family.js"
import { degradationProcess } from "../operators/process.js"
import { distanceByName, type DistanceName, type ScheduleDistance } from "../metrics/distances.js"
import { CandidateStore } from "./candidate-store.js"
import { greedySelect } from "./greedy.js"
import { uniformTableSchedule, type SeveritySchedule } from "../operators/severity-schedule.js"

/**
 * Data-driven severity schedule of a degradation family (paper App. C):
 * candidates t_i = i / (N - 1) of the unscheduled (linear) process, greedy
 * selection of m interior points under d(ti, tj) = mean_x M(A_ti x, A_tj x),
 * and the selected severities placed on the uniform grid t_k = k / (m + 1)
 * (linear interpolation in between, see severity-schedule.ts).
 *
 * Each candidate's degraded images are computed on the tfjs backend, moved off
 * it and prepared by the distance (e.g. SSIM statistics); up to `cacheBytes`
 * of prepared candidates stay in memory (see candidate-store.ts), the others
 * are recomputed when needed again.
 */
export interface ScheduleDegradationOptions {
  readonly family: DegradationFamily
  /** Clean images X_0, NHWC in [0, 1]. */
  readonly images: tf.Tensor4D
  /** N candidates (official 2000). */
  readonly candidates?: number
  /** m interior points (official 100). */
  readonly points?: number
  /** Default "ssim" (1 - SSIM); the paper uses LPIPS. */
  readonly distance?: DistanceName | ScheduleDistance<unknown>
  /**
   * Bound on the prepared candidates kept in memory; default a quarter of the
   * machine's memory, at most 4 GiB (1 - SSIM keeps ~2.4x the pixels: 1.9 MB
   * per candidate for 16 images of 64 x 64).
   */
  readonly cacheBytes?: number
  /** (splits done, m). */
  readonly onProgress?: (done: number, total: number) => void
  readonly signal?: AbortSignal
}

export interface DegradationSchedule {
  /** Table schedule: severities[k] at t = k / (m + 1). */
  readonly schedule: SeveritySchedule
  readonly severities: readonly number[]
  /** The selected candidates, increasing (0 and N - 1 included). */
  readonly candidateIndices: readonly number[]
  /** Distance between consecutive selected candidates. */
  readonly edgeDistances: readonly number[]
  readonly maxDistance: number
  readonly distance: string
  readonly candidates: number
  readonly fallbackSplits: number
  readonly distanceEvaluations: number
  /** Candidate degradations computed (more than N when the cache evicted some). */
  readonly candidateEvaluations: number
}

export const scheduleDegradation = async (options: ScheduleDegradationOptions): Promise<DegradationSchedule> => {
  const { family, images, candidates = 2000, points = 100 } = options
  const cacheBytes = options.cacheBytes ?? Math.min(4 * 2 ** 30, totalmem() / 4)
  const metric: ScheduleDistance<unknown> =
    typeof options.distance === "object" ? options.distance : distanceByName(options.distance ?? "ssim")
  const unscheduled = degradationProcess(family)
  const tOf = (i: number): number => i / (candidates - 1)

  const degrade = async (i: number): Promise<ImagePixels> => {
    const degraded = tf.tidy(() => unscheduled.A(images, tOf(i)))
    try {
      return await readImages(degraded)
    } finally {
      degraded.dispose()
    }
  }
  const store = new CandidateStore<unknown>(
    cacheBytes,
    (prepared) => metric.bytes(prepared),
    async (i) => metric.prepare(await degrade(i)),
  )

  const selection = await greedySelect({
    candidates,
    points,
    distance: async (i, j) => metric.distance(await store.get(i), await store.get(j)),
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.signal && { signal: options.signal }),
  })
  const severities = selection.indices.map((i) => unscheduled.severity(tOf(i)))
  return {
    schedule: uniformTableSchedule(severities),
    severities,
    candidateIndices: selection.indices,
    edgeDistances: selection.edgeDistances,
    maxDistance: selection.maxDistance,
    distance: metric.name,
    candidates,
    fallbackSplits: selection.fallbackSplits,
    distanceEvaluations: selection.distanceEvaluations,
    candidateEvaluations: store.computed,
  }
}
