import { beforeAll, describe, expect, it } from "vitest"
import type * as TF from "@tensorflow/tfjs-core"
import { initBackend } from "../../src/runtime/backend/index.js"
import { relativeError } from "../numeric.js"

let tf: typeof TF

beforeAll(async () => {
  tf = (await initBackend("wasm", { threads: 1 })).tf
})

const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * (1 + seed))

describe("wasm FusedBatchNorm (as one multiply and one add)", () => {
  it("replaces tfjs-backend-wasm's own kernel", () => {
    expect(tf.getKernel("FusedBatchNorm", "wasm")?.kernelFunc.name).toBe("fusedBatchNorm")
  })

  for (const withAffine of [true, false]) {
    it(`matches the JS backend's ${withAffine ? "with scale and offset" : "without scale and offset"}, and leaks nothing`, async () => {
      const run = async (backend: string) => {
        await tf.setBackend(backend)
        const x = tf.tensor4d(values(2 * 5 * 4 * 6, 0), [2, 5, 4, 6])
        const mean = tf.tensor1d(values(6, 1))
        const variance = tf.abs(tf.tensor1d(values(6, 2)))
        const scale = withAffine ? tf.tensor1d(values(6, 3)) : undefined
        const offset = withAffine ? tf.tensor1d(values(6, 4)) : undefined
        const before = tf.memory().numTensors
        const y = tf.batchNorm(x, mean, variance, offset, scale, 1e-3)
        const out = (await y.data()) as Float32Array
        y.dispose()
        const leaked = tf.memory().numTensors - before
        tf.dispose([x, mean, variance, ...(scale ? [scale, offset!] : [])])
        return { out, leaked }
      }
      const reference = await run("cpu")
      const wasm = await run("wasm")
      expect(relativeError(wasm.out, reference.out)).toBeLessThan(1e-6)
      expect(wasm.leaked).toBe(0)
    })
  }
})
