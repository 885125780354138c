/**
 * "mobilenet-perceptual": an LPIPS-style distance on the MobileNetV2 shipped inside the
 * nsfwjs npm package (no download). NOT LPIPS: no learned linear heads exist for this
 * network, so every channel and layer has weight 1 (LPIPS' uncalibrated baseline);
 * values are not comparable with published LPIPS numbers.
 *
 * Input: NHWC in [0, 1], clipped, resized bilinearly (align_corners, as nsfwjs does)
 * to 224 x 224 — a 64 x 64 image is upsampled 3.5x — and fed in [0, 1] (the range
 * nsfwjs fine-tuned the network on; Keras' stock MobileNetV2 would take [-1, 1]).
 *
 * Taps (the last layer of each resolution stage):
 *   Conv1_relu   112 x 112 x 32   (stem, ReLU6)
 *   block_2_add   56 x 56 x 24    (residual sum, linear)
 *   block_5_add   28 x 28 x 32
 *   block_12_add  14 x 14 x 96
 *   out_relu       7 x 7 x 1280   (last conv, ReLU6)
 */
import type * as Tfjs from "@tensorflow/tfjs"
import type * as tf from "@tensorflow/tfjs-core"
import { LayerPerceptualMetric } from "./layer-metric.js"
import { loadShippedModel, loadTfjs, NSFWJS_VERSION } from "./tfjs-models.js"

export const MOBILENET_PERCEPTUAL_LAYERS = ["Conv1_relu", "block_2_add", "block_5_add", "block_12_add", "out_relu"] as const

export interface MobilenetPerceptualOptions {
  /** Layers to tap (default MOBILENET_PERCEPTUAL_LAYERS); any layer names of the model. */
  readonly layers?: readonly string[]
  /** Images per forward pass (default 8). */
  readonly batchSize?: number
}

/** A sub-model of `model` whose outputs are the given layers' outputs. */
export const layerOutputsModel = async (model: Tfjs.LayersModel, layers: readonly string[]): Promise<Tfjs.LayersModel> => {
  const tfjs = await loadTfjs()
  const outputs = layers.map((name) => {
    let layer: Tfjs.layers.Layer
    try {
      layer = model.getLayer(name)
    } catch {
      throw new RangeError(`model ${model.name} has no layer ${JSON.stringify(name)}`)
    }
    return layer.output as Tfjs.SymbolicTensor
  })
  return tfjs.model({ inputs: model.inputs, outputs })
}

export const mobilenetPerceptual = (options: MobilenetPerceptualOptions = {}): LayerPerceptualMetric => {
  const layers = [...(options.layers ?? MOBILENET_PERCEPTUAL_LAYERS)]
  if (layers.length === 0) throw new RangeError("mobilenet-perceptual needs at least one layer")
  return new LayerPerceptualMetric({
    name: "mobilenet-perceptual",
    label: `LPIPS-style (MobileNetV2 from nsfwjs ${NSFWJS_VERSION}, ${layers.length} layers, uniform weights; not LPIPS)`,
    official: false,
    input: { size: [224, 224], range: [0, 1], alignCorners: true },
    layers,
    batchSize: options.batchSize ?? 8,
    build: async () => {
      const taps = await layerOutputsModel(await loadShippedModel("mobilenet_v2"), layers)
      const extract = (x: tf.Tensor4D): tf.Tensor4D[] => {
        const out = taps.predict(x) as tf.Tensor4D | tf.Tensor4D[]
        return Array.isArray(out) ? out : [out]
      }
      return { extract, weights: null }
    },
  })
}
