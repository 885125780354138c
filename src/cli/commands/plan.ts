import { Effect } from "effect"
import { ArtifactStore } from "../../runtime/ArtifactStore.js"
import { planRun } from "../../runtime/run.js"
import { storeFlags, storeReady } from "../store-option.js"
import { exitCodes, loadGraph, loadKinds, pipelineFlags } from "../context.js"
import type { Command } from "./command.js"
import { backendFlags, runtimeLayer } from "./run.js"

export const plan: Command = {
  name: "plan",
  summary: "say, for each node, 'cached' or why it will run",
  usage: "pipe plan FILE [--set PATH=VALUE]... [--backend NAME]",
  maxArguments: 1,
  flags: [...backendFlags, { name: "json", description: "one JSON object per node on stdout" }, ...storeFlags, ...pipelineFlags],
  run: (args) =>
    Effect.gen(function* () {
      const kinds = yield* loadKinds(args)
      const graph = yield* loadGraph(args, kinds)
      const planned = yield* Effect.gen(function* () {
        yield* storeReady(yield* ArtifactStore)
        return yield* planRun(graph, {})
      }).pipe(Effect.provide(runtimeLayer(args, graph, kinds)))
      const width = Math.max(...planned.map((p) => p.id.length))
      for (const p of planned) {
        if (args.flags.has("json"))
          process.stdout.write(`${JSON.stringify({ id: p.id, status: p.status, reason: p.reason, key: p.key })}\n`)
        else process.stdout.write(`${p.id.padEnd(width)}  ${p.status === "cached" ? "cached" : `will run because ${p.reason}`}\n`)
      }
      return exitCodes.ok
    }),
}
