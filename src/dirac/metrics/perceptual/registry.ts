/**
 * Perceptual metrics by name, for the `metric` node and the degradation scheduler.
 *
 *   per-image (PerceptualMetric)      set (SetMetric: FD + KID)
 *   mobilenet-perceptual  shipped     inception-fd    shipped (nsfwjs InceptionV3)
 *   lpips-vgg             weights     mobilenet-fd    shipped (nsfwjs MobileNetV2)
 *                                     tfjs-model-fd   model folder
 *
 * "shipped": weights inside the nsfwjs npm package, nothing downloaded. "weights" /
 * "model folder": the user passes a path (`weights`). Instances are cached per
 * (name, path, batchSize), so a network loads once per process.
 */
import type { ScheduleDistance } from "../distances.js"
import type { LayerPerceptualMetric } from "./layer-metric.js"
import { lpipsVgg } from "./lpips-vgg.js"
import { mobilenetPerceptual } from "./mobilenet-perceptual.js"
import { inceptionFd, mobilenetFd, type PooledFeatureMetric } from "./set-metric.js"
import { tfjsModelFd } from "./tfjs-model-fd.js"
import type { PerceptualFeatures } from "./types.js"

export const PERCEPTUAL_METRIC_NAMES = ["mobilenet-perceptual", "lpips-vgg"] as const
export const SET_METRIC_NAMES = ["inception-fd", "mobilenet-fd", "tfjs-model-fd"] as const

export type PerceptualMetricName = (typeof PERCEPTUAL_METRIC_NAMES)[number]
export type SetMetricName = (typeof SET_METRIC_NAMES)[number]

export interface MetricCatalogueEntry {
  readonly name: PerceptualMetricName | SetMetricName
  readonly kind: "per-image" | "set"
  /** True when the metric needs a user-supplied path (`weights`). */
  readonly needsWeights: boolean
  /** True when it is the published metric (given the published weights). */
  readonly official: boolean
  readonly description: string
}

export const METRIC_CATALOGUE: readonly MetricCatalogueEntry[] = [
  {
    name: "mobilenet-perceptual",
    kind: "per-image",
    needsWeights: false,
    official: false,
    description: "LPIPS-style distance on nsfwjs' MobileNetV2 (5 layers, unit-normalised, uniform weights); not LPIPS",
  },
  {
    name: "lpips-vgg",
    kind: "per-image",
    needsWeights: true,
    official: true,
    description: "LPIPS v0.1 with VGG16 (as the DiracDiffusion paper); weights: safetensors from scripts/convert_lpips_vgg.py",
  },
  {
    name: "inception-fd",
    kind: "set",
    needsWeights: false,
    official: false,
    description: "Fréchet distance + KID on nsfwjs' InceptionV3 2048-d pooled features; not FID",
  },
  {
    name: "mobilenet-fd",
    kind: "set",
    needsWeights: false,
    official: false,
    description: "Fréchet distance + KID on nsfwjs' MobileNetV2 1280-d pooled features (faster)",
  },
  {
    name: "tfjs-model-fd",
    kind: "set",
    needsWeights: true,
    official: false,
    description: "Fréchet distance + KID on a user-supplied tfjs model folder (e.g. the FID Inception, converted)",
  },
]

export interface MetricOptions {
  /** lpips-vgg: safetensors path; tfjs-model-fd: model folder. */
  readonly weights?: string
  readonly batchSize?: number
}

export const isPerceptualMetricName = (name: string): name is PerceptualMetricName =>
  (PERCEPTUAL_METRIC_NAMES as readonly string[]).includes(name)
export const isSetMetricName = (name: string): name is SetMetricName => (SET_METRIC_NAMES as readonly string[]).includes(name)

const perceptualCache = new Map<string, LayerPerceptualMetric>()
const setCache = new Map<string, Promise<PooledFeatureMetric>>()

const cacheKey = (name: string, options: MetricOptions): string =>
  JSON.stringify([name, options.weights ?? null, options.batchSize ?? null])

const needWeights = (name: string, options: MetricOptions): string => {
  if (options.weights === undefined || options.weights === "") throw new RangeError(`metric ${name} needs "weights" (a path)`)
  return options.weights
}

/** A per-image perceptual metric by name (not loaded yet; call `load()` or just `distance`). */
export const perceptualMetric = (name: string, options: MetricOptions = {}): LayerPerceptualMetric => {
  if (!isPerceptualMetricName(name)) {
    throw new RangeError(`unknown perceptual metric ${JSON.stringify(name)}; known: ${PERCEPTUAL_METRIC_NAMES.join(", ")}`)
  }
  const key = cacheKey(name, options)
  let metric = perceptualCache.get(key)
  if (metric === undefined) {
    const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize }
    metric = name === "mobilenet-perceptual" ? mobilenetPerceptual(batch) : lpipsVgg({ weights: needWeights(name, options), ...batch })
    perceptualCache.set(key, metric)
  }
  return metric
}

/** A set metric (FD + KID) by name (not loaded yet). */
export const setMetric = (name: string, options: MetricOptions = {}): Promise<PooledFeatureMetric> => {
  if (!isSetMetricName(name)) {
    return Promise.reject(new RangeError(`unknown set metric ${JSON.stringify(name)}; known: ${SET_METRIC_NAMES.join(", ")}`))
  }
  const key = cacheKey(name, options)
  let metric = setCache.get(key)
  if (metric === undefined) {
    const batch = options.batchSize === undefined ? {} : { batchSize: options.batchSize }
    metric =
      name === "inception-fd"
        ? Promise.resolve(inceptionFd(batch))
        : name === "mobilenet-fd"
          ? Promise.resolve(mobilenetFd(batch))
          : (async () => tfjsModelFd({ model: needWeights(name, options), ...batch }))()
    metric.catch(() => setCache.delete(key))
    setCache.set(key, metric)
  }
  return metric
}

/**
 * A loaded perceptual metric as the greedy scheduler's distance
 * (d(ti, tj) = mean over images of the per-image distance; features cached per candidate).
 */
export const perceptualScheduleDistance = async (
  name: string,
  options: MetricOptions = {},
): Promise<ScheduleDistance<PerceptualFeatures>> => {
  const metric = perceptualMetric(name, options)
  await metric.load()
  return metric.scheduleDistance()
}
