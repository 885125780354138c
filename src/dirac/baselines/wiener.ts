import * as tf from "@tensorflow/tfjs-core"
import { gaussianTaps } from "../operators/reflect-blur-matrix.js"
import { sandwich } from "../operators/gaussian-blur.js"
import type { DegradationProcess } from "../operators/process.js"
import { dctI, laplacianSpectrum, symmetricFilterSpectrum } from "./dct-i.js"
import type { TikhonovPrior } from "./tikhonov.js"

export interface WienerOptions {
  readonly lambda: number
  readonly prior: TikhonovPrior
}

/**
 * Tikhonov-regularised deconvolution in closed form for the Gaussian-blur family (a Wiener filter with a white
 * or 1/|w|^2 image spectrum).
 *
 * The blur acts per channel as Y = B_H X B_W^T, with B[i, j] = sum_k g_k [reflect(i + k) = j] and reflection that
 * does not repeat the edge sample (period 2(n-1)). On the whole-sample symmetric extension that is a circular
 * convolution with symmetric taps, so B = C^-1 diag(l) C with C the DCT-I of length n (dct-i.ts) and
 *
 *   l_k = sum_m g_m cos(pi k m / (n-1)).
 *
 * The Laplacian with the same reflection has eigenvalues 2 - 2 cos(pi k / (n-1)). With Xhat = C_H X C_W^T,
 *
 *   x = C_H^-1 [ l_k l_j / ((l_k l_j)^2 + lambda rho_kj) * Yhat_kj ] C_W^-T,
 *   rho_kj = 1 (identity prior)  or  (2 - 2 cos(pi k / (H-1))) + (2 - 2 cos(pi j / (W-1)))  (gradient prior),
 *
 * is the exact minimiser of ||B x - y||_w^2 + lambda ||L x||^2 over the symmetric extension: the norm weights
 * pixel (i, j) by w_i w_j with w = 1/2 on the first and last sample of an axis and 1 inside, and for the gradient
 * prior ||L x||^2 = sum_j w_j ||D_H x_{:,j}||^2 + sum_i w_i ||D_W x_{i,:}||^2 with D the forward differences
 * (n - 1 per axis). Any blur radius works (taps beyond the period wrap around as the reflection does).
 */
export const wiener = (process: DegradationProcess, y: tf.Tensor4D, options: WienerOptions): tf.Tensor4D => {
  if (!(options.lambda > 0)) throw new RangeError(`lambda must be positive, got ${options.lambda}`)
  const description = process.family.describe()
  if (description.kind !== "gaussian-blur") throw new RangeError(`wiener needs a gaussian-blur process, got ${description.kind}`)
  const [, h, w] = y.shape
  const taps = gaussianTaps(process.severity(1), (description.kernelSize - 1) / 2)
  const gain = wienerGain(symmetricFilterSpectrum(taps, h), symmetricFilterSpectrum(taps, w), options)
  const [rows, columns] = [dctI(h), dctI(w)]
  return tf.tidy(() => {
    const spectrum = sandwich(y, rows.forward, columns.forwardTransposed)
    const filtered = tf.mul(spectrum, tf.tensor4d(gain, [1, h, w, 1])) as tf.Tensor4D
    return sandwich(filtered, rows.inverse, columns.inverseTransposed)
  })
}

/** The filter's gain on DCT-I mode (k, j), row-major H x W. */
const wienerGain = (height: Float64Array, width: Float64Array, options: WienerOptions): Float32Array => {
  const [lh, lw] = [laplacianSpectrum(height.length), laplacianSpectrum(width.length)]
  const gain = new Float32Array(height.length * width.length)
  for (let k = 0; k < height.length; k++)
    for (let j = 0; j < width.length; j++) {
      const l = height[k]! * width[j]!
      const rho = options.prior === "identity" ? 1 : lh[k]! + lw[j]!
      gain[k * width.length + j] = l / (l * l + options.lambda * rho)
    }
  return gain
}
