import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { PortKind } from "../../dsl/ports.js"
import { NodeFailure, type PortValue } from "../contract.js"

/** The stored tensor `name` of a port value, checked to be a batch of images (rank 4). */
export const tensor4d = (kind: PortKind, stored: PortValue, name: string): Effect.Effect<tf.Tensor4D, NodeFailure> => {
  const t = stored.tensors[name]
  if (t instanceof tf.Tensor && t.rank === 4) return Effect.succeed(t as tf.Tensor4D)
  return Effect.fail(new NodeFailure({ message: `a stored ${kind} value has no rank-4 tensor '${name}'` }))
}
