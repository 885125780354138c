/**
 * Parity with PyTorch (issue 8): bench/reference/songunet.py configured as `tiny-16`, every parameter randomised
 * to O(0.1), saved as a Lightning-style checkpoint by test/fixtures/torch/make_parity_fixture.py, loaded here
 * through the checkpoint reader gives PyTorch's eval output x0 = y + F(y, sigma) on the same input within 1e-4.
 * The fixture (checkpoint and expected output) is committed, so this test needs no torch.
 */
import * as tf from "@tensorflow/tfjs-core"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { forward } from "../../src/dirac/network/index.js"
import { importCheckpointNetwork } from "../../src/dirac/network/official-checkpoint.js"
import { initBackend } from "../../src/runtime/backend/select.js"

const fixtures = new URL("../fixtures/torch/", import.meta.url).pathname
interface Arr {
  shape: number[]
  values: number[]
}
interface Expected {
  preset: string
  parameter_count: number
  y: Arr
  sigma: Arr
  x0: Arr
  f_abs_max: number
}
const expected = JSON.parse(readFileSync(join(fixtures, "tiny16-parity-expected.json"), "utf8")) as Expected

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

describe("PyTorch parity (tiny-16, Lightning checkpoint)", () => {
  it("gives PyTorch's output on the same input within 1e-4", async () => {
    const imported = await importCheckpointNetwork(join(fixtures, "tiny16-parity.ckpt"), "tiny-16")
    const net = imported.net
    try {
      expect(imported.hyperParameters?.model_arch).toBe("tiny-16")
      expect(imported.hyperParameters?.dt).toBe(0)
      expect(imported.hyperParameters?.loss_type).toBe("mse_loss")
      expect(net.numParameters).toBe(expected.parameter_count)

      const [n, c, h, w] = expected.y.shape
      expect(expected.x0.shape).toEqual([n, c, h, w])
      const out = tf.tidy(() => {
        const y = tf.transpose(tf.tensor4d(expected.y.values, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D // NCHW -> NHWC
        const sigma = tf.tensor1d(expected.sigma.values)
        return tf.transpose(forward(net, y, sigma), [0, 3, 1, 2]) // NHWC -> NCHW
      })
      const got = out.dataSync()
      out.dispose()
      expect(got.length).toBe(expected.x0.values.length)
      let maxErr = 0
      let maxDiffFromY = 0
      for (let i = 0; i < got.length; i++) {
        maxErr = Math.max(maxErr, Math.abs(got[i] - expected.x0.values[i]))
        maxDiffFromY = Math.max(maxDiffFromY, Math.abs(expected.x0.values[i] - expected.y.values[i]))
      }
      // The network's contribution is not negligible (|F| up to ~1.57), so the comparison is meaningful.
      expect(maxDiffFromY).toBeGreaterThan(0.5)
      // Max abs error seen (wasm, 1 thread, torch 2.13 CPU fixture): 2.18e-6
      expect(maxErr).toBeLessThanOrEqual(1e-4)
    } finally {
      net.dispose()
    }
  })
})
