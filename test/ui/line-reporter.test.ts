import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.js"
import { makeLineReporter } from "../../src/ui/line-reporter.js"
import { sampleRun, T0 } from "./sample-events.js"

const collect = (events: RunEvent[], options: { progressIntervalMs?: number; debug?: boolean } = {}): string[] => {
  const lines: string[] = []
  const reporter = makeLineReporter({ write: (line) => lines.push(line), ...options })
  for (const event of events) reporter.onEvent(event)
  return lines
}

describe("makeLineReporter", () => {
  it("says when the backend starts, and when it is not the one planned for", () => {
    const ready = (expected: string): RunEvent => ({
      type: "backend-ready",
      at: T0,
      backend: { name: "cpu", version: "4.22.0", device: "JS", reason: "chosen with --backend cpu" },
      fingerprint: "cpu/4.22.0/js",
      expected,
      initMs: 1500,
    })
    expect(collect([ready("cpu/4.22.0/js"), ready("wasm/4.22.0/simd")])).toEqual([
      "[backend] cpu JS started in 1.5s: chosen with --backend cpu",
      "[backend] cpu JS started in 1.5s (cpu/4.22.0/js, not the expected wasm/4.22.0/simd: planned again): chosen with --backend cpu",
    ])
  })

  it("prints one plain line per state change", async () => {
    const lines: string[] = []
    const reporter = makeLineReporter({ write: (line) => lines.push(line) })
    for (const event of sampleRun()) reporter.onEvent(event)
    await reporter.close()
    expect(lines).toEqual([
      "[run] ffhq-blur run 2026-01-01T00-00-00-ab12 backend wasm (cpu, 4 threads): auto: wasm on the CPU",
      "[plan] load: cached",
      "[plan] blur: cached",
      "[plan] train: will run because no cache entry",
      "[plan] sample: will run because upstream train will run",
      "[plan] report: will run because upstream sample will run",
      "[cached] load",
      "[cached] blur",
      "[backend] wasm WASM SIMD, 4 threads started in 480ms: auto: wasm on the CPU",
      "[start] train",
      "[progress] train 0/500 steps (0%)",
      "[log] train: lr schedule: cosine",
      "[progress] train 100/500 steps (20%) 10.0 steps/s ETA 40s loss 0.0123",
      "[progress] train 200/500 steps (40%) 10.0 steps/s ETA 30s loss 0.0101 lr 3e-4 - epoch 2",
      "[log] train: warn: loss plateau",
      "[done] train 50.0s",
      "[start] sample",
      "[fail] sample: out of memory",
      "[skip] report: upstream sample failed",
      "[end] failed: 1 ran, 2 cached, 1 failed, 1 skipped in 1m00s, outputs in runs/2026-01-01T00-00-00-ab12",
    ])
    for (const line of lines) expect(line).not.toMatch(/\u001b/)
  })

  it("prints debug logs only when asked", () => {
    expect(collect(sampleRun(), { debug: true })).toContain("[log] train: debug: batch shape [8,64,64,3]")
    expect(collect(sampleRun()).filter((l) => l.includes("batch shape"))).toEqual([])
  })

  it("throttles progress per node on the events' clock", () => {
    const start: RunEvent[] = [
      { type: "node-started", at: T0, id: "a" },
      { type: "node-started", at: T0, id: "b" },
    ]
    // a ticks every second for 12s; b ticks once at 2.5s.
    const ticks: RunEvent[] = Array.from({ length: 13 }, (_, i) => ({ type: "node-progress", at: T0 + i * 1000, id: "a", done: i * 10 }))
    const events = [
      ...start,
      ...ticks.slice(0, 3),
      { type: "node-progress", at: T0 + 2500, id: "b", done: 1, total: 4 } as RunEvent,
      ...ticks.slice(3),
    ]
    const progress = collect(events, { progressIntervalMs: 5000 }).filter((l) => l.startsWith("[progress]"))
    expect(progress).toEqual(["[progress] a 0", "[progress] b 1/4 (25%)", "[progress] a 50 10.0 it/s", "[progress] a 100 10.0 it/s"])
  })

  it("defaults to one progress line per 5 seconds and honours a custom interval", () => {
    const ticks: RunEvent[] = Array.from({ length: 21 }, (_, i) => ({ type: "node-progress", at: T0 + i * 500, id: "a", done: i }))
    expect(collect(ticks).filter((l) => l.startsWith("[progress]"))).toHaveLength(3)
    expect(collect(ticks, { progressIntervalMs: 1000 }).filter((l) => l.startsWith("[progress]"))).toHaveLength(11)
    expect(collect(ticks, { progressIntervalMs: 0 }).filter((l) => l.startsWith("[progress]"))).toHaveLength(21)
  })

  it("mentions a resumed checkpoint and omits absent outputs", () => {
    const lines = collect([
      { type: "node-started", at: T0, id: "train", resumed: "step 300" },
      { type: "run-finished", at: T0 + 850, status: "interrupted", durationMs: 850, counts: { ran: 0, cached: 0, failed: 0, skipped: 0 } },
    ])
    expect(lines).toEqual(["[start] train (resumed from step 300)", "[end] interrupted: 0 ran, 0 cached, 0 failed, 0 skipped in 850ms"])
  })
})
