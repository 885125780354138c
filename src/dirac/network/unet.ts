/**
 * Phi_theta(y, sigma): EDM's SongUNet (NCSN++ flavour: Fourier embedding,
 * residual encoder, standard decoder, [1,3,3,1] FIR resampling) with
 * DiracDiffusion's residual prediction x^0 = y + F(y, sigma).
 *
 * Parameters live in a flat map `official name -> tf.Variable` (names and
 * element counts as in the PyTorch state_dict), stored in tfjs layouts (see
 * arch.ts) so that a training step does no weight transposes.
 */
import * as tf from "@tensorflow/tfjs-core"
import { Rng, seedFromString } from "../random.js"
import { buildArch, SKIP_SCALE, type BlockSpec, type ConvSpec, type NormSpec, type ParamSpec, type UNetArch } from "./arch.js"
import { resolveUNetArgs, type UNetArgs, type UNetPresetName } from "./config.js"
import {
  addBias,
  addPerSample,
  ConstantCache,
  conv2d,
  firDown,
  firDownValid,
  firUp,
  fourierFeatures,
  linear,
  normAct,
  residualJoin,
  selfAttention,
  silu,
  type DropoutSpec,
} from "./layers.js"

type T4 = tf.Tensor4D

export type UNetParams = Readonly<Record<string, tf.Variable>>

export interface ForwardOptions {
  /** Enables dropout (args.dropout) inside the UNetBlocks. Default false (eval mode). */
  readonly training?: boolean
  /** Seed of the dropout masks (deterministic given the seed); random when absent. */
  readonly dropoutSeed?: number
}

export interface CreateUNetOptions {
  /** Seed of the initialisation (default 0); every parameter gets its own stream derived from (seed, name). */
  readonly seed?: number
  /** Changes applied on top of a preset (or the given args). */
  readonly overrides?: Partial<UNetArgs>
}

let instances = 0

/** A SongUNet instance: its config, architecture and variables. Dispose when done. */
export class SongUNet {
  readonly args: UNetArgs
  readonly arch: UNetArch
  /** official name -> variable (tfjs layout), including the non-trainable `map_noise.freqs`. */
  readonly params: UNetParams
  /** The trainable variables (everything but `map_noise.freqs`), for optimisers. */
  readonly trainableVariables: readonly tf.Variable[]
  /** Constant tensors (FIR filters, ones) reused across passes. */
  readonly consts = new ConstantCache()
  private disposed = false

  /** Prefer {@link createUNet}. `init` returns the initial values of a parameter in tfjs layout. */
  constructor(args: UNetArgs, init: (spec: ParamSpec) => Float32Array) {
    this.args = args
    this.arch = buildArch(args)
    const id = instances++
    const params: Record<string, tf.Variable> = {}
    const trainable: tf.Variable[] = []
    for (const spec of this.arch.params) {
      const data = init(spec)
      const value = tf.tensor(data, [...spec.shape], "float32")
      const v = tf.variable(value, spec.trainable, `songunet${id}/${spec.name}`)
      value.dispose()
      params[spec.name] = v
      if (spec.trainable) trainable.push(v)
    }
    this.params = params
    this.trainableVariables = trainable
  }

  /** x^0 = y + F(y, sigma); see {@link forward}. */
  forward(y: T4, sigma: tf.Tensor1D, options: ForwardOptions = {}): T4 {
    return forward(this, y, sigma, options)
  }

  /** Number of learned parameters (the official count). */
  get numParameters(): number {
    return this.trainableVariables.reduce((s, v) => s + v.size, 0)
  }

  get isDisposed(): boolean {
    return this.disposed
  }

  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    for (const v of Object.values(this.params)) v.dispose()
    this.consts.dispose()
  }
}

/** Deterministic EDM initialisation (xavier_uniform * init_weight, zero biases, unit GroupNorm scales, freqs ~ N(0, scale^2)). */
export const initialValues =
  (seed: number) =>
  (spec: ParamSpec): Float32Array => {
    const n = spec.shape.reduce((a, b) => a * b, 1)
    const out = new Float32Array(n)
    const init = spec.init
    switch (init.mode) {
      case "zeros":
        return out
      case "ones":
        return out.fill(1)
      case "normal": {
        const rng = Rng.fromSeed(seedFromString(`${seed >>> 0}/${spec.name}`))
        for (let i = 0; i < n; i++) out[i] = rng.normal() * init.std
        return out
      }
      case "xavier_uniform": {
        const rng = Rng.fromSeed(seedFromString(`${seed >>> 0}/${spec.name}`))
        const bound = Math.sqrt(6 / (init.fanIn + init.fanOut)) * init.gain
        for (let i = 0; i < n; i++) out[i] = (rng.uniform() * 2 - 1) * bound
        return out
      }
    }
  }

/** Build and initialise a network from a preset name or explicit args. */
export const createUNet = (spec: UNetPresetName | UNetArgs, options: CreateUNetOptions = {}): SongUNet => {
  const args = resolveUNetArgs(spec, options.overrides)
  return new SongUNet(args, initialValues(options.seed ?? 0))
}

// ------------------------------------------------------------------ forward

const resamplePad = (taps: readonly number[]): number => Math.floor((taps.length - 1) / 2)

/** Bernoulli keep-mask scaled by 1/(1-p) (PyTorch dropout semantics), from our own PRNG. */
const dropoutMask = (shape: readonly number[], rate: number, seed: number): tf.Tensor => {
  const n = shape.reduce((a, b) => a * b, 1)
  const data = new Float32Array(n)
  const keep = 1 - rate
  const scale = 1 / keep
  const threshold = Math.floor(rate * 4294967296)
  const rng = Rng.fromSeed(seed)
  for (let i = 0; i < n; i++) data[i] = rng.nextUint32() >= threshold ? scale : 0
  return tf.tensor(data, [...shape], "float32")
}

interface Ctx {
  readonly net: SongUNet
  readonly p: UNetParams
  readonly training: boolean
  readonly dropoutSeed: number
}

const weight4 = (ctx: Ctx, name: string): tf.Tensor4D => ctx.p[`${name}.weight`] as unknown as tf.Tensor4D
const vec = (ctx: Ctx, name: string): tf.Tensor1D => ctx.p[name] as unknown as tf.Tensor1D

/** act(GroupNorm(x)) [* dropout], one fused op. */
const norm = (ctx: Ctx, spec: NormSpec, x: T4, act: boolean, dropout: DropoutSpec | null = null): T4 =>
  normAct(x, vec(ctx, `${spec.name}.weight`), vec(ctx, `${spec.name}.bias`), spec.groups, spec.eps, act, dropout)

/**
 * EDM Conv2d.forward WITHOUT the bias (callers fold it into the next op):
 * resample first, then the weight; the fused down path (aux_residual) is the
 * conv with padding w_pad + f_pad, then the FIR with stride 2 and no padding.
 */
const convNoBias = (ctx: Ctx, spec: ConvSpec, x: T4): T4 => {
  const consts = ctx.net.consts
  const taps = ctx.net.args.resample_filter
  const fPad = resamplePad(taps)
  const wPad = Math.floor(spec.kernel / 2)
  const w = weight4(ctx, spec.name)
  if (spec.fused && spec.down) return firDownValid(consts, conv2d(x, w, null, wPad + fPad), taps)
  if (spec.fused && spec.up) throw new Error("fused upsampling is not used by SongUNet and not implemented")
  let h = x
  if (spec.up) h = firUp(consts, h, taps, fPad)
  if (spec.down) h = firDown(consts, h, taps, fPad)
  return conv2d(h, w, null, wPad)
}

const bias = (ctx: Ctx, spec: ConvSpec): tf.Tensor1D => vec(ctx, `${spec.name}.bias`)

/** EDM UNetBlock.forward with adaptive_scale=False, num_heads=1, skip_scale=sqrt(1/2). */
const block = (ctx: Ctx, spec: BlockSpec, x: T4, emb: tf.Tensor2D): T4 => {
  // h = conv0(silu(norm0(x))); the conv0 bias joins the per-sample affine(emb) term.
  let h = convNoBias(ctx, spec.conv0, norm(ctx, spec.norm0, x, true))
  const a = spec.affine.name
  const params = tf.add(
    linear(emb, ctx.p[`${a}.weight`] as unknown as tf.Tensor2D, vec(ctx, `${a}.bias`)),
    bias(ctx, spec.conv0),
  ) as tf.Tensor2D
  h = addPerSample(h, params)
  // h = dropout(silu(norm1(h + affine(emb))))
  const rate = ctx.net.args.dropout
  let dropout: DropoutSpec | null = null
  if (ctx.training && rate > 0) {
    const seed = seedFromString(`${ctx.dropoutSeed >>> 0}/${spec.name}`)
    dropout = { rate, mask: (shape) => dropoutMask(shape, rate, seed) }
  }
  h = convNoBias(ctx, spec.conv1, norm(ctx, spec.norm1, h, true, dropout))
  // x = (conv1(h) + skip(x)) * skip_scale, biases folded.
  let out: T4
  if (spec.skip === null) {
    out = residualJoin(h, x, bias(ctx, spec.conv1), SKIP_SCALE)
  } else {
    const b = tf.add(bias(ctx, spec.conv1), bias(ctx, spec.skip)) as tf.Tensor1D
    out = residualJoin(h, convNoBias(ctx, spec.skip, x), b, SKIP_SCALE)
  }
  if (spec.attention) {
    const q = spec.qkv!.name
    const att = selfAttention(norm(ctx, spec.norm2!, out, false), weight4(ctx, q), vec(ctx, `${q}.bias`), weight4(ctx, spec.proj!.name))
    out = residualJoin(att, out, bias(ctx, spec.proj!), SKIP_SCALE)
  }
  return out
}

/** The conditioning vector: silu(L1(silu(L0([sin, cos](2 pi freqs sigma))))), [B, emb]. */
export const embedSigma = (net: SongUNet, sigma: tf.Tensor1D): tf.Tensor2D =>
  tf.tidy(() => {
    const p = net.params
    const feats = fourierFeatures(sigma, p["map_noise.freqs"] as unknown as tf.Tensor1D)
    const l0 = silu(linear(feats, p["map_layer0.weight"] as unknown as tf.Tensor2D, p["map_layer0.bias"] as unknown as tf.Tensor1D))
    return silu(linear(l0, p["map_layer1.weight"] as unknown as tf.Tensor2D, p["map_layer1.bias"] as unknown as tf.Tensor1D))
  })

/** F(y, sigma), the raw SongUNet output (without the residual + y). */
export const songUNetRaw = (net: SongUNet, y: T4, sigma: tf.Tensor1D, options: ForwardOptions = {}): T4 => {
  if (net.isDisposed) throw new Error("SongUNet: forward on a disposed network")
  const { arch, args } = net
  if (y.rank !== 4) throw new RangeError(`y must be [B, H, W, C], got shape [${y.shape.join(", ")}]`)
  const [bs, h, w, c] = y.shape
  if (c !== args.in_channels) throw new RangeError(`y has ${c} channels, the network expects ${args.in_channels} (NHWC layout)`)
  const factor = 2 ** (args.channel_mult.length - 1)
  if (h % factor !== 0 || w % factor !== 0) {
    throw new RangeError(`y is ${h}x${w}; with ${args.channel_mult.length} levels H and W must be multiples of ${factor}`)
  }
  if (sigma.rank !== 1 || sigma.shape[0] !== bs) throw new RangeError(`sigma must be [B] = [${bs}], got [${sigma.shape.join(", ")}]`)
  const ctx: Ctx = {
    net,
    p: net.params,
    training: options.training ?? false,
    dropoutSeed: options.dropoutSeed ?? Math.floor(Math.random() * 4294967296),
  }
  return tf.tidy(() => {
    const emb = embedSigma(net, sigma)
    const skips: T4[] = []
    let x: T4 = y
    let aux: T4 = y
    for (const step of arch.encoder) {
      // One tidy per module: its temporaries are freed right away (what the
      // backward pass needs is saved by tfjs as kept copies).
      const input = x
      if (step.kind === "aux_residual") {
        // x = skips[-1] = aux = (x + aux_residual(aux)) / sqrt(2)
        const a = aux
        x = tf.tidy(() => residualJoin(convNoBias(ctx, step.conv, a), input, bias(ctx, step.conv), Math.SQRT1_2))
        skips[skips.length - 1] = x
        aux = x
      } else {
        x = tf.tidy(() =>
          step.kind === "conv"
            ? (addBias(convNoBias(ctx, step.conv, input), bias(ctx, step.conv)) as T4)
            : block(ctx, step.block, input, emb),
        )
        skips.push(x)
      }
    }
    let tmp: T4 | null = null
    let out: T4 | null = null
    for (const step of arch.decoder) {
      const input = x
      if (step.kind === "aux_norm") {
        tmp = tf.tidy(() => norm(ctx, step.norm, input, true)) // aux_norm, then the silu that precedes aux_conv
      } else if (step.kind === "aux_conv") {
        const normed: T4 = tmp!
        const y: T4 = tf.tidy(() => addBias(convNoBias(ctx, step.conv, normed), bias(ctx, step.conv)) as T4)
        out = out === null ? y : (tf.add(y, out) as T4)
      } else {
        const skip = step.concatSkip ? skips.pop()! : null
        x = tf.tidy(() => block(ctx, step.block, skip === null ? input : tf.concat([input, skip], 3), emb))
      }
    }
    return out!
  })
}

/**
 * Phi_theta(y, sigma) = y + SongUNet(y, sigma) (Dirac's residual prediction).
 * `y` is NHWC [B, H, W, in_channels] (H, W multiples of 2^(levels-1); the
 * names refer to img_resolution but, as in PyTorch, other sizes work);
 * `sigma` is the raw noise std per sample, [B].
 */
export const forward = (net: SongUNet, y: T4, sigma: tf.Tensor1D, options: ForwardOptions = {}): T4 =>
  tf.tidy(() => tf.add(y, songUNetRaw(net, y, sigma, options)) as T4)
