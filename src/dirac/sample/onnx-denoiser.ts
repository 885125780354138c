import * as tf from "@tensorflow/tfjs-core"
import type { OnnxNetwork } from "../onnx/runtime.js"
import type { Denoiser } from "./denoiser.js"

/** The network's forward passes on ONNX Runtime, as the sampler calls them (tensors stay tfjs tensors outside). */
export const onnxDenoiser =
  (network: OnnxNetwork): Denoiser =>
  async (y, sigma) => {
    const data = (await y.data()) as Float32Array
    const out = await network.run(data, y.shape, new Float32Array(y.shape[0]).fill(sigma))
    return tf.tensor4d(out, y.shape)
  }
