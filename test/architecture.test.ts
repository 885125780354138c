import { describe, expect, it } from "vitest"
import { cycles, importGraph } from "./architecture/import-graph.js"

const src = new URL("../src", import.meta.url).pathname
const graph = importGraph(src)

/**
 * What each top-level folder of src may import besides itself. The layers, highest first: cli > ui > runtime >
 * nodes > dsl > dirac; report is a helper of nodes that builds only on dirac.
 */
const mayImport: Readonly<Record<string, ReadonlyArray<string>>> = {
  dirac: [],
  dsl: ["dirac"],
  report: ["dirac"],
  nodes: ["report", "dsl", "dirac"],
  runtime: ["nodes", "report", "dsl", "dirac"],
  ui: ["runtime", "nodes", "report", "dsl", "dirac"],
  cli: ["ui", "runtime", "nodes", "report", "dsl", "dirac"],
}

const topFolder = (file: string): string => file.split("/")[0]!

/** The subfolder of src/dirac a file is in; a file directly in src/dirac stands for itself. */
const diracPart = (file: string): string => file.split("/").slice(0, 2).join("/")

const edges = [...graph].flatMap(([from, targets]) => targets.map((to) => ({ from, to })))

describe("the import graph", () => {
  it("sees static, type-only and dynamic imports", () => {
    expect(graph.get("runtime/TensorBackend.ts")).toEqual(
      expect.arrayContaining(["runtime/errors.ts", "runtime/backend/predict.ts", "runtime/backend/select.ts"]),
    )
  })

  it("finds cycles: a file importing itself, and files importing each other", () => {
    const example = new Map([
      ["a", ["a"]],
      ["b", ["c"]],
      ["c", ["d"]],
      ["d", ["b"]],
      ["e", ["b"]],
    ])
    expect(cycles(example)).toEqual([["a"], ["b", "c", "d"]])
  })
})

describe("the architecture of src", () => {
  it("has every file in a known layer", () => {
    expect([...graph.keys()].filter((file) => !(topFolder(file) in mayImport))).toEqual([])
  })

  it("imports only from the same folder or a lower layer", () => {
    const upward = edges.filter(({ from, to }) => topFolder(from) !== topFolder(to) && !mayImport[topFolder(from)]?.includes(topFolder(to)))
    expect(upward.map(({ from, to }) => `${from} -> ${to}`)).toEqual([])
  })

  it("has no import cycle between files", () => {
    expect(cycles(graph).map((cycle) => cycle.join(" <-> "))).toEqual([])
  })

  it("has no import cycle between the subfolders of dirac", () => {
    const parts = new Map<string, string[]>()
    for (const { from, to } of edges) {
      if (topFolder(from) !== "dirac" || topFolder(to) !== "dirac" || diracPart(from) === diracPart(to)) continue
      parts.set(diracPart(from), [...(parts.get(diracPart(from)) ?? []), diracPart(to)])
    }
    const crossings = (cycle: ReadonlyArray<string>) =>
      edges.filter(({ from, to }) => diracPart(from) !== diracPart(to) && cycle.includes(diracPart(from)) && cycle.includes(diracPart(to)))
    expect(cycles(parts).flatMap((cycle) => crossings(cycle).map(({ from, to }) => `${from} -> ${to}`))).toEqual([])
  })
})
