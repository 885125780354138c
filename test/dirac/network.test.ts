import * as tf from "@tensorflow/tfjs-core"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type RawTensor } from "../../src/dirac/io/safetensors.js"
import {
  createUNet,
  forward,
  loadStateDict,
  loadWeights,
  loadWeightsInto,
  saveWeights,
  songUNetRaw,
  stateDict,
  UNET_ARGS_METADATA_KEY,
  WeightsMismatchError,
  type SongUNet,
} from "../../src/dirac/network/index.js"
import { fourierFeatures } from "../../src/dirac/network/layers.js"
import { nhwcSample, songUNetReference } from "./network-reference.js"
import { randomStateDict } from "../runtime/parity-suite.js"

let dir: string

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
  dir = await mkdtemp(join(tmpdir(), "dirac-network-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const images = (b: number, h: number, w: number, seed: number): tf.Tensor4D =>
  tf.randomUniform([b, h, w, 3], 0, 1, "float32", seed) as tf.Tensor4D
const sigmas = (b: number): tf.Tensor1D => tf.tensor1d(Array.from({ length: b }, (_, i) => 0.01 + (0.04 * i) / Math.max(1, b - 1)))
const maxAbs = (a: tf.Tensor, b: tf.Tensor): number => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])

/** Replace every parameter with random values of a sensible scale, so that no path is near zero. */
const randomize = (net: SongUNet, seed: number): void => loadStateDict(net, randomStateDict(net, seed))

describe("SongUNet forward", () => {
  it("at initialisation x^0 = y + F with |F| tiny (conv1/proj/aux_conv init 1e-5)", () => {
    const net = createUNet("tiny-32", { seed: 3 })
    const y = images(2, 32, 32, 1)
    const out = forward(net, y, sigmas(2))
    expect(out.shape).toEqual([2, 32, 32, 3])
    const d = maxAbs(out, y)
    expect(d).toBeLessThan(1e-3)
    expect(d).toBeGreaterThan(0)
    net.dispose()
  })

  it("output shapes at 16, 32 and 64 pixels (and non-square inputs)", () => {
    for (const [preset, r] of [
      ["tiny-16", 16],
      ["tiny-32", 32],
      ["small-64", 64],
    ] as const) {
      const net = createUNet(preset, { seed: 1 })
      const out = tf.tidy(() => forward(net, images(1, r, r, 2), sigmas(1)))
      expect(out.shape).toEqual([1, r, r, 3])
      out.dispose()
      net.dispose()
    }
    const net = createUNet("tiny-16")
    expect(tf.tidy(() => forward(net, images(2, 16, 32, 3), sigmas(2)).shape)).toEqual([2, 16, 32, 3])
    expect(() => forward(net, images(1, 15, 16, 3), sigmas(1))).toThrow(/multiples of 2/)
    expect(() => forward(net, images(2, 16, 16, 3), sigmas(1))).toThrow(/sigma must be/)
    net.dispose()
  })

  it("matches a naive loop implementation of EDM's SongUNet end to end (random weights)", async () => {
    for (const [overrides, seed] of [
      [{}, 11],
      [{ resample_filter: [1, 1] }, 12],
      [{ channel_mult: [1, 2, 1], attn_resolutions: [4, 16] }, 13],
    ] as const) {
      const net = createUNet("tiny-16", { overrides })
      randomize(net, seed)
      const y = images(2, 16, 16, seed)
      const sig = [0.013, 0.047]
      const raw = songUNetRaw(net, y, tf.tensor1d(sig))
      const sd = await stateDict(net)
      const yd = y.dataSync()
      const got = raw.dataSync()
      let worst = 0
      let scale = 0
      for (let b = 0; b < 2; b++) {
        const ref = songUNetReference(sd, net.args, nhwcSample(yd, y.shape, b), sig[b])
        const mine = nhwcSample(got, raw.shape, b)
        for (let i = 0; i < ref.d.length; i++) {
          worst = Math.max(worst, Math.abs(ref.d[i] - mine.d[i]))
          scale = Math.max(scale, Math.abs(ref.d[i]))
        }
      }
      expect(scale).toBeGreaterThan(0.1)
      expect(worst / scale).toBeLessThan(1e-4)
      net.dispose()
    }
  })

  it("Fourier features are [sin, cos] of 2 pi f sigma", () => {
    const f = fourierFeatures(tf.tensor1d([0.02, 0.05]), tf.tensor1d([1, -3, 16]))
    const expected = [0.02, 0.05].flatMap((s) => [
      ...[1, -3, 16].map((v) => Math.sin(2 * Math.PI * v * s)),
      ...[1, -3, 16].map((v) => Math.cos(2 * Math.PI * v * s)),
    ])
    const got = Array.from(f.dataSync())
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5))
  })

  it("is deterministic: same seed same weights; dropout only when training, fixed by its seed", () => {
    const a = createUNet("tiny-16", { seed: 5 })
    const b = createUNet("tiny-16", { seed: 5 })
    const c = createUNet("tiny-16", { seed: 6 })
    const w = "enc.16x16_block0.conv0.weight"
    expect(maxAbs(a.params[w], b.params[w])).toBe(0)
    expect(maxAbs(a.params[w], c.params[w])).toBeGreaterThan(0)
    expect(maxAbs(a.params["map_noise.freqs"], b.params["map_noise.freqs"])).toBe(0)
    randomize(a, 9)
    const y = images(2, 16, 16, 7)
    const s = sigmas(2)
    const ev1 = songUNetRaw(a, y, s)
    const ev2 = songUNetRaw(a, y, s, { training: false, dropoutSeed: 1 })
    expect(maxAbs(ev1, ev2)).toBe(0)
    const t1 = songUNetRaw(a, y, s, { training: true, dropoutSeed: 1 })
    const t2 = songUNetRaw(a, y, s, { training: true, dropoutSeed: 1 })
    const t3 = songUNetRaw(a, y, s, { training: true, dropoutSeed: 2 })
    expect(maxAbs(t1, t2)).toBe(0)
    expect(maxAbs(t1, t3)).toBeGreaterThan(1e-3)
    expect(maxAbs(t1, ev1)).toBeGreaterThan(1e-3)
    for (const n of [a, b, c]) n.dispose()
  })
})

describe("SongUNet training", () => {
  it("gradients reach every trainable parameter (none undefined, all finite, none identically zero)", () => {
    const net = createUNet("tiny-32", { seed: 2 })
    const y = images(2, 32, 32, 4)
    const x0 = images(2, 32, 32, 5)
    const vars = net.trainableVariables as tf.Variable[]
    const { value, grads } = tf.variableGrads(
      () => tf.mean(tf.square(tf.sub(forward(net, y, sigmas(2), { training: true, dropoutSeed: 3 }), x0))) as tf.Scalar,
      vars,
    )
    expect(Number.isFinite(value.dataSync()[0])).toBe(true)
    const names = Object.keys(net.params).filter((n) => n !== "map_noise.freqs")
    expect(vars.length).toBe(names.length)
    const zero: string[] = []
    for (const v of vars) {
      const g = grads[v.name]
      expect(g, v.name).toBeDefined()
      expect(g.shape).toEqual(v.shape)
      const d = g.dataSync()
      expect(d.every(Number.isFinite), v.name).toBe(true)
      if (d.every((x) => x === 0)) zero.push(v.name)
    }
    expect(zero).toEqual([])
    const mag = (n: string) => tf.tidy(() => tf.max(tf.abs(grads[net.params[n].name])).dataSync()[0])
    expect(mag("enc.32x32_conv.weight")).toBeGreaterThan(0)
    expect(mag("dec.32x32_aux_conv.weight")).toBeGreaterThan(1e-4) // the last layer gets the full error signal
    expect(mag("map_layer0.weight")).toBeGreaterThan(0)
    tf.dispose(grads)
    net.dispose()
  })

  it("the full backward pass matches finite-difference directional derivatives, per parameter kind", () => {
    const net = createUNet("tiny-16", { overrides: { attn_resolutions: [8, 16] } })
    randomize(net, 31)
    const y = images(2, 16, 16, 32)
    const s = tf.tensor1d([0.02, 0.04])
    const wOut = tf.randomNormal([2, 16, 16, 3], 0, 1, "float32", 33)
    const vars = net.trainableVariables as tf.Variable[]
    const roleOf = new Map(net.arch.params.map((p) => [net.params[p.name].name, p.role]))
    const loss = () => tf.sum(tf.mul(songUNetRaw(net, y, s), wOut)) as tf.Scalar
    const { grads } = tf.variableGrads(loss, vars)
    const originals = vars.map((v) => tf.clone(v))
    const kinds: Array<[string, (role: string) => boolean]> = [
      ["conv weights", (r) => r === "conv_weight"],
      ["attention qkv", (r) => r.startsWith("qkv")],
      ["linear weights", (r) => r === "linear_weight"],
      ["biases", (r) => r === "bias"],
      ["GroupNorm scales", (r) => r === "norm_weight"],
      ["GroupNorm shifts", (r) => r === "norm_bias"],
    ]
    const errors: Record<string, number> = {}
    kinds.forEach(([kind, pick], k) => {
      // A random direction on this kind only, scaled like each parameter.
      const dirs = vars.map((v, i) =>
        tf.tidy(() =>
          pick(roleOf.get(v.name)!)
            ? tf.mul(tf.randomNormal(v.shape, 0, 1, "float32", 100 * k + i), tf.add(tf.abs(v), 0.01))
            : tf.zerosLike(v),
        ),
      )
      const analytic = tf.tidy(() => tf.addN(vars.map((v, i) => tf.sum(tf.mul(grads[v.name], dirs[i])))).dataSync()[0])
      const at = (eps: number): number => {
        vars.forEach((v, i) => v.assign(tf.tidy(() => tf.add(originals[i], tf.mul(dirs[i], eps)))))
        return tf.tidy(() => loss().dataSync()[0])
      }
      const eps = 1e-3
      const numeric = (at(eps) - at(-eps)) / (2 * eps)
      vars.forEach((v, i) => v.assign(originals[i]))
      expect(Math.abs(analytic), kind).toBeGreaterThan(0.1)
      errors[kind] = Math.abs(numeric - analytic) / Math.abs(analytic)
      tf.dispose(dirs)
    })
    if (process.env.DEBUG_FD) console.log(errors)
    for (const [kind, err] of Object.entries(errors)) expect(err, kind).toBeLessThan(3e-3)
    tf.dispose([...originals, ...Object.values(grads)])
    net.dispose()
  })

  it("a few Adam steps on a fixed batch lower the loss (no tensor leak)", () => {
    const net = createUNet("tiny-16", { seed: 1 })
    const y = images(4, 16, 16, 8)
    const x0 = tf.tidy(() => tf.add(tf.mul(y, 0.5), 0.25)) as tf.Tensor4D // a learnable map: F = 0.25 - y / 2
    const s = sigmas(4)
    const opt = tf.train.adam(2e-3)
    const losses: number[] = []
    let tensors = 0
    for (let i = 0; i < 12; i++) {
      const loss = opt.minimize(
        () => tf.mean(tf.square(tf.sub(forward(net, y, s, { training: true, dropoutSeed: i }), x0))) as tf.Scalar,
        true,
        net.trainableVariables as tf.Variable[],
      )!
      losses.push(loss.dataSync()[0])
      if (process.env.DEBUG_LOSS) console.log(i, losses[i])
      loss.dispose()
      if (i === 2) tensors = tf.memory().numTensors
    }
    expect(tf.memory().numTensors).toBe(tensors)
    expect(losses[11]).toBeLessThan(0.8 * losses[0])
    opt.dispose()
    net.dispose()
  })
})

describe("weights I/O (safetensors, official names)", () => {
  it("round trip: save, load into a fresh model, same output; PyTorch names, shapes and buffers in the file", async () => {
    const net = createUNet("tiny-16", { seed: 4 })
    randomize(net, 21)
    const path = join(dir, "tiny.safetensors")
    await saveWeights(net, path, { note: "test" })
    const { metadata, entries } = await readSafetensorsHeader(path)
    expect(JSON.parse(metadata[UNET_ARGS_METADATA_KEY])).toEqual(JSON.parse(JSON.stringify(net.args)))
    expect(metadata.note).toBe("test")
    expect(entries["enc.16x16_conv.weight"].shape).toEqual([8, 3, 3, 3])
    expect(entries["map_layer0.weight"].shape).toEqual([32, 16])
    expect(entries["enc.8x8_block0.qkv.weight"].shape).toEqual([48, 16, 1, 1])
    expect(entries["enc.8x8_down.conv0.resample_filter"].shape).toEqual([1, 1, 4, 4])
    expect(entries["map_noise.freqs"].shape).toEqual([8])
    expect(Object.keys(entries).length).toBe(net.arch.params.length + net.arch.buffers.length)

    const y = images(2, 16, 16, 22)
    const s = sigmas(2)
    const ref = forward(net, y, s)
    const loaded = await loadWeights(path)
    expect(loaded.args).toEqual(net.args)
    expect(maxAbs(forward(loaded, y, s), ref)).toBe(0)
    const fresh = createUNet("tiny-16", { seed: 99 })
    await loadWeightsInto(fresh, path)
    expect(maxAbs(forward(fresh, y, s), ref)).toBe(0)
    // Layout conversion: the conv weight in the file is the transposed variable.
    const { tensors } = await readSafetensors(path)
    const wTf = net.params["enc.16x16_conv.weight"].arraySync() as number[][][][] // [kh, kw, in, out]
    const wPt = tensors["enc.16x16_conv.weight"].data // [out, in, kh, kw]
    expect(wPt[((5 * 3 + 2) * 3 + 1) * 3 + 0]).toBe(wTf[1][0][2][5])
    for (const n of [net, loaded, fresh]) n.dispose()
  })

  it("names what is missing, unexpected or mis-shaped; accepts a 'denoiser_fn.' prefix", async () => {
    const net = createUNet("tiny-16", { seed: 4 })
    const sd = await stateDict(net)
    const bad: Record<string, RawTensor> = { ...sd }
    const w = bad["enc.8x8_block0.conv0.weight"]
    bad["enc.8x8_block0.conv0.weight"] = { ...w, shape: [w.shape[1], w.shape[0], 3, 3] }
    delete bad["dec.16x16_aux_conv.bias"]
    bad["enc.16x16_block0.extra.weight"] = { dtype: "float32", shape: [1], data: new Float32Array(1) }
    const path = join(dir, "bad.safetensors")
    await writeSafetensors(path, bad, { [UNET_ARGS_METADATA_KEY]: JSON.stringify(net.args) })
    const before = net.params["enc.16x16_conv.weight"].dataSync().slice()
    let caught: unknown
    try {
      await loadWeightsInto(net, path)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(WeightsMismatchError)
    const e = caught as WeightsMismatchError
    expect(e.missing).toEqual(["dec.16x16_aux_conv.bias"])
    expect(e.unexpected).toEqual(["enc.16x16_block0.extra.weight"])
    expect(e.misshaped.map((m) => m.name)).toEqual(["enc.8x8_block0.conv0.weight"])
    expect(e.message).toContain("enc.8x8_block0.conv0.weight is [8, 16, 3, 3], expected [16, 8, 3, 3]")
    expect(e.message).toContain(path)
    await expect(loadWeights(path)).rejects.toThrow(WeightsMismatchError)
    // Nothing was assigned.
    expect(Array.from(net.params["enc.16x16_conv.weight"].dataSync())).toEqual(Array.from(before))

    // A Lightning-style state_dict: prefixed keys plus unrelated modules.
    const prefixed: Record<string, RawTensor> = { "lpips.net.weight": { dtype: "float32", shape: [1], data: new Float32Array(1) } }
    for (const [k, v] of Object.entries(sd)) prefixed[`denoiser_fn.${k}`] = v
    const other = createUNet("tiny-16", { seed: 8 })
    loadStateDict(other, prefixed, { prefix: "denoiser_fn." })
    expect(maxAbs(other.params["enc.16x16_conv.weight"], net.params["enc.16x16_conv.weight"])).toBe(0)
    // Without the config in the metadata the architecture must be given.
    const bare = join(dir, "bare.safetensors")
    await writeSafetensors(bare, sd, {})
    await expect(loadWeights(bare)).rejects.toThrow(/options.args/)
    const viaArgs = await loadWeights(bare, { args: net.args })
    expect(maxAbs(viaArgs.params["dec.16x16_aux_conv.weight"], net.params["dec.16x16_aux_conv.weight"])).toBe(0)
    for (const n of [net, other, viaArgs]) n.dispose()
  })
})
