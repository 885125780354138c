import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { inBatches } from "../../src/dirac/metrics/perceptual/network-input.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("cpu")
})

describe("inBatches", () => {
  it("lets timers run between batches, so a live view keeps drawing during long metrics", async () => {
    const images = tf.zeros<tf.Rank.R4>([3, 2, 2, 3])
    let ticks = 0
    const timer = setInterval(() => ticks++, 0)
    const seen: number[] = []
    try {
      await inBatches(images, 1, async (batch) => {
        const started = Date.now()
        while (Date.now() - started < 5);
        seen.push(ticks)
        return batch.shape[0]
      })
    } finally {
      clearInterval(timer)
      images.dispose()
    }
    expect(seen[2]).toBeGreaterThan(seen[0]!)
  })
})
