import * as tf from "@tensorflow/tfjs-core"

/**
 * Forward differences along height and width with a zero last row / column (Neumann boundary), per channel:
 * for NHWC x, `[dh, dw]` of the same shape. ||grad||^2 <= 8.
 */
export const gradient = (x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] =>
  tf.tidy(() => {
    const [n, h, w, c] = x.shape
    const dh =
      h > 1
        ? tf.concat([tf.sub(x.slice([0, 1, 0, 0], [n, h - 1, w, c]), x.slice([0, 0, 0, 0], [n, h - 1, w, c])), tf.zeros([n, 1, w, c])], 1)
        : tf.zerosLike(x)
    const dw =
      w > 1
        ? tf.concat([tf.sub(x.slice([0, 0, 1, 0], [n, h, w - 1, c]), x.slice([0, 0, 0, 0], [n, h, w - 1, c])), tf.zeros([n, h, 1, c])], 2)
        : tf.zerosLike(x)
    return [dh as tf.Tensor4D, dw as tf.Tensor4D]
  })

/** grad^T along one axis: (grad^T p)_j = p_{j-1} - p_j, with p_{-1} = p_{n-1} = 0 (the exact adjoint). */
const differenceAdjoint = (p: tf.Tensor4D, axis: 1 | 2): tf.Tensor4D => {
  const size = p.shape[axis]
  if (size === 1) return tf.zerosLike(p)
  const begin = [0, 0, 0, 0]
  const head = [...p.shape] as [number, number, number, number]
  head[axis] = size - 1
  const inner = p.slice(begin, head)
  const zero = [...p.shape] as [number, number, number, number]
  zero[axis] = 1
  const current = tf.concat([inner, tf.zeros(zero)], axis)
  const previous = tf.concat([tf.zeros(zero), inner], axis)
  return tf.sub(previous, current)
}

/** The adjoint of `gradient`: <gradient(x), (ph, pw)> = <x, gradientAdjoint(ph, pw)>. */
export const gradientAdjoint = (ph: tf.Tensor4D, pw: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => tf.add(differenceAdjoint(ph, 1), differenceAdjoint(pw, 2)))

/** L^T L x for L = gradient. */
export const gradientNormal = (x: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => {
    const [dh, dw] = gradient(x)
    return gradientAdjoint(dh, dw)
  })
