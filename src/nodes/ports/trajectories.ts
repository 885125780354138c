import { Schema } from "effect"
import type { Trajectories } from "../../dirac/sample/trajectories.js"
import { metaCodec, type PortCodec } from "../kit/codec.js"

/** How trajectories are stored (also inside the sample node's checkpoints). */
export const TrajectoriesMeta = Schema.Struct({
  dt: Schema.Number,
  t: Schema.Array(Schema.Number),
  metrics: Schema.Record(Schema.String, Schema.Array(Schema.Array(Schema.Number))),
  noiseFloor: Schema.Number,
})

export const trajectoriesPort: PortCodec<Trajectories> = metaCodec("trajectories", TrajectoriesMeta)
