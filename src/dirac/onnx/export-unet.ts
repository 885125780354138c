/**
 * Phi_theta(y, sigma) = y + SongUNet(y, sigma) as an ONNX graph (opset 17),
 * built from the same architecture description the tfjs network is built from
 * (network/arch.ts) and the official state_dict, op for op as EDM's PyTorch
 * modules compute it: NCHW inside, FIR resampling as grouped (transposed)
 * convolutions, GroupNorm as InstanceNormalization over [B, G, C/G*H*W],
 * single-head attention with the official interleaved qkv channels.
 *
 * Inputs `y` [B, H, W, C] (NHWC, as the sampler holds it) and `sigma` [B];
 * output `x0` [B, H, W, C]. B, H and W are symbolic.
 */
import { SKIP_SCALE, type BlockSpec, type ConvSpec, type NormSpec, type UNetArch } from "../network/arch.js"
import { firFilter2d } from "../network/layers.js"
import { GraphBuilder } from "./graph.js"
import { encodeModel } from "./proto.js"

export const ONNX_OPSET = 17

/** Official name -> values in the official (PyTorch) layout. */
export type TorchWeights = (name: string) => Float32Array

interface Ctx {
  readonly g: GraphBuilder
  readonly arch: UNetArch
  readonly w: TorchWeights
}

const param = (ctx: Ctx, name: string, dims: readonly number[]): string => ctx.g.weight(name, dims, ctx.w(name))

const silu = (ctx: Ctx, x: string, scope: string): string => ctx.g.op("Mul", [x, ctx.g.op("Sigmoid", [x], scope)], scope)

/** torch.nn.functional.group_norm, then optionally SiLU. */
const norm = (ctx: Ctx, spec: NormSpec, x: string, act: boolean): string => {
  const { g } = ctx
  const s = spec.name
  const grouped = g.op("Reshape", [x, g.ints([0, spec.groups, -1])], s)
  const ones = g.constant("float32", [spec.groups], new Array<number>(spec.groups).fill(1))
  const zeros = g.constant("float32", [spec.groups], new Array<number>(spec.groups).fill(0))
  const normed = g.op("InstanceNormalization", [grouped, ones, zeros], s, { epsilon: { float: spec.eps } })
  const back = g.op("Reshape", [normed, g.op("Shape", [x], s)], s)
  const c = spec.channels
  const y = g.op("Add", [g.op("Mul", [back, param(ctx, `${s}.weight`, [c, 1, 1])], s), param(ctx, `${s}.bias`, [c, 1, 1])], s)
  return act ? silu(ctx, y, s) : y
}

/** Depthwise copies of the 2-D FIR filter, [C, 1, k, k], times gain. */
const firWeight = (ctx: Ctx, spec: ConvSpec, channels: number, gain: number): string => {
  const taps = ctx.arch.args.resample_filter
  const k = taps.length
  const f = firFilter2d(taps)
  const data = new Float32Array(channels * k * k)
  for (let c = 0; c < channels; c++) for (let i = 0; i < k * k; i++) data[c * k * k + i] = gain * f[i]
  return ctx.g.weight(`${spec.name}.resample_filter.x${channels}${gain === 1 ? "" : `.gain${gain}`}`, [channels, 1, k, k], data)
}

/** EDM Conv2d.forward: resampling, then the weight (or the fused down path), then the bias. */
const conv = (ctx: Ctx, spec: ConvSpec, x: string): string => {
  const { g } = ctx
  const s = spec.name
  const fPad = Math.floor((ctx.arch.args.resample_filter.length - 1) / 2)
  const wPad = Math.floor(spec.kernel / 2)
  const w = param(ctx, `${s}.weight`, [spec.cout, spec.cin, spec.kernel, spec.kernel])
  const b = param(ctx, `${s}.bias`, [spec.cout])
  const pads = (p: number) => [p, p, p, p]
  if (spec.fused && spec.down) {
    const h = g.op("Conv", [x, w], s, { pads: pads(wPad + fPad) })
    const down = g.op("Conv", [h, firWeight(ctx, spec, spec.cout, 1)], s, { strides: [2, 2], group: spec.cout })
    return g.op("Add", [down, g.op("Reshape", [b, g.ints([-1, 1, 1])], s)], s)
  }
  if (spec.fused) throw new Error("ONNX export: fused upsampling is not used by SongUNet")
  let h = x
  if (spec.up) h = g.op("ConvTranspose", [h, firWeight(ctx, spec, spec.cin, 4)], s, { strides: [2, 2], pads: pads(fPad), group: spec.cin })
  if (spec.down) h = g.op("Conv", [h, firWeight(ctx, spec, spec.cin, 1)], s, { strides: [2, 2], pads: pads(fPad), group: spec.cin })
  return g.op("Conv", [h, w, b], s, { pads: pads(wPad) })
}

const linear = (ctx: Ctx, name: string, fin: number, fout: number, x: string): string =>
  ctx.g.op("Gemm", [x, param(ctx, `${name}.weight`, [fout, fin]), param(ctx, `${name}.bias`, [fout])], name, { transB: 1 })

const join = (ctx: Ctx, h: string, skip: string, scope: string): string =>
  ctx.g.op("Mul", [ctx.g.op("Add", [h, skip], scope), ctx.g.scalar(SKIP_SCALE)], scope)

/** EDM AttentionOp with one head: softmax_k(q . k / sqrt(C)), a = sum_k w v, then proj. */
const attention = (ctx: Ctx, spec: BlockSpec, x: string): string => {
  const { g } = ctx
  const s = spec.name
  const c = spec.cout
  const qkv = conv(ctx, spec.qkv!, norm(ctx, spec.norm2!, x, false))
  const split = g.op("Reshape", [qkv, g.ints([0, c, 3, -1])], s)
  const [q, k, v] = [0, 1, 2].map((j) => g.op("Gather", [split, g.constant("int64", [], [j])], s, { axis: 2 }))
  const logits = g.op("MatMul", [g.op("Transpose", [q], s, { perm: [0, 2, 1] }), g.op("Div", [k, g.scalar(Math.sqrt(c))], s)], s)
  const weights = g.op("Softmax", [logits], s, { axis: -1 })
  const a = g.op("MatMul", [v, g.op("Transpose", [weights], s, { perm: [0, 2, 1] })], s)
  const proj = conv(ctx, spec.proj!, g.op("Reshape", [a, g.op("Shape", [x], s)], s))
  return join(ctx, proj, x, s)
}

/** EDM UNetBlock.forward (eval mode: no dropout). */
const block = (ctx: Ctx, spec: BlockSpec, x: string, emb: string): string => {
  const { g } = ctx
  const s = spec.name
  const h0 = conv(ctx, spec.conv0, norm(ctx, spec.norm0, x, true))
  const affine = linear(ctx, spec.affine.name, spec.affine.fin, spec.affine.fout, emb)
  const h1 = g.op("Add", [h0, g.op("Reshape", [affine, g.ints([0, -1, 1, 1])], s)], s)
  const h2 = conv(ctx, spec.conv1, norm(ctx, spec.norm1, h1, true))
  const out = join(ctx, h2, spec.skip === null ? x : conv(ctx, spec.skip, x), s)
  return spec.attention ? attention(ctx, spec, out) : out
}

/** silu(L1(silu(L0([sin, cos](sigma * 2 pi freqs))))), [B, emb]. */
const embedding = (ctx: Ctx, sigma: string): string => {
  const { g, arch } = ctx
  const s = "map_noise"
  const half = arch.noiseChannels / 2
  const freqs = g.op("Mul", [param(ctx, "map_noise.freqs", [1, half]), g.scalar(2 * Math.PI)], s)
  const arg = g.op("Mul", [g.op("Reshape", [sigma, g.ints([-1, 1])], s), freqs], s)
  const feats = g.op("Concat", [g.op("Sin", [arg], s), g.op("Cos", [arg], s)], s, { axis: 1 })
  const { layer0, layer1 } = arch.map
  const l0 = silu(ctx, linear(ctx, layer0.name, layer0.fin, layer0.fout, feats), layer0.name)
  return silu(ctx, linear(ctx, layer1.name, layer1.fin, layer1.fout, l0), layer1.name)
}

const songUNet = (ctx: Ctx, input: string, sigma: string): string => {
  const { g, arch } = ctx
  const emb = embedding(ctx, sigma)
  const skips: string[] = []
  let x = input
  let aux = input
  for (const step of arch.encoder) {
    if (step.kind === "aux_residual") {
      x = g.op("Mul", [g.op("Add", [x, conv(ctx, step.conv, aux)], step.conv.name), g.scalar(Math.SQRT1_2)], step.conv.name)
      skips[skips.length - 1] = x
      aux = x
    } else {
      x = step.kind === "conv" ? conv(ctx, step.conv, x) : block(ctx, step.block, x, emb)
      skips.push(x)
    }
  }
  let normed = ""
  let out = ""
  for (const step of arch.decoder) {
    if (step.kind === "aux_norm") normed = norm(ctx, step.norm, x, true)
    else if (step.kind === "aux_conv") out = conv(ctx, step.conv, normed)
    else {
      const input = step.concatSkip ? g.op("Concat", [x, skips.pop()!], step.block.name, { axis: 1 }) : x
      x = block(ctx, step.block, input, emb)
    }
  }
  return out
}

export interface ExportOptions {
  /** Stored in the model's metadata_props (e.g. the preset and the weights' cache key). */
  readonly metadata?: Readonly<Record<string, string>>
}

/** The network as the bytes of an ONNX model. */
export const exportUNetOnnx = (arch: UNetArch, weights: TorchWeights, options: ExportOptions = {}): Uint8Array => {
  const g = new GraphBuilder()
  const ctx: Ctx = { g, arch, w: weights }
  const channels = arch.args.in_channels
  const nchw = g.op("Transpose", ["y"], "input", { perm: [0, 3, 1, 2] })
  const residual = g.op("Transpose", [songUNet(ctx, nchw, "sigma")], "output", { perm: [0, 2, 3, 1] })
  g.nodes.push({ opType: "Add", inputs: ["y", residual], outputs: ["x0"], name: "output/residual" })
  const image = ["batch", "height", "width", channels]
  return encodeModel({
    producer: "dirac-pipe",
    producerVersion: "1",
    opset: ONNX_OPSET,
    graphName: "dirac_songunet",
    nodes: g.nodes,
    initializers: g.initializers,
    inputs: [
      { name: "y", shape: image },
      { name: "sigma", shape: ["batch"] },
    ],
    outputs: [{ name: "x0", shape: image }],
    metadata: { "dirac.unet_args": JSON.stringify(arch.args), ...options.metadata },
  })
}
