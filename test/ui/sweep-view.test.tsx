import { cleanup, render } from "ink-testing-library"
import { afterEach, describe, expect, it } from "vitest"
import type { RunEvent, RunStatus } from "../../src/runtime/events.js"
import { RunView } from "../../src/ui/ink/RunView.js"
import { makeLineReporter } from "../../src/ui/line-reporter.js"
import { replayRun } from "../../src/ui/run-state.js"
import { T0 } from "./sample-events.js"

const strip = (s: string | undefined): string => (s ?? "").replace(/\u001b\[[0-9;]*m/g, "")

const backend = { name: "cpu", version: "4.22.0", device: "JS", reason: "chosen" }

/** Variant `index` of a sweep of `count` over params.lr: `shared` cached, `train` ran; `end` when finished. */
const variant = (index: number, count: number, lr: string, end?: RunStatus): RunEvent[] => {
  const at = T0 + index * 10_000
  return [
    {
      type: "run-started",
      at,
      runId: `run-${index}`,
      pipeline: { name: "p", file: "p.yaml" },
      sweep: { id: "sweep-1", index, count, params: { "params.lr": lr } },
      backend,
      nodes: [
        { id: "shared", kind: "load" },
        { id: "train", kind: "train" },
      ],
    },
    { type: "node-cached", at: at + 1, id: "shared" },
    { type: "node-started", at: at + 2, id: "train" },
    { type: "node-progress", at: at + 1000, id: "train", done: 5, total: 10, unit: "steps" },
    ...(end
      ? [
          { type: "node-finished", at: at + 3000, id: "train", durationMs: 2998 } as const,
          {
            type: "run-finished",
            at: at + 3000,
            status: end,
            durationMs: 3000,
            counts: { ran: 1, cached: 1, failed: 0, skipped: 0 },
          } as const,
        ]
      : []),
  ]
}

const sweep = [...variant(0, 3, "1e-3", "succeeded"), ...variant(1, 3, "2e-3", "failed"), ...variant(2, 3, "4e-3")]

afterEach(() => cleanup())

describe("a sweep's live view", () => {
  it("keeps one entry per variant across its runs: status and settled nodes", () => {
    const state = replayRun(sweep)
    expect(state.sweep?.variants.map((v) => [v.index, v.runId, v.status, v.settled, v.nodes, v.durationMs])).toEqual([
      [0, "run-0", "succeeded", 2, 2, 3000],
      [1, "run-1", "failed", 2, 2, 3000],
      [2, "run-2", "running", 1, 2, undefined],
    ])
    expect(state.runId).toBe("run-2")
    expect(state.counts).toBeUndefined()
    expect(replayRun(variant(0, 1, "1")).sweep?.count).toBe(1)
  })

  it("prints a line per variant when it starts and when it ends", () => {
    const lines: string[] = []
    const reporter = makeLineReporter({ write: (line) => lines.push(...line.split("\n")) })
    sweep.forEach(reporter.onEvent)
    expect(lines.filter((l) => l.startsWith("[variant"))).toEqual([
      "[variant 1/3] params.lr=1e-3: run run-0",
      "[variant 1/3] params.lr=1e-3: succeeded in 3.0s",
      "[variant 2/3] params.lr=2e-3: run run-1",
      "[variant 2/3] params.lr=2e-3: failed in 3.0s",
      "[variant 3/3] params.lr=4e-3: run run-2",
    ])
  })

  it("shows the finished variants, the running one with its running node, and how far the sweep is", () => {
    const frame = strip(render(<RunView state={replayRun(sweep)} barWidth={10} />).lastFrame())
    expect(frame.split("\n")).toEqual([
      "✓ variant 1/3 params.lr=1e-3 · succeeded in 3.0s · run run-0",
      "✗ variant 2/3 params.lr=2e-3 · failed in 3.0s · run run-1",
      "▸ variant 3/3 params.lr=4e-3 · 1/2 nodes · run run-2",
      "▸ train (train) █████░░░░░ 5/10 steps 50% · 998ms",
      "sweep sweep-1: 2 of 3 variants finished, 1 not succeeded",
    ])
  })
})
