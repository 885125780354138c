import { describe, expect, it } from "vitest"
import { formatDiagnostic } from "../../src/dsl/diagnostics.js"
import { loadPipeline } from "../../src/dsl/load.js"
import { builtinKinds } from "../../src/nodes/index.js"
import { testKinds } from "../fixtures/kinds.js"

const load = (text: string, overrides: string[] = []) => loadPipeline("p.yaml", text, testKinds, overrides)
const messages = (text: string, overrides: string[] = []) => load(text, overrides).diagnostics.map(formatDiagnostic)

const valid = `version: 1
name: demo
params:
  size: 8
  value: 0.25
nodes:
  a: { use: make, with: { size: "\${params.size}", value: "\${params.value}" } }
  b: { use: make, with: { size: "\${params.size}" } }
  sum:
    use: add
    in: { a: a, b: b.out }
    with: { offset: 1 }
  counter: { use: count, in: { in: sum } }
  all: { use: collect, in: { items: [sum.total, counter] } }
`

describe("loadPipeline", () => {
  it("builds a typed, ordered graph with defaults filled and params resolved", () => {
    const { graph, diagnostics } = load(valid)
    expect(diagnostics).toEqual([])
    expect(graph!.order).toEqual(["a", "b", "sum", "counter", "all"])
    expect(graph!.nodes.get("a")!.config).toEqual({ size: 8, value: 0.25, count: 2, leak: false })
    expect(graph!.nodes.get("counter")!.config).toMatchObject({ steps: 10, every: 2 })
    expect(graph!.nodes.get("sum")!.inputs).toEqual({ a: { node: "a", port: "out" }, b: { node: "b", port: "out" } })
    expect(graph!.nodes.get("all")!.inputs.items).toEqual([
      { node: "sum", port: "total" },
      { node: "counter", port: "total" },
    ])
    expect(graph!.nodes.get("sum")!.outputTypes.out).toEqual({ kind: "images", shape: { height: 8, width: 8, channels: 1 }, range: [0, 1] })
    expect(graph!.seed).toBe(0)
  })

  it("reports a YAML syntax error at its position", () => {
    expect(messages("version: 1\nname: x\nnodes:\n  a: use: make\n")).toEqual([
      "p.yaml:4:6 Nested mappings are not allowed in compact mappings",
    ])
  })

  it("reports duplicate node ids", () => {
    const text = "version: 1\nname: x\nnodes:\n  a: { use: make }\n  a: { use: make }\n"
    expect(messages(text)).toEqual(["p.yaml:5:3 nodes.a: duplicate node id 'a': each node needs its own id"])
  })

  it("reports schema violations, unknown kinds and keys with did-you-mean, all at once", () => {
    const text = [
      "version: 1",
      "name: x",
      "nodes:",
      "  a: { use: mkae }",
      "  b:",
      "    use: make",
      "    with: { size: big, valeu: 2 }",
    ].join("\n")
    expect(messages(text)).toEqual([
      "p.yaml:4:13 nodes.a.use: unknown node kind 'mkae' (did you mean 'make'?) (run 'pipe nodes' for the list)",
      "p.yaml:7:19 nodes.b.with.size: must be integer; got string 'big'",
      "p.yaml:7:24 nodes.b.with.valeu: unknown key 'valeu' (did you mean 'value'?)",
    ])
  })

  it("reports unknown nodes and ports, missing inputs, and several-output references", () => {
    const text = [
      "version: 1",
      "name: x",
      "nodes:",
      "  a: { use: make }",
      "  s: { use: add, in: { a: aa, c: a } }",
      "  t: { use: add, in: { a: a.outt, b: a } }",
      "  u: { use: collect, in: { items: [t] } }",
    ].join("\n")
    expect(messages(text)).toEqual([
      "p.yaml:5:3 nodes.s: missing required input 'b' (second images); add in: { b: NODE }",
      "p.yaml:5:27 nodes.s.in.a: unknown node 'aa' (did you mean 'a'?)",
      "p.yaml:5:31 nodes.s.in.c: kind 'add' has no input 'c' (inputs: a, b)",
      "p.yaml:6:27 nodes.t.in.a: node 'a' (make) has no output 'outt' (did you mean 'out'?)",
      "p.yaml:7:36 nodes.u.in.items.0: input 'items' expects scalar value, got clean images from 't.out'",
    ])
  })

  it("prints a cycle", () => {
    const text =
      "version: 1\nname: x\nnodes:\n  a: { use: add, in: { a: b, b: c } }\n  b: { use: add, in: { a: a, b: c } }\n  c: { use: make }\n"
    expect(messages(text)).toEqual(["p.yaml:4:22 nodes.a.in: cycle: a -> b -> a"])
  })

  it("checks shapes between ports", () => {
    const text =
      "version: 1\nname: x\nnodes:\n  a: { use: make, with: { size: 4 } }\n  b: { use: make, with: { size: 8 } }\n  s: { use: add, in: { a: a, b: b } }\n"
    expect(messages(text)).toEqual([
      "p.yaml:6:33 nodes.s.in.b: input 'b' expects 4x4x1 images in [0, 1], got 8x8x1 images in [0, 1] from 'b.out'",
    ])
  })

  it("reports unresolved parameters", () => {
    const text = 'version: 1\nname: x\nparams: { size: 4 }\nnodes:\n  a: { use: make, with: { size: "${params.sise}" } }\n'
    expect(messages(text)).toEqual([
      "p.yaml:5:33 nodes.a.with.size: unresolved ${params.sise}: no such parameter (did you mean 'params.size'?)",
    ])
  })

  it("applies --set overrides with coercion and names the flag in errors", () => {
    const ok = load(valid, ["params.size=16", "sum.with.offset=2e-4"])
    expect(ok.diagnostics).toEqual([])
    expect(ok.graph!.nodes.get("a")!.config.size).toBe(16)
    expect(ok.graph!.nodes.get("sum")!.config.offset).toBe(0.0002)
    expect(messages(valid, ["sum.with.offset=abc"])).toEqual([
      "--set sum.with.offset=abc nodes.sum.with.offset: must be number; got string 'abc'",
    ])
    expect(messages(valid, ["smu.with.offset=1"])).toEqual(["--set smu.with.offset=1 no node 'smu' in this pipeline (did you mean 'sum'?)"])
    expect(messages(valid, ["params.size"])).toEqual(["--set params.size expected PATH=VALUE, e.g. --set params.steps=500"])
  })
})

describe("--set on params", () => {
  it("must name a declared parameter, with did-you-mean", () => {
    expect(messages(valid, ["params.sise=16"])).toEqual([
      "--set params.sise=16 no parameter 'sise' in this pipeline (did you mean 'size'?)",
    ])
    expect(messages(valid, ["params.colour=1"])).toEqual([
      "--set params.colour=1 no parameter 'colour' in this pipeline (it has size, value)",
    ])
    const bare = "version: 1\nname: x\nnodes:\n  a: { use: make }\n"
    expect(messages(bare, ["params.size=1"])).toEqual(["--set params.size=1 no parameter 'size' in this pipeline; it declares no params"])
  })

  it("names the flag when a parameter it set is wrong where it is used", () => {
    expect(messages(valid, ["params.size=ten"])).toEqual([
      "p.yaml:7:33 nodes.a.with.size: must be integer; got string 'ten' (the value of ${params.size}, from --set params.size=ten)",
      "p.yaml:8:33 nodes.b.with.size: must be integer; got string 'ten' (the value of ${params.size}, from --set params.size=ten)",
    ])
  })
})

describe("the load node's sources", () => {
  const check = (withConfig: string) =>
    loadPipeline("p.yaml", `version: 1\nname: t\nnodes:\n  images: { use: load, with: ${withConfig} }\n`, builtinKinds).diagnostics.map(
      formatDiagnostic,
    )

  it("refuses a root without a source, which would load shapes instead of the user's images", () => {
    expect(check("{ root: /data/ffhq }")).toEqual([
      "p.yaml:4:38 nodes.images.with.root: root is read only by the folder source, but source is synthetic (the default): add source: folder, or remove root",
    ])
    expect(check("{ source: synthetic, root: /data/ffhq }")).toEqual([])
    expect(check("{ source: folder, root: /data/ffhq }")).toEqual([])
    expect(check("{ source: synthetic }")).toEqual([])
  })
})
