import { cleanup, render } from "ink-testing-library"
import { afterEach, describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/runtime/events.js"
import { predictBackend } from "../../src/runtime/backend/predict.js"
import { RunView } from "../../src/ui/ink/RunView.js"
import { initialRunState, reduceRun, replayRun } from "../../src/ui/run-state.js"
import { midRun, sampleRun, T0 } from "./sample-events.js"

const strip = (s: string | undefined): string => (s ?? "").replace(/\u001b\[[0-9;]*m/g, "")
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1

afterEach(() => cleanup())

describe("RunView", () => {
  it("renders nothing before the run starts", () => {
    expect(strip(render(<RunView state={initialRunState()} />).lastFrame())).toBe("")
  })

  it("shows the header, cached nodes and a live progress bar mid-run", () => {
    const frame = strip(render(<RunView state={replayRun(midRun())} barWidth={10} />).lastFrame())
    expect(frame).toContain("ffhq-blur run 2026-01-01T00-00-00-ab12 · backend wasm 4.22.0 (cpu, 4 threads)")
    expect(frame).toContain("⚡ load (dataset) cached")
    expect(frame).toContain("⚡ blur (transform) cached")
    expect(frame).toContain("▸ train (train) ██░░░░░░░░ 120/500 steps 24% · 10.0 steps/s · ETA 38s · 12.0s")
    expect(frame).toContain("loss 0.0119 · lr schedule: cosine")
    expect(frame).toContain("2 pending · 1 running · 0 done · 2 cached")
    expect(frame).not.toContain("sample (sample)")
  })

  it("lays the progress line out for a narrow terminal: the bar shrinks, rate and ETA stay", () => {
    const lineAt = (columns: number) =>
      strip(render(<RunView state={replayRun(midRun())} columns={columns} />).lastFrame())
        .split("\n")
        .find((l) => l.startsWith("▸ train"))!
    expect(lineAt(60)).toBe("▸ train (train) 120/500 steps 24% · 10.0 steps/s · ETA 38s")
    expect(lineAt(70)).toBe("▸ train (train) ███░░░░░░░░ 120/500 steps 24% · 10.0 steps/s · ETA 38s")
    expect(lineAt(80)).toBe("▸ train (train) ███░░░░░░░░░░ 120/500 steps 24% · 10.0 steps/s · ETA 38s · 12.0s")
    expect(lineAt(40)).toBe("▸ train (train) 120/500 steps 24%")
  })

  it("says in words that a node's tensor memory grew", () => {
    const events = sampleRun().map((e) => (e.type === "node-finished" ? { ...e, memory: { tensors: 266, bytes: 10_475_274 } } : e))
    const frame = strip(render(<RunView state={replayRun(events)} />).lastFrame())
    expect(frame).toContain("✓ train (train) ran in 50.0s · tensor memory grew by 266 tensors (9.99MiB) while it ran: a leak?")
  })

  it("does not tell in the header, which stays on screen, that the backend has not started", () => {
    const [started, ...rest] = sampleRun()
    const planned = { ...started, backend: predictBackend("cpu")! } as RunEvent
    const frame = strip(render(<RunView state={replayRun([planned, ...rest])} />).lastFrame())
    expect(frame.split("\n")[0]).toMatch(/^ffhq-blur run \S+ · backend cpu [\d.]+ \(JS\)$/)
  })

  it("shows settled lines in completion order and the summary at the end", () => {
    const frame = strip(render(<RunView state={replayRun(sampleRun())} />).lastFrame())
    const lines = frame.split("\n")
    expect(lines).toEqual([
      "ffhq-blur run 2026-01-01T00-00-00-ab12 · backend wasm 4.22.0 (cpu, 4 threads)",
      "⚡ load (dataset) cached",
      "⚡ blur (transform) cached",
      "backend wasm started: WASM SIMD, 4 threads in 480ms: auto: wasm on the CPU",
      "✓ train (train) ran in 50.0s",
      "✗ sample (sample) failed: out of memory",
      "⊘ report (report) skipped: upstream sample failed",
      "✗ failed: 1 ran, 2 cached, 1 failed, 1 skipped in 1m00s · outputs: runs/2026-01-01T00-00-00-ab12",
    ])
    expect(frame).not.toContain("█")
  })

  it("prints each static line once while updating live", () => {
    const view = render(<RunView state={initialRunState()} />)
    let state = initialRunState()
    for (const event of sampleRun()) {
      state = reduceRun(state, event)
      view.rerender(<RunView state={state} />)
    }
    const frame = strip(view.lastFrame())
    expect(occurrences(frame, "ffhq-blur run")).toBe(1)
    expect(occurrences(frame, "⚡ load")).toBe(1)
    expect(occurrences(frame, "✓ train")).toBe(1)
    expect(occurrences(frame, "backend wasm started")).toBe(1)
    expect(frame).toContain("✗ failed: 1 ran")
  })

  it("bounds the live region when many nodes run at once", () => {
    const nodes = Array.from({ length: 30 }, (_, i) => ({ id: `n${i}`, kind: "map" }))
    const events: RunEvent[] = [
      {
        type: "run-started",
        at: T0,
        runId: "r",
        pipeline: { name: "wide", file: "w.yaml" },
        backend: { name: "cpu", version: "1", device: "cpu", reason: "chosen with --backend cpu" },
        nodes,
      },
      ...nodes.map((n): RunEvent => ({ type: "node-started", at: T0 + 1, id: n.id })),
      ...nodes.map((n): RunEvent => ({ type: "node-progress", at: T0 + 2, id: n.id, done: 1, total: 2, message: "working" })),
    ]
    const frame = strip(render(<RunView state={replayRun(events)} maxRunning={4} />).lastFrame())
    expect(frame.split("\n").length).toBeLessThanOrEqual(12)
    expect(frame).toContain("… and 26 more running")
    expect(frame).toContain("0 pending · 30 running")
  })

  it("marks nodes still running at an interrupted end", () => {
    const events: RunEvent[] = [
      ...midRun(),
      {
        type: "run-finished",
        at: T0 + 13_000,
        status: "interrupted",
        durationMs: 13_000,
        counts: { ran: 0, cached: 2, failed: 0, skipped: 0 },
      },
    ]
    const frame = strip(render(<RunView state={replayRun(events)} />).lastFrame())
    expect(frame).toContain("⊘ train (train) interrupted")
    expect(frame).toContain("✗ interrupted: 0 ran, 2 cached, 0 failed, 0 skipped in 13.0s")
    expect(frame).not.toContain("ETA")
  })
})
