import { Effect } from "effect"
import { mkdtempSync, readdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.js"
import { makeFileStore } from "../../src/runtime/store/file-store.js"
import { EventBus } from "../../src/runtime/EventBus.js"
import type { RunEvent } from "../../src/runtime/events.js"
import { planRun, runPipeline } from "../../src/runtime/run.js"
import { testKinds } from "../fixtures/kinds.js"
import { testRuntimeLayer } from "./test-runtime.js"

const graphOf = (failAt: number) =>
  loadPipeline(
    "p.yaml",
    `version: 1\nname: ck\nnodes:\n  c: { use: count, with: { steps: 10, every: 2, fail_at: ${failAt} } }\n`,
    testKinds,
  ).graph!

const layerFor = (cache: string) => testRuntimeLayer(cache, graphOf(-1).seed)

/** Runs `c`; returns its warnings and, when it finished, the step it resumed from. */
const run = async (cache: string, failAt: number) => {
  const graph = graphOf(failAt)
  const events: RunEvent[] = []
  const program = Effect.gen(function* () {
    yield* (yield* EventBus).subscribe((e) => events.push(e))
    const planned = yield* planRun(graph, {})
    yield* runPipeline(graph, { runId: `r${Math.random()}`, planned })
    return planned[0]!.key
  })
  const key = await Effect.runPromise(program.pipe(Effect.scoped, Effect.provide(layerFor(cache))))
  const total = await Effect.runPromise(makeFileStore(cache).read(key, "total")).catch(() => undefined)
  const warnings = events.flatMap((e) => (e.type === "node-log" && e.level === "warn" ? [e.message] : []))
  return { key, warnings, resumedFrom: (total?.meta as { resumedFrom?: number } | undefined)?.resumedFrom }
}

/** A run of `c` that fails at step 7, leaving checkpoints at steps 4 and 6 under the key of the run without the failure. */
const interrupted = async () => {
  const cache = mkdtempSync(join(tmpdir(), "damaged-checkpoint-"))
  const failed = await run(cache, 7)
  const key = await Effect.runPromise(planRun(graphOf(-1), {}).pipe(Effect.scoped, Effect.provide(layerFor(cache)))).then(
    (planned) => planned[0]!.key,
  )
  const dir = join(cache, "checkpoints", key)
  renameSync(join(cache, "checkpoints", failed.key), dir)
  return { cache, dir, newest: join(dir, "state-3.safetensors"), previous: join(dir, "state-2.safetensors") }
}

describe("a damaged checkpoint is never trusted", () => {
  it("keeps the last two checkpoints", async () => {
    const { dir } = await interrupted()
    expect(readdirSync(dir).sort()).toEqual(["manifest.json", "state-2.safetensors", "state-3.safetensors"])
  })

  it("flipped bytes: the newest is set aside with a warning and the node resumes from the one before", async () => {
    const { cache, newest } = await interrupted()
    const bytes = readFileSync(newest)
    writeFileSync(newest, Buffer.from(bytes.toString("latin1").replace('\\"step\\":6', '\\"step\\":8'), "latin1"))
    expect(readFileSync(newest).equals(bytes)).toBe(false)
    const resumed = await run(cache, -1)
    expect(resumed.warnings).toEqual([
      `checkpoint ${newest} is damaged (checksum mismatch): set aside as ${newest}.damaged`,
      "resuming from the checkpoint before it",
    ])
    expect(resumed.resumedFrom).toBe(4)
  })

  it("both cut to half: each is set aside with a warning and the node restarts from scratch", async () => {
    const { cache, newest, previous } = await interrupted()
    for (const file of [newest, previous]) truncateSync(file, Math.floor(readFileSync(file).length / 2))
    const resumed = await run(cache, -1)
    expect(resumed.warnings).toEqual([
      expect.stringMatching(new RegExp(`^checkpoint ${newest} is damaged \\(\\d+ bytes, \\d+ were written\\): set aside`)),
      expect.stringMatching(new RegExp(`^checkpoint ${previous} is damaged \\(\\d+ bytes, \\d+ were written\\): set aside`)),
      "no intact checkpoint left: starting from scratch",
    ])
    expect(resumed.resumedFrom).toBe(0)
  })

  it("a checkpoint written without a checksum is set aside, not trusted", async () => {
    const { cache, dir, newest } = await interrupted()
    renameSync(newest, join(dir, "state.safetensors"))
    for (const name of readdirSync(dir)) if (name !== "state.safetensors") renameSync(join(dir, name), join(cache, name))
    const resumed = await run(cache, -1)
    expect(resumed.warnings[0]).toMatch(/state\.safetensors is damaged \(written without a checksum by an older pipe\)/)
    expect(resumed.resumedFrom).toBe(0)
  })
})

it("a list of checkpoints naming files outside the folder is set aside, and nothing it names is touched", async () => {
  const { cache, dir } = await interrupted()
  const outside = join(cache, "outside.txt")
  writeFileSync(outside, "keep me")
  writeFileSync(
    join(dir, "manifest.json"),
    JSON.stringify({ generations: [{ file: "../../outside.txt", sha256: "0".repeat(64), bytes: 7 }] }),
  )
  const resumed = await run(cache, -1)
  expect(resumed.warnings[0]).toMatch(/manifest\.json is damaged \(unreadable list of checkpoints: no list of checkpoints\)/)
  expect(resumed.resumedFrom).toBe(0)
  expect(readFileSync(outside, "utf8")).toBe("keep me")
})
