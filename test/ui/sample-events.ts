import type { RunEvent } from "../../src/runtime/events.js"

export const T0 = 1_767_225_600_000

/** A finished run: two cached nodes, one trained node with progress, one failure, one skip. */
export const sampleRun = (): RunEvent[] => [
  {
    type: "run-started",
    at: T0,
    runId: "2026-01-01T00-00-00-ab12",
    pipeline: { name: "ffhq-blur", file: "pipelines/ffhq-blur.yaml" },
    backend: { name: "wasm", version: "4.22.0", device: "cpu", threads: 4, reason: "auto: wasm on the CPU" },
    nodes: [
      { id: "load", kind: "dataset" },
      { id: "blur", kind: "transform" },
      { id: "train", kind: "train" },
      { id: "sample", kind: "sample" },
      { id: "report", kind: "report" },
    ],
  },
  { type: "node-planned", at: T0 + 1, id: "load", status: "cached", reason: "cache hit" },
  { type: "node-planned", at: T0 + 1, id: "blur", status: "cached", reason: "cache hit" },
  { type: "node-planned", at: T0 + 1, id: "train", status: "run", reason: "no cache entry" },
  { type: "node-planned", at: T0 + 1, id: "sample", status: "run", reason: "upstream train will run" },
  { type: "node-planned", at: T0 + 1, id: "report", status: "run", reason: "upstream sample will run" },
  { type: "node-cached", at: T0 + 5, id: "load" },
  { type: "node-cached", at: T0 + 6, id: "blur" },
  {
    type: "backend-ready",
    at: T0 + 8,
    backend: { name: "wasm", version: "4.22.0", device: "WASM SIMD, 4 threads", threads: 4, reason: "auto: wasm on the CPU" },
    fingerprint: "wasm/4.22.0/simd",
    expected: "wasm/4.22.0/simd",
    initMs: 480,
  },
  { type: "node-started", at: T0 + 10, id: "train" },
  { type: "node-progress", at: T0 + 10, id: "train", done: 0, total: 500, unit: "steps" },
  { type: "node-log", at: T0 + 20, id: "train", level: "debug", message: "batch shape [8,64,64,3]" },
  { type: "node-log", at: T0 + 30, id: "train", level: "info", message: "lr schedule: cosine" },
  { type: "node-progress", at: T0 + 10_010, id: "train", done: 100, total: 500, unit: "steps", scalars: { loss: 0.0123 } },
  { type: "node-progress", at: T0 + 12_010, id: "train", done: 120, total: 500, unit: "steps", scalars: { loss: 0.0119 } },
  {
    type: "node-progress",
    at: T0 + 20_010,
    id: "train",
    done: 200,
    total: 500,
    unit: "steps",
    scalars: { loss: 0.0101, lr: 0.0003 },
    message: "epoch 2",
  },
  { type: "node-log", at: T0 + 25_000, id: "train", level: "warn", message: "loss plateau" },
  { type: "node-finished", at: T0 + 50_010, id: "train", durationMs: 50_000, memory: { tensors: 0, bytes: 0 } },
  { type: "node-started", at: T0 + 50_020, id: "sample" },
  { type: "node-failed", at: T0 + 51_020, id: "sample", error: "out of memory" },
  { type: "node-skipped", at: T0 + 51_030, id: "report", reason: "upstream sample failed" },
  {
    type: "run-finished",
    at: T0 + 60_000,
    status: "failed",
    durationMs: 60_000,
    counts: { ran: 1, cached: 2, failed: 1, skipped: 1 },
    outputs: "runs/2026-01-01T00-00-00-ab12",
  },
]

/** The run cut right after the third train progress event (train running at 120/500). */
export const midRun = (): RunEvent[] => {
  const events = sampleRun()
  const cut = events.findIndex((e) => e.type === "node-progress" && e.done === 120)
  return events.slice(0, cut + 1)
}
