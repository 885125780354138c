import { Effect, Schema } from "effect"
import { processFromDescription, type DegradationProcess } from "../../dirac/operators/process.js"
import { decodeMeta, encodeMeta, failure, type PortCodec } from "../kit/codec.js"

const Family = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("gaussian-blur"), stdMin: Schema.Number, stdMax: Schema.Number, kernelSize: Schema.Number }),
  Schema.Struct({
    kind: Schema.Literal("inpaint-gaussian"),
    widthMin: Schema.Number,
    widthMax: Schema.Number,
    power: Schema.Number,
    truncate: Schema.NullOr(Schema.Number),
  }),
  Schema.Struct({ kind: Schema.Literal("inpaint-box"), boxSize: Schema.Number }),
])

const SeveritySchedule = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("linear"), from: Schema.Number, to: Schema.Number }),
  Schema.Struct({ kind: Schema.Literal("table"), t: Schema.Array(Schema.Number), severity: Schema.Array(Schema.Number) }),
])

/** The JSON description of a degradation process: operator family, severity schedule, noise levels. */
export const ProcessDescription = Schema.Struct({
  family: Family,
  schedule: SeveritySchedule,
  noise: Schema.Struct({ sigmaMin: Schema.Number, sigmaMax: Schema.Number }),
})

const encode = encodeMeta(ProcessDescription)
const decode = decodeMeta("process", ProcessDescription)

/** `process`: a degradation process, stored as its description and rebuilt (and checked) on decode. */
export const processPort: PortCodec<DegradationProcess> = {
  kind: "process",
  encode: (process) => Effect.map(encode(process.describe()), (meta) => ({ meta, tensors: {} })),
  decode: (stored) =>
    Effect.flatMap(decode(stored.meta), (description) => Effect.try({ try: () => processFromDescription(description), catch: failure })),
}
