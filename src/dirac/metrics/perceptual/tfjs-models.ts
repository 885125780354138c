/**
 * Loading tfjs models without any download:
 *
 * - the networks shipped inside the `nsfwjs` npm package (4.4.0): MobileNetV2 (224 x 224)
 *   and InceptionV3 (299 x 299), tfjs layers models whose topology and weights are
 *   base64 strings in UMD `.min.js` files under `nsfwjs/dist/models/`;
 * - a tfjs model folder on disk (`model.json` + the weight shards it lists), layers or
 *   graph format, e.g. one a user converted with `tensorflowjs_converter`.
 *
 * `@tensorflow/tfjs` (tfjs-layers / tfjs-converter on the one tfjs-core) is imported
 * lazily, so importing this module costs nothing until a model is loaded.
 */
import { readFile } from "node:fs/promises"
import { join } from "node:path"
import type * as Tfjs from "@tensorflow/tfjs"

export type TfjsModule = typeof Tfjs

let tfjsModule: Promise<TfjsModule> | undefined

/** `@tensorflow/tfjs` (same tfjs-core instance as `@tensorflow/tfjs-core`). */
export const loadTfjs = (): Promise<TfjsModule> => {
  tfjsModule ??= import("@tensorflow/tfjs")
  return tfjsModule
}

export type ShippedModelName = "mobilenet_v2" | "inception_v3"

export const NSFWJS_VERSION = "4.4.0"

export interface ShippedModelInfo {
  readonly name: ShippedModelName
  readonly description: string
  /** Square input size the network was built for. */
  readonly inputSize: number
}

export const SHIPPED_MODELS: Readonly<Record<ShippedModelName, ShippedModelInfo>> = {
  mobilenet_v2: {
    name: "mobilenet_v2",
    description: `MobileNetV2 (Keras, alpha 1.0) fine-tuned by nsfwjs ${NSFWJS_VERSION}; input 224 x 224 RGB in [0, 1]`,
    inputSize: 224,
  },
  inception_v3: {
    name: "inception_v3",
    description: `InceptionV3 (Keras) fine-tuned by nsfwjs ${NSFWJS_VERSION}; input 299 x 299 RGB in [0, 1]`,
    inputSize: 299,
  },
}

interface BundledModelDefinition {
  modelJson: () => Promise<{ default: { modelTopology: unknown; weightsManifest: Array<{ weights: Tfjs.io.WeightsManifestEntry[] }> } }>
  weightBundles: Array<() => Promise<{ default: string }>>
}

const bundledDefinition = async (name: ShippedModelName): Promise<BundledModelDefinition> => {
  switch (name) {
    case "mobilenet_v2":
      return (await import("nsfwjs/models/mobilenet_v2")).MobileNetV2Model as unknown as BundledModelDefinition
    case "inception_v3":
      return (await import("nsfwjs/models/inception_v3")).InceptionV3Model as unknown as BundledModelDefinition
    default:
      throw new RangeError(`unknown shipped model ${JSON.stringify(name)}`)
  }
}

const concatBuffers = (parts: readonly Uint8Array[]): ArrayBuffer => {
  const total = parts.reduce((n, p) => n + p.byteLength, 0)
  const out = new Uint8Array(total)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out.buffer
}

const shippedModels = new Map<ShippedModelName, Promise<Tfjs.LayersModel>>()

/**
 * One of the networks inside the nsfwjs package, as a tfjs LayersModel (loaded once
 * per process; nothing is fetched). Throws with an install hint if nsfwjs is missing.
 */
export const loadShippedModel = (name: ShippedModelName): Promise<Tfjs.LayersModel> => {
  let model = shippedModels.get(name)
  if (model === undefined) {
    model = (async () => {
      const tf = await loadTfjs()
      let definition: BundledModelDefinition
      try {
        definition = await bundledDefinition(name)
      } catch (error) {
        throw new Error(`cannot load the ${name} network from the nsfwjs package (npm install nsfwjs@${NSFWJS_VERSION}): ${String(error)}`)
      }
      const json = (await definition.modelJson()).default
      const shards = await Promise.all(definition.weightBundles.map(async (load) => Buffer.from((await load()).default, "base64")))
      const weightSpecs = json.weightsManifest.flatMap((group) => group.weights)
      return tf.loadLayersModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology as Tfjs.io.ModelArtifacts["modelTopology"],
          weightSpecs,
          weightData: concatBuffers(shards),
        }),
      )
    })()
    // A failed load is not cached, so a later call can retry (e.g. after installing nsfwjs).
    model.catch(() => shippedModels.delete(name))
    shippedModels.set(name, model)
  }
  return model
}

/** A model folder read from disk: the artifacts tfjs' loaders take, and the model.json format. */
export interface TfjsModelFolder {
  readonly format: "layers-model" | "graph-model"
  readonly artifacts: Tfjs.io.ModelArtifacts
}

interface ModelJson {
  format?: string
  modelTopology?: unknown
  weightsManifest?: Array<{ paths: string[]; weights: Tfjs.io.WeightsManifestEntry[] }>
  signature?: unknown
  userDefinedMetadata?: Record<string, unknown>
  modelInitializer?: unknown
}

/**
 * Reads `<dir>/model.json` and every weight shard its weightsManifest lists (paths
 * relative to dir). The format is model.json's `format` ("layers-model" or
 * "graph-model"); without one, a topology with `node` is taken as a graph model.
 */
export const readTfjsModelFolder = async (dir: string): Promise<TfjsModelFolder> => {
  const jsonPath = join(dir, "model.json")
  const json = JSON.parse(await readFile(jsonPath, "utf8")) as ModelJson
  if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new Error(`${jsonPath}: not a tfjs model.json (needs modelTopology and weightsManifest)`)
  }
  const topology = json.modelTopology as Record<string, unknown>
  const format =
    json.format === "graph-model" || (json.format === undefined && Array.isArray(topology.node)) ? "graph-model" : "layers-model"
  const buffers: Uint8Array[] = []
  for (const group of json.weightsManifest) for (const path of group.paths) buffers.push(await readFile(join(dir, path)))
  const artifacts: Tfjs.io.ModelArtifacts = {
    modelTopology: json.modelTopology as Tfjs.io.ModelArtifacts["modelTopology"],
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: concatBuffers(buffers),
    format: json.format,
    ...(json.signature !== undefined ? { signature: json.signature as object } : {}),
    ...(json.userDefinedMetadata !== undefined ? { userDefinedMetadata: json.userDefinedMetadata as Record<string, object> } : {}),
    ...(json.modelInitializer !== undefined ? { modelInitializer: json.modelInitializer as object } : {}),
  }
  return { format, artifacts }
}

/**
 * Writes artifacts (e.g. from `model.save(tf.io.withSaveHandler(...))`) as a tfjs model
 * folder: model.json + one shard `weights.bin`. Used by tests; also handy for users.
 */
export const writeTfjsModelFolder = async (
  dir: string,
  artifacts: Tfjs.io.ModelArtifacts,
  format: TfjsModelFolder["format"],
): Promise<void> => {
  const { mkdir, writeFile } = await import("node:fs/promises")
  await mkdir(dir, { recursive: true })
  const data = artifacts.weightData
  const bytes =
    data === undefined
      ? new Uint8Array(0)
      : Array.isArray(data)
        ? new Uint8Array(concatBuffers(data.map((b) => new Uint8Array(b))))
        : new Uint8Array(data)
  await writeFile(join(dir, "weights.bin"), bytes)
  const json = {
    format,
    generatedBy: "dirac-pipe",
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs ?? [] }],
  }
  await writeFile(join(dir, "model.json"), JSON.stringify(json))
}
