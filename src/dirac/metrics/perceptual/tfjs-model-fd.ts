/**
 * "tfjs-model-fd": FD/KID on a feature network the user supplies as a tfjs model
 * folder — the hook for the real FID Inception (pt_inception-2015-12-05), which no npm
 * package ships. The folder holds:
 *
 *   model.json + weight shards   a tfjs graph model (tensorflowjs_converter output) or
 *                                layers model
 *   metric.json                  how to feed it and where to read features:
 *     {
 *       "label":   "FID (TF Inception pool_3, converted)",   // shown in reports
 *       "official": true,                 // true only for the published FID network
 *       "input":  { "size": [299, 299],   // null: feed images at their own size
 *                   "range": [0, 255],    // value range for [0, 1] images
 *                   "alignCorners": false },
 *       "output": "pool_3",               // graph: node name; layers: layer name;
 *                                         // omitted: the model's (first) output
 *       "inputName": "x"                  // graph models with several inputs only
 *     }
 *
 * Features are flattened per image ([batch, …] -> [batch, dim]). See
 * scripts/convert_fid_inception.py for producing such a folder.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import type * as tf from "@tensorflow/tfjs-core"
import { layerOutputsModel } from "./mobilenet-perceptual.js"
import type { NetworkInput } from "./network-input.js"
import { PooledFeatureMetric, type PooledExtractor } from "./set-metric.js"
import { loadTfjs, readTfjsModelFolder } from "./tfjs-models.js"

export interface TfjsModelMetricConfig {
  readonly label?: string
  readonly official?: boolean
  readonly input: {
    readonly size: readonly [number, number] | null
    readonly range?: readonly [number, number]
    readonly alignCorners?: boolean
  }
  readonly output?: string
  readonly inputName?: string
}

export const METRIC_CONFIG_FILE = "metric.json"

const isPair = (x: unknown): x is [number, number] =>
  Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === "number" && Number.isFinite(v))

export const parseTfjsModelMetricConfig = (json: unknown, where = METRIC_CONFIG_FILE): TfjsModelMetricConfig => {
  const bad = (why: string): never => {
    throw new RangeError(`${where}: ${why}`)
  }
  if (typeof json !== "object" || json === null) return bad("must be a JSON object")
  const c = json as Record<string, unknown>
  const input = c.input as Record<string, unknown> | undefined
  if (typeof input !== "object" || input === null) return bad('needs "input": { "size": [h, w] | null, "range": [lo, hi] }')
  if (input.size !== null && !(isPair(input.size) && input.size.every((v) => Number.isInteger(v) && v > 0)))
    bad('"input.size" must be [height, width] or null')
  if (input.range !== undefined && !isPair(input.range)) bad('"input.range" must be [lo, hi]')
  if (input.alignCorners !== undefined && typeof input.alignCorners !== "boolean") bad('"input.alignCorners" must be a boolean')
  for (const key of ["label", "output", "inputName"] as const)
    if (c[key] !== undefined && typeof c[key] !== "string") bad(`"${key}" must be a string`)
  if (c.official !== undefined && typeof c.official !== "boolean") bad('"official" must be a boolean')
  return c as unknown as TfjsModelMetricConfig
}

export interface TfjsModelFdOptions {
  /** The model folder (model.json, shards, metric.json). */
  readonly model: string
  /** Images per forward pass (default 8). */
  readonly batchSize?: number
}

const buildExtractor = async (dir: string, config: TfjsModelMetricConfig): Promise<PooledExtractor> => {
  const tfjs = await loadTfjs()
  const { format, artifacts } = await readTfjsModelFolder(dir)
  if (format === "graph-model") {
    const graph = await tfjs.loadGraphModel(tfjs.io.fromMemory(artifacts))
    const output = config.output
    const inputName = config.inputName
    return (x) => {
      const feed = inputName === undefined ? x : { [inputName]: x }
      const out = graph.execute(feed, output) as tf.Tensor | tf.Tensor[]
      return Array.isArray(out) ? out[0]! : out
    }
  }
  const model = await tfjs.loadLayersModel(tfjs.io.fromMemory(artifacts))
  const taps = config.output === undefined ? model : await layerOutputsModel(model, [config.output])
  return (x) => {
    const out = taps.predict(x) as tf.Tensor | tf.Tensor[]
    return Array.isArray(out) ? out[0]! : out
  }
}

/** FD/KID on a user-supplied tfjs model folder (see the module comment). */
export const tfjsModelFd = async (options: TfjsModelFdOptions): Promise<PooledFeatureMetric> => {
  const where = join(options.model, METRIC_CONFIG_FILE)
  let text: string
  try {
    text = await readFile(where, "utf8")
  } catch (error) {
    throw new Error(`tfjs-model-fd: cannot read ${where} (${String(error)}); see src/dirac/metrics/perceptual/README.md`)
  }
  const config = parseTfjsModelMetricConfig(JSON.parse(text), where)
  const input: NetworkInput = {
    size: config.input.size === null ? null : [config.input.size[0], config.input.size[1]],
    range: config.input.range ?? [0, 1],
    alignCorners: config.input.alignCorners ?? false,
  }
  return new PooledFeatureMetric({
    name: "tfjs-model-fd",
    label: config.label ?? `FD/KID on the tfjs model in ${options.model}`,
    official: config.official ?? false,
    input,
    batchSize: options.batchSize ?? 8,
    build: () => buildExtractor(options.model, config),
  })
}
