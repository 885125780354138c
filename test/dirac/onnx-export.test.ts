/**
 * The ONNX export of the network (src/dirac/onnx) run on ONNX Runtime gives the tfjs network's output and
 * PyTorch's (the committed tiny-16 parity fixture) within 1e-4.
 */
import * as tf from "@tensorflow/tfjs-core"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { measure } from "../../src/dirac/noise/measurement.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { Rng } from "../../src/dirac/random.js"
import { onnxDenoiser } from "../../src/dirac/sample/onnx-denoiser.js"
import { diracSample, GuidanceNeedsGradient, networkDenoiser, type SamplerArgs } from "../../src/dirac/sample/sampler.js"
import { createUNet, forward, type SongUNet } from "../../src/dirac/network/index.js"
import { openOnnxNetwork } from "../../src/dirac/onnx/runtime.js"
import { importCheckpointNetwork } from "../../src/dirac/network/official-checkpoint.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { maxAbsDiff } from "../numeric.js"

const fixtures = new URL("../fixtures/torch/", import.meta.url).pathname

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

/** Every parameter of `net` set to O(scale) random values, so that no branch of the network is negligible. */
const randomise = (net: SongUNet, seed: number, scale: number): void => {
  const rng = Rng.fromSeed(seed)
  for (const v of Object.values(net.params))
    v.assign(
      tf.tensor(
        Float32Array.from({ length: v.size }, () => (rng.uniform() * 2 - 1) * scale),
        v.shape,
      ),
    )
}

const onnxForward = async (net: SongUNet, y: tf.Tensor4D, sigma: number[]): Promise<Float32Array> => {
  const session = await openOnnxNetwork(net, { providers: ["cpu"], threads: 1 })
  try {
    expect(session.provider).toBe("cpu")
    return await session.run(y.dataSync() as Float32Array, y.shape, Float32Array.from(sigma))
  } finally {
    await session.release()
  }
}

describe("ONNX export on ONNX Runtime", () => {
  it("matches PyTorch on the tiny-16 parity fixture within 1e-4", async () => {
    const expected = JSON.parse(readFileSync(join(fixtures, "tiny16-parity-expected.json"), "utf8")) as {
      y: { shape: number[]; values: number[] }
      sigma: { values: number[] }
      x0: { values: number[] }
    }
    const { net } = await importCheckpointNetwork(join(fixtures, "tiny16-parity.ckpt"), "tiny-16")
    try {
      const [n, c, h, w] = expected.y.shape
      const y = tf.tidy(() => tf.transpose(tf.tensor4d(expected.y.values, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D)
      const got = await onnxForward(net, y, expected.sigma.values)
      const nchw = tf.tidy(() => tf.transpose(tf.tensor4d(got, y.shape), [0, 3, 1, 2]).dataSync())
      y.dispose()
      // Seen: 1.9e-6 (onnxruntime-node 1.30 CPU).
      expect(maxAbsDiff(nchw, expected.x0.values)).toBeLessThanOrEqual(1e-4)
      expect(maxAbsDiff(expected.x0.values, expected.y.values)).toBeGreaterThan(0.5)
    } finally {
      net.dispose()
    }
  })

  it("matches the tfjs network with attention, three levels and a batch of 2 at a non-square size", async () => {
    const net = createUNet("tiny-32", { seed: 3 })
    randomise(net, 11, 0.2)
    try {
      const y = tf.randomUniform([2, 16, 24, 3], 0, 1, "float32", 5) as tf.Tensor4D
      const sigma = [0.3, 1.7]
      const reference = tf.tidy(() => forward(net, y, tf.tensor1d(sigma)).dataSync())
      const got = await onnxForward(net, y, sigma)
      const residual = maxAbsDiff(reference, y.dataSync())
      y.dispose()
      expect(residual).toBeGreaterThan(0.3)
      // Seen: 1.5e-7 against a residual of 0.46.
      expect(maxAbsDiff(got, reference)).toBeLessThanOrEqual(1e-4 * Math.max(1, residual))
    } finally {
      net.dispose()
    }
  })

  it("names the provider it skipped when one cannot load", async () => {
    const net = createUNet("tiny-16")
    try {
      const session = await openOnnxNetwork(net, { providers: ["cuda", "cpu"] })
      expect(session.provider).toBe("cpu")
      expect(session.skipped.join("\n")).toMatch(/^cuda: /)
      await session.release()
    } finally {
      net.dispose()
    }
  })
})

describe("sampling with the network on ONNX Runtime", () => {
  const setup = async () => {
    const process = paperDeblurProcess()
    const source = syntheticSource({ seed: 4, count: 2, resolution: 16 })
    const batch = await source.load([0, 1])
    const x = batchToTensor4D(batch)
    const net = createUNet("tiny-16", { seed: 2 })
    randomise(net, 5, 0.05)
    return { process, ids: batch.ids, net, yTilde: measure(process, x, batch.ids) }
  }
  const args: SamplerArgs = { dt: 0.25, stopT: 0, update: "look-ahead", guidance: { step: 0, scaling: "std", sign: "paper" }, output: "x0" }

  it("reconstructs what the tfjs network reconstructs", async () => {
    const { process, ids, net, yTilde } = await setup()
    const session = await openOnnxNetwork(net, { providers: ["cpu"], threads: 1 })
    try {
      const viaTfjs = await diracSample(networkDenoiser(net), process, args, { measurements: yTilde, ids, seed: 3 })
      const viaOrt = await diracSample(onnxDenoiser(session), process, args, { measurements: yTilde, ids, seed: 3 })
      expect(viaOrt.trajectory.length).toBe(4)
      expect(maxAbsDiff(viaOrt.output.dataSync(), viaTfjs.output.dataSync())).toBeLessThanOrEqual(1e-4)
      expect(maxAbsDiff(viaOrt.output.dataSync(), yTilde.dataSync())).toBeGreaterThan(0.01)
      tf.dispose([viaTfjs.output, viaOrt.output])
    } finally {
      await session.release()
      net.dispose()
    }
  })

  it("refuses guidance, which needs the gradient through the network", async () => {
    const { process, ids, net, yTilde } = await setup()
    const session = await openOnnxNetwork(net, { providers: ["cpu"], threads: 1 })
    try {
      const guided = { ...args, guidance: { step: 1, scaling: "std" as const, sign: "paper" as const } }
      await expect(diracSample(onnxDenoiser(session), process, guided, { measurements: yTilde, ids, seed: 3 })).rejects.toBeInstanceOf(
        GuidanceNeedsGradient,
      )
    } finally {
      await session.release()
      net.dispose()
    }
  })
})
