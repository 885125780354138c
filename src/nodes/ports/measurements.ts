import type * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { decodeMeta, encodeMeta, type PortCodec } from "../kit/codec.js"
import { tensor4d } from "./tensors.js"
import { ProcessDescription } from "./process.js"

/** y~ = A_1(x) + sigma_1 z of images, in the order of their ids, with the process that made them. */
export interface Measurements {
  readonly ids: ReadonlyArray<string>
  readonly sigma: number
  readonly process: typeof ProcessDescription.Type
  readonly y: tf.Tensor4D
}

const MeasurementsMeta = Schema.Struct({ ids: Schema.Array(Schema.String), sigma: Schema.Number, process: ProcessDescription })

const encode = encodeMeta(MeasurementsMeta)
const decode = decodeMeta("measurements", MeasurementsMeta)

export const measurementsPort: PortCodec<Measurements> = {
  kind: "measurements",
  encode: ({ y, ...meta }) => Effect.map(encode(meta), (json) => ({ meta: json, tensors: { y } })),
  decode: (stored) =>
    Effect.gen(function* () {
      const meta = yield* decode(stored.meta)
      return { ...meta, y: yield* tensor4d("measurements", stored, "y") }
    }),
}
