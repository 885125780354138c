/**
 * The SongUNet architecture as data: every module, in EDM's registration
 * order, with its official (PyTorch state_dict) name and shapes. Built from
 * {@link UNetArgs} alone, without allocating any weight, so parameter counts
 * of the 520M-parameter `large` model cost nothing.
 *
 * Layouts. Each parameter has two shapes:
 * - `torchShape`: the official one (conv `[out, in, kh, kw]`, linear `[out, in]`);
 * - `shape`: the tfjs layout the variables are kept in (conv HWIO `[kh, kw, in, out]`,
 *   linear `[in, out]`), so a training step needs no transposes. The attention
 *   `qkv` conv additionally has its output channels de-interleaved to
 *   `[q_0..q_{C-1}, k_0.., v_0..]` (torch channel 3c+j becomes j*C+c), so that
 *   q, k and v are contiguous slices. Conversion happens only on save/load
 *   (weights.ts).
 */
import { validateUNetArgs, type UNetArgs } from "./config.js"

/** How a parameter is initialised (EDM `weight_init` with mode xavier_uniform). */
export type InitSpec =
  | { readonly mode: "xavier_uniform"; readonly fanIn: number; readonly fanOut: number; readonly gain: number }
  | { readonly mode: "zeros" }
  | { readonly mode: "ones" }
  | { readonly mode: "normal"; readonly std: number }

export type ParamRole = "conv_weight" | "qkv_weight" | "linear_weight" | "bias" | "qkv_bias" | "norm_weight" | "norm_bias" | "freqs"

export interface ParamSpec {
  /** Official name, e.g. `enc.64x64_block0.conv0.weight`. */
  readonly name: string
  readonly role: ParamRole
  readonly torchShape: readonly number[]
  /** tfjs layout (see the file comment). */
  readonly shape: readonly number[]
  /** False only for the Fourier `map_noise.freqs` buffer (a PyTorch buffer, not a parameter). */
  readonly trainable: boolean
  readonly init: InitSpec
}

/** Non-learned buffers in the official state_dict (`*.resample_filter`, `[1, 1, k, k]`). */
export interface BufferSpec {
  readonly name: string
  readonly torchShape: readonly number[]
}

export interface ConvSpec {
  readonly name: string
  readonly cin: number
  readonly cout: number
  /** 0 = no weight (pure resampling; not used by the residual/standard SongUNet). */
  readonly kernel: number
  readonly up: boolean
  readonly down: boolean
  /** EDM `fused_resample` (only the encoder's aux_residual convs, which are down). */
  readonly fused: boolean
}

export interface NormSpec {
  readonly name: string
  readonly channels: number
  readonly groups: number
  readonly eps: number
}

export interface LinearSpec {
  readonly name: string
  readonly fin: number
  readonly fout: number
}

export interface BlockSpec {
  readonly name: string
  readonly cin: number
  readonly cout: number
  readonly up: boolean
  readonly down: boolean
  readonly attention: boolean
  readonly norm0: NormSpec
  readonly conv0: ConvSpec
  readonly affine: LinearSpec
  readonly norm1: NormSpec
  readonly conv1: ConvSpec
  readonly skip: ConvSpec | null
  readonly norm2: NormSpec | null
  readonly qkv: ConvSpec | null
  readonly proj: ConvSpec | null
}

export type EncoderStep =
  | { readonly kind: "conv"; readonly conv: ConvSpec }
  | { readonly kind: "block"; readonly block: BlockSpec }
  | { readonly kind: "aux_residual"; readonly conv: ConvSpec }

export type DecoderStep =
  | { readonly kind: "block"; readonly block: BlockSpec; readonly concatSkip: boolean }
  | { readonly kind: "aux_norm"; readonly norm: NormSpec }
  | { readonly kind: "aux_conv"; readonly conv: ConvSpec }

export interface UNetArch {
  readonly args: UNetArgs
  readonly noiseChannels: number
  readonly embChannels: number
  readonly map: { readonly layer0: LinearSpec; readonly layer1: LinearSpec }
  readonly encoder: readonly EncoderStep[]
  readonly decoder: readonly DecoderStep[]
  /** Skip tensors pushed by the encoder (= popped by the decoder): 21 in `base`. */
  readonly numSkips: number
  /** Parameters and the freqs buffer, in state_dict order. */
  readonly params: readonly ParamSpec[]
  readonly buffers: readonly BufferSpec[]
  /** Module names (`enc.16x16_block0`, ...) of the blocks with self-attention. */
  readonly attentionBlocks: readonly string[]
}

export const SKIP_SCALE = Math.SQRT1_2
export const GROUPNORM_EPS = 1e-6
export const INIT_ZERO_WEIGHT = 1e-5
export const INIT_ATTN_WEIGHT = Math.sqrt(0.2)

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/** EDM GroupNorm: min(32, C // 4) groups. */
export const groupCount = (channels: number): number => Math.min(32, Math.floor(channels / 4))

/** Build the architecture description (validates the args). */
export const buildArch = (args: UNetArgs): UNetArch => {
  validateUNetArgs(args)
  const params: ParamSpec[] = []
  const buffers: BufferSpec[] = []
  const attentionBlocks: string[] = []
  const fLen = args.resample_filter.length

  const norm = (name: string, channels: number): NormSpec => {
    const groups = groupCount(channels)
    if (groups < 1 || channels % groups !== 0) {
      throw new RangeError(
        `invalid network config: GroupNorm '${name}' has ${channels} channels, not divisible into ${groups} groups (min(32, C//4))`,
      )
    }
    params.push({
      name: `${name}.weight`,
      role: "norm_weight",
      torchShape: [channels],
      shape: [channels],
      trainable: true,
      init: { mode: "ones" },
    })
    params.push({
      name: `${name}.bias`,
      role: "norm_bias",
      torchShape: [channels],
      shape: [channels],
      trainable: true,
      init: { mode: "zeros" },
    })
    return { name, channels, groups, eps: GROUPNORM_EPS }
  }

  const linear = (name: string, fin: number, fout: number, gain = 1): LinearSpec => {
    params.push({
      name: `${name}.weight`,
      role: "linear_weight",
      torchShape: [fout, fin],
      shape: [fin, fout],
      trainable: true,
      init: { mode: "xavier_uniform", fanIn: fin, fanOut: fout, gain },
    })
    params.push({ name: `${name}.bias`, role: "bias", torchShape: [fout], shape: [fout], trainable: true, init: { mode: "zeros" } })
    return { name, fin, fout }
  }

  const conv = (
    name: string,
    cin: number,
    cout: number,
    kernel: number,
    opts: { up?: boolean; down?: boolean; fused?: boolean; gain?: number; qkv?: boolean } = {},
  ): ConvSpec => {
    const up = opts.up ?? false
    const down = opts.down ?? false
    if (kernel > 0) {
      const k2 = kernel * kernel
      params.push({
        name: `${name}.weight`,
        role: opts.qkv ? "qkv_weight" : "conv_weight",
        torchShape: [cout, cin, kernel, kernel],
        shape: [kernel, kernel, cin, cout],
        trainable: true,
        init: { mode: "xavier_uniform", fanIn: cin * k2, fanOut: cout * k2, gain: opts.gain ?? 1 },
      })
      params.push({
        name: `${name}.bias`,
        role: opts.qkv ? "qkv_bias" : "bias",
        torchShape: [cout],
        shape: [cout],
        trainable: true,
        init: { mode: "zeros" },
      })
    }
    if (up || down) buffers.push({ name: `${name}.resample_filter`, torchShape: [1, 1, fLen, fLen] })
    return { name, cin, cout, kernel, up, down, fused: opts.fused ?? false }
  }

  const emb = args.model_channels * args.channel_mult_emb
  const block = (name: string, cin: number, cout: number, opts: { up?: boolean; down?: boolean; attention?: boolean } = {}): BlockSpec => {
    const up = opts.up ?? false
    const down = opts.down ?? false
    const attention = opts.attention ?? false
    // Registration order of EDM's UNetBlock: norm0, conv0, affine, norm1, conv1, skip, norm2, qkv, proj.
    const norm0 = norm(`${name}.norm0`, cin)
    const conv0 = conv(`${name}.conv0`, cin, cout, 3, { up, down })
    const affine = linear(`${name}.affine`, emb, cout) // adaptive_scale=False: cout outputs
    const norm1 = norm(`${name}.norm1`, cout)
    const conv1 = conv(`${name}.conv1`, cout, cout, 3, { gain: INIT_ZERO_WEIGHT })
    // resample_proj=True: the skip is a 1x1 conv whenever it exists.
    const skip = cout !== cin || up || down ? conv(`${name}.skip`, cin, cout, 1, { up, down }) : null
    let norm2: NormSpec | null = null
    let qkv: ConvSpec | null = null
    let proj: ConvSpec | null = null
    if (attention) {
      norm2 = norm(`${name}.norm2`, cout)
      qkv = conv(`${name}.qkv`, cout, cout * 3, 1, { gain: INIT_ATTN_WEIGHT, qkv: true })
      proj = conv(`${name}.proj`, cout, cout, 1, { gain: INIT_ZERO_WEIGHT })
      attentionBlocks.push(name)
    }
    return { name, cin, cout, up, down, attention, norm0, conv0, affine, norm1, conv1, skip, norm2, qkv, proj }
  }

  // Mapping network.
  const noiseChannels = args.model_channels * args.channel_mult_noise
  params.push({
    name: "map_noise.freqs",
    role: "freqs",
    torchShape: [noiseChannels / 2],
    shape: [noiseChannels / 2],
    trainable: false,
    init: { mode: "normal", std: args.embedding_scale },
  })
  const layer0 = linear("map_layer0", noiseChannels, emb)
  const layer1 = linear("map_layer1", emb, emb)

  // Encoder.
  const encoder: EncoderStep[] = []
  const skips: number[] = []
  let cout = args.in_channels
  let caux = args.in_channels
  args.channel_mult.forEach((mult, level) => {
    const res = args.img_resolution >> level
    const r = `enc.${res}x${res}`
    if (level === 0) {
      const cin = cout
      cout = args.model_channels
      encoder.push({ kind: "conv", conv: conv(`${r}_conv`, cin, cout, 3) })
      skips.push(cout)
    } else {
      encoder.push({ kind: "block", block: block(`${r}_down`, cout, cout, { down: true }) })
      skips.push(cout)
      encoder.push({ kind: "aux_residual", conv: conv(`${r}_aux_residual`, caux, cout, 3, { down: true, fused: true }) })
      caux = cout
    }
    for (let idx = 0; idx < args.num_blocks; idx++) {
      const cin = cout
      cout = args.model_channels * mult
      encoder.push({ kind: "block", block: block(`${r}_block${idx}`, cin, cout, { attention: args.attn_resolutions.includes(res) }) })
      skips.push(cout)
    }
  })
  const numSkips = skips.length

  // Decoder.
  const decoder: DecoderStep[] = []
  const levels = args.channel_mult.length
  for (let level = levels - 1; level >= 0; level--) {
    const mult = args.channel_mult[level]
    const res = args.img_resolution >> level
    const r = `dec.${res}x${res}`
    if (level === levels - 1) {
      decoder.push({ kind: "block", block: block(`${r}_in0`, cout, cout, { attention: true }), concatSkip: false })
      decoder.push({ kind: "block", block: block(`${r}_in1`, cout, cout), concatSkip: false })
    } else {
      decoder.push({ kind: "block", block: block(`${r}_up`, cout, cout, { up: true }), concatSkip: false })
    }
    for (let idx = 0; idx <= args.num_blocks; idx++) {
      const skipChannels = skips.pop()!
      const cin = cout + skipChannels
      // EDM concatenates when x.shape[1] != block.in_channels, which is always the case here.
      const concatSkip = cout !== cin
      cout = args.model_channels * mult
      const attention = idx === args.num_blocks && args.attn_resolutions.includes(res)
      decoder.push({ kind: "block", block: block(`${r}_block${idx}`, cin, cout, { attention }), concatSkip })
    }
    if (level === 0) {
      decoder.push({ kind: "aux_norm", norm: norm(`${r}_aux_norm`, cout) })
      decoder.push({ kind: "aux_conv", conv: conv(`${r}_aux_conv`, cout, args.out_channels, 3, { gain: INIT_ZERO_WEIGHT }) })
    }
  }
  if (skips.length !== 0) throw new Error("internal: encoder/decoder skip count mismatch")

  return {
    args,
    noiseChannels,
    embChannels: emb,
    map: { layer0, layer1 },
    encoder,
    decoder,
    numSkips,
    params,
    buffers,
    attentionBlocks,
  }
}

/** Number of learned parameters (PyTorch `sum(p.numel() for p in net.parameters())`; excludes buffers). */
export const countParameters = (arch: UNetArch): number =>
  arch.params.filter((p) => p.trainable).reduce((s, p) => s + product(p.torchShape), 0)

/** Number of tensors in the official state_dict (parameters + freqs + resample_filter buffers). */
export const stateDictSize = (arch: UNetArch): number => arch.params.length + arch.buffers.length

/** Official torch shapes of every state_dict entry, parameters and buffers. */
export const stateDictShapes = (arch: UNetArch): Map<string, readonly number[]> => {
  const m = new Map<string, readonly number[]>()
  for (const p of arch.params) m.set(p.name, p.torchShape)
  for (const b of arch.buffers) m.set(b.name, b.torchShape)
  return m
}
