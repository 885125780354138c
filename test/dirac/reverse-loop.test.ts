import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { noGuidance } from "../../src/dirac/sample/guidance.js"
import { runReverseProcess, type ReverseProcess, type StepEvent } from "../../src/dirac/sample/loop.js"
import { timeGrid } from "../../src/dirac/sample/time-grid.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("cpu")
})

// x^0 = y + 1 and y_next = y + x^0: from 0 the iterates are 1, 3, 7 and the estimates 1, 2, 4.
const toy: ReverseProcess = {
  denoise: (y) => tf.add<tf.Tensor4D>(y, 1),
  sigma: (t) => t,
  guidance: noGuidance,
  update: { step: ({ y, x0 }) => tf.add(y, x0) },
}

describe("runReverseProcess", () => {
  const start = () => tf.zeros([1, 1, 1, 1]) as tf.Tensor4D

  it("drives the step over the grid and shows each step to the observer", async () => {
    const y0 = start()
    const seen: Array<Omit<StepEvent, "x0" | "y"> & { x0: number; y: number }> = []
    const onStep = (e: StepEvent) => void seen.push({ ...e, x0: e.x0.dataSync()[0], y: e.y.dataSync()[0] })
    const output = await runReverseProcess(toy, timeGrid(0.25, 0.3), y0, { output: "y", onStep })
    expect(output.dataSync()[0]).toBe(7)
    expect(seen.map(({ index, total, x0, y }) => [index, total, x0, y])).toEqual([
      [1, 3, 1, 1],
      [2, 3, 2, 3],
      [3, 3, 4, 7],
    ])
    expect(seen.map((e) => [e.t, e.tNext])).toEqual(timeGrid(0.25, 0.3).map((s) => [s.tThis, s.tNext]))
    tf.dispose([y0, output])
  })

  it("returns x^0 of the last step when asked, and leaves no tensors behind", async () => {
    const y0 = start()
    const before = tf.memory().numTensors
    const output = await runReverseProcess(toy, timeGrid(0.25, 0.3), y0, { output: "x0" })
    expect(tf.memory().numTensors).toBe(before + 1)
    expect(output.dataSync()[0]).toBe(4)
    tf.dispose([y0, output])
  })

  it("stops between steps when the signal is aborted", async () => {
    const y0 = start()
    const controller = new AbortController()
    const run = runReverseProcess(toy, timeGrid(0.25, 0), y0, { output: "y", signal: controller.signal, onStep: () => controller.abort() })
    await expect(run).rejects.toThrow("sampling was interrupted")
    y0.dispose()
  })
})
