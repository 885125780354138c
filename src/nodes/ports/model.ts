import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import type { RawTensor } from "../../dirac/io/safetensors.js"
import { networkFromModelTensors, type SongUNet } from "../../dirac/network/index.js"
import { decodeMeta, encodeMeta, failure, type PortCodec } from "../kit/codec.js"

const UNetArgs = Schema.Struct({
  img_resolution: Schema.Number,
  in_channels: Schema.Number,
  out_channels: Schema.Number,
  label_dim: Schema.Literal(0),
  augment_dim: Schema.Literal(0),
  label_dropout: Schema.Literal(0),
  model_channels: Schema.Number,
  channel_mult: Schema.Array(Schema.Number),
  channel_mult_emb: Schema.Number,
  channel_mult_noise: Schema.Number,
  num_blocks: Schema.Number,
  attn_resolutions: Schema.Array(Schema.Number),
  dropout: Schema.Number,
  embedding_type: Schema.Literal("fourier"),
  embedding_scale: Schema.Number,
  encoder_type: Schema.Literal("residual"),
  decoder_type: Schema.Literal("standard"),
  resample_filter: Schema.Array(Schema.Number),
})

/** What is known of a model besides its weights: the architecture, and how it was trained or where it came from. */
export const ModelMeta = Schema.Struct({
  args: UNetArgs,
  /** The weights include EMA weights under `ema.*`. */
  ema: Schema.Boolean,
  preset: Schema.optionalKey(Schema.String),
  steps: Schema.optionalKey(Schema.Number),
  /** What it was trained for: DiracDiffusion (incremental-reconstruction) or the supervised baseline. */
  objective: Schema.optionalKey(Schema.Literals(["incremental-reconstruction", "supervised"])),
  /** The look-ahead dt of the loss it was trained with. */
  dt: Schema.optionalKey(Schema.Number),
  final_loss: Schema.optionalKey(Schema.NullOr(Schema.Number)),
  validation_loss: Schema.optionalKey(Schema.Number),
  source: Schema.optionalKey(Schema.String),
  checkpoint: Schema.optionalKey(Schema.String),
  weights: Schema.optionalKey(Schema.String),
  /** What an imported checkpoint was trained for. */
  task: Schema.optionalKey(Schema.Literals(["blur", "inpaint"])),
  hyper_parameters: Schema.optionalKey(Schema.Json),
})

/** `model`: a network's weights under the official names and PyTorch layouts, and its meta. */
export interface Model {
  readonly meta: typeof ModelMeta.Type
  readonly tensors: Readonly<Record<string, tf.Tensor>>
}

const encode = encodeMeta(ModelMeta)
const decode = decodeMeta("model", ModelMeta)

export const modelPort: PortCodec<Model> = {
  kind: "model",
  encode: (model) => Effect.map(encode(model.meta), (meta) => ({ meta, tensors: model.tensors })),
  decode: (stored) => Effect.map(decode(stored.meta), (meta) => ({ meta, tensors: stored.tensors })),
}

/** Rebuilds the network of a model, with its EMA weights when asked for and present; the caller disposes it. */
export const openNetwork = (model: Model, weights: "ema" | "raw"): Effect.Effect<SongUNet, ReturnType<typeof failure>> =>
  Effect.tryPromise({
    try: async () => {
      const raw: Record<string, RawTensor> = {}
      for (const [name, t] of Object.entries(model.tensors))
        raw[name] = { dtype: "float32", shape: t.shape, data: (await t.data()) as Float32Array }
      return networkFromModelTensors(model.meta.args, raw, weights === "ema" && model.meta.ema)
    },
    catch: failure,
  })
