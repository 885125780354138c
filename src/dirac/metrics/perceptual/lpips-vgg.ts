/**
 * "lpips-vgg": the real LPIPS (Zhang et al. 2018, `lpips.LPIPS(net='vgg')`, version 0.1)
 * when the user supplies its weights; none ship with any npm package.
 *
 * Weights file: safetensors with the `lpips.LPIPS(net='vgg').state_dict()` names and
 * PyTorch layouts (scripts/convert_lpips_vgg.py writes it where torch + lpips are
 * installed):
 *
 *   net.slice{1..5}.{i}.weight  [out, in, 3, 3]  and  .bias [out]   (torchvision VGG16
 *     features, i in 0,2 | 5,7 | 10,12,14 | 17,19,21 | 24,26,28)
 *   lin{0..4}.model.1.weight    [1, C, 1, 1]  (C = 64, 128, 256, 512, 512; `lins.{k}.…`
 *     and `…model.0.weight` (no dropout) are accepted too)
 *   scaling_layer.shift / .scale [1, 3, 1, 1]  (optional; default -.030 -.088 -.188 /
 *     .458 .448 .450)
 *
 * Any float dtype safetensors stores (F32/F16/BF16/F64) is read. Metadata is optional;
 * the converter writes `lpips.net = vgg`, `lpips.version = 0.1`.
 *
 * Forward (as lpips 0.1.4): x in [0, 1] (clipped) -> 2x - 1 -> (x - shift) / scale ->
 * VGG16 conv3x3(pad 1)+ReLU blocks with 2x2 max-pools, taps relu1_2, relu2_2,
 * relu3_3, relu4_3, relu5_3 -> unit-normalise over channels -> squared difference ->
 * 1x1 "lin" conv (per-channel weights) -> spatial mean -> sum over the 5 taps.
 * No resizing (LPIPS runs at the input resolution); images must be >= 16 x 16.
 */
import * as tf from "@tensorflow/tfjs-core"
import { basename } from "node:path"
import { readSafetensors, type RawTensor } from "../../io/safetensors.js"
import { LayerPerceptualMetric } from "./layer-metric.js"

/** torchvision VGG16 `features` indices of the convolutions in each LPIPS slice. */
export const LPIPS_VGG_SLICES: readonly (readonly number[])[] = [
  [0, 2],
  [5, 7],
  [10, 12, 14],
  [17, 19, 21],
  [24, 26, 28],
]
export const LPIPS_VGG_CHANNELS = [64, 128, 256, 512, 512] as const
export const LPIPS_VGG_TAPS = ["relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3"] as const
export const LPIPS_SHIFT = [-0.03, -0.088, -0.188] as const
export const LPIPS_SCALE = [0.458, 0.448, 0.45] as const

export interface ParameterShape {
  readonly name: string
  readonly shape: readonly number[]
}

/** Every parameter the loader needs (official names and PyTorch shapes). */
export const lpipsVggParameterShapes = (): ParameterShape[] => {
  const out: ParameterShape[] = []
  let cin = 3
  LPIPS_VGG_SLICES.forEach((convs, s) => {
    const cout = LPIPS_VGG_CHANNELS[s]!
    for (const i of convs) {
      out.push({ name: `net.slice${s + 1}.${i}.weight`, shape: [cout, cin, 3, 3] })
      out.push({ name: `net.slice${s + 1}.${i}.bias`, shape: [cout] })
      cin = cout
    }
  })
  LPIPS_VGG_CHANNELS.forEach((c, k) => out.push({ name: `lin${k}.model.1.weight`, shape: [1, c, 1, 1] }))
  return out
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** OIHW (PyTorch) -> HWIO (tfjs conv2d filter). */
const oihwToHwio = (data: ArrayLike<number>, [o, i, h, w]: readonly number[]): Float32Array => {
  const out = new Float32Array(o! * i! * h! * w!)
  for (let a = 0; a < o!; a++)
    for (let b = 0; b < i!; b++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++) out[((y * w! + x) * i! + b) * o! + a] = data[((a * i! + b) * h! + y) * w! + x]!
  return out
}

export interface LpipsVggWeights {
  /** Per slice, per conv: HWIO filter and bias. */
  readonly convs: readonly (readonly { readonly filter: tf.Tensor4D; readonly bias: tf.Tensor1D }[])[]
  /** Per tap: the C lin weights. */
  readonly lin: readonly Float32Array[]
  readonly shift: readonly number[]
  readonly scale: readonly number[]
  readonly metadata: Record<string, string>
}

const float = (t: RawTensor, name: string): Float32Array => {
  if (t.dtype !== "float32") throw new RangeError(`LPIPS weights: ${name} must be a float tensor, got ${t.dtype}`)
  return t.data as Float32Array
}

/** Parses LPIPS-VGG tensors (official names, PyTorch layouts) into tfjs tensors. */
export const lpipsVggWeightsFromTensors = (
  tensors: Readonly<Record<string, RawTensor>>,
  metadata: Record<string, string> = {},
): LpipsVggWeights => {
  if (metadata["lpips.net"] !== undefined && metadata["lpips.net"] !== "vgg") {
    throw new RangeError(`LPIPS weights are for net=${metadata["lpips.net"]}, expected vgg`)
  }
  const get = (names: readonly string[], shape: readonly number[]): RawTensor => {
    const name = names.find((n) => tensors[n] !== undefined)
    if (name === undefined) throw new RangeError(`LPIPS weights: missing ${names[0]} ${JSON.stringify(shape)}`)
    const t = tensors[name]!
    if (!sameShape(t.shape, shape)) throw new RangeError(`LPIPS weights: ${name} has shape [${t.shape}], expected [${shape}]`)
    return t
  }
  let cin = 3
  const convs = LPIPS_VGG_SLICES.map((indices, s) => {
    const cout = LPIPS_VGG_CHANNELS[s]!
    return indices.map((i) => {
      const prefix = `net.slice${s + 1}.${i}`
      const wShape = [cout, cin, 3, 3]
      const w = get([`${prefix}.weight`], wShape)
      const b = get([`${prefix}.bias`], [cout])
      cin = cout
      return {
        filter: tf.tensor4d(oihwToHwio(float(w, `${prefix}.weight`), wShape), [3, 3, wShape[1]!, cout]),
        bias: tf.tensor1d(float(b, `${prefix}.bias`)),
      }
    })
  })
  const lin = LPIPS_VGG_CHANNELS.map((c, k) => {
    const names = [`lin${k}.model.1.weight`, `lins.${k}.model.1.weight`, `lin${k}.model.0.weight`, `lins.${k}.model.0.weight`]
    return Float32Array.from(float(get(names, [1, c, 1, 1]), names[0]!))
  })
  const optional = (name: string, fallback: readonly number[]): readonly number[] => {
    const t = tensors[name]
    if (t === undefined) return fallback
    if (t.data.length !== 3) throw new RangeError(`LPIPS weights: ${name} must have 3 values`)
    return Array.from(float(t, name))
  }
  return {
    convs,
    lin,
    shift: optional("scaling_layer.shift", LPIPS_SHIFT),
    scale: optional("scaling_layer.scale", LPIPS_SCALE),
    metadata,
  }
}

/** Reads an LPIPS-VGG safetensors file (see the module comment for the format). */
export const readLpipsVggWeights = async (path: string): Promise<LpipsVggWeights> => {
  const { tensors, metadata } = await readSafetensors(path)
  return lpipsVggWeightsFromTensors(tensors, metadata)
}

/** The five taps of VGG16 for an input already mapped to [-1, 1] (call inside tf.tidy). */
export const lpipsVggTaps = (weights: LpipsVggWeights, x: tf.Tensor4D): tf.Tensor4D[] => {
  const shift = tf.tensor1d([...weights.shift])
  const scale = tf.tensor1d([...weights.scale])
  let h: tf.Tensor4D = tf.div(tf.sub(x, shift), scale)
  const taps: tf.Tensor4D[] = []
  weights.convs.forEach((slice, s) => {
    if (s > 0) h = tf.maxPool(h, 2, 2, "valid")
    for (const { filter, bias } of slice) h = tf.relu(tf.add(tf.conv2d(h, filter, 1, "same"), bias)) as tf.Tensor4D
    taps.push(h)
  })
  return taps
}

export interface LpipsVggOptions {
  /** Path of the safetensors weights (required). */
  readonly weights: string
  /** Images per forward pass (default 4). */
  readonly batchSize?: number
}

/** LPIPS with VGG16 and the v0.1 linear heads, from user-supplied weights. */
export const lpipsVgg = (options: LpipsVggOptions): LayerPerceptualMetric => {
  if (typeof options.weights !== "string" || options.weights === "") {
    throw new RangeError("lpips-vgg needs the path of its weights (safetensors converted by scripts/convert_lpips_vgg.py)")
  }
  return new LayerPerceptualMetric({
    name: "lpips-vgg",
    label: `LPIPS (VGG16, v0.1 linear heads, weights ${basename(options.weights)})`,
    official: true,
    input: { size: null, range: [-1, 1], alignCorners: false },
    layers: [...LPIPS_VGG_TAPS],
    batchSize: options.batchSize ?? 4,
    minSize: 16,
    build: async () => {
      const weights = await readLpipsVggWeights(options.weights)
      return { extract: (x) => lpipsVggTaps(weights, x), weights: weights.lin }
    },
  })
}
