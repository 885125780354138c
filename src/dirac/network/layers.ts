/**
 * The SongUNet building blocks as tfjs ops on NHWC tensors.
 *
 * Everything is differentiable on the wasm backend and avoids the wasm
 * kernels that are slow or missing there (measured on tfjs-backend-wasm 4.22):
 * - `matMul` only as a plain 2-D product without transposes (XNNPACK); batched
 *   or transposed matMuls use a naive loop at ~2 GFLOP/s. {@link mm} has a
 *   custom gradient that transposes explicitly instead.
 * - reductions over non-innermost axes (`sum(x, [0,1,2])`, `moments`) transpose
 *   internally; per-(sample, channel) sums over H, W here are a global
 *   `avgPool` (XNNPACK, one pass), see {@link meanHW}.
 * - 4x4 depthwise convolutions (the literal FIR filter) run ~10x slower than
 *   3x3 ones; the [1,3,3,1] resampling is done exactly as a 3x3 [1,2,1] blur
 *   plus 2x2 average pooling / nearest-neighbour doubling, with hand-written
 *   adjoint gradients (see {@link firDown}).
 * - no fused ops, no conv2dTranspose, no gather.
 *
 * Memory: tfjs keeps every forward intermediate and every gradient until the
 * end of `variableGrads`, so the block pieces are fused into custom ops that
 * save little and recompute the rest ({@link normAct}, {@link residualJoin});
 * the small-64 training step at batch 8 peaks at ~1.1 GB instead of ~2.5 GB
 * (the wasm heap is limited to 4 GB).
 */
import * as tf from "@tensorflow/tfjs-core"

type T4 = tf.Tensor4D
type T2 = tf.Tensor2D

type GradFn = Parameters<typeof tf.customGrad>[0]
/**
 * Typed wrapper over tf.customGrad. The gradient function runs inside a tidy:
 * tfjs calls a custom gradient outside any scope, so its temporaries would
 * otherwise live until the end of the whole backward pass.
 */
const custom = <A extends tf.Tensor[], R extends tf.Tensor>(
  f: (...args: [...A, tf.GradSaveFunc]) => { value: R; gradFunc: (dy: R, saved: tf.Tensor[]) => tf.Tensor[] },
): ((...args: A) => R) => {
  const wrapped = (...args: unknown[]) => {
    const res = (f as unknown as (...a: unknown[]) => { value: R; gradFunc: (dy: R, saved: tf.Tensor[]) => tf.Tensor[] })(...args)
    return { value: res.value, gradFunc: (dy: R, saved: tf.Tensor[]) => tf.tidy(() => res.gradFunc(dy, saved)) }
  }
  return tf.customGrad(wrapped as unknown as GradFn) as unknown as (...args: A) => R
}

/** A new tensor object sharing t's data (gradients must not hand out the same object twice). */
const alias = <T extends tf.Tensor>(t: T): T => tf.reshape(t, t.shape) as T

// ------------------------------------------------------------------ constants

/**
 * Constant tensors reused across forward passes (kept out of tidy scopes).
 * Owned by a network; dispose together with it.
 */
export class ConstantCache {
  private readonly map = new Map<string, tf.Tensor>()

  private get<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.map.get(key) as T | undefined
    if (t === undefined || t.isDisposed) {
      t = tf.keep(tf.tidy(make))
      this.map.set(key, t)
    }
    return t
  }

  /** Depthwise filter [k, k, C, 1] = gain * (f (x) f) / sum(f)^2, optionally flipped. */
  firFilter(taps: readonly number[], channels: number, gain = 1, flip = false): T4 {
    return this.get(`fir:${taps.join(",")}:${channels}:${gain}:${flip}`, () => firDepthwiseFilter(taps, channels, gain, flip))
  }

  /** The 3x3 depthwise [1,2,1] (x) [1,2,1] / 16 blur used by the fast [1,3,3,1] resampling. */
  blur121(channels: number): T4 {
    return this.get(`blur121:${channels}`, () => firDepthwiseFilter([1, 2, 1], channels))
  }

  /** [1, 2, 1, 2, 1] ones, broadcast against [B, H, 1, W, 1, C] for nearest-neighbour doubling. */
  nearestOnes(): tf.Tensor {
    return this.get("nearest", () => tf.ones([1, 1, 2, 1, 2, 1]))
  }

  dispose(): void {
    for (const t of this.map.values()) t.dispose()
    this.map.clear()
  }
}

// ------------------------------------------------------------------ basic ops

/** Plain 2-D a @ b with a gradient that uses explicit transposes (no transposed/batched matMul on wasm). */
export const mm: (a: T2, b: T2) => T2 = custom<[T2, T2], T2>((a, b, save) => {
  save([a, b])
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy, saved) => {
      const [sa, sb] = saved as [T2, T2]
      const [k, n] = sb.shape
      // db = a^T dy; transpose whichever of a [M, K] and dy [M, N] is narrower.
      const db = k <= n ? tf.matMul(tf.transpose(sa), dy) : tf.transpose(tf.matMul(tf.transpose(dy), sa))
      return [tf.matMul(dy, tf.transpose(sb)), db]
    },
  }
})

/** Per-(sample, channel) mean over H and W: [B,H,W,C] -> [B,C] (a global average pool). */
export const meanHW = (x: T4): T2 => {
  const [b, h, w, c] = x.shape
  return tf.reshape(h === 1 && w === 1 ? x : tf.avgPool(x, [h, w], [h, w], "valid"), [b, c])
}

/** Sum over all axes but the last, as [C]. */
const sumToChannels = (dy: tf.Tensor): tf.Tensor1D => {
  const c = dy.shape[dy.rank - 1]
  if (dy.rank === 4) {
    const [, h, w] = dy.shape
    return tf.mul(tf.sum(meanHW(dy as T4), 0), h * w) as tf.Tensor1D
  }
  return tf.sum(tf.reshape(dy, [-1, c]), 0)
}

/** x + b for a per-channel bias b [C] (last axis); the bias gradient avoids transposing reductions. */
export const addBias = (x: tf.Tensor, b: tf.Tensor1D): tf.Tensor => {
  const f = custom<[tf.Tensor, tf.Tensor1D], tf.Tensor>((xx, bb, _save) => ({
    value: tf.add(xx, bb),
    gradFunc: (dy) => [alias(dy), sumToChannels(dy)],
  }))
  return f(x, b)
}

/** h + p[b] per sample: h [B,H,W,C], p [B,C]. */
export const addPerSample = (h: T4, p: T2): T4 => {
  const [bs, hh, ww, c] = h.shape
  const f = custom<[T4, T2], T4>((xx, pp, _save) => ({
    value: tf.add(xx, tf.reshape(pp, [bs, 1, 1, c])),
    gradFunc: (dy) => [alias(dy), tf.mul(meanHW(dy), hh * ww)],
  }))
  return f(h, p)
}

const siluImpl = custom<[tf.Tensor], tf.Tensor>((x, save) => {
  const s = tf.sigmoid(x)
  save([x, s])
  return {
    value: tf.mul(x, s),
    gradFunc: (dy, saved) => {
      const [xs, ss] = saved
      // d/dx [x s(x)] = s + x s (1 - s)
      const xsS = tf.mul(xs, ss)
      return [tf.mul(dy, tf.add(ss, tf.sub(xsS, tf.mul(xsS, ss))))]
    },
  }
})

/** SiLU x * sigmoid(x), with a gradient that reuses the forward sigmoid. */
export const silu = <T extends tf.Tensor>(x: T): T => siluImpl(x) as T

/** x @ W + b with W in tfjs layout [in, out]. */
export const linear = (x: T2, w: T2, b: tf.Tensor1D): T2 => addBias(mm(x, w), b) as T2

// ------------------------------------------------------------------ GroupNorm

/** Spread per-(sample, group) values [B, G] over the channels of each group: [B, 1, 1, G*cg]. */
const perChannel = (v: T2, cg: number): T4 => {
  const [b, g] = v.shape
  return tf.reshape(tf.tile(tf.reshape(v, [b, g, 1]), [1, 1, cg]), [b, 1, 1, g * cg])
}

/** Per-(sample, group) means of per-(sample, channel) values s [B, C]. */
const groupMean = (s: T2, groups: number): T2 => {
  const [b, c] = s.shape
  return tf.mean(tf.reshape(s, [b, groups, c / groups]), 2)
}

/** Dropout inside {@link normAct}: keep-mask scaled by 1/(1-rate), regenerated from its seed in the backward pass. */
export interface DropoutSpec {
  readonly rate: number
  readonly mask: (shape: readonly number[]) => tf.Tensor
}

/**
 * act(GroupNorm(x)) [* dropout mask]: PyTorch `group_norm` semantics (channel
 * c in group floor(c / (C/G)), biased two-pass variance, eps inside the
 * sqrt), then the per-channel affine, then optionally SiLU and dropout.
 *
 * One custom op with a closed-form gradient that saves only per-group
 * statistics (x is the op's input and alive anyway) and recomputes the rest,
 * so the tape holds one new tensor instead of four or five; all reductions
 * over H, W are global average pools.
 */
export const normAct = (
  x: T4,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  groups: number,
  eps: number,
  act: boolean,
  dropout: DropoutSpec | null = null,
): T4 => {
  const [, h, w, c] = x.shape
  const n = h * w
  const cg = c / groups
  const f = custom<[T4, tf.Tensor1D, tf.Tensor1D], T4>((xx, g, bt, save) => {
    const mean = groupMean(meanHW(xx), groups) // [B, G]
    const meanC = perChannel(mean, cg)
    const variance = groupMean(meanHW(tf.square(tf.sub(xx, meanC)) as T4), groups)
    const rstd = tf.rsqrt(tf.add(variance, eps)) as T2 // [B, G]
    save([xx, mean, rstd, g, bt])
    // y = (x - mean) * rstd * gamma + beta = x * a + (beta - mean * a)
    const a = tf.mul(perChannel(rstd, cg), g)
    const y = tf.add(tf.mul(xx, a), tf.sub(bt, tf.mul(meanC, a))) as T4
    let z = act ? (tf.mul(y, tf.sigmoid(y)) as T4) : y
    if (dropout !== null) z = tf.mul(z, dropout.mask(z.shape)) as T4
    return {
      value: z,
      gradFunc: (dz, saved) => {
        const [sx, sm, sr, sg, sb] = saved as [T4, T2, T2, tf.Tensor1D, tf.Tensor1D]
        const rC = perChannel(sr, cg)
        const mC = perChannel(sm, cg)
        let dy: tf.Tensor = dz
        if (dropout !== null) dy = tf.mul(dy, dropout.mask(dz.shape))
        const xhat = tf.mul(tf.sub(sx, mC), rC) as T4
        if (act) {
          const yy = tf.add(tf.mul(xhat, sg), sb)
          const s = tf.sigmoid(yy)
          const ys = tf.mul(yy, s)
          // d silu / dy = s + y s (1 - s)
          dy = tf.mul(dy, tf.add(s, tf.sub(ys, tf.mul(ys, s))))
        }
        const q = meanHW(dy as T4) // [B, C]: mean over H, W of dy
        const p = meanHW(tf.mul(dy, xhat) as T4) // mean of dy * xhat
        const dGamma = tf.mul(tf.sum(p, 0), n)
        const dBeta = tf.mul(tf.sum(q, 0), n)
        const mg = groupMean(tf.mul(q, sg) as T2, groups) // [B, G] = sum(gamma dy) / count
        const mgx = groupMean(tf.mul(p, sg) as T2, groups) // sum(gamma dy xhat) / count
        // dx = rstd * (gamma dy - mg - xhat * mgx)
        const k1 = tf.mul(rC, sg)
        const k2 = tf.neg(perChannel(tf.mul(sr, mgx) as T2, cg))
        const k3 = tf.neg(perChannel(tf.mul(sr, mg) as T2, cg))
        const dx = tf.add(tf.add(tf.mul(dy, k1), tf.mul(xhat, k2)), k3)
        return [dx, dGamma, dBeta]
      },
    }
  })
  return f(x, gamma, beta)
}

/** GroupNorm alone (see {@link normAct}). */
export const groupNorm = (x: T4, gamma: tf.Tensor1D, beta: tf.Tensor1D, groups: number, eps: number): T4 =>
  normAct(x, gamma, beta, groups, eps, false)

/**
 * (h + skip + bias) * scale in one op (the residual join of a UNetBlock or of
 * the encoder's aux_residual path; `bias` folds the conv biases).
 */
export const residualJoin = (h: T4, skip: T4, bias: tf.Tensor1D, scale: number): T4 => {
  const f = custom<[T4, T4, tf.Tensor1D], T4>((hh, ss, bb, _save) => ({
    value: tf.mul(tf.add(tf.add(hh, ss), bb), scale) as T4,
    gradFunc: (dy) => {
      const g = tf.mul(dy, scale) as T4
      return [g, alias(g), sumToChannels(g)]
    },
  }))
  return f(h, skip, bias)
}

// ------------------------------------------------------------------ convolutions

/** 2-D FIR filter f (x) f / sum(f)^2 (EDM `resample_filter`), row-major [k, k]. */
export const firFilter2d = (taps: readonly number[]): Float32Array => {
  const k = taps.length
  const s = taps.reduce((a, v) => a + v, 0)
  const out = new Float32Array(k * k)
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) out[i * k + j] = (taps[i] * taps[j]) / (s * s)
  return out
}

/** Depthwise filter [k, k, C, 1] holding `gain * f2d` (optionally flipped) for every channel. */
export const firDepthwiseFilter = (taps: readonly number[], channels: number, gain = 1, flip = false): T4 => {
  const k = taps.length
  const f = firFilter2d(taps)
  const data = new Float32Array(k * k * channels)
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = gain * (flip ? f[(k - 1 - i) * k + (k - 1 - j)] : f[i * k + j])
      data.fill(v, (i * k + j) * channels, (i * k + j + 1) * channels)
    }
  }
  return tf.tensor4d(data, [k, k, channels, 1])
}

/**
 * Zero-pads the spatial axes. Convolutions here pad this way and then run `valid`: tfjs-node's gradient kernels
 * (Conv2DBackpropInput/Filter) accept only 'valid' and 'same', not explicit padding.
 */
const padHW = (x: T4, top: number, bottom: number, left: number, right: number): T4 =>
  top + bottom + left + right === 0
    ? x
    : tf.pad(x, [
        [0, 0],
        [top, bottom],
        [left, right],
        [0, 0],
      ])

/** True for filters proportional to [1,3,3,1] (the fast exact path). */
export const isFir1331 = (taps: readonly number[]): boolean =>
  taps.length === 4 && taps[0] !== 0 && taps[1] === 3 * taps[0] && taps[2] === taps[1] && taps[3] === taps[0]

/** Nearest-neighbour doubling [B,H,W,C] -> [B,2H,2W,C] (a broadcast multiply). */
const nearest2x = (consts: ConstantCache, x: T4): T4 => {
  const [b, h, w, c] = x.shape
  return tf.reshape(tf.mul(tf.reshape(x, [b, h, 1, w, 1, c]), consts.nearestOnes()), [b, 2 * h, 2 * w, c])
}

// [1,3,3,1] / 8 = [1,1]/2 * [1,2,1]/4, so (per axis, zero padding):
//   down(x)  = avgPool2x2/2( blur121_same(x) )            (= conv, stride 2, pad 1)
//   up(x)    = blur121_same( nearest2x(x) )                (= conv_transpose with 4 f, stride 2, pad 1)
//   fused(y) = avgPool2x2/2( blur121_valid(y) )           (= conv, stride 2, no pad)
// and their adjoints: down^T = up / 4, up^T = 4 down, fused^T(z) = blur121_full(nearest2x(z)) / 4.
const blurSame = (consts: ConstantCache, x: T4): T4 => tf.depthwiseConv2d(x, consts.blur121(x.shape[3]), 1, "same")
const avgPool2 = (x: T4): T4 => tf.avgPool(x, 2, 2, "valid")
const down1331 = (consts: ConstantCache, x: T4): T4 => avgPool2(blurSame(consts, x))
const up1331 = (consts: ConstantCache, x: T4): T4 => blurSame(consts, nearest2x(consts, x))

/**
 * FIR downsampling, PyTorch `conv2d(x, f.tile([C,1,1,1]), groups=C, stride=2, padding=pad)`
 * with f = taps (x) taps / sum^2 (`pad` = EDM's f_pad = (k-1)//2).
 */
export const firDown = (consts: ConstantCache, x: T4, taps: readonly number[], pad: number): T4 => {
  if (isFir1331(taps) && pad === 1) {
    const f = custom<[T4], T4>((xx, _save) => ({
      value: down1331(consts, xx),
      gradFunc: (dy) => [tf.mul(up1331(consts, dy), 0.25)],
    }))
    return f(x)
  }
  const filter = consts.firFilter(taps, x.shape[3])
  return tf.depthwiseConv2d(padHW(x, pad, pad, pad, pad), filter, 2, "valid")
}

/**
 * The fused-resample down path of EDM's Conv2d after its conv: the FIR with
 * stride 2 and no padding, `conv2d(y, f.tile([C,1,1,1]), groups=C, stride=2)`.
 */
export const firDownValid = (consts: ConstantCache, y: T4, taps: readonly number[]): T4 => {
  if (isFir1331(taps)) {
    const c = y.shape[3]
    const f = custom<[T4], T4>((yy, _save) => ({
      value: avgPool2(tf.depthwiseConv2d(yy, consts.blur121(c), 1, "valid")),
      gradFunc: (dz) => [tf.mul(tf.depthwiseConv2d(padHW(nearest2x(consts, dz), 2, 2, 2, 2), consts.blur121(c), 1, "valid"), 0.25)],
    }))
    return f(y)
  }
  return tf.depthwiseConv2d(y, consts.firFilter(taps, y.shape[3]), 2, "valid")
}

/**
 * [B,H,W,C] -> [B,2H,2W,C], x at even positions, zeros elsewhere. Two rank-4
 * pads: tfjs-backend-webgpu 4.22 generates invalid WGSL for a rank-6 pad.
 */
export const zeroStuff2x = (x: T4): T4 => {
  const [b, h, w, c] = x.shape
  const columns = tf.pad(tf.reshape(x, [b * h, w, 1, c]), [
    [0, 0],
    [0, 0],
    [0, 1],
    [0, 0],
  ])
  const rows = tf.pad(tf.reshape(columns, [b, h, 1, 2 * w * c]), [
    [0, 0],
    [0, 0],
    [0, 1],
    [0, 0],
  ])
  return tf.reshape(rows, [b, 2 * h, 2 * w, c])
}

/**
 * FIR upsampling, PyTorch `conv_transpose2d(x, 4 f.tile([C,1,1,1]), groups=C, stride=2, padding=pad)`.
 * Generic filters: a zero-stuffed stride-1 depthwise correlation with the
 * flipped filter, padded k-1-pad before and k-2-pad after (the stuffing
 * already appends one trailing zero), giving exactly 2H x 2W.
 */
export const firUp = (consts: ConstantCache, x: T4, taps: readonly number[], pad: number): T4 => {
  if (isFir1331(taps) && pad === 1) {
    const f = custom<[T4], T4>((xx, _save) => ({
      value: up1331(consts, xx),
      gradFunc: (dy) => [tf.mul(down1331(consts, dy), 4)],
    }))
    return f(x)
  }
  const k = taps.length
  const lo = k - 1 - pad
  const hi = k - 2 - pad
  if (lo < 0 || hi < 0) throw new RangeError(`firUp: padding ${pad} too large for a ${k}-tap filter`)
  return tf.depthwiseConv2d(padHW(zeroStuff2x(x), lo, hi, lo, hi), consts.firFilter(taps, x.shape[3], 4, true), 1, "valid")
}

/** 1x1 convolution (a GEMM over pixels) with W in HWIO [1,1,Cin,Cout]. */
export const conv1x1 = (x: T4, w: T4): T4 => {
  const [b, h, wd, c] = x.shape
  const cout = w.shape[3]
  return tf.reshape(mm(tf.reshape(x, [b * h * wd, c]), tf.reshape(w, [c, cout])), [b, h, wd, cout])
}

/** Stride-1 convolution with symmetric zero padding `pad`, plus an optional bias. W in HWIO. */
export const conv2d = (x: T4, w: T4, b: tf.Tensor1D | null, pad: number): T4 => {
  const k = w.shape[0]
  let y: T4
  if (k === 1 && pad === 0) y = conv1x1(x, w)
  else y = pad * 2 === k - 1 ? tf.conv2d(x, w, 1, "same") : tf.conv2d(padHW(x, pad, pad, pad, pad), w, 1, "valid")
  return b === null ? y : (addBias(y, b) as T4)
}

// ------------------------------------------------------------------ attention

/**
 * Single-head self-attention of EDM's UNetBlock on NHWC `xn = norm2(x)`:
 * q, k, v = 1x1 conv (W [1,1,C,3C] with de-interleaved columns [q | k | v]),
 * w = softmax over keys of q.k / sqrt(C), a = sum_k w v; returns proj(a)
 * WITHOUT the proj bias, the residual and the skip scale (see
 * {@link residualJoin}). Per-sample 2-D products (batched matMul is slow on wasm).
 */
export const selfAttention = (xn: T4, wQkv: T4, bQkv: tf.Tensor1D, wProj: T4): T4 => {
  const [b, h, w, c] = xn.shape
  const n = h * w
  const x2 = tf.reshape(xn, [b * n, c]) as T2
  const wm = tf.reshape(wQkv, [c, 3 * c]) as T2
  const part = (j: number): T2 => addBias(mm(x2, tf.slice(wm, [0, j * c], [c, c])), tf.slice(bQkv, [j * c], [c])) as T2
  // EDM scales k by 1/sqrt(C) before the product; scaling q gives the same logits.
  const q = tf.mul(part(0), 1 / Math.sqrt(c)) as T2
  const k = part(1)
  const v = part(2)
  const outs: T2[] = []
  for (let i = 0; i < b; i++) {
    const qi = tf.slice(q, [i * n, 0], [n, c])
    const ki = tf.slice(k, [i * n, 0], [n, c])
    const vi = tf.slice(v, [i * n, 0], [n, c])
    const att = tf.softmax(mm(qi, tf.transpose(ki))) // [Nq, Nk], softmax over keys
    outs.push(mm(att, vi))
  }
  const a = b === 1 ? outs[0] : (tf.concat(outs, 0) as T2)
  return tf.reshape(mm(a, tf.reshape(wProj, [c, c]) as T2), [b, h, w, c])
}

// ------------------------------------------------------------------ embedding

/**
 * Fourier features of EDM's FourierEmbedding after SongUNet's sin/cos swap:
 * [sin(2 pi f sigma), cos(2 pi f sigma)] (PyTorch order of operations:
 * (2 pi * freqs) first, then the outer product).
 */
export const fourierFeatures = (sigma: tf.Tensor1D, freqs: tf.Tensor1D): T2 => {
  const arg = tf.mul(tf.reshape(sigma, [-1, 1]), tf.reshape(tf.mul(freqs, 2 * Math.PI), [1, -1])) as T2
  return tf.concat([tf.sin(arg), tf.cos(arg)], 1)
}
