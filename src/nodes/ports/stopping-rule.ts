import { Schema } from "effect"
import { metaCodec } from "../kit/codec.js"

/** What an `early-stop` node hands a `sample` node: when to stop and what to output, and why. */
export const StoppingRule = Schema.Struct({
  t_stop: Schema.Number,
  output: Schema.Literals(["x0", "y"]),
  metric: Schema.String,
  mode: Schema.Literals(["max", "min"]),
  /** The chosen step's t, its metric value and number (1-based). */
  t: Schema.Number,
  value: Schema.Number,
  step: Schema.Number,
  t_curve: Schema.Array(Schema.Number),
  curve: Schema.Array(Schema.Number),
})

export type StoppingRule = typeof StoppingRule.Type

export const stoppingRulePort = metaCodec("stopping-rule", StoppingRule)
