/**
 * SongUNet weights as safetensors with the official PyTorch state_dict names
 * and layouts (`enc.64x64_conv.weight` [out, in, kh, kw], linear [out, in],
 * qkv output channels interleaved 3c+{0,1,2}), plus the `resample_filter`
 * buffers, so a file is interchangeable with EDM's `SongUNet.state_dict()`
 * (DiracDiffusion's checkpoints without the `denoiser_fn.` prefix). The
 * config is stored in the metadata under `dirac.unet_args` (JSON).
 */
import * as tf from "@tensorflow/tfjs-core"
import { readSafetensors, writeSafetensors, type RawTensor } from "../io/safetensors.js"
import { buildArch, type ParamSpec } from "./arch.js"
import { resolveUNetArgs, type UNetArgs } from "./config.js"
import { firFilter2d } from "./layers.js"
import { SongUNet } from "./unet.js"

export const UNET_ARGS_METADATA_KEY = "dirac.unet_args"
export const MODEL_METADATA_KEY = "dirac.model"

// ------------------------------------------------------------------ layouts

/**
 * Where each element of a parameter in tfjs layout sits in the official PyTorch layout: conv weights HWIO -> OIHW
 * (qkv output channels de-interleaved: tfjs column j*C + c holds torch channel 3c + j), linear [in, out] -> [out, in].
 */
const torchIndex = (spec: ParamSpec, length: number): Int32Array => {
  const index = new Int32Array(length)
  switch (spec.role) {
    case "conv_weight":
    case "qkv_weight": {
      const [kh, kw, cin, cout] = spec.shape
      const c = cout / 3
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++)
          for (let i = 0; i < cin; i++)
            for (let o = 0; o < cout; o++) {
              const to = spec.role === "qkv_weight" ? 3 * (o % c) + Math.floor(o / c) : o
              index[((y * kw + x) * cin + i) * cout + o] = ((to * cin + i) * kh + y) * kw + x
            }
      return index
    }
    case "qkv_bias": {
      const c = length / 3
      for (let o = 0; o < length; o++) index[o] = 3 * (o % c) + Math.floor(o / c)
      return index
    }
    case "linear_weight": {
      const [fin, fout] = spec.shape
      for (let i = 0; i < fin; i++) for (let o = 0; o < fout; o++) index[i * fout + o] = o * fin + i
      return index
    }
    default:
      for (let k = 0; k < length; k++) index[k] = k
      return index
  }
}

/** tfjs-layout values of one parameter -> official PyTorch layout (same element count). */
export const toTorchLayout = (spec: ParamSpec, data: ArrayLike<number>): Float32Array => {
  const index = torchIndex(spec, data.length)
  const out = new Float32Array(data.length)
  for (let k = 0; k < index.length; k++) out[index[k]] = data[k]
  return out
}

/** Official PyTorch layout -> tfjs layout (inverse of {@link toTorchLayout}). */
export const fromTorchLayout = (spec: ParamSpec, data: ArrayLike<number>): Float32Array => {
  const index = torchIndex(spec, data.length)
  const out = new Float32Array(data.length)
  for (let k = 0; k < index.length; k++) out[k] = data[index[k]]
  return out
}

// ------------------------------------------------------------------ state dict

/** The official state_dict (PyTorch names, layouts and shapes, buffers included). */
export const stateDict = async (net: SongUNet): Promise<Record<string, RawTensor>> => {
  const out: Record<string, RawTensor> = {}
  for (const spec of net.arch.params) {
    const values = await (net.params[spec.name] as tf.Tensor).data()
    out[spec.name] = { dtype: "float32", shape: [...spec.torchShape], data: toTorchLayout(spec, values as Float32Array) }
  }
  const f2d = firFilter2d(net.args.resample_filter)
  for (const b of net.arch.buffers) out[b.name] = { dtype: "float32", shape: [...b.torchShape], data: f2d.slice() }
  return out
}

export interface Mismatch {
  readonly name: string
  readonly expected: readonly number[]
  readonly actual: readonly number[]
}

/** A weights file that does not fit the architecture; lists every problem at once. */
export class WeightsMismatchError extends Error {
  readonly missing: readonly string[]
  readonly unexpected: readonly string[]
  readonly misshaped: readonly Mismatch[]
  readonly invalid: readonly string[]

  constructor(source: string, missing: string[], unexpected: string[], misshaped: Mismatch[], invalid: string[]) {
    const list = (xs: readonly string[]) => (xs.length > 12 ? `${xs.slice(0, 12).join(", ")}, ... (${xs.length} in all)` : xs.join(", "))
    const parts: string[] = []
    if (missing.length > 0) parts.push(`missing ${missing.length}: ${list(missing)}`)
    if (unexpected.length > 0) parts.push(`unexpected ${unexpected.length}: ${list(unexpected)}`)
    if (misshaped.length > 0) {
      parts.push(
        `wrong shape ${misshaped.length}: ${list(misshaped.map((m) => `${m.name} is [${m.actual.join(", ")}], expected [${m.expected.join(", ")}]`))}`,
      )
    }
    if (invalid.length > 0) parts.push(`invalid ${invalid.length}: ${list(invalid)}`)
    super(`${source} does not match the SongUNet architecture (${parts.join("; ")})`)
    this.name = "WeightsMismatchError"
    this.missing = missing
    this.unexpected = unexpected
    this.misshaped = misshaped
    this.invalid = invalid
  }
}

export interface LoadStateDictOptions {
  /**
   * Key prefix to strip, e.g. "denoiser_fn." for a DiracDiffusion Lightning
   * state_dict; keys without it are ignored (other modules such as `lpips.*`).
   */
  readonly prefix?: string
  /** Description used in errors (default "state_dict"). */
  readonly source?: string
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i])

/**
 * Assign an official state_dict (PyTorch layouts) to the network's variables.
 * Validates everything first and throws {@link WeightsMismatchError} without
 * touching the variables when anything is missing, unexpected or mis-shaped.
 * `resample_filter` buffers are optional but must hold the configured filter.
 */
export const loadStateDict = (net: SongUNet, tensors: Readonly<Record<string, RawTensor>>, options: LoadStateDictOptions = {}): void => {
  const prefix = options.prefix ?? ""
  const source = options.source ?? "state_dict"
  const byName = new Map<string, RawTensor>()
  for (const [key, t] of Object.entries(tensors)) {
    if (prefix !== "" && !key.startsWith(prefix)) continue
    byName.set(key.slice(prefix.length), t)
  }
  const missing: string[] = []
  const unexpected: string[] = []
  const misshaped: Mismatch[] = []
  const invalid: string[] = []
  const known = new Set<string>()
  for (const spec of net.arch.params) {
    known.add(spec.name)
    const t = byName.get(spec.name)
    if (t === undefined) missing.push(spec.name)
    else if (!sameShape(t.shape, spec.torchShape)) misshaped.push({ name: spec.name, expected: spec.torchShape, actual: t.shape })
    else if (t.dtype !== "float32") invalid.push(`${spec.name} has dtype ${t.dtype}, expected a float type`)
  }
  const f2d = firFilter2d(net.args.resample_filter)
  for (const b of net.arch.buffers) {
    known.add(b.name)
    const t = byName.get(b.name)
    if (t === undefined) continue
    if (!sameShape(t.shape, b.torchShape)) misshaped.push({ name: b.name, expected: b.torchShape, actual: t.shape })
    else if (t.data.length !== f2d.length || Array.from(t.data).some((v, i) => Math.abs(v - f2d[i]) > 1e-6)) {
      invalid.push(`${b.name} does not hold the configured resample_filter [${net.args.resample_filter.join(", ")}]`)
    }
  }
  for (const name of byName.keys()) if (!known.has(name)) unexpected.push(name)
  if (missing.length + unexpected.length + misshaped.length + invalid.length > 0) {
    throw new WeightsMismatchError(source, missing, unexpected, misshaped, invalid)
  }
  for (const spec of net.arch.params) {
    const t = byName.get(spec.name)!
    const value = tf.tensor(fromTorchLayout(spec, t.data), [...spec.shape], "float32")
    net.params[spec.name].assign(value)
    value.dispose()
  }
}

// ------------------------------------------------------------------ files

/** Write the network as safetensors (official names/layouts, buffers, config in the metadata). */
export const saveWeights = async (net: SongUNet, path: string, metadata: Readonly<Record<string, string>> = {}): Promise<void> => {
  await writeSafetensors(path, await stateDict(net), {
    format: "pt",
    ...metadata,
    [MODEL_METADATA_KEY]: "SongUNet",
    [UNET_ARGS_METADATA_KEY]: JSON.stringify(net.args),
  })
}

/** The network config stored in a weights file's metadata, or null. */
export const unetArgsFromMetadata = (metadata: Readonly<Record<string, string>>, source = "weights file"): UNetArgs | null => {
  const raw = metadata[UNET_ARGS_METADATA_KEY]
  if (raw === undefined) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch (error) {
    throw new Error(`${source}: metadata '${UNET_ARGS_METADATA_KEY}' is not valid JSON`, { cause: error })
  }
  return resolveUNetArgs(parsed as UNetArgs)
}

/** Load weights into an existing network (shapes must match its architecture). */
export const loadWeightsInto = async (net: SongUNet, path: string, options: Omit<LoadStateDictOptions, "source"> = {}): Promise<void> => {
  const { tensors } = await readSafetensors(path)
  loadStateDict(net, tensors, { ...options, source: path })
}

export interface LoadWeightsOptions extends Omit<LoadStateDictOptions, "source"> {
  /** Architecture to build; default: the config in the file's metadata. */
  readonly args?: UNetArgs
}

/** Build a network from a weights file (config from its metadata unless given) and load the weights. */
export const loadWeights = async (path: string, options: LoadWeightsOptions = {}): Promise<SongUNet> => {
  const { metadata, tensors } = await readSafetensors(path)
  const args = options.args ?? unetArgsFromMetadata(metadata, path)
  if (args === null) {
    throw new Error(`${path}: no '${UNET_ARGS_METADATA_KEY}' in the metadata; pass the architecture (options.args, e.g. UNET_PRESETS.base)`)
  }
  buildArch(args) // validate before allocating
  const net = new SongUNet(args, (spec) => new Float32Array(spec.shape.reduce((a, b) => a * b, 1)))
  try {
    loadStateDict(net, tensors, { prefix: options.prefix, source: path })
  } catch (error) {
    net.dispose()
    throw error
  }
  return net
}
