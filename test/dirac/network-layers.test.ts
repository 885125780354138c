import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import {
  ConstantCache,
  firDown,
  firDownValid,
  firUp,
  groupNorm,
  mm,
  normAct,
  residualJoin,
  selfAttention,
  silu,
  addBias,
  addPerSample,
} from "../../src/dirac/network/layers.js"
import { fromTorchLayout } from "../../src/dirac/network/weights.js"
import type { ParamSpec } from "../../src/dirac/network/arch.js"
import {
  attention,
  depthwise,
  depthwiseTransposed,
  filter2d,
  groupNorm as groupNormRef,
  nhwcSample,
  type Img,
} from "./network-reference.js"
import { maxAbsDiff } from "../numeric.js"

let consts: ConstantCache

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
  consts = new ConstantCache()
})
afterAll(() => consts.dispose())

const rand = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, "float32", seed)

/** NCHW reference images of every sample -> NHWC flat array. */
const toNhwc = (imgs: Img[]): Float32Array => {
  const { c, h, w } = imgs[0]
  const out = new Float32Array(imgs.length * h * w * c)
  imgs.forEach((im, b) => {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out[((b * h + y) * w + x) * c + ch] = im.d[(ch * h + y) * w + x]
  })
  return out
}

const samples = (t: tf.Tensor): Img[] => {
  const d = t.dataSync()
  return Array.from({ length: t.shape[0] }, (_, b) => nhwcSample(d, t.shape, b))
}

/** <f(x), z> vs <x, grad> checks that the custom gradient is the exact adjoint of a linear map. */
const adjointGap = (f: (x: tf.Tensor4D) => tf.Tensor4D, xShape: number[], seed: number): number =>
  tf.tidy(() => {
    const x = rand(xShape, seed) as tf.Tensor4D
    const y = f(x)
    const z = rand(y.shape, seed + 1)
    const g = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D), z)))(x)
    const lhs = tf.sum(tf.mul(y, z)).dataSync()[0]
    const rhs = tf.sum(tf.mul(x, g)).dataSync()[0]
    return Math.abs(lhs - rhs) / Math.max(1, Math.abs(lhs))
  })

describe("FIR resampling [1,3,3,1]", () => {
  const taps = [1, 3, 3, 1]

  it("down = depthwise conv2d of f(x)f/64, stride 2, padding 1 (naive definition)", () => {
    const x = rand([2, 8, 12, 3], 1) as tf.Tensor4D
    const y = firDown(consts, x, taps, 1)
    expect(y.shape).toEqual([2, 4, 6, 3])
    const ref = samples(x).map((im) => depthwise(im, filter2d(taps), 4, 2, 1))
    expect(maxAbsDiff(y.dataSync(), toNhwc(ref))).toBeLessThan(1e-5)
  })

  it("up = depthwise conv_transpose2d of 4 f(x)f/64, stride 2, padding 1 (naive definition)", () => {
    const x = rand([2, 5, 4, 3], 2) as tf.Tensor4D
    const y = firUp(consts, x, taps, 1)
    expect(y.shape).toEqual([2, 10, 8, 3])
    const ref = samples(x).map((im) => depthwiseTransposed(im, filter2d(taps, 4), 4, 1))
    expect(maxAbsDiff(y.dataSync(), toNhwc(ref))).toBeLessThan(1e-5)
  })

  it("fused down (after the pad-2 conv) = stride 2 with no padding", () => {
    const x = rand([2, 10, 10, 4], 3) as tf.Tensor4D // e.g. an 8x8 map after a 3x3 conv with padding 2
    const y = firDownValid(consts, x, taps)
    expect(y.shape).toEqual([2, 4, 4, 4])
    const ref = samples(x).map((im) => depthwise(im, filter2d(taps), 4, 2, 0))
    expect(maxAbsDiff(y.dataSync(), toNhwc(ref))).toBeLessThan(1e-5)
  })

  it("the hand-written gradients are the exact adjoints", () => {
    expect(adjointGap((x) => firDown(consts, x, taps, 1), [2, 8, 6, 3], 10)).toBeLessThan(1e-5)
    expect(adjointGap((x) => firUp(consts, x, taps, 1), [2, 4, 3, 3], 11)).toBeLessThan(1e-5)
    expect(adjointGap((x) => firDownValid(consts, x, taps), [2, 10, 6, 3], 12)).toBeLessThan(1e-5)
  })

  it("generic filters ([1,1], [1,2,2,1]) take the depthwise path and match the definition too", () => {
    for (const t of [
      [1, 1],
      [1, 2, 2, 1],
    ]) {
      const pad = Math.floor((t.length - 1) / 2)
      const k = t.length
      const x = rand([1, 6, 8, 2], 4) as tf.Tensor4D
      const refDown = samples(x).map((im) => depthwise(im, filter2d(t), k, 2, pad))
      expect(maxAbsDiff(firDown(consts, x, t, pad).dataSync(), toNhwc(refDown))).toBeLessThan(1e-5)
      const refUp = samples(x).map((im) => depthwiseTransposed(im, filter2d(t, 4), k, pad))
      const up = firUp(consts, x, t, pad)
      expect(up.shape).toEqual([1, 12, 16, 2])
      expect(maxAbsDiff(up.dataSync(), toNhwc(refUp))).toBeLessThan(1e-5)
      const xv = rand([1, 8, 8, 2], 5) as tf.Tensor4D
      const refValid = samples(xv).map((im) => depthwise(im, filter2d(t), k, 2, 0))
      expect(maxAbsDiff(firDownValid(consts, xv, t).dataSync(), toNhwc(refValid))).toBeLessThan(1e-5)
    }
  })
})

describe("GroupNorm", () => {
  it("matches PyTorch group_norm (eps 1e-6, groups of consecutive channels)", () => {
    const x = tf.add(tf.mul(rand([2, 4, 3, 16], 20), 3), 1.5) as tf.Tensor4D
    const gamma = rand([16], 21) as tf.Tensor1D
    const beta = rand([16], 22) as tf.Tensor1D
    const y = groupNorm(x, gamma, beta, 4, 1e-6)
    const g = gamma.dataSync()
    const b = beta.dataSync()
    const ref = samples(x).map((im) => groupNormRef(im, g, b, 1e-6))
    expect(maxAbsDiff(y.dataSync(), toNhwc(ref))).toBeLessThan(2e-5)
  })

  it("custom gradient equals autodiff of the plain formula", () => {
    const x = rand([2, 4, 4, 8], 23)
    const gamma = rand([8], 24)
    const beta = rand([8], 25)
    const w = rand([2, 4, 4, 8], 26)
    const plain = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = tf.reshape(xx, [2, 16, 2, 4])
      const { mean, variance } = tf.moments(r, [1, 3], true)
      return tf.add(tf.mul(tf.reshape(tf.div(tf.sub(r, mean), tf.sqrt(tf.add(variance, 1e-6))), [2, 4, 4, 8]), gg), bb)
    }
    const loss = (f: typeof plain) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.square(f(xx, gg, bb)), w))
    const mine = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      groupNorm(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 2, 1e-6)
    const ga = tf.grads(loss(mine))([x, gamma, beta])
    const gb = tf.grads(loss(plain))([x, gamma, beta])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(ga[i].dataSync(), gb[i].dataSync())).toBeLessThan(2e-4)
  })
})

describe("normAct (GroupNorm + SiLU + dropout, one op)", () => {
  it("value and gradients equal the composition of stock ops", () => {
    const x = tf.add(rand([2, 4, 4, 8], 50), 0.7)
    const gamma = tf.add(tf.mul(rand([8], 51), 0.3), 1)
    const beta = rand([8], 52)
    const w = rand([2, 4, 4, 8], 53)
    const mask = tf.mul(tf.cast(tf.greater(tf.randomUniform([2, 4, 4, 8], 0, 1, "float32", 54), 0.3), "float32"), 1 / 0.7)
    const plain = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => {
      const r = tf.reshape(xx, [2, 16, 2, 4])
      const { mean, variance } = tf.moments(r, [1, 3], true)
      const y = tf.add(tf.mul(tf.reshape(tf.div(tf.sub(r, mean), tf.sqrt(tf.add(variance, 1e-6))), [2, 4, 4, 8]), gg), bb)
      return tf.mul(tf.mul(y, tf.sigmoid(y)), mask)
    }
    const mine = (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) =>
      normAct(xx as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D, 2, 1e-6, true, { rate: 0.3, mask: () => tf.clone(mask) })
    expect(maxAbsDiff(mine(x, gamma, beta).dataSync(), plain(x, gamma, beta).dataSync())).toBeLessThan(1e-5)
    const loss = (f: typeof plain) => (xx: tf.Tensor, gg: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(f(xx, gg, bb), w))
    const ga = tf.grads(loss(mine))([x, gamma, beta])
    const gb = tf.grads(loss(plain))([x, gamma, beta])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(ga[i].dataSync(), gb[i].dataSync())).toBeLessThan(2e-4)
  })

  it("residualJoin = (h + skip + bias) * scale with its gradients", () => {
    const h = rand([2, 3, 3, 4], 60)
    const k = rand([2, 3, 3, 4], 61)
    const b = rand([4], 62)
    const w = rand([2, 3, 3, 4], 63)
    const g1 = tf.grads((hh: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.mul(residualJoin(hh as tf.Tensor4D, kk as tf.Tensor4D, bb as tf.Tensor1D, 0.7), w)),
    )([h, k, b])
    const g2 = tf.grads((hh: tf.Tensor, kk: tf.Tensor, bb: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.add(tf.add(hh, kk), bb), 0.7), w)))([
      h,
      k,
      b,
    ])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(g1[i].dataSync(), g2[i].dataSync())).toBeLessThan(1e-5)
  })
})

describe("self-attention", () => {
  it("channel-interleaved q/k/v, softmax over keys with 1/sqrt(C), against a naive loop", () => {
    const C = 8
    const [B, H, W] = [2, 3, 2]
    const x = rand([B, H, W, C], 30) as tf.Tensor4D // plays the role of both x and norm2(x)
    // Official layouts: qkv.weight [3C, C, 1, 1] (output channel 3c+j), proj.weight [C, C, 1, 1].
    const qkvT = Float32Array.from(rand([3 * C * C], 31).dataSync())
    const qkvBT = Float32Array.from(rand([3 * C], 32).dataSync())
    const projT = Float32Array.from(rand([C * C], 33).dataSync())
    const projBT = Float32Array.from(rand([C], 34).dataSync())
    const spec = (role: ParamSpec["role"], shape: number[], torchShape: number[]): ParamSpec => ({
      name: role,
      role,
      shape,
      torchShape,
      trainable: true,
      init: { mode: "zeros" },
    })
    const wq = tf.tensor4d(fromTorchLayout(spec("qkv_weight", [1, 1, C, 3 * C], [3 * C, C, 1, 1]), qkvT), [1, 1, C, 3 * C])
    const bq = tf.tensor1d(fromTorchLayout(spec("qkv_bias", [3 * C], [3 * C]), qkvBT))
    const wp = tf.tensor4d(fromTorchLayout(spec("conv_weight", [1, 1, C, C], [C, C, 1, 1]), projT), [1, 1, C, C])
    const bp = tf.tensor1d(projBT)
    const out = residualJoin(selfAttention(x, wq, bq, wp), x, bp, Math.SQRT1_2)
    const ref = samples(x).map((im) => attention(im, im, qkvT, qkvBT, projT, projBT))
    expect(maxAbsDiff(out.dataSync(), toNhwc(ref))).toBeLessThan(1e-4)
  })
})

describe("small ops with custom gradients", () => {
  it("silu, mm, addBias and addPerSample gradients equal stock autodiff", () => {
    const x = rand([3, 5], 40) as tf.Tensor2D
    const wm = rand([5, 4], 41) as tf.Tensor2D
    const b = rand([4], 42) as tf.Tensor1D
    const f1 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) =>
      tf.sum(tf.square(silu(addBias(mm(xx as tf.Tensor2D, ww as tf.Tensor2D), bb as tf.Tensor1D))))
    const f2 = (xx: tf.Tensor, ww: tf.Tensor, bb: tf.Tensor) => {
      const z = tf.add(tf.matMul(xx as tf.Tensor2D, ww as tf.Tensor2D), bb)
      return tf.sum(tf.square(tf.mul(z, tf.sigmoid(z))))
    }
    const ga = tf.grads(f1)([x, wm, b])
    const gb = tf.grads(f2)([x, wm, b])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(ga[i].dataSync(), gb[i].dataSync())).toBeLessThan(1e-4)

    const h = rand([2, 3, 4, 5], 43) as tf.Tensor4D
    const p = rand([2, 5], 44) as tf.Tensor2D
    const c = rand([5], 45) as tf.Tensor1D
    const g1 = tf.grads((hh: tf.Tensor, pp: tf.Tensor, cc: tf.Tensor) =>
      tf.sum(tf.square(addBias(addPerSample(hh as tf.Tensor4D, pp as tf.Tensor2D), cc as tf.Tensor1D))),
    )([h, p, c])
    const g2 = tf.grads((hh: tf.Tensor, pp: tf.Tensor, cc: tf.Tensor) =>
      tf.sum(tf.square(tf.add(tf.add(hh, tf.reshape(pp, [2, 1, 1, 5])), cc))),
    )([h, p, c])
    for (let i = 0; i < 3; i++) expect(maxAbsDiff(g1[i].dataSync(), g2[i].dataSync())).toBeLessThan(1e-4)
  })
})
