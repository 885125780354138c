import { Effect, Layer } from "effect"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.js"
import { initBackend, predictBackend, type BackendChoice, type PredictedBackend } from "../../src/runtime/backend/index.js"
import { isResolvable } from "../../src/runtime/backend/paths.js"
import { ArtifactStore } from "../../src/runtime/ArtifactStore.js"
import { EventBus } from "../../src/runtime/EventBus.js"
import type { RunEvent } from "../../src/runtime/events.js"
import { NodeRegistry } from "../../src/runtime/NodeRegistry.js"
import { runPipeline } from "../../src/runtime/run.js"
import { Seeds } from "../../src/runtime/Seeds.js"
import { TensorBackend } from "../../src/runtime/TensorBackend.js"
import { testKinds } from "../fixtures/kinds.js"

const text = `version: 1
name: lazy
nodes:
  a: { use: make, with: { size: 3 } }
  scaled: { use: scale, in: { in: a } }
`
const graph = loadPipeline("p.yaml", text, testKinds).graph!

/**
 * One in-process run against `cache`, planned with `expected` while the backend that starts is `actual`'s:
 * the events, the outcomes, and how often the backend was started.
 */
const runWith = async (cache: string, expected: PredictedBackend, actual: BackendChoice) => {
  const events: RunEvent[] = []
  let starts = 0
  const backend = Layer.effect(
    TensorBackend,
    TensorBackend.make(expected, () => {
      starts++
      return initBackend(actual, { threads: 1 })
    }),
  )
  const layer = Layer.mergeAll(ArtifactStore.layer(cache), EventBus.layer, backend, NodeRegistry.layer(testKinds), Seeds.layer(graph.seed))
  const program = Effect.gen(function* () {
    yield* (yield* EventBus).subscribe((e) => events.push(e))
    return yield* runPipeline(graph, { runId: `r${Math.random().toString(16).slice(2, 8)}` })
  })
  const result = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer)))
  return { result, events, starts, outcome: Object.fromEntries(result.outcomes.map((o) => [o.id, o.result])) }
}

const cpu = predictBackend("cpu")!
const wasm = predictBackend("wasm")!

describe("lazy tensor backend", () => {
  it("predicts the fingerprints initialisation gives", async () => {
    expect(cpu.fingerprint).toBe((await initBackend("cpu")).fingerprint)
    expect(wasm.fingerprint).toBe((await initBackend("wasm", { threads: 1 })).fingerprint)
  })

  // With tfjs-node alone (no tfjs-node-gpu) the native engine can only be the CPU one: predicted, not loaded.
  const nativeCpuOnly = isResolvable("@tensorflow/tfjs-node") && !isResolvable("@tensorflow/tfjs-node-gpu")
  it.runIf(nativeCpuOnly)("predicts native TensorFlow on the CPU, chosen or taken by auto, without loading it", async () => {
    const chosen = predictBackend("tensorflow")!
    const byAuto = predictBackend("auto", { webgpu: false, cpu: { engine: "tensorflow", why: "a large network" } })!
    expect(byAuto).toMatchObject({ fingerprint: chosen.fingerprint, reason: "auto: native TensorFlow on the CPU (a large network)" })
    expect(chosen.fingerprint).toBe((await initBackend("tensorflow")).fingerprint)
    await initBackend("wasm", { threads: 1 })
  })

  it("starts the backend only when a node has to run", async () => {
    const cache = mkdtempSync(join(tmpdir(), "lazy-backend-"))
    const first = await runWith(cache, cpu, "cpu")
    expect(first.outcome).toEqual({ a: "ran", scaled: "ran" })
    expect(first.starts).toBe(1)
    expect(first.events.filter((e) => e.type === "backend-ready")).toMatchObject([
      { fingerprint: cpu.fingerprint, expected: cpu.fingerprint },
    ])

    const second = await runWith(cache, cpu, "cpu")
    expect(second.outcome).toEqual({ a: "cached", scaled: "cached" })
    expect(second.starts).toBe(0)
    expect(second.events.map((e) => e.type)).not.toContain("backend-ready")
  })

  it("plans again before running anything when the backend is not the predicted one", async () => {
    const cache = mkdtempSync(join(tmpdir(), "lazy-backend-"))
    const first = await runWith(cache, cpu, "cpu")
    // Planned for wasm, 'scaled' looks uncached; the backend that starts is cpu, under which everything is cached.
    const second = await runWith(cache, wasm, "cpu")
    expect(second.starts).toBe(1)
    expect(second.events.find((e) => e.type === "backend-ready")).toMatchObject({
      fingerprint: cpu.fingerprint,
      expected: wasm.fingerprint,
    })
    expect(second.outcome).toEqual({ a: "cached", scaled: "cached" })
    expect(second.result.planned.map((p) => p.key)).toEqual(first.result.planned.map((p) => p.key))
  })

  it("refuses to compute a node under a key that names another backend", async () => {
    const cache = mkdtempSync(join(tmpdir(), "lazy-backend-"))
    const first = await runWith(cache, cpu, "cpu")
    const key = first.result.planned.find((p) => p.id === "scaled")!.key
    const file = join(cache, "objects", key, "out.safetensors")
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(file, bytes)
    // Fully cached under the cpu prediction, so nothing starts the backend up front; the damaged entry needs a
    // recomputation, and the backend that starts for it is wasm.
    const second = await runWith(cache, cpu, "wasm")
    expect(second.starts).toBe(1)
    expect(second.result.status).toBe("failed")
    expect(second.outcome).toEqual({ a: "cached", scaled: "failed" })
    const failed = second.events.find((e) => e.type === "node-failed")
    expect(failed).toMatchObject({ id: "scaled" })
    expect((failed as { error: string }).error).toContain(
      `planned for backend ${cpu.fingerprint}, but the backend started as ${wasm.fingerprint}`,
    )
    expect(second.events.map((e) => e.type)).not.toContain("node-started")
    const manifests = readdirSync(join(cache, "objects")).map(
      (k) => JSON.parse(readFileSync(join(cache, "objects", k, "manifest.json"), "utf8")) as { backend: string },
    )
    expect(manifests.map((m) => m.backend)).not.toContain(wasm.fingerprint)
  })
})
