import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { decodeMeta, encodeMeta, type PortCodec } from "../kit/codec.js"
import { tensor4d } from "./tensors.js"

const ReconstructionsMeta = Schema.Struct({
  ids: Schema.Array(Schema.String),
  /** Reconstructions per measurement: x holds ids.length * samples images, the samples of an id together. */
  samples: Schema.Number,
  output: Schema.Literals(["x0", "y"]),
  t_stop: Schema.Number,
  dt: Schema.Number,
  steps: Schema.Number,
  engine: Schema.String,
})

/** `reconstructions`: x, and with several samples per measurement their pixelwise mean and std. */
export interface Reconstructions extends Readonly<typeof ReconstructionsMeta.Type> {
  readonly x: tf.Tensor4D
  readonly mean?: tf.Tensor
  readonly std?: tf.Tensor
}

const encode = encodeMeta(ReconstructionsMeta)
const decode = decodeMeta("reconstructions", ReconstructionsMeta)

export const reconstructionsPort: PortCodec<Reconstructions> = {
  kind: "reconstructions",
  encode: ({ x, mean, std, ...meta }) =>
    Effect.map(encode(meta), (json) => ({ meta: json, tensors: { x, ...(mean ? { mean } : {}), ...(std ? { std } : {}) } })),
  decode: (stored) =>
    Effect.gen(function* () {
      const meta = yield* decode(stored.meta)
      const { mean, std } = stored.tensors
      return { ...meta, x: yield* tensor4d("reconstructions", stored, "x"), ...(mean ? { mean } : {}), ...(std ? { std } : {}) }
    }),
}
