/**
 * Fast Conv2D / DepthwiseConv2dNative gradients for the wasm and cpu backends.
 *
 * tfjs-backend-wasm 4.22 has no `Conv2DBackpropFilter`,
 * `DepthwiseConv2dNativeBackpropFilter` or `DepthwiseConv2dNativeBackpropInput`
 * kernel (so stock gradients cannot train a convnet there), and its
 * `Conv2DBackpropInput` is a slow reference loop (~4 GFLOP/s vs ~44 for the
 * XNNPACK forward conv). The cpu backend has them all, but its
 * `Conv2DBackpropFilter` runs at ~0.02 GFLOP/s. Both gradients are expressed
 * here as *forward* convolutions (public ops only):
 *
 *   dW = transpose(conv2d(transpose(xPad, [3,1,2,0]), transpose(dy, [1,2,0,3]),
 *                         stride 1, valid, dilation = stride), [1,2,0,3])
 *   dX = conv2d(pad(zeroUpsample(dy, stride), k-1-padTop, ...),
 *               transpose(reverse(W, [0,1]), [0,1,3,2]), stride 1, valid)
 *
 * For stride s > 1, zeroUpsample inserts s-1 zeros between dy samples; that
 * spends s^2 times the minimal FLOPs but still beats the native kernel
 * (64->64 3x3, 64x64, batch 8, stride 2, 1 thread: 0.09 s vs 0.26 s).
 *
 * On native TensorFlow (libtensorflow 2.21, 2 cores) the same formulation is
 * faster than TF's own Conv2DBackpropInput everywhere measured (8x16x16x128:
 * 4.9 vs 8.1 ms) and than its Conv2DBackpropFilter on large tensors (8x64x64x64:
 * 25.6 vs 37.4 ms), but not on small ones (8x32x32x32: 4.2 vs 3.2 ms), so there
 * the filter gradient takes it only from {@link NATIVE_FILTER_REWRITE_MIN_WORK}.
 *
 * `tf.registerGradient` is global, so the override checks `tf.getBackend()`
 * when the gradient runs and calls the stock gradient on any other backend
 * (webgpu), and also for NCHW or dilated convolutions.
 *
 * Not covered: `tf.fused.conv2d` / `tf.fused.depthwiseConv2d` define their
 * gradients inline (not through the registry) and call the missing kernels,
 * so do not train through fused convs on wasm.
 */
import * as tf from "@tensorflow/tfjs-core"

type T4 = tf.Tensor4D
type Conv2DInfo = tf.backend_util.Conv2DInfo

/** Backends on which the forward-conv formulation replaces the stock gradients (all of them on wasm and cpu). */
export const FAST_GRADIENT_BACKENDS: ReadonlySet<string> = new Set(["wasm", "cpu", "tensorflow"])

/** Native TensorFlow: input pixels x input channels x output channels from which its filter gradient is slower. */
export const NATIVE_FILTER_REWRITE_MIN_WORK = 2 ** 21

const STOCK = Symbol.for("dirac-pipe/runtime/backend/conv-gradients/stock")
type OverrideConfig = tf.GradConfig & { [STOCK]?: tf.GradConfig }

const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === "number" ? [v, v] : v)

/**
 * Pad (positive amounts) or crop (negative amounts) the two spatial axes of an
 * NHWC tensor.
 */
const padOrCrop = (t: T4, top: number, bottom: number, left: number, right: number): T4 => {
  let r = t
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [, h, w] = r.shape
    const ct = Math.max(0, -top)
    const cb = Math.max(0, -bottom)
    const cl = Math.max(0, -left)
    const cr = Math.max(0, -right)
    r = tf.slice(r, [0, ct, cl, 0], [-1, h - ct - cb, w - cl - cr, -1])
  }
  const pt = Math.max(0, top)
  const pb = Math.max(0, bottom)
  const pl = Math.max(0, left)
  const pr = Math.max(0, right)
  if (pt + pb + pl + pr > 0) {
    r = tf.pad(r, [
      [0, 0],
      [pt, pb],
      [pl, pr],
      [0, 0],
    ])
  }
  return r
}

/** [B,H,W,C] -> [B,H*sh,W*sw,C] with the samples at multiples of the stride and zeros elsewhere. */
const zeroUpsample = (t: T4, sh: number, sw: number): T4 => {
  if (sh === 1 && sw === 1) return t
  const [b, h, w, c] = t.shape
  const r6 = tf.reshape(t, [b, h, 1, w, 1, c])
  const p6 = tf.pad(r6, [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ])
  return tf.reshape(p6, [b, h * sh, w * sw, c])
}

/**
 * Pad `dy` (zero-upsampled for strides) so that a stride-1 'valid'
 * correlation with the spatially flipped filter yields dX of the input's size.
 */
const prepareDyForInputGrad = (dy: T4, info: Conv2DInfo): T4 => {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info
  const up = zeroUpsample(dy, sh, sw)
  const [, hz, wz] = up.shape
  return padOrCrop(up, kh - 1 - padInfo.top, info.inHeight - hz + padInfo.top, kw - 1 - padInfo.left, info.inWidth - wz + padInfo.left)
}

/**
 * x padded/cropped to exactly the rows/cols the forward conv read:
 * [(outH-1)*sh + kh, (outW-1)*sw + kw].
 */
const prepareXForFilterGrad = (x: T4, info: Conv2DInfo): T4 => {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info
  const needH = (info.outHeight - 1) * sh + kh
  const needW = (info.outWidth - 1) * sw + kw
  return padOrCrop(x, padInfo.top, needH - padInfo.top - info.inHeight, padInfo.left, needW - padInfo.left - info.inWidth)
}

// ------------------------------------------------------------------ Conv2D

/** dL/dx of `conv2d(x, filter)` (NHWC, dilation 1) via a forward conv. */
export const conv2dInputGrad = (dy: T4, filter: T4, info: Conv2DInfo): T4 =>
  tf.tidy(() => {
    const g = prepareDyForInputGrad(dy, info)
    const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as T4
    return tf.conv2d(g, flipped, 1, "valid")
  })

/** dL/dfilter of `conv2d(x, filter)` (NHWC, dilation 1) via a forward conv. */
export const conv2dFilterGrad = (x: T4, dy: T4, info: Conv2DInfo): T4 =>
  tf.tidy(() => {
    const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, padInfo } = info
    const noPad = padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0
    if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && noPad) {
      // 1x1 stride 1: a plain GEMM, x^T dy.
      const cin = x.shape[3]
      const cout = dy.shape[3]
      return tf.reshape(tf.matMul(tf.reshape(x, [-1, cin]), tf.reshape(dy, [-1, cout]), true, false), [1, 1, cin, cout])
    }
    const xs = prepareXForFilterGrad(x, info)
    // Batch and channels swap roles: x becomes a [Cin, H, W, B] "batch" and
    // dy a [outH, outW, B, Cout] "filter", dilated by the stride.
    const xt = tf.transpose(xs, [3, 1, 2, 0]) as T4
    const dyt = tf.transpose(dy, [1, 2, 0, 3]) as T4
    const r = tf.conv2d(xt, dyt, 1, "valid", "NHWC", [sh, sw]) // [Cin, kh, kw, Cout]
    return tf.transpose(r, [1, 2, 0, 3])
  })

// ------------------------------------------------------- DepthwiseConv2dNative

/** dL/dx of `depthwiseConv2d(x, filter)` (NHWC, dilation 1, any multiplier) via a forward depthwise conv. */
export const depthwiseInputGrad = (dy: T4, filter: T4, info: Conv2DInfo): T4 =>
  tf.tidy(() => {
    const [kh, kw, c, m] = filter.shape
    const g = prepareDyForInputGrad(dy, info) // [B, H+kh-1, W+kw-1, C*M]
    const flipped = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as T4
    const z = tf.depthwiseConv2d(g, flipped, 1, "valid") // [B, H, W, C*M]
    if (m === 1) return z
    const [b, h, w] = z.shape
    return tf.sum(tf.reshape(z, [b, h, w, c, m]), 4) as T4
  })

/** dL/dfilter of `depthwiseConv2d(x, filter)` (NHWC, dilation 1, any multiplier) via a forward depthwise conv. */
export const depthwiseFilterGrad = (x: T4, dy: T4, info: Conv2DInfo, filterShape: [number, number, number, number]): T4 =>
  tf.tidy(() => {
    const { strideHeight: sh, strideWidth: sw } = info
    const [kh, kw, c, m] = filterShape
    const [b] = x.shape
    const xs = prepareXForFilterGrad(x, info) // [B, needH, needW, C]
    const [, nh, nw] = xs.shape
    // One depthwise channel per (batch, channel) pair; dy is the per-pair filter.
    const xr = tf.reshape(tf.transpose(xs, [1, 2, 0, 3]), [1, nh, nw, b * c]) as T4
    const f = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [info.outHeight, info.outWidth, b * c, m]) as T4
    const r = tf.depthwiseConv2d(xr, f, 1, "valid", "NHWC", [sh, sw]) // [1, kh, kw, B*C*M]
    return tf.sum(tf.reshape(r, [kh, kw, b, c, m]), 2) as T4
  })

// ------------------------------------------------------------------ registry

const fastHere = (attrs: { dataFormat?: string; dilations?: number | [number, number] }): boolean => {
  if (!FAST_GRADIENT_BACKENDS.has(tf.getBackend())) return false
  if (attrs.dataFormat === "NCHW") return false
  const [dh, dw] = pair(attrs.dilations)
  return dh === 1 && dw === 1
}

const stockOf = (kernelName: string): tf.GradConfig => {
  const current = tf.getGradient(kernelName) as OverrideConfig | undefined
  if (current == null) throw new Error(`no stock gradient registered for ${kernelName}`)
  return current[STOCK] ?? current
}

/** Whether the filter gradient is faster rewritten here (see the native TensorFlow figures above). */
const filterRewriteHere = (info: Conv2DInfo): boolean =>
  tf.getBackend() !== "tensorflow" || info.inHeight * info.inWidth * info.inChannels * info.outChannels >= NATIVE_FILTER_REWRITE_MIN_WORK

const makeConv2DConfig = (stock: tf.GradConfig): OverrideConfig => ({
  kernelName: tf.Conv2D,
  inputsToSave: ["x", "filter"],
  [STOCK]: stock,
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as tf.Conv2DAttrs
    if (!fastHere(a)) return stock.gradFunc(dy, saved, attrs)
    const [x, filter] = saved as [T4, T4]
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      "channelsLast",
    )
    const g = dy as T4
    const filterGrad = filterRewriteHere(info) ? () => conv2dFilterGrad(x, g, info) : () => stock.gradFunc(dy, saved, attrs).filter!()
    return { x: () => conv2dInputGrad(g, filter, info), filter: filterGrad }
  },
})

const makeDepthwiseConfig = (stock: tf.GradConfig): OverrideConfig => ({
  kernelName: tf.DepthwiseConv2dNative,
  inputsToSave: ["x", "filter"],
  [STOCK]: stock,
  gradFunc: (dy, saved, attrs) => {
    const a = attrs as unknown as tf.DepthwiseConv2dNativeAttrs
    // tfjs-node has native depthwise gradient kernels (the network differentiates its depthwise blurs by hand anyway).
    if (!fastHere(a) || tf.getBackend() === "tensorflow") return stock.gradFunc(dy, saved, attrs)
    const [x, filter] = saved as [T4, T4]
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filter.shape,
      a.strides,
      a.dilations ?? 1,
      a.pad,
      a.dimRoundingMode,
      true,
      "channelsLast",
    )
    const g = dy as T4
    return { x: () => depthwiseInputGrad(g, filter, info), filter: () => depthwiseFilterGrad(x, g, info, filter.shape) }
  },
})

/**
 * Install the Conv2D and DepthwiseConv2dNative gradient overrides
 * (idempotent; also safe if another copy of this module already did).
 */
export function registerConvGradients(): void {
  const conv = tf.getGradient(tf.Conv2D) as OverrideConfig | undefined
  if (conv?.[STOCK] == null) tf.registerGradient(makeConv2DConfig(stockOf(tf.Conv2D)))
  const dw = tf.getGradient(tf.DepthwiseConv2dNative) as OverrideConfig | undefined
  if (dw?.[STOCK] == null) tf.registerGradient(makeDepthwiseConfig(stockOf(tf.DepthwiseConv2dNative)))
}

/** Put the stock gradients back (tests, benchmarks). */
export function unregisterConvGradients(): void {
  for (const name of [tf.Conv2D, tf.DepthwiseConv2dNative]) {
    const cfg = tf.getGradient(name) as OverrideConfig | undefined
    if (cfg?.[STOCK] != null) tf.registerGradient(cfg[STOCK])
  }
}

/** True when the overrides are installed. */
export const convGradientsRegistered = (): boolean => (tf.getGradient(tf.Conv2D) as OverrideConfig | undefined)?.[STOCK] != null
