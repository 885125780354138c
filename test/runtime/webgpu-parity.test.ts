/**
 * The webgpu backend computes what wasm computes, for every kernel the method
 * uses: the U-Net forward and a training gradient (convs with stride 1 and 2,
 * transposed resampling, group norm with its hand-written gradient, attention
 * matMuls and softmax, SiLU, concat, dropout), training steps (Adam, EMA) and
 * the degradation operators.
 *
 * Runs on any WebGPU adapter, lavapipe included (CI installs it); skipped,
 * naming what is missing, where there is none. PIPE_REQUIRE_WEBGPU=1 turns the
 * skip into a failure (CI sets it once lavapipe is installed).
 */
import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import type { RawTensor } from "../../src/dirac/io/safetensors.js"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { createUNet, forward, loadStateDict, type SongUNet, type UNetArgs } from "../../src/dirac/network/index.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { Rng } from "../../src/dirac/random.js"
import { defaultAdam } from "../../src/dirac/train/adam.js"
import { incrementalReconstructionLoss } from "../../src/dirac/train/loss.js"
import { Trainer, type StepResult } from "../../src/dirac/train/trainer.js"
import { initBackend, type BackendInfo } from "../../src/runtime/backend/index.js"
import { relativeError } from "../numeric.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")
const TOLERANCE = 1e-4

const webgpu: { info: BackendInfo } | { missing: string } = await initBackend("webgpu").then(
  (info) => ({ info }),
  (error: unknown) => ({ missing: error instanceof Error ? error.message.split(/\n|\. /)[0]! : String(error) }),
)
await initBackend("wasm", { threads: 1 })
const missing = "missing" in webgpu ? webgpu.missing : undefined
const required = process.env.PIPE_REQUIRE_WEBGPU === "1"

it.runIf(required)("PIPE_REQUIRE_WEBGPU=1: a WebGPU adapter is available", () => {
  expect(missing).toBeUndefined()
})


const normals = (n: number, seed: number): Float32Array => Rng.fromSeed(seed).fillNormal(new Float32Array(n))

/** Random parameters of a sensible scale (torch layout), so that no path of the network is near zero. */
const randomStateDict = (net: SongUNet, seed: number): Record<string, RawTensor> => {
  const rng = Rng.fromSeed(seed)
  return Object.fromEntries(
    net.arch.params.map((spec) => {
      const n = spec.torchShape.reduce((a, b) => a * b, 1)
      const fanIn = spec.torchShape.length > 1 ? n / spec.torchShape[0]! : 1
      const data = new Float32Array(n)
      for (let i = 0; i < n; i++) {
        const z = rng.normal()
        data[i] = spec.role === "freqs" ? z * 16 : spec.role === "norm_weight" ? 1 + 0.2 * z : spec.role.endsWith("bias") ? 0.1 * z : z / Math.sqrt(fanIn)
      }
      return [spec.name, { dtype: "float32", shape: [...spec.torchShape], data }]
    }),
  )
}

interface NetworkResult {
  readonly output: Float32Array
  readonly loss: number
  /** By official parameter name. */
  readonly grads: ReadonlyMap<string, Float32Array>
}

/** Eval forward, then the L_IR gradient (blur process, dropout on) of the same weights on `backend`. */
const runNetwork = async (backend: string, overrides: Partial<UNetArgs>, weights: (net: SongUNet) => Record<string, RawTensor>): Promise<NetworkResult> => {
  await tf.setBackend(backend)
  const net = createUNet("tiny-16", { overrides })
  try {
    loadStateDict(net, weights(net))
    const shape: [number, number, number, number] = [2, 16, 16, 3]
    const y = tf.tensor4d(normals(2 * 16 * 16 * 3, 1), shape)
    const sigma = tf.tensor1d([0.02, 0.3])
    const out = forward(net, y, sigma)
    const output = (await out.data()) as Float32Array
    const batch = { x: tf.tensor4d(normals(2 * 16 * 16 * 3, 2), shape).clipByValue(0, 1) as tf.Tensor4D, t: [0.3, 0.8], z: tf.tensor4d(normals(2 * 16 * 16 * 3, 3), shape) }
    const { value, grads } = tf.variableGrads(() => incrementalReconstructionLoss(net, paperDeblurProcess(), batch, { dt: 0.1, training: true, dropoutSeed: 4 }), [...net.trainableVariables])
    const byVariable = new Map(Object.entries(net.params).map(([name, v]) => [v.name, name]))
    const named = new Map<string, Float32Array>()
    for (const [variable, g] of Object.entries(grads)) named.set(byVariable.get(variable)!, (await g.data()) as Float32Array)
    const loss = (await value.data())[0]!
    tf.dispose([y, sigma, out, batch.x, batch.z, value, ...Object.values(grads)])
    return { output, loss, grads: named }
  } finally {
    net.dispose()
  }
}

describe.skipIf(missing !== undefined)(`webgpu matches wasm within ${TOLERANCE}${missing ? ` (skipped: ${missing})` : ""}`, () => {
  const info = "info" in webgpu ? webgpu.info : undefined

  it("reports its adapter, saying when it is software emulation", () => {
    expect(info!.name).toBe("webgpu")
    expect(info!.device).toMatch(/^WebGPU on .+/)
    expect(info!.fingerprint).toMatch(/^webgpu\/4\.22\.0\/[\w.-]+-[\w.-]+$/)
    if (/llvmpipe|lavapipe|swiftshader/i.test(info!.device)) expect(info!.device).toContain("software emulation")
  })

  // [1,3,3,1] is the fast resampling path (depthwise blur + pooling); [1,1] the generic one (stride-2 and zero-stuffed FIR).
  for (const overrides of [{}, { resample_filter: [1, 1] }] as Partial<UNetArgs>[]) {
    it(`tiny-16 U-Net ${JSON.stringify(overrides)}: forward, L_IR loss and every parameter's gradient`, async () => {
      let weights: Record<string, RawTensor> | undefined
      const sameWeights = (net: SongUNet) => (weights ??= randomStateDict(net, 7))
      const reference = await runNetwork("wasm", overrides, sameWeights)
      const gpu = await runNetwork("webgpu", overrides, sameWeights)
      expect(relativeError(gpu.output, reference.output)).toBeLessThan(TOLERANCE)
      expect(Math.abs(gpu.loss - reference.loss) / reference.loss).toBeLessThan(TOLERANCE)
      expect([...gpu.grads.keys()].sort()).toEqual([...reference.grads.keys()].sort())
      expect(reference.grads.size).toBeGreaterThan(50)
      const worst = [...reference.grads].map(([name, g]) => ({ name, error: relativeError(gpu.grads.get(name)!, g) })).sort((a, b) => b.error - a.error)[0]!
      expect(worst.error, worst.name).toBeLessThan(TOLERANCE)
    })
  }

  it("three Trainer steps (L_IR, gradient norm, Adam, EMA) give the same losses and weights", async () => {
    let weights: Record<string, RawTensor> | undefined
    const train = async (backend: string) => {
      await tf.setBackend(backend)
      const net = createUNet("tiny-16")
      weights ??= randomStateDict(net, 8)
      loadStateDict(net, weights)
      const source = syntheticSource({ seed: 1, count: 8, resolution: 16 })
      const trainer = new Trainer(net, paperDeblurProcess(), source, { batchSize: 4, dt: 0.1, adam: { ...defaultAdam, lr: 1e-3 }, emaDecay: 0.9, seed: 1 })
      const steps: StepResult[] = []
      for (let i = 0; i < 3; i++) steps.push(await trainer.trainStep())
      const after = new Map(await Promise.all(Object.entries(net.params).map(async ([name, v]) => [name, (await v.data()) as Float32Array] as const)))
      trainer.dispose()
      net.dispose()
      return { steps, after }
    }
    const reference = await train("wasm")
    const gpu = await train("webgpu")
    gpu.steps.forEach((s, i) => {
      expect(Math.abs(s.loss - reference.steps[i]!.loss) / reference.steps[i]!.loss, `loss ${i}`).toBeLessThan(TOLERANCE)
      expect(Math.abs(s.gradNorm - reference.steps[i]!.gradNorm) / reference.steps[i]!.gradNorm, `gradient norm ${i}`).toBeLessThan(TOLERANCE)
    })
    for (const [name, w] of reference.after) {
      // The key bias has a zero gradient (softmax ignores a constant shift), so Adam steps on rounding noise there.
      const keep = name.endsWith(".qkv.bias") ? (_: number, i: number) => Math.floor((3 * i) / w.length) !== 1 : () => true
      expect(relativeError(gpu.after.get(name)!.filter(keep), w.filter(keep)), name).toBeLessThan(TOLERANCE)
    }
  })

  it("blur A, its adjoint A^T, and the inpainting mask", async () => {
    const blur = gaussianBlurFamily()
    const inpaint = inpaintGaussianFamily()
    const ops = [(x: tf.Tensor4D) => blur.apply(x, 2.2), (x: tf.Tensor4D) => blur.adjoint(x, 0.7), (x: tf.Tensor4D) => inpaint.apply(x, 9)]
    const values = normals(2 * 24 * 20 * 3, 9)
    const on = async (backend: string) => {
      await tf.setBackend(backend)
      const x = tf.tensor4d(values, [2, 24, 20, 3])
      const outs = await Promise.all(ops.map((op) => op(x).data()))
      x.dispose()
      return outs as Float32Array[]
    }
    const reference = await on("wasm")
    const gpu = await on("webgpu")
    reference.forEach((r, i) => expect(relativeError(gpu[i]!, r), `operator ${i}`).toBeLessThan(TOLERANCE))
  })

  it("in a child process: sync reads and WebGPU errors fail with a message, nothing reaches stderr, the process exits by itself", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "webgpu-child-"))
    try {
      const script = path.join(dir, "child.mts")
      fs.writeFileSync(script, CHILD_SOURCE(path.join(ROOT, "src/runtime/backend/index.ts")))
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 })
      expect(r.signal, "the process did not exit by itself").toBeNull()
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, string>
      expect(out.sum).toBe("64")
      expect(out.sync).toContain("use `await tensor.data()`")
      expect(out.invalid).toMatch(/^WebGPU error \(results are invalid\): /)
      // lavapipe's own limit warnings come from requesting the adapter; nothing else may appear.
      const stderr = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/artificially reduced/.test(l))
      expect(stderr).toEqual([])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

const CHILD_SOURCE = (entry: string) => `
import { initBackend } from ${JSON.stringify(entry)}
const { tf } = await initBackend("webgpu")
const message = async (f) => { try { await f(); return "no error" } catch (e) { return e.message } }
const sum = String((await tf.sum(tf.ones([8, 8])).data())[0])
const sync = await message(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync())
// tfjs-backend-webgpu 4.22 writes invalid WGSL for a rank-6 pad (the reason zeroStuff2x uses rank 4)
const invalid = await message(() => tf.pad(tf.ones([2, 8, 1, 8, 1, 3]), [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]]).data())
console.log(JSON.stringify({ sum, sync, invalid }))
`
