import { Effect } from "effect"
import { refsOf, type PipelineGraph } from "../../dsl/graph.js"
import { describeType } from "../../dsl/ports.js"
import { choiceFlag } from "../args.js"
import { exitCodes, loadGraph, loadKinds, pipelineFlags } from "../context.js"
import type { Command } from "./command.js"

const edges = (graph: PipelineGraph) =>
  graph.order.flatMap((id) =>
    Object.entries(graph.nodes.get(id)!.inputs).flatMap(([port, ref]) =>
      refsOf(ref).map((r) => ({
        from: r.node,
        to: id,
        label: `${r.port} -> ${port}`,
        type: describeType(graph.nodes.get(r.node)!.outputTypes[r.port]),
      })),
    ),
  )

const safeId = (id: string) => id.replace(/-/g, "_")

export const toMermaid = (graph: PipelineGraph): string =>
  [
    "flowchart LR",
    ...graph.order.map((id) => `  ${safeId(id)}["${id}<br/><i>${graph.nodes.get(id)!.kind.kind}</i>"]`),
    ...edges(graph).map((e) => `  ${safeId(e.from)} -- "${e.label}<br/>${e.type}" --> ${safeId(e.to)}`),
  ].join("\n")

export const toDot = (graph: PipelineGraph): string =>
  [
    `digraph "${graph.name}" {`,
    "  rankdir=LR;",
    "  node [shape=box, style=rounded];",
    ...graph.order.map((id) => `  "${id}" [label="${id}\\n(${graph.nodes.get(id)!.kind.kind})"];`),
    ...edges(graph).map((e) => `  "${e.from}" -> "${e.to}" [label="${e.label}\\n${e.type}"];`),
    "}",
  ].join("\n")

export const graph: Command = {
  name: "graph",
  summary: "print the pipeline's graph as Mermaid or Graphviz dot",
  usage: "pipe graph FILE [--format mermaid|dot]",
  maxArguments: 1,
  flags: [{ name: "format", value: "FORMAT", description: "mermaid (default) or dot" }, ...pipelineFlags],
  run: (args) =>
    Effect.gen(function* () {
      const g = yield* loadGraph(args, yield* loadKinds(args))
      const format = choiceFlag(args, "format", ["mermaid", "dot"] as const) ?? "mermaid"
      process.stdout.write(`${format === "dot" ? toDot(g) : toMermaid(g)}\n`)
      return exitCodes.ok
    }),
}
