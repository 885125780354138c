import { EventEmitter } from "node:events"
import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.js"
import { makeInkReporter } from "../../src/ui/ink-reporter.js"
import { sampleRun, T0 } from "./sample-events.js"

class FakeTty extends EventEmitter {
  readonly chunks: string[] = []
  readonly isTTY = true
  readonly columns = 120
  readonly rows = 40
  write(chunk: string | Uint8Array, callback?: () => void): boolean {
    this.chunks.push(String(chunk))
    callback?.()
    return true
  }
  text(): string {
    // Drop colours and cursor/erase sequences.
    return this.chunks.join("").replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "")
  }
}

const makeStream = () => {
  const fake = new FakeTty()
  return { fake, stream: fake as unknown as NodeJS.WriteStream }
}

describe("makeInkReporter", () => {
  it("renders the final frame on close and then stops writing", async () => {
    const { fake, stream } = makeStream()
    const reporter = makeInkReporter({ stream })
    for (const event of sampleRun()) reporter.onEvent(event)
    await reporter.close()
    const text = fake.text()
    expect(text).toContain("ffhq-blur run 2026-01-01T00-00-00-ab12")
    expect(text).toContain("⚡ load (dataset) cached")
    expect(text).toContain("✓ train (train) ran in 50.0s")
    expect(text).toContain("✗ sample (sample) failed: out of memory")
    expect(text).toContain("✗ failed: 1 ran, 2 cached, 1 failed, 1 skipped in 1m00s")
    const written = fake.chunks.length
    reporter.onEvent({ type: "node-log", at: T0 + 70_000, id: "train", level: "info", message: "late" })
    await reporter.close()
    expect(fake.chunks.length).toBe(written)
  })

  it("coalesces bursts of events into few frames", async () => {
    const { fake, stream } = makeStream()
    const reporter = makeInkReporter({ stream })
    const [start] = sampleRun()
    reporter.onEvent(start as RunEvent)
    reporter.onEvent({ type: "node-started", at: T0 + 1, id: "train" })
    for (let i = 0; i <= 2000; i++)
      reporter.onEvent({ type: "node-progress", at: T0 + 1 + i * 10, id: "train", done: i, total: 2000, unit: "steps" })
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(fake.chunks.length).toBeLessThan(20)
    await reporter.close()
    // The live region holds the latest state (ink in CI mode only writes it at unmount).
    expect(fake.text()).toContain("2000/2000 steps 100%")
  })

  it("leaves stdin alone so Ctrl-C reaches the CLI", async () => {
    const { stream } = makeStream()
    const rawBefore = process.stdin.isRaw
    const listenersBefore = process.stdin.listenerCount("readable") + process.stdin.listenerCount("data")
    const reporter = makeInkReporter({ stream })
    reporter.onEvent(sampleRun()[0] as RunEvent)
    await new Promise((resolve) => setTimeout(resolve, 150))
    expect(process.stdin.isRaw).toBe(rawBefore)
    expect(process.stdin.listenerCount("readable") + process.stdin.listenerCount("data")).toBe(listenersBefore)
    await reporter.close()
  })
})
