/**
 * Perceptual metrics without downloads (see README.md in this folder):
 * LPIPS-style and FID/KID-style proxies on the networks shipped in the nsfwjs npm
 * package, and the real LPIPS-VGG / FID network from user-converted weights.
 */
export * from "./types.js"
export * from "./registry.js"
export { LayerPerceptualMetric, compareLayerFeatures, concatPerceptualFeatures, unitNormalise, NORMALIZE_EPS } from "./layer-metric.js"
export { mobilenetPerceptual, MOBILENET_PERCEPTUAL_LAYERS, type MobilenetPerceptualOptions } from "./mobilenet-perceptual.js"
export { inceptionFd, mobilenetFd, PooledFeatureMetric, type ShippedSetMetricOptions } from "./set-metric.js"
export { lpipsVgg, lpipsVggParameterShapes, readLpipsVggWeights, lpipsVggWeightsFromTensors, type LpipsVggOptions } from "./lpips-vgg.js"
export {
  tfjsModelFd,
  parseTfjsModelMetricConfig,
  METRIC_CONFIG_FILE,
  type TfjsModelFdOptions,
  type TfjsModelMetricConfig,
} from "./tfjs-model-fd.js"
export {
  featureSet,
  concatFeatureSets,
  frechetDistance,
  kernelInceptionDistance,
  type FeatureSet,
  type FrechetOptions,
  type FrechetResult,
  type KidOptions,
  type KidResult,
} from "./set-statistics.js"
export { sqrtmSymmetric, symmetricEigen, symmetricEigenvalues } from "./linalg.js"
export { loadShippedModel, readTfjsModelFolder, writeTfjsModelFolder, SHIPPED_MODELS, NSFWJS_VERSION } from "./tfjs-models.js"
