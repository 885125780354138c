import { Effect, Schema } from "effect"
import { failure, toJson, type PortCodec } from "../kit/codec.js"

/**
 * `metrics`: a table as JSON (each producing kind documents its columns), read by people and reports. Written
 * as JSON.stringify writes it: an infinite PSNR of identical images is stored as null.
 */
export const metricsPort: PortCodec<Schema.Json> = {
  kind: "metrics",
  encode: (table) => Effect.try({ try: () => ({ meta: toJson(table), tensors: {} }), catch: failure }),
  decode: (stored) => Effect.succeed(stored.meta),
}
