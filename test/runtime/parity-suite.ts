/**
 * One backend computes what wasm computes, for every kernel the method uses: the U-Net forward and a training
 * gradient (convs with stride 1 and 2, transposed resampling, group norm with its hand-written gradient, attention
 * matMuls and softmax, SiLU, concat, dropout), training steps (Adam, EMA), the degradation operators and their
 * adjoints, and whole sampler trajectories with and without guidance (the gradient through the network).
 *
 * The webgpu and tensorflow (native) test files run it; each says when its backend is missing, and its
 * PIPE_REQUIRE_* variable turns that skip into a failure.
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import type { RawTensor } from "../../src/dirac/io/safetensors.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { createUNet, forward, loadStateDict, type SongUNet, type UNetArgs } from "../../src/dirac/network/index.js"
import { measure } from "../../src/dirac/noise/measurement.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { Rng } from "../../src/dirac/random.js"
import { diracSample, networkDenoiser, type SamplerArgs } from "../../src/dirac/sample/sampler.js"
import { defaultAdam } from "../../src/dirac/train/adam.js"
import { incrementalReconstructionLoss } from "../../src/dirac/train/loss.js"
import { Trainer, type StepResult } from "../../src/dirac/train/trainer.js"
import { relativeError } from "../numeric.js"

export const PARITY_TOLERANCE = 1e-4

const normals = (n: number, seed: number): Float32Array => Rng.fromSeed(seed).fillNormal(new Float32Array(n))

/** Random parameters of a sensible scale (torch layout), so that no path of the network is near zero. */
export const randomStateDict = (net: SongUNet, seed: number): Record<string, RawTensor> => {
  const rng = Rng.fromSeed(seed)
  return Object.fromEntries(
    net.arch.params.map((spec) => {
      const n = spec.torchShape.reduce((a, b) => a * b, 1)
      const fanIn = spec.torchShape.length > 1 ? n / spec.torchShape[0]! : 1
      const data = new Float32Array(n)
      for (let i = 0; i < n; i++) {
        const z = rng.normal()
        data[i] =
          spec.role === "freqs"
            ? z * 16
            : spec.role === "norm_weight"
              ? 1 + 0.2 * z
              : spec.role.endsWith("bias")
                ? 0.1 * z
                : z / Math.sqrt(fanIn)
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
const runNetwork = async (
  backend: string,
  overrides: Partial<UNetArgs>,
  weights: (net: SongUNet) => Record<string, RawTensor>,
): Promise<NetworkResult> => {
  await tf.setBackend(backend)
  const net = createUNet("tiny-16", { overrides })
  try {
    loadStateDict(net, weights(net))
    const shape: [number, number, number, number] = [2, 16, 16, 3]
    const y = tf.tensor4d(normals(2 * 16 * 16 * 3, 1), shape)
    const sigma = tf.tensor1d([0.02, 0.3])
    const out = forward(net, y, sigma)
    const output = (await out.data()) as Float32Array
    const batch = {
      x: tf.tensor4d(normals(2 * 16 * 16 * 3, 2), shape).clipByValue(0, 1) as tf.Tensor4D,
      t: [0.3, 0.8],
      z: tf.tensor4d(normals(2 * 16 * 16 * 3, 3), shape),
    }
    const { value, grads } = tf.variableGrads(
      () => incrementalReconstructionLoss(net, paperDeblurProcess(), batch, { dt: 0.1, training: true, dropoutSeed: 4 }),
      [...net.trainableVariables],
    )
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

const relative = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b)

/** The parity tests of `backend` against wasm (which the caller has initialised, with `backend` itself). */
export const describeParityWithWasm = (backend: string, missing: string | undefined): void => {
  describe.skipIf(missing !== undefined)(
    `${backend} matches wasm within ${PARITY_TOLERANCE}${missing ? ` (skipped: ${missing})` : ""}`,
    () => {
      // [1,3,3,1] is the fast resampling path (depthwise blur + pooling); [1,1] the generic one (stride-2 and zero-stuffed FIR).
      for (const overrides of [{}, { resample_filter: [1, 1] }] as Partial<UNetArgs>[]) {
        it(`tiny-16 U-Net ${JSON.stringify(overrides)}: forward, L_IR loss and every parameter's gradient`, async () => {
          let weights: Record<string, RawTensor> | undefined
          const sameWeights = (net: SongUNet) => (weights ??= randomStateDict(net, 7))
          const reference = await runNetwork("wasm", overrides, sameWeights)
          const other = await runNetwork(backend, overrides, sameWeights)
          expect(relativeError(other.output, reference.output)).toBeLessThan(PARITY_TOLERANCE)
          expect(relative(other.loss, reference.loss)).toBeLessThan(PARITY_TOLERANCE)
          expect([...other.grads.keys()].sort()).toEqual([...reference.grads.keys()].sort())
          expect(reference.grads.size).toBeGreaterThan(50)
          const worst = [...reference.grads]
            .map(([name, g]) => ({ name, error: relativeError(other.grads.get(name)!, g) }))
            .sort((a, b) => b.error - a.error)[0]!
          expect(worst.error, worst.name).toBeLessThan(PARITY_TOLERANCE)
        })
      }

      it("three Trainer steps (L_IR, gradient norm, Adam, EMA) give the same losses and weights", async () => {
        let weights: Record<string, RawTensor> | undefined
        const train = async (name: string) => {
          await tf.setBackend(name)
          const net = createUNet("tiny-16")
          weights ??= randomStateDict(net, 8)
          loadStateDict(net, weights)
          const source = syntheticSource({ seed: 1, count: 8, resolution: 16 })
          const trainer = new Trainer(net, paperDeblurProcess(), source, {
            batchSize: 4,
            dt: 0.1,
            adam: { ...defaultAdam, lr: 1e-3 },
            emaDecay: 0.9,
            seed: 1,
          })
          const steps: StepResult[] = []
          for (let i = 0; i < 3; i++) steps.push(await trainer.trainStep())
          const after = new Map(
            await Promise.all(Object.entries(net.params).map(async ([n, v]) => [n, (await v.data()) as Float32Array] as const)),
          )
          const averaged = trainer.ema!.named()
          const ema = new Map(
            await Promise.all(Object.entries(averaged).map(async ([n, v]) => [n, (await v.data()) as Float32Array] as const)),
          )
          tf.dispose(Object.values(averaged))
          trainer.dispose()
          net.dispose()
          return { steps, after, ema }
        }
        const reference = await train("wasm")
        const other = await train(backend)
        other.steps.forEach((s, i) => {
          expect(relative(s.loss, reference.steps[i]!.loss), `loss ${i}`).toBeLessThan(PARITY_TOLERANCE)
          expect(relative(s.gradNorm, reference.steps[i]!.gradNorm), `gradient norm ${i}`).toBeLessThan(PARITY_TOLERANCE)
        })
        // The key bias has a zero gradient (softmax ignores a constant shift), so Adam steps on rounding noise there.
        const comparable = (name: string, values: Float32Array) =>
          name.endsWith(".qkv.bias") ? values.filter((_, i) => Math.floor((3 * i) / values.length) !== 1) : values
        for (const [name, w] of reference.after) {
          expect(relativeError(comparable(name, other.after.get(name)!), comparable(name, w)), name).toBeLessThan(PARITY_TOLERANCE)
        }
        for (const [name, e] of reference.ema)
          expect(relativeError(comparable(name, other.ema.get(name)!), comparable(name, e)), `EMA of ${name}`).toBeLessThan(
            PARITY_TOLERANCE,
          )
      })

      it("blur A, its adjoint A^T (<A x, y> = <x, A^T y> on the backend), and the inpainting mask", async () => {
        const blur = gaussianBlurFamily()
        const inpaint = inpaintGaussianFamily()
        const ops = [
          (x: tf.Tensor4D) => blur.apply(x, 2.2),
          (x: tf.Tensor4D) => blur.adjoint(x, 0.7),
          (x: tf.Tensor4D) => inpaint.apply(x, 9),
        ]
        const values = normals(2 * 24 * 20 * 3, 9)
        const on = async (name: string) => {
          await tf.setBackend(name)
          const x = tf.tensor4d(values, [2, 24, 20, 3])
          const outs = await Promise.all(ops.map((op) => op(x).data()))
          const y = tf.tensor4d(normals(x.size, 10), x.shape)
          const [lhs, rhs] = await Promise.all([
            tf.sum(tf.mul(blur.apply(x, 1.3), y)).data(),
            tf.sum(tf.mul(x, blur.adjoint(y, 1.3))).data(),
          ])
          tf.dispose([x, y])
          return { outs: outs as Float32Array[], lhs: lhs[0]!, rhs: rhs[0]! }
        }
        const reference = await on("wasm")
        const other = await on(backend)
        reference.outs.forEach((r, i) => expect(relativeError(other.outs[i]!, r), `operator ${i}`).toBeLessThan(PARITY_TOLERANCE))
        expect(relative(other.lhs, other.rhs)).toBeLessThan(PARITY_TOLERANCE)
      })

      for (const guided of [false, true]) {
        it(`a sampler trajectory ${guided ? "with guidance (the gradient through the network)" : "without guidance"}`, async () => {
          const args: SamplerArgs = {
            dt: 0.25,
            stopT: 0,
            update: "look-ahead",
            guidance: { step: guided ? 0.5 : 0, scaling: "std", sign: "paper" },
            output: "x0",
          }
          let weights: Record<string, RawTensor> | undefined
          const sample = async (name: string) => {
            await tf.setBackend(name)
            const process = paperDeblurProcess()
            const batch = await syntheticSource({ seed: 4, count: 2, resolution: 16 }).load([0, 1])
            const x = batchToTensor4D(batch)
            const net = createUNet("tiny-16")
            weights ??= randomStateDict(net, 11)
            loadStateDict(net, weights)
            const yTilde = measure(process, x, batch.ids)
            const run = await diracSample(networkDenoiser(net), process, args, { measurements: yTilde, ids: batch.ids, seed: 3, clean: x })
            const output = (await run.output.data()) as Float32Array
            tf.dispose([x, yTilde, run.output])
            net.dispose()
            return { output, epsDc: run.trajectory.map((r) => r.epsDc).flat() }
          }
          const reference = await sample("wasm")
          const other = await sample(backend)
          expect(reference.epsDc.length).toBe(8)
          expect(relativeError(other.output, reference.output)).toBeLessThan(PARITY_TOLERANCE)
          expect(relativeError(Float32Array.from(other.epsDc), Float32Array.from(reference.epsDc))).toBeLessThan(PARITY_TOLERANCE)
        })
      }
    },
  )
}
