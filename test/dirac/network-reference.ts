/**
 * A deliberately naive, loop-based re-statement of EDM's SongUNet forward
 * (NCHW, PyTorch layouts, one sample at a time), written from the Python
 * definitions and independent of src/dirac/network: used to check the tfjs
 * implementation end to end on tiny configs.
 */
import type { RawTensor } from "../../src/dirac/io/safetensors.js"
import type { UNetArgs } from "../../src/dirac/network/config.js"

export interface Img {
  readonly c: number
  readonly h: number
  readonly w: number
  readonly d: Float64Array
}

const img = (c: number, h: number, w: number): Img => ({ c, h, w, d: new Float64Array(c * h * w) })
const at = (x: Img, c: number, y: number, xx: number): number =>
  y < 0 || xx < 0 || y >= x.h || xx >= x.w ? 0 : x.d[(c * x.h + y) * x.w + xx]

/** torch.nn.functional.conv2d(x, w [o, i, k, k], b, padding=pad), stride 1. */
export const conv2d = (x: Img, w: ArrayLike<number>, b: ArrayLike<number> | null, cout: number, k: number, pad: number): Img => {
  const oh = x.h + 2 * pad - k + 1
  const ow = x.w + 2 * pad - k + 1
  const out = img(cout, oh, ow)
  for (let o = 0; o < cout; o++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let s = b === null ? 0 : b[o]
        for (let i = 0; i < x.c; i++)
          for (let u = 0; u < k; u++)
            for (let v = 0; v < k; v++) s += w[((o * x.c + i) * k + u) * k + v] * at(x, i, y + u - pad, xx + v - pad)
        out.d[(o * oh + y) * ow + xx] = s
      }
  return out
}

/** Depthwise conv2d with the same k x k filter f for every channel (groups=C). */
export const depthwise = (x: Img, f: ArrayLike<number>, k: number, stride: number, pad: number): Img => {
  const oh = Math.floor((x.h + 2 * pad - k) / stride) + 1
  const ow = Math.floor((x.w + 2 * pad - k) / stride) + 1
  const out = img(x.c, oh, ow)
  for (let c = 0; c < x.c; c++)
    for (let y = 0; y < oh; y++)
      for (let xx = 0; xx < ow; xx++) {
        let s = 0
        for (let u = 0; u < k; u++) for (let v = 0; v < k; v++) s += f[u * k + v] * at(x, c, y * stride + u - pad, xx * stride + v - pad)
        out.d[(c * oh + y) * ow + xx] = s
      }
  return out
}

/** Depthwise conv_transpose2d (groups=C) with filter f, stride 2, padding pad: out[o] += x[i] f[o + pad - 2i]. */
export const depthwiseTransposed = (x: Img, f: ArrayLike<number>, k: number, pad: number): Img => {
  const oh = (x.h - 1) * 2 - 2 * pad + k
  const ow = (x.w - 1) * 2 - 2 * pad + k
  const out = img(x.c, oh, ow)
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < x.h; i++)
      for (let j = 0; j < x.w; j++) {
        const v = x.d[(c * x.h + i) * x.w + j]
        for (let u = 0; u < k; u++)
          for (let t = 0; t < k; t++) {
            const y = 2 * i + u - pad
            const xx = 2 * j + t - pad
            if (y >= 0 && xx >= 0 && y < oh && xx < ow) out.d[(c * oh + y) * ow + xx] += v * f[u * k + t]
          }
      }
  return out
}

export const filter2d = (taps: readonly number[], gain = 1): number[] => {
  const s = taps.reduce((a, b) => a + b, 0)
  return taps.flatMap((a) => taps.map((b) => (gain * a * b) / (s * s)))
}

const add = (a: Img, b: Img, scale = 1): Img => ({ ...a, d: a.d.map((v, i) => (v + b.d[i]) * scale) })
const silu = (a: Img): Img => ({ ...a, d: a.d.map((v) => v / (1 + Math.exp(-v))) })
const siluV = (a: number[]): number[] => a.map((v) => v / (1 + Math.exp(-v)))

export const groupNorm = (x: Img, gamma: ArrayLike<number>, beta: ArrayLike<number>, eps = 1e-6): Img => {
  const groups = Math.min(32, Math.floor(x.c / 4))
  const cg = x.c / groups
  const n = x.h * x.w
  const out = img(x.c, x.h, x.w)
  for (let g = 0; g < groups; g++) {
    let m = 0
    for (let i = g * cg * n; i < (g + 1) * cg * n; i++) m += x.d[i]
    m /= cg * n
    let v = 0
    for (let i = g * cg * n; i < (g + 1) * cg * n; i++) v += (x.d[i] - m) ** 2
    v /= cg * n
    for (let c = g * cg; c < (g + 1) * cg; c++)
      for (let p = 0; p < n; p++) out.d[c * n + p] = ((x.d[c * n + p] - m) / Math.sqrt(v + eps)) * gamma[c] + beta[c]
  }
  return out
}

const linear = (x: number[], w: ArrayLike<number>, b: ArrayLike<number>, fout: number): number[] =>
  Array.from({ length: fout }, (_, o) => x.reduce((s, v, i) => s + v * w[o * x.length + i], b[o]))

/** EDM UNetBlock attention: qkv channels interleaved (3c + 0/1/2), softmax over keys, proj, residual, skip scale. */
export const attention = (
  x: Img,
  norm2: Img,
  qkvW: ArrayLike<number>,
  qkvB: ArrayLike<number>,
  projW: ArrayLike<number>,
  projB: ArrayLike<number>,
): Img => {
  const C = x.c
  const n = x.h * x.w
  const qkv = conv2d(norm2, qkvW, qkvB, 3 * C, 1, 0)
  const q = (c: number, p: number) => qkv.d[(3 * c + 0) * n + p]
  const k = (c: number, p: number) => qkv.d[(3 * c + 1) * n + p]
  const v = (c: number, p: number) => qkv.d[(3 * c + 2) * n + p]
  const a = img(C, x.h, x.w)
  for (let qi = 0; qi < n; qi++) {
    const logits = Array.from({ length: n }, (_, ki) => {
      let s = 0
      for (let c = 0; c < C; c++) s += q(c, qi) * (k(c, ki) / Math.sqrt(C))
      return s
    })
    const mx = Math.max(...logits)
    const e = logits.map((l) => Math.exp(l - mx))
    const z = e.reduce((s, t) => s + t, 0)
    for (let c = 0; c < C; c++) {
      let s = 0
      for (let ki = 0; ki < n; ki++) s += (e[ki] / z) * v(c, ki)
      a.d[c * n + qi] = s
    }
  }
  return add(conv2d(a, projW, projB, C, 1, 0), x, Math.SQRT1_2)
}

type SD = Readonly<Record<string, RawTensor>>

/** Returns the raw SongUNet output F(y, sigma) for one sample (NCHW). */
export const songUNetReference = (sd: SD, a: UNetArgs, y: Img, sigma: number): Img => {
  const P = (name: string): ArrayLike<number> => {
    const t = sd[name]
    if (t === undefined) throw new Error(`reference: missing ${name}`)
    return t.data
  }
  const has = (name: string) => sd[name] !== undefined
  const taps = a.resample_filter
  const k = taps.length
  const fPad = Math.floor((k - 1) / 2)
  const fDown = filter2d(taps)
  const fUp = filter2d(taps, 4)
  const shapeOf = (name: string) => sd[name].shape

  // Conv2d.forward
  const conv = (name: string, x: Img, opts: { up?: boolean; down?: boolean; fused?: boolean } = {}): Img => {
    const hasW = has(`${name}.weight`)
    const [cout, , kk] = hasW ? shapeOf(`${name}.weight`) : [x.c, x.c, 0]
    const wPad = Math.floor(kk / 2)
    let h = x
    if (opts.fused && opts.down) {
      h = conv2d(h, P(`${name}.weight`), null, cout, kk, wPad + fPad)
      h = depthwise(h, fDown, k, 2, 0)
    } else {
      if (opts.up) h = depthwiseTransposed(h, fUp, k, fPad)
      if (opts.down) h = depthwise(h, fDown, k, 2, fPad)
      if (hasW) h = conv2d(h, P(`${name}.weight`), null, cout, kk, wPad)
    }
    const b = P(`${name}.bias`)
    return { ...h, d: h.d.map((v, i) => v + b[Math.floor(i / (h.h * h.w))]) }
  }

  const block = (name: string, x: Img, emb: number[], opts: { up?: boolean; down?: boolean } = {}): Img => {
    const cout = shapeOf(`${name}.conv1.weight`)[0]
    let h = conv(`${name}.conv0`, silu(groupNorm(x, P(`${name}.norm0.weight`), P(`${name}.norm0.bias`))), opts)
    const params = linear(emb, P(`${name}.affine.weight`), P(`${name}.affine.bias`), cout)
    h = { ...h, d: h.d.map((v, i) => v + params[Math.floor(i / (h.h * h.w))]) }
    h = silu(groupNorm(h, P(`${name}.norm1.weight`), P(`${name}.norm1.bias`)))
    h = conv(`${name}.conv1`, h)
    const skip = has(`${name}.skip.bias`) ? conv(`${name}.skip`, x, opts) : x
    let out = add(h, skip, Math.SQRT1_2)
    if (has(`${name}.qkv.weight`)) {
      const n2 = groupNorm(out, P(`${name}.norm2.weight`), P(`${name}.norm2.bias`))
      out = attention(out, n2, P(`${name}.qkv.weight`), P(`${name}.qkv.bias`), P(`${name}.proj.weight`), P(`${name}.proj.bias`))
    }
    return out
  }

  // Mapping: emb = [cos, sin] of sigma * 2 pi freqs, flipped to [sin, cos].
  const freqs = P("map_noise.freqs")
  const half = freqs.length
  const feats: number[] = []
  for (let i = 0; i < half; i++) feats.push(Math.sin(sigma * 2 * Math.PI * freqs[i]))
  for (let i = 0; i < half; i++) feats.push(Math.cos(sigma * 2 * Math.PI * freqs[i]))
  const embC = shapeOf("map_layer0.weight")[0]
  let emb = siluV(linear(feats, P("map_layer0.weight"), P("map_layer0.bias"), embC))
  emb = siluV(linear(emb, P("map_layer1.weight"), P("map_layer1.bias"), embC))

  // Encoder, in the Python ModuleDict order.
  const skips: Img[] = []
  let x = y
  let aux = y
  a.channel_mult.forEach((_mult, level) => {
    const res = a.img_resolution >> level
    const r = `enc.${res}x${res}`
    if (level === 0) {
      x = conv(`${r}_conv`, x)
      skips.push(x)
    } else {
      x = block(`${r}_down`, x, emb, { down: true })
      skips.push(x)
      x = add(x, conv(`${r}_aux_residual`, aux, { down: true, fused: true }), Math.SQRT1_2)
      skips[skips.length - 1] = x
      aux = x
    }
    for (let idx = 0; idx < a.num_blocks; idx++) {
      x = block(`${r}_block${idx}`, x, emb)
      skips.push(x)
    }
  })
  // Decoder.
  let out: Img | null = null
  for (let level = a.channel_mult.length - 1; level >= 0; level--) {
    const res = a.img_resolution >> level
    const r = `dec.${res}x${res}`
    if (level === a.channel_mult.length - 1) {
      x = block(`${r}_in0`, x, emb)
      x = block(`${r}_in1`, x, emb)
    } else {
      x = block(`${r}_up`, x, emb, { up: true })
    }
    for (let idx = 0; idx <= a.num_blocks; idx++) {
      const s = skips.pop()!
      x = { c: x.c + s.c, h: x.h, w: x.w, d: Float64Array.from([...x.d, ...s.d]) }
      x = block(`${r}_block${idx}`, x, emb)
    }
    if (level === 0) {
      const t = groupNorm(x, P(`${r}_aux_norm.weight`), P(`${r}_aux_norm.bias`))
      out = conv(`${r}_aux_conv`, silu(t))
    }
  }
  return out!
}

/** NHWC batch data -> NCHW image of sample b. */
export const nhwcSample = (data: ArrayLike<number>, shape: readonly number[], b: number): Img => {
  const [, h, w, c] = shape
  const out = img(c, h, w)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) out.d[(ch * h + y) * w + x] = data[((b * h + y) * w + x) * c + ch]
  return out
}
