import { initBackend } from "../../../src/runtime/backend/select.js"
import * as tf from "@tensorflow/tfjs-core"

const backendName = process.argv[2] ?? "wasm"
await initBackend(backendName as any, { threads: 1 })
const n = Number(process.argv[3] ?? 256)
const B = Number(process.argv[4] ?? 1)
const std = 3.0
const r = Math.floor(6 * std + 0.5)
const taps = new Float64Array(2 * r + 1)
let s = 0
for (let k = -r; k <= r; k++) { taps[k + r] = Math.exp(-k * k / (2 * std * std)); s += taps[k + r] }
for (let i = 0; i < taps.length; i++) taps[i] /= s
const reflect = (i: number, n: number) => { const p = 2 * (n - 1); let m = ((i % p) + p) % p; return m < n ? m : p - m }
const mat = new Float32Array(n * n)
for (let i = 0; i < n; i++) for (let k = -r; k <= r; k++) mat[i * n + reflect(i + k, n)] += taps[k + r]
const K = tf.tensor2d(mat, [n, n])
const x = tf.randomUniform([B, n, n, 3]) as tf.Tensor4D

const viaMatmul = (x: tf.Tensor4D) => tf.tidy(() => {
  const [b, h, w, c] = x.shape
  const rows = tf.matMul(K, x.reshape([b, h, w * c]) as tf.Tensor3D) // broadcast?
  const t = rows.reshape([b, h, w, c]).transpose([0, 2, 1, 3]).reshape([b, w, h * c])
  const cols = tf.matMul(K, t as tf.Tensor3D)
  return cols.reshape([b, w, h, c]).transpose([0, 2, 1, 3]) as tf.Tensor4D
})
const reflectPad = (x: tf.Tensor4D, axis: 1 | 2) => {
  const size = x.shape[axis]
  const begin = [0, 0, 0, 0], sz = [-1, -1, -1, -1]
  begin[axis] = 1; sz[axis] = r
  const left = tf.reverse(tf.slice(x, begin, sz), axis)
  begin[axis] = size - 1 - r
  const right = tf.reverse(tf.slice(x, begin, sz), axis)
  return tf.concat([left, x, right], axis) as tf.Tensor4D
}
const f1 = Float32Array.from(taps)
const viaConv = (x: tf.Tensor4D) => tf.tidy(() => {
  const [b, h, w, c] = x.shape
  let y = x.transpose([0, 3, 1, 2]).reshape([b * c, h, w, 1]) as tf.Tensor4D
  y = tf.conv2d(reflectPad(y, 1), tf.tensor4d(f1, [2 * r + 1, 1, 1, 1]), 1, "valid")
  y = tf.conv2d(reflectPad(y, 2), tf.tensor4d(f1, [1, 2 * r + 1, 1, 1]), 1, "valid")
  return y.reshape([b, c, h, w]).transpose([0, 2, 3, 1]) as tf.Tensor4D
})
const viaDw = (x: tf.Tensor4D) => tf.tidy(() => {
  const f = new Float32Array(3 * (2 * r + 1)); for (let k = 0; k < 2 * r + 1; k++) for (let c = 0; c < 3; c++) f[k * 3 + c] = taps[k]
  let y = tf.depthwiseConv2d(reflectPad(x, 1), tf.tensor4d(f, [2 * r + 1, 1, 3, 1]), 1, "valid")
  y = tf.depthwiseConv2d(reflectPad(y, 2), tf.tensor4d(f, [1, 2 * r + 1, 3, 1]), 1, "valid")
  return y
})
const viaMat2 = (x: tf.Tensor4D) => tf.tidy(() => {
  const [b, h, w, c] = x.shape
  const rows = tf.matMul(K, x.transpose([1, 0, 2, 3]).reshape([h, b * w * c]) as tf.Tensor2D)
  const t = rows.reshape([h, b, w, c]).transpose([2, 1, 0, 3]).reshape([w, b * h * c])
  const cols = tf.matMul(K, t as tf.Tensor2D)
  return cols.reshape([w, b, h, c]).transpose([1, 2, 0, 3]) as tf.Tensor4D
})
for (const [name, fn] of [["mat2", viaMat2], ["matmul", viaMatmul], ["conv", viaConv], ["dw", viaDw]] as const) {
  fn(x).dispose()
  const t0 = performance.now()
  for (let i = 0; i < 5; i++) { const y = fn(x); y.dataSync(); y.dispose() }
  const t1 = performance.now()
  const g = tf.grad((z: tf.Tensor4D) => fn(z).square().sum())
  let ok = "ok"
  try { const gg = g(x); gg.dataSync(); gg.dispose() } catch (e) { }
  const t2 = performance.now()
  try { const gg = g(x); gg.dataSync(); gg.dispose() } catch (e) { ok = String(e).slice(0, 100) }
  console.log(name, ((t1 - t0) / 5).toFixed(1), "ms fwd; grad", (performance.now() - t2).toFixed(1), "ms", ok)
}
const a = viaMat2(x).dataSync(), b2 = viaConv(x).dataSync(), c2 = viaDw(x).dataSync()
let m1 = 0, m2 = 0; for (let i = 0; i < a.length; i++) { m1 = Math.max(m1, Math.abs(a[i] - b2[i])); m2 = Math.max(m2, Math.abs(a[i] - c2[i])) }
console.log("maxdiff", m1, m2)
