/**
 * Hyper-parameters of the score network Phi_theta(y, sigma): EDM's `SongUNet`
 * (the DDPM++/NCSN++ re-implementation in NVlabs/edm `training/networks.py`)
 * as configured by DiracDiffusion's `configs/models/models.yaml`.
 *
 * Field names follow the Python keyword arguments so a `models.yaml` entry can
 * be used as is (plus `embedding_scale`, which `FourierEmbedding` takes but
 * `SongUNet` never overrides, and the fixed `residual_prediction`).
 */

export interface UNetArgs {
  /** Image resolution the names refer to (`enc.{r}x{r}_...`); also the resolution the presets are meant for. */
  readonly img_resolution: number
  readonly in_channels: number
  readonly out_channels: number
  /** Class-label conditioning: unsupported, must be 0 (as in every Dirac config). */
  readonly label_dim: 0
  /** Augmentation-label conditioning: unsupported, must be 0. */
  readonly augment_dim: 0
  readonly label_dropout: 0
  /** Base channel count C; level l has C * channel_mult[l] channels. */
  readonly model_channels: number
  readonly channel_mult: readonly number[]
  /** Embedding width = model_channels * channel_mult_emb (the map_layer0/1 and affine inputs). */
  readonly channel_mult_emb: number
  /** Fourier feature count = model_channels * channel_mult_noise (half sin, half cos). */
  readonly channel_mult_noise: number
  /** UNetBlocks per level in the encoder (the decoder has num_blocks + 1). */
  readonly num_blocks: number
  /** Resolutions (img_resolution >> level) with self-attention. */
  readonly attn_resolutions: readonly number[]
  /** Dropout probability inside every UNetBlock (before conv1), training only. */
  readonly dropout: number
  readonly embedding_type: "fourier"
  /** std of the Fourier frequencies (freqs ~ N(0,1) * scale); EDM's FourierEmbedding default 16. */
  readonly embedding_scale: number
  readonly encoder_type: "residual"
  readonly decoder_type: "standard"
  /** 1-D FIR taps; the 2-D filter is f (x) f / sum(f)^2. */
  readonly resample_filter: readonly number[]
}

const common = {
  in_channels: 3,
  out_channels: 3,
  label_dim: 0,
  augment_dim: 0,
  label_dropout: 0,
  channel_mult_emb: 4,
  channel_mult_noise: 2,
  embedding_type: "fourier",
  embedding_scale: 16,
  encoder_type: "residual",
  decoder_type: "standard",
  resample_filter: [1, 3, 3, 1],
} as const

/**
 * - `base`, `large`: the official `models.yaml` entries (67,745,027 / 520,915,459 parameters).
 * - `tiny-16`, `tiny-32`, `small-32`, `small-64`: same architecture, scaled down for CPU training and tests.
 */
export const UNET_PRESETS = {
  base: {
    ...common,
    img_resolution: 256,
    model_channels: 128,
    channel_mult: [1, 1, 2, 2, 2, 2, 2],
    num_blocks: 2,
    attn_resolutions: [16],
    dropout: 0.1,
  },
  large: {
    ...common,
    img_resolution: 256,
    model_channels: 256,
    channel_mult: [1, 1, 2, 2, 4, 4],
    num_blocks: 2,
    attn_resolutions: [32, 16, 8],
    dropout: 0,
  },
  "tiny-16": {
    ...common,
    img_resolution: 16,
    model_channels: 8,
    channel_mult: [1, 2],
    num_blocks: 1,
    attn_resolutions: [8],
    dropout: 0.1,
  },
  "tiny-32": {
    ...common,
    img_resolution: 32,
    model_channels: 16,
    channel_mult: [1, 2, 2, 2],
    num_blocks: 1,
    attn_resolutions: [8],
    dropout: 0.1,
  },
  "small-32": {
    ...common,
    img_resolution: 32,
    model_channels: 32,
    channel_mult: [1, 2, 2],
    num_blocks: 2,
    attn_resolutions: [8],
    dropout: 0.1,
  },
  "small-64": {
    ...common,
    img_resolution: 64,
    model_channels: 32,
    channel_mult: [1, 1, 2, 2, 2],
    num_blocks: 2,
    attn_resolutions: [16],
    dropout: 0.1,
  },
} as const satisfies Record<string, UNetArgs>

export type UNetPresetName = keyof typeof UNET_PRESETS

export const isUNetPresetName = (name: string): name is UNetPresetName => Object.hasOwn(UNET_PRESETS, name)

/** A preset by name, or the args themselves (validated), optionally with overrides. */
export const resolveUNetArgs = (spec: UNetPresetName | UNetArgs, overrides: Partial<UNetArgs> = {}): UNetArgs => {
  let base: UNetArgs
  if (typeof spec === "string") {
    if (!isUNetPresetName(spec)) {
      throw new RangeError(`unknown network preset '${String(spec)}' (known: ${Object.keys(UNET_PRESETS).join(", ")})`)
    }
    base = UNET_PRESETS[spec]
  } else {
    base = spec
  }
  const args: UNetArgs = {
    ...base,
    ...overrides,
    channel_mult: [...(overrides.channel_mult ?? base.channel_mult)],
    attn_resolutions: [...(overrides.attn_resolutions ?? base.attn_resolutions)],
    resample_filter: [...(overrides.resample_filter ?? base.resample_filter)],
  }
  validateUNetArgs(args)
  return args
}

const isPosInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v) && v > 0

export const validateUNetArgs = (a: UNetArgs): void => {
  const fail = (msg: string): never => {
    throw new RangeError(`invalid network config: ${msg}`)
  }
  for (const key of [
    "img_resolution",
    "in_channels",
    "out_channels",
    "model_channels",
    "channel_mult_emb",
    "channel_mult_noise",
    "num_blocks",
  ] as const) {
    if (!isPosInt(a[key])) fail(`${key} must be a positive integer, got ${String(a[key])}`)
  }
  if (a.label_dim !== 0 || a.augment_dim !== 0 || a.label_dropout !== 0) fail("label_dim, augment_dim and label_dropout must be 0")
  if (a.embedding_type !== "fourier") fail(`embedding_type '${String(a.embedding_type)}' is not supported (only 'fourier')`)
  if (a.encoder_type !== "residual") fail(`encoder_type '${String(a.encoder_type)}' is not supported (only 'residual')`)
  if (a.decoder_type !== "standard") fail(`decoder_type '${String(a.decoder_type)}' is not supported (only 'standard')`)
  if (!Array.isArray(a.channel_mult) || a.channel_mult.length < 1 || !a.channel_mult.every(isPosInt))
    fail("channel_mult must be a non-empty list of positive integers")
  if (!Array.isArray(a.attn_resolutions) || !a.attn_resolutions.every(isPosInt))
    fail("attn_resolutions must be a list of positive integers")
  if (!(typeof a.dropout === "number" && a.dropout >= 0 && a.dropout < 1)) fail(`dropout must be in [0, 1), got ${String(a.dropout)}`)
  if (!(typeof a.embedding_scale === "number" && Number.isFinite(a.embedding_scale))) fail("embedding_scale must be a finite number")
  const f = a.resample_filter
  if (!Array.isArray(f) || f.length < 2 || f.length % 2 !== 0 || !f.every((v) => typeof v === "number" && Number.isFinite(v))) {
    // Even lengths keep EDM's paddings (f_pad = (len-1)//2) exactly halving / doubling the size.
    fail("resample_filter must have an even number (>= 2) of finite taps (NCSN++ uses [1,3,3,1])")
  }
  if (f.reduce((s, v) => s + v, 0) === 0) fail("resample_filter must not sum to 0")
  if (a.img_resolution % 2 ** (a.channel_mult.length - 1) !== 0) {
    fail(`img_resolution ${a.img_resolution} is not divisible by 2^${a.channel_mult.length - 1} (one halving per extra level)`)
  }
  const emb = a.model_channels * a.channel_mult_noise
  if (emb % 2 !== 0) fail("model_channels * channel_mult_noise must be even (sin and cos halves)")
}
