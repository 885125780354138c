import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.js"
import { EventBus } from "../../src/runtime/EventBus.js"
import type { RunEvent } from "../../src/runtime/events.js"
import { planRun, runPipeline } from "../../src/runtime/run.js"
import { testKinds } from "../fixtures/kinds.js"
import { testRuntimeLayer } from "./test-runtime.js"

const graph = loadPipeline(
  "p.yaml",
  "version: 1\nname: gone\nnodes:\n  a: { use: make, with: { size: 3 } }\n  scaled: { use: scale, in: { in: a } }\n",
  testKinds,
).graph!

it("an input removed after planning is reported as not cached, with the way to compute it, not as corruption", async () => {
  const cache = mkdtempSync(join(tmpdir(), "missing-input-"))
  const layer = testRuntimeLayer(cache, graph.seed)
  const events: RunEvent[] = []
  const program = Effect.gen(function* () {
    yield* runPipeline(graph, { runId: "first", selected: new Set(["a"]) })
    const planned = yield* planRun(graph, { selected: new Set(["scaled"]) })
    rmSync(join(cache, "objects", planned.find((p) => p.id === "scaled")!.material.inputs.in![0]!.split(":")[0]!), { recursive: true })
    yield* (yield* EventBus).subscribe((e) => events.push(e))
    return yield* runPipeline(graph, { runId: "second", selected: new Set(["scaled"]), planned })
  })
  const result = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layer)))
  expect(result.status).toBe("failed")
  expect(events.find((e) => e.type === "node-failed")).toMatchObject({
    id: "scaled",
    error: "its input 'in' from 'a' is not in the cache (removed since planning?); run with --to scaled to compute what it needs",
  })
  rmSync(cache, { recursive: true, force: true })
})
