import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { measure } from "../../src/dirac/noise/measurement.js"
import { paperDeblurProcess, paperInpaintProcess } from "../../src/dirac/operators/process.js"
import { createUNet } from "../../src/dirac/network/index.js"
import { diracSample, networkDenoiser, type SamplerArgs } from "../../src/dirac/sample/sampler.js"
import { timeGrid } from "../../src/dirac/sample/time-grid.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

describe("timeGrid", () => {
  // The official reconstruction configs: (dt, stop_t) -> number of network evaluations, last t_this -> t_next.
  const table: Array<[number, number, number, number, number]> = [
    [0.02, 0.25, 38, 0.26, 0.24],
    [0.02, 1.0, 1, 1.0, 0.98],
    [0.02, 0.0, 50, 0.02, 0.0],
    [0.02, 0.7, 16, 0.7, 0.68],
    [0.005, 0.0, 200, 0.005, 0.0],
    [0.2, 1.0, 1, 1.0, 0.8],
    [0.01, 0.0, 100, 0.01, 0.0],
    [0.01, 1.0, 1, 1.0, 0.99],
  ]
  it.each(table)("dt %f, stop %f: %i steps, last %f -> %f", (dt, stop, nfe, lastThis, lastNext) => {
    const grid = timeGrid(dt, stop)
    expect(grid).toHaveLength(nfe)
    expect(grid.at(-1)!.last).toBe(true)
    expect(grid.at(-1)!.tThis).toBeCloseTo(lastThis, 6)
    expect(grid.at(-1)!.tNext).toBeCloseTo(lastNext, 6)
  })
})

describe("diracSample with an oracle network", () => {
  const oracleRun = (process: ReturnType<typeof paperDeblurProcess>, args: Partial<SamplerArgs> = {}) => {
    const source = syntheticSource({ seed: 3, count: 4, resolution: 32 })
    const ids = source.ids.slice()
    return source.load([0, 1, 2, 3]).then(async (batch) => {
      const x = batchToTensor4D(batch)
      const yTilde = measure(process, x, ids)
      const residuals: Array<{ t: number; mean: number; variance: number }> = []
      const sampler: SamplerArgs = {
        dt: 0.05,
        stopT: 0,
        update: "look-ahead",
        guidance: { step: 0, scaling: "std", sign: "paper" },
        output: "y",
        ...args,
      }
      // The oracle returns the true x; every iterate's residual y_t - A_t(x) is recorded by wrapping it.
      let seen = 0
      const result = await diracSample(
        (y, _sigma) => {
          const t = seen === 0 ? 1 : Math.max(1 - seen * sampler.dt, 0)
          seen += 1
          const r = tf.tidy(() => tf.sub(y, process.A(x, Math.fround(t))))
          const values = r.dataSync<"float32">()
          r.dispose()
          const mean = values.reduce((a, b) => a + b, 0) / values.length
          residuals.push({ t, mean, variance: values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length })
          return tf.clone(x)
        },
        process,
        sampler,
        { measurements: yTilde, ids, seed: 7 },
      )
      return { x, yTilde, result, residuals }
    })
  }

  it("keeps y_t - A_t(x) a zero-mean noise with the variance of the proof of Theorem 3.6", async () => {
    const process = paperDeblurProcess()
    const { residuals } = await oracleRun(process)
    expect(residuals).toHaveLength(20)
    let predicted = process.sigma(1) ** 2
    for (let k = 0; k < residuals.length; k++) {
      const { mean, variance, t } = residuals[k]
      expect(Math.abs(mean)).toBeLessThan(0.1 * Math.sqrt(predicted))
      expect(variance / predicted, `t = ${t}`).toBeGreaterThan(0.95)
      expect(variance / predicted, `t = ${t}`).toBeLessThan(1.05)
      const s = process.sigma(Math.fround(t))
      const n = process.sigma(Math.max(Math.fround(Math.fround(t) - Math.fround(0.05)), 0))
      predicted = (n ** 4 / s ** 4) * predicted + s * s - n * n
    }
  })

  it("returns x when it outputs x^0, for blur and inpainting, with eps_dc at the noise floor", async () => {
    for (const process of [paperDeblurProcess(), paperInpaintProcess()]) {
      const { x, result } = await oracleRun(process, { output: "x0", stopT: 0.5 })
      expect(result.trajectory).toHaveLength(timeGrid(0.05, 0.5).length)
      expect(tf.max(tf.abs(tf.sub(result.output, x))).dataSync()[0]).toBe(0)
      const floor = process.sigma(1) ** 2
      for (const step of result.trajectory) for (const e of step.epsDc) expect(e / floor).toBeGreaterThan(0.9)
      for (const step of result.trajectory) for (const e of step.epsDc) expect(e / floor).toBeLessThan(1.1)
    }
  })

  it("does not depend on the batch an image is sampled in", async () => {
    const process = paperDeblurProcess()
    const source = syntheticSource({ seed: 3, count: 3, resolution: 16 })
    const batch = await source.load([0, 1, 2])
    const x = batchToTensor4D(batch)
    const yTilde = measure(process, x, batch.ids)
    const denoise = (y: tf.Tensor4D) => tf.mul(y, 0.9) as tf.Tensor4D
    const args: SamplerArgs = { dt: 0.1, stopT: 0, update: "look-ahead", guidance: { step: 0, scaling: "std", sign: "paper" }, output: "y" }
    const all = (await diracSample(denoise, process, args, { measurements: yTilde, ids: batch.ids, seed: 1 })).output
    const last = (
      await diracSample(denoise, process, args, {
        measurements: tf.slice(yTilde, [2, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D,
        ids: [batch.ids[2]],
        seed: 1,
      })
    ).output
    expect([...tf.slice(all, [2, 0, 0, 0], [1, -1, -1, -1]).dataSync()]).toEqual([...last.dataSync()])
  })

  it("leaves no tensors behind with the network denoiser", async () => {
    const net = createUNet("tiny-16", { seed: 0 })
    const yTilde = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 1) as tf.Tensor4D
    const args: SamplerArgs = {
      dt: 0.25,
      stopT: 0,
      update: "look-ahead",
      guidance: { step: 0, scaling: "std", sign: "paper" },
      output: "x0",
    }
    const run = async () =>
      (await diracSample(networkDenoiser(net), paperDeblurProcess(), args, { measurements: yTilde, ids: ["a"], seed: 1 })).output.dispose()
    await run() // the first run caches blur matrices
    const before = tf.memory().numTensors
    await run()
    expect(tf.memory().numTensors).toBe(before)
    tf.dispose(yTilde)
    net.dispose()
  })
})
