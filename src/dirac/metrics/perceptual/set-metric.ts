/**
 * FID/KID-style set metrics from pooled network features:
 *
 * - "inception-fd": the InceptionV3 shipped in nsfwjs 4.4.0, `flatten_1` (mixed10 ->
 *   8 x 8 average pool, 2048-d: the place of FID's pool3). Images are clipped, resized
 *   bilinearly (align_corners, as nsfwjs) to 299 x 299 and fed in [0, 1]. The backbone
 *   was fine-tuned by nsfwjs, so numbers are NOT comparable with published FID/KID.
 * - "mobilenet-fd": the nsfwjs MobileNetV2 `flatten_1` (global 7 x 7 average of
 *   out_relu, 1280-d), 224 x 224; a faster alternative.
 * - "tfjs-model-fd": any tfjs model folder a user provides (see tfjs-model-fd.ts), e.g.
 *   the real FID Inception converted to a tfjs graph model.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { Images } from "../image-pixels.js"
import { inBatches, toNetworkInput, type NetworkInput } from "./network-input.js"
import {
  concatFeatureSets,
  featureSet,
  frechetDistance,
  kernelInceptionDistance,
  type FeatureSet,
  type FrechetOptions,
  type FrechetResult,
  type KidOptions,
  type KidResult,
} from "./set-statistics.js"
import { loadShippedModel, NSFWJS_VERSION } from "./tfjs-models.js"
import { layerOutputsModel } from "./mobilenet-perceptual.js"
import type { SetMetric, SetMetricReport } from "./types.js"

/** Network input -> [batch, dim] pooled features (called inside tf.tidy). */
export type PooledExtractor = (input: tf.Tensor4D) => tf.Tensor

export interface PooledMetricSpec {
  readonly name: string
  readonly label: string
  readonly official: boolean
  readonly input: NetworkInput
  readonly batchSize: number
  readonly build: () => Promise<PooledExtractor>
}

const isFeatureSet = (x: Images | FeatureSet): x is FeatureSet => !(x instanceof tf.Tensor) && "dim" in x && "count" in x

export class PooledFeatureMetric implements SetMetric {
  readonly name: string
  readonly label: string
  readonly lowerIsBetter = true as const
  readonly official: boolean
  readonly input: NetworkInput
  private readonly spec: PooledMetricSpec
  private loading?: Promise<void>
  private extract?: PooledExtractor
  private featureDim = 0

  constructor(spec: PooledMetricSpec) {
    this.spec = spec
    this.name = spec.name
    this.label = spec.label
    this.official = spec.official
    this.input = spec.input
  }

  get dim(): number {
    if (this.extract === undefined) throw new Error(`${this.name}: call load() first`)
    return this.featureDim
  }

  load(): Promise<void> {
    this.loading ??= this.spec.build().then(
      (extract) => {
        this.extract = extract
        // One probe image fixes the feature length (and warms the backend up).
        const [h, w] = this.input.size ?? [32, 32]
        const probe = tf.tidy(() => extract(tf.zeros([1, h, w, 3])))
        this.featureDim = probe.size
        probe.dispose()
      },
      (error: unknown) => {
        this.loading = undefined
        throw error
      },
    )
    return this.loading
  }

  async features(images: Images): Promise<FeatureSet> {
    await this.load()
    const extract = this.extract!
    const parts = await inBatches(images, this.spec.batchSize, async (batch) => {
      const n = batch.shape[0]
      const out = tf.tidy(() => tf.reshape(extract(toNetworkInput(batch, this.input)), [n, -1]))
      try {
        return featureSet((await out.data()) as Float32Array, n, out.shape[1]!)
      } finally {
        out.dispose()
      }
    })
    return parts.length === 1 ? parts[0]! : concatFeatureSets(parts)
  }

  private async asFeatures(x: Images | FeatureSet): Promise<FeatureSet> {
    return isFeatureSet(x) ? x : this.features(x)
  }

  async fd(a: Images | FeatureSet, b: Images | FeatureSet, options?: FrechetOptions): Promise<FrechetResult> {
    return frechetDistance(await this.asFeatures(a), await this.asFeatures(b), options)
  }

  async kid(a: Images | FeatureSet, b: Images | FeatureSet, options?: KidOptions): Promise<KidResult> {
    return kernelInceptionDistance(await this.asFeatures(a), await this.asFeatures(b), options)
  }

  async evaluate(a: Images | FeatureSet, b: Images | FeatureSet, options: FrechetOptions & KidOptions = {}): Promise<SetMetricReport> {
    const fa = await this.asFeatures(a)
    const fb = await this.asFeatures(b)
    const frechet = frechetDistance(fa, fb, options)
    const kidDetails = kernelInceptionDistance(fa, fb, options)
    return {
      name: this.name,
      label: this.label,
      fd: frechet.distance,
      kid: kidDetails.kid,
      kidStd: kidDetails.std,
      countA: fa.count,
      countB: fb.count,
      dim: fa.dim,
      frechet,
      kidDetails,
    }
  }
}

export interface ShippedSetMetricOptions {
  /** Images per forward pass (default 8 for InceptionV3, 16 for MobileNetV2). */
  readonly batchSize?: number
}

const shippedFeatureExtractor = async (model: "inception_v3" | "mobilenet_v2", layer: string): Promise<PooledExtractor> => {
  const taps = await layerOutputsModel(await loadShippedModel(model), [layer])
  return (x) => taps.predict(x) as tf.Tensor
}

/** FID/KID-style on nsfwjs' InceptionV3 `flatten_1` (2048-d). */
export const inceptionFd = (options: ShippedSetMetricOptions = {}): PooledFeatureMetric =>
  new PooledFeatureMetric({
    name: "inception-fd",
    label: `FID-style (InceptionV3 from nsfwjs ${NSFWJS_VERSION}, flatten_1 2048-d; not FID)`,
    official: false,
    input: { size: [299, 299], range: [0, 1], alignCorners: true },
    batchSize: options.batchSize ?? 8,
    build: () => shippedFeatureExtractor("inception_v3", "flatten_1"),
  })

/** FID/KID-style on nsfwjs' MobileNetV2 `flatten_1` (1280-d); faster than inception-fd. */
export const mobilenetFd = (options: ShippedSetMetricOptions = {}): PooledFeatureMetric =>
  new PooledFeatureMetric({
    name: "mobilenet-fd",
    label: `FID-style (MobileNetV2 from nsfwjs ${NSFWJS_VERSION}, flatten_1 1280-d; not FID)`,
    official: false,
    input: { size: [224, 224], range: [0, 1], alignCorners: true },
    batchSize: options.batchSize ?? 16,
    build: () => shippedFeatureExtractor("mobilenet_v2", "flatten_1"),
  })
