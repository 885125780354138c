import { Effect } from "effect"
import { exitCodes, loadGraph, loadKinds, pipelineFlags } from "../context.js"
import type { Command } from "./command.js"

export const validate: Command = {
  name: "validate",
  summary: "check a pipeline file without running anything",
  usage: "pipe validate FILE [--set PATH=VALUE]...",
  maxArguments: 1,
  flags: pipelineFlags,
  details: "Reports every problem with file:line:col. Exit codes: 0 valid, 2 invalid.",
  run: (args) =>
    Effect.gen(function* () {
      const graph = yield* loadGraph(args, yield* loadKinds(args))
      process.stdout.write(
        `${graph.file}: valid pipeline '${graph.name}' with ${graph.nodes.size} node${graph.nodes.size === 1 ? "" : "s"}\n`,
      )
      return exitCodes.ok
    }),
}
