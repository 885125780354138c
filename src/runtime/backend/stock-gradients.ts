/**
 * Registers tfjs' stock gradients and chained tensor methods (`x.sum()`).
 *
 * `@tensorflow/tfjs-core`'s Node entry registers neither; the `@tensorflow/tfjs` union package does, on the
 * same tfjs-core instance (its registries are process-global), so importing it once is enough.
 */
import * as tf from "@tensorflow/tfjs-core"

let loading: Promise<void> | undefined

/** Idempotent: registers tfjs-core's gradients and chained ops once per process. */
export function ensureStockGradients(): Promise<void> {
  loading ??= import("@tensorflow/tfjs").then(() => {
    // Production mode: no "looks like you are running TensorFlow.js in Node.js" banner on the cpu backend.
    tf.enableProdMode()
    if (tf.getGradient(tf.Conv2D) == null) throw new Error("@tensorflow/tfjs registered no gradients")
  })
  return loading
}
