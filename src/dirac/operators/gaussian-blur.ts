import * as tf from "@tensorflow/tfjs-core"
import { checkImages, checkSeverity, type DegradationFamily } from "./family.js"
import { reflectBlurMatrix } from "./reflect-blur-matrix.js"

/**
 * Gaussian blur family (official `GaussianBlurOperator`), severity = std in px.
 *
 *   A_s x = K_s * pad_reflect(x),   K_s = g_s (x) g_s  (depthwise: same kernel for R, G, B)
 *
 * with the 1-D taps, radius and reflection of reflect-blur-matrix.ts. The 2-D
 * kernel is separable, so per image b and channel c
 *
 *   A_s X_{b,c} = B_H X_{b,c} B_W^T,    A_s^T Y_{b,c} = B_H^T Y_{b,c} B_W,
 *
 * with B_H, B_W the n x n reflect-blur matrices of the height and width axes.
 * Computed as two dense matMuls (fast on wasm/GPU; O(n^3) per channel, fine
 * up to a few hundred pixels). Gradients of `apply` use the explicit adjoint
 * (stock matMul gradients would need transposed matMuls, slow on wasm).
 */

export interface GaussianBlurOptions {
  /** std at t = 0 of the linear process (official MIN_STD 0.3; A_0 is not the identity). */
  readonly stdMin?: number
  /** std at t = 1 (the measurement operator A_1). */
  readonly stdMax?: number
  /** Odd kernel size of the official 2-D kernel; caps the radius at (kernelSize - 1) / 2. */
  readonly kernelSize?: number
}

/** Y_{b,c} = L X_{b,c} R for every image b and channel c (L: H x H, R: W x W, row-major). */
export const sandwich = (x: tf.Tensor4D, left: Float32Array, right: Float32Array): tf.Tensor4D =>
  tf.tidy(() => {
    const [b, h, w, c] = x.shape
    // Layout [h, b, c, w]: the height pass is one left matMul, the width pass one right matMul.
    const planes = tf.transpose(x, [1, 0, 3, 2])
    const byHeight = tf.matMul(tf.tensor2d(left, [h, h]), tf.reshape(planes, [h, b * c * w]))
    const byWidth = tf.matMul(tf.reshape(byHeight, [h * b * c, w]), tf.tensor2d(right, [w, w]))
    return tf.transpose(tf.reshape(byWidth, [h, b, c, w]), [1, 0, 3, 2])
  })

export const gaussianBlurFamily = (options: GaussianBlurOptions = {}): DegradationFamily => {
  const stdMin = options.stdMin ?? 0.3
  const stdMax = options.stdMax ?? 3.0
  const kernelSize = options.kernelSize ?? 61
  if (!(stdMin >= 0 && stdMax >= stdMin && Number.isFinite(stdMax))) {
    throw new RangeError(`blur needs 0 <= stdMin <= stdMax, got ${stdMin} .. ${stdMax}`)
  }
  if (!Number.isInteger(kernelSize) || kernelSize < 1 || kernelSize % 2 === 0) {
    throw new RangeError(`kernelSize must be a positive odd integer, got ${kernelSize}`)
  }
  const maxRadius = (kernelSize - 1) / 2

  /** B_H and B_W for the images' height and width. */
  const matrices = (x: tf.Tensor4D, std: number) => {
    checkImages(x)
    checkSeverity(std)
    const [, h, w] = x.shape
    return { height: reflectBlurMatrix(std, h, maxRadius), width: reflectBlurMatrix(std, w, maxRadius) }
  }

  const adjoint = (y: tf.Tensor4D, std: number): tf.Tensor4D => {
    const { height, width } = matrices(y, std)
    return sandwich(y, height.transposed, width.forward)
  }

  const apply = (x: tf.Tensor4D, std: number): tf.Tensor4D => {
    const { height, width } = matrices(x, std)
    const blur = tf.customGrad<tf.Tensor4D>((...inputs) => ({
      value: sandwich(inputs[0] as tf.Tensor4D, height.forward, width.transposed),
      gradFunc: (dy) => adjoint(dy, std),
    }))
    return blur(x)
  }

  return {
    kind: "gaussian-blur",
    linear: true,
    severityLabel: "blur std (px)",
    severityRange: [stdMin, stdMax],
    identityAtT0: false,
    apply,
    adjoint,
    describe: () => ({ kind: "gaussian-blur", stdMin, stdMax, kernelSize }),
  }
}
