import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { measure } from "../../src/dirac/noise/measurement.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { sampleInBatches, samplingStart, type BatchSampling, type SampledSet } from "../../src/dirac/sample/batches.js"
import type { Denoiser } from "../../src/dirac/sample/denoiser.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

describe("sampleInBatches", () => {
  const process = paperDeblurProcess()
  // A denoiser that pulls towards mid-grey: cheap, deterministic, and different at every step.
  const denoiser: Denoiser = (y) => tf.mul<tf.Tensor4D>(tf.add(y, 0.5), 0.5)

  const job = async (batchSize: number): Promise<BatchSampling> => {
    const source = syntheticSource({ seed: 5, count: 5, resolution: 16 })
    const batch = await source.load([0, 1, 2, 3, 4])
    const clean = batchToTensor4D(batch)
    const y = tf.tidy(() => measure(process, clean, batch.ids))
    const byId = new Map(batch.ids.map((id, i) => [id, i]))
    return {
      denoiser,
      process,
      args: { dt: 0.25, stopT: 0, update: "look-ahead", guidance: { step: 0, scaling: "std", sign: "paper" }, output: "x0" },
      y,
      ids: batch.ids,
      count: 5,
      samples: 2,
      batchSize,
      seed: 11,
      clean: async (ids) =>
        tf.gather(
          clean,
          ids.map((id) => byId.get(id)!),
        ),
    }
  }
  const fresh = (j: BatchSampling): SampledSet => ({ x: new Float32Array(j.count * j.samples * 16 * 16 * 3), state: samplingStart(j) })

  it("gives the same samples and trajectories whatever the batch size, and reports after every batch", async () => {
    const one = await job(1)
    const seen: number[] = []
    const byOne = await sampleInBatches(one, fresh(one), async (done) => void seen.push(done.state.done))
    expect(seen).toEqual([1, 2, 3, 4, 5])
    const three = await job(3)
    const byThree = await sampleInBatches(three, fresh(three), async () => {})
    expect(Array.from(byThree.x)).toEqual(Array.from(byOne.x))
    expect(byThree.state).toEqual(byOne.state)
    expect(byOne.state.trajectories.t).toEqual([0.75, 0.5, 0.25, 0])
    expect(byOne.state.trajectories.metrics.psnr_x0.map((step) => step.length)).toEqual([10, 10, 10, 10])
  })

  it("reports progress after every step, the current batch's share as a fraction", async () => {
    const j = await job(2)
    const steps: number[] = []
    await sampleInBatches({ ...j, onStep: (done) => steps.push(done) }, fresh(j), async () => {})
    expect(steps).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.25, 4.5, 4.75, 5])
  })

  it("resumed from a batch boundary, ends where an uninterrupted run ends", async () => {
    const j = await job(2)
    const whole = await sampleInBatches(j, fresh(j), async () => {})
    let saved: SampledSet | undefined
    const stop = new Error("killed")
    await expect(
      sampleInBatches(j, fresh(j), async (done) => {
        saved = { x: done.x.slice(), state: done.state }
        throw stop
      }),
    ).rejects.toBe(stop)
    expect(saved!.state.done).toBe(2)
    const resumed = await sampleInBatches(j, saved!, async () => {})
    expect(Array.from(resumed.x)).toEqual(Array.from(whole.x))
    expect(resumed.state).toEqual(whole.state)
  })
})
