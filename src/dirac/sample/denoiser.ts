import * as tf from "@tensorflow/tfjs-core"
import { forward, type SongUNet } from "../network/index.js"

/**
 * x^0 = Phi(y, sigma). Synchronous denoisers (tfjs) are differentiable, so guidance can take the gradient through
 * them; asynchronous ones (ONNX Runtime) serve unguided sampling only.
 */
export type Denoiser = (y: tf.Tensor4D, sigma: number) => tf.Tensor4D | Promise<tf.Tensor4D>

export class GuidanceNeedsGradient extends Error {
  override readonly name = "GuidanceNeedsGradient"
}

const sigmaVector = (sigma: number, n: number) => tf.fill([n], sigma) as tf.Tensor1D

/** The network as Algorithm 1 calls it: x^0 = Phi(y, sigma_t), in evaluation mode. */
export const networkDenoiser =
  (net: SongUNet): Denoiser =>
  (y, sigma) =>
    tf.tidy(() => forward(net, y, sigmaVector(sigma, y.shape[0])))
