import type { ScheduleDistance } from "../distances.js"
import type { Images } from "../image-pixels.js"
import type { FeatureSet, FrechetOptions, FrechetResult, KidOptions, KidResult } from "./set-statistics.js"

/**
 * Unit-normalised activations of one layer for a batch: NHWC, each pixel's channel
 * vector divided by (its L2 norm + 1e-10), as LPIPS' `normalize_tensor`.
 */
export interface LayerFeatures {
  readonly layer: string
  readonly shape: readonly [number, number, number, number]
  readonly data: Float32Array
}

/** What a perceptual metric compares: the normalised features of a batch of images. */
export interface PerceptualFeatures {
  readonly count: number
  readonly layers: readonly LayerFeatures[]
}

/**
 * A full-reference, per-image perceptual distance (LPIPS-like): 0 for identical
 * images, larger = more different. Inputs are NHWC in [0, 1] (clipped first), any
 * size the metric supports; `a` and `b` must have the same shape.
 */
export interface PerceptualMetric<F = PerceptualFeatures> {
  /** Registry name, e.g. "mobilenet-perceptual". */
  readonly name: string
  /** Human label saying what it is, e.g. "LPIPS-style (MobileNetV2 from nsfwjs 4.4.0)". */
  readonly label: string
  readonly lowerIsBetter: true
  /** True only for the published metric with its published weights (LPIPS-VGG v0.1). */
  readonly official: boolean
  /** Loads the network (idempotent; needed before `features`, `compare` and `scheduleDistance`). */
  load(): Promise<void>
  /** Per-image distances d(a_i, b_i). Loads the network if needed. */
  distance(a: Images, b: Images): Promise<number[]>
  /** Features of a batch (after `load`). */
  features(images: Images): Promise<F>
  /** Per-image distances between two feature batches of equal shape (after `load`). */
  compare(a: F, b: F): number[]
  /**
   * The metric as the degradation scheduler's distance (after `load`): features are
   * computed once per candidate, d = mean over images.
   */
  scheduleDistance(): ScheduleDistance<F>
}

/** Both numbers of a set metric, with the set sizes they came from. */
export interface SetMetricReport {
  readonly name: string
  readonly label: string
  /** Fréchet distance (FID-style). */
  readonly fd: number
  readonly kid: number
  /** Std of KID over subsets (0 when computed exactly over all pairs). */
  readonly kidStd: number
  readonly countA: number
  readonly countB: number
  readonly dim: number
  readonly frechet: FrechetResult
  readonly kidDetails: KidResult
}

/**
 * A distance between two sets of images (FID/KID-like) from pooled network features.
 * Sets may differ in size; pass precomputed `FeatureSet`s (see `features` and
 * `concatFeatureSets`) to go through large folders batch by batch.
 */
export interface SetMetric {
  readonly name: string
  readonly label: string
  readonly lowerIsBetter: true
  readonly official: boolean
  /** Length of the feature vector (after `load`). */
  readonly dim: number
  load(): Promise<void>
  /** Pooled features of a batch of images (NHWC in [0, 1], clipped first). */
  features(images: Images): Promise<FeatureSet>
  fd(a: Images | FeatureSet, b: Images | FeatureSet, options?: FrechetOptions): Promise<FrechetResult>
  kid(a: Images | FeatureSet, b: Images | FeatureSet, options?: KidOptions): Promise<KidResult>
  evaluate(a: Images | FeatureSet, b: Images | FeatureSet, options?: FrechetOptions & KidOptions): Promise<SetMetricReport>
}
