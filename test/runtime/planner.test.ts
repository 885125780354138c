import { describe, expect, it } from "vitest"
import { loadPipeline } from "../../src/dsl/load.js"
import { configChanges, plan, upstreamOf, type RunRecord } from "../../src/runtime/planner.js"
import { testKinds } from "../fixtures/kinds.js"

const graphOf = (text: string, overrides: string[] = []) => loadPipeline("p.yaml", text, testKinds, overrides).graph!
const text = `version: 1
name: demo
nodes:
  a: { use: make }
  b: { use: make, with: { value: 1 } }
  sum: { use: add, in: { a: a, b: b } }
  counter: { use: count, in: { in: sum } }
`

const recordOf = (planned: ReturnType<typeof plan>): RunRecord => ({
  pipeline: "demo",
  runId: "r",
  nodes: Object.fromEntries(planned.map((p) => [p.id, { key: p.key, material: p.material }])),
})

describe("plan", () => {
  it("says never run, then cached, then exactly what changed", () => {
    const first = plan(graphOf(text), { backend: "wasm", isStored: () => false })
    expect(first.map((p) => p.reason)).toEqual(["never run", "never run", "never run", "never run"])
    const stored = new Set(first.map((p) => p.key))
    const again = plan(graphOf(text), { backend: "wasm", isStored: (k) => stored.has(k), previous: recordOf(first) })
    expect(again.map((p) => p.status)).toEqual(["cached", "cached", "cached", "cached"])
    const changed = plan(graphOf(text, ["b.with.value=2", "b.with.count=3"]), {
      backend: "wasm",
      isStored: (k) => stored.has(k),
      previous: recordOf(first),
    })
    expect(changed.map((p) => [p.id, p.reason])).toEqual([
      ["a", "cached"],
      ["b", "with.count changed from 2 to 3; with.value changed from 1 to 2"],
      ["sum", "input 'b' changed ('b' will run)"],
      ["counter", "input 'in' changed ('sum' will run)"],
    ])
  })

  it("puts the seed only into seeded nodes' keys, and the backend only into sensitive ones", () => {
    const g0 = graphOf(text)
    const g1 = graphOf(`seed: 7\n${text}`)
    const p0 = plan(g0, { backend: "wasm", isStored: () => false })
    const p1 = plan(g1, { backend: "cpu", isStored: () => false })
    expect(p1[0].key).toBe(p0[0].key)
    expect(p1[3].key).not.toBe(p0[3].key)
    const stored = new Set(p0.map((p) => p.key))
    const reasons = plan(g1, { backend: "wasm", isStored: (k) => stored.has(k), previous: recordOf(p0) })
    expect(reasons[3].reason).toBe("the pipeline seed changed from 0 to 7")
  })

  it("selects upstream nodes for --to and honours --force", () => {
    const g = graphOf(text)
    expect([...upstreamOf(g, ["sum"])].sort()).toEqual(["a", "b", "sum"])
    const p = plan(g, { backend: "wasm", isStored: () => true, force: ["sum"], selected: upstreamOf(g, ["sum"]) })
    expect(p.map((x) => [x.id, x.status])).toEqual([
      ["a", "cached"],
      ["b", "cached"],
      ["sum", "run"],
    ])
    expect(p[2].reason).toBe("forced (--force)")
  })
})

describe("configChanges", () => {
  it("lists leaf changes with their paths", () => {
    expect(configChanges({ a: 1, b: { c: [1, 2] } }, { a: 1, b: { c: [1, 3] }, d: "x" }, ["with"])).toEqual([
      "with.b.c changed from [1,2] to [1,3]",
      'with.d changed from (unset) to "x"',
    ])
  })
})
