import * as tf from "@tensorflow/tfjs-core"

/**
 * The backend instance if `name` is already initialised, else undefined.
 * Unlike `tf.findBackend`, this never starts initialising a registered backend
 * (which for wasm would instantiate a module with the current flags).
 */
export const initialisedBackend = (name: string): tf.KernelBackend | undefined => tf.engine().registry[name]
