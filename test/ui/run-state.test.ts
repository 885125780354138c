import { afterEach, describe, expect, it, vi } from "vitest"
import type { RunEvent } from "../../src/runtime/events.js"
import { makeJsonReporter } from "../../src/ui/json-reporter.js"
import {
  countByStatus,
  initialRunState,
  MAX_LOG_LINES,
  RATE_TAU_MS,
  reduceRun,
  replayRun,
  type NodeView,
  type RunState,
} from "../../src/ui/run-state.js"
import { midRun, sampleRun, T0 } from "./sample-events.js"

const node = (state: RunState, id: string): NodeView => {
  const found = state.nodes.find((n) => n.id === id)
  if (found === undefined) throw new Error(`no node ${id}`)
  return found
}

const started: Extract<RunEvent, { type: "run-started" }> = {
  type: "run-started",
  at: T0,
  runId: "r1",
  pipeline: { name: "p", file: "p.yaml" },
  backend: { name: "cpu", version: "1", device: "cpu", reason: "chosen with --backend cpu" },
  nodes: [{ id: "a", kind: "train" }],
}
const progress = (at: number, done: number, total?: number): RunEvent => ({ type: "node-progress", at, id: "a", done, total })

afterEach(() => vi.restoreAllMocks())

describe("reduceRun", () => {
  it("starts empty and waiting", () => {
    expect(initialRunState()).toEqual({ status: "waiting", nodes: [], settledOrder: [] })
  })

  it("keeps the planned backend and records the started one, where it started", () => {
    const ready: Extract<RunEvent, { type: "backend-ready" }> = {
      type: "backend-ready",
      at: T0 + 1,
      backend: { name: "wasm", version: "4.22.0", device: "WASM SIMD, 2 threads", threads: 2, reason: "chosen with --backend wasm" },
      fingerprint: "wasm/4.22.0/simd",
      expected: "wasm/4.22.0/simd",
      initMs: 300,
    }
    const state = reduceRun(reduceRun(initialRunState(), started), ready)
    expect(state.backend).toEqual(started.backend)
    expect(state.backendStarted).toEqual({ backend: ready.backend, afterSettled: 0, initMs: 300, replanned: false })
  })

  it("tracks header, statuses and settle order over a whole run", () => {
    const state = replayRun(sampleRun())
    expect(state.pipeline?.name).toBe("ffhq-blur")
    expect(state.runId).toBe("2026-01-01T00-00-00-ab12")
    expect(state.backend?.threads).toBe(4)
    expect(state.nodes.map((n) => [n.id, n.kind, n.status])).toEqual([
      ["load", "dataset", "cached"],
      ["blur", "transform", "cached"],
      ["train", "train", "done"],
      ["sample", "sample", "failed"],
      ["report", "report", "skipped"],
    ])
    expect(state.settledOrder).toEqual(["load", "blur", "train", "sample", "report"])
    expect(node(state, "train")).toMatchObject({ plan: "run", planReason: "no cache entry", startedAt: T0 + 10, durationMs: 50_000 })
    expect(node(state, "train").etaSeconds).toBeUndefined()
    expect(node(state, "load")).toMatchObject({ plan: "cached", finishedAt: T0 + 5 })
    expect(node(state, "sample").error).toBe("out of memory")
    expect(node(state, "report").skipReason).toBe("upstream sample failed")
    expect(state).toMatchObject({ status: "failed", durationMs: 60_000, finishedAt: T0 + 60_000, outputs: "runs/2026-01-01T00-00-00-ab12" })
    expect(state.counts).toEqual({ ran: 1, cached: 2, failed: 1, skipped: 1 })
    expect(countByStatus(state)).toEqual({ pending: 0, cached: 2, running: 0, done: 1, failed: 1, skipped: 1 })
  })

  it("shows a running node with its latest progress mid-run", () => {
    const state = replayRun(midRun())
    const train = node(state, "train")
    expect(state.status).toBe("running")
    expect(train.status).toBe("running")
    expect(train.progress).toEqual({ at: T0 + 12_010, done: 120, total: 500, unit: "steps", scalars: { loss: 0.0119 } })
    expect(train.rate).toBeCloseTo(10, 9)
    expect(train.etaSeconds).toBeCloseTo(38, 9)
    expect(train.logs.map((l) => l.message)).toEqual(["batch shape [8,64,64,3]", "lr schedule: cosine"])
    expect(countByStatus(state)).toMatchObject({ pending: 2, running: 1, cached: 2 })
  })

  it("smooths the rate with a time-weighted moving average", () => {
    const events = [started, progress(T0, 0, 1000), progress(T0 + 5000, 50, 1000), progress(T0 + 10_000, 150, 1000)]
    const state = replayRun(events)
    // 10/s, then 20/s over one time constant: 10 + (1 - e^-1) * (20 - 10).
    const expected = 10 + (1 - Math.exp(-5000 / RATE_TAU_MS)) * 10
    expect(node(state, "a").rate).toBeCloseTo(expected, 9)
    expect(node(state, "a").etaSeconds).toBeCloseTo(850 / expected, 9)
  })

  it("has no rate or ETA before two samples, and no ETA without a total", () => {
    const one = replayRun([started, progress(T0, 5, 10)])
    expect(node(one, "a").rate).toBeUndefined()
    expect(node(one, "a").etaSeconds).toBeUndefined()
    const noTotal = replayRun([started, progress(T0, 0), progress(T0 + 2000, 8)])
    expect(node(noTotal, "a").rate).toBeCloseTo(4, 9)
    expect(node(noTotal, "a").etaSeconds).toBeUndefined()
  })

  it("does not divide by zero on equal timestamps and keeps the earlier anchor", () => {
    const state = replayRun([
      started,
      progress(T0, 0, 100),
      progress(T0 + 1000, 10, 100),
      progress(T0 + 1000, 20, 100),
      progress(T0 + 2000, 30, 100),
    ])
    const a = node(state, "a")
    expect(Number.isFinite(a.rate)).toBe(true)
    expect(a.progress?.done).toBe(30)
    // Anchor stayed at (T0+1000, 10): instant rate 20/s blended into 10/s.
    expect(a.rate).toBeCloseTo(10 + (1 - Math.exp(-1000 / RATE_TAU_MS)) * 10, 9)
  })

  it("restarts the estimate when the counter goes backwards", () => {
    const state = replayRun([started, progress(T0, 0, 10), progress(T0 + 1000, 10, 10), progress(T0 + 2000, 1, 50)])
    expect(node(state, "a").rate).toBeUndefined()
    expect(node(state, "a").progress?.total).toBe(50)
  })

  it("keeps only the last few log lines per node", () => {
    const logs: RunEvent[] = Array.from({ length: MAX_LOG_LINES + 3 }, (_, i) => ({
      type: "node-log",
      at: T0 + i,
      id: "a",
      level: "info",
      message: `line ${i}`,
    }))
    const a = node(replayRun([started, ...logs]), "a")
    expect(a.logs).toHaveLength(MAX_LOG_LINES)
    expect(a.logs.at(-1)?.message).toBe(`line ${MAX_LOG_LINES + 2}`)
    expect(a.logs[0]?.message).toBe("line 3")
  })

  it("adds nodes it was not told about instead of dropping their events", () => {
    const state = reduceRun(replayRun([started]), { type: "node-started", at: T0 + 1, id: "extra" })
    expect(state.nodes.map((n) => [n.id, n.kind, n.status])).toEqual([
      ["a", "train", "pending"],
      ["extra", "?", "running"],
    ])
  })

  it("is pure: no clock reads, inputs untouched", () => {
    vi.spyOn(Date, "now").mockImplementation(() => {
      throw new Error("reducer read the clock")
    })
    const before = replayRun(midRun())
    const snapshot = structuredClone(before)
    const after = reduceRun(before, { type: "node-finished", at: T0 + 13_000, id: "train", durationMs: 12_990 })
    expect(before).toEqual(snapshot)
    expect(node(after, "train").status).toBe("done")
    expect(after.lastEventAt).toBe(T0 + 13_000)
  })

  it("replays an NDJSON events file to the same state as the live run", () => {
    const chunks: string[] = []
    const json = makeJsonReporter({ write: (c) => chunks.push(c) })
    let live = initialRunState()
    for (const event of sampleRun()) {
      json.onEvent(event)
      live = reduceRun(live, event)
    }
    const parsed = chunks
      .join("")
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line) as RunEvent)
    expect(replayRun(parsed)).toEqual(live)
  })
})
