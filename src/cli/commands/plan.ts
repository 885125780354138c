import { Effect } from "effect"
import { planRun } from "../../runtime/run.js"
import { exitCodes, loadKinds, pipelineFlags } from "../context.js"
import { loadVariants, sweepFlag, variantLabel } from "../sweep.js"
import type { Command } from "./command.js"
import { backendFlags, runtimeLayer } from "./run.js"

export const plan: Command = {
  name: "plan",
  summary: "say, for each node, 'cached' or why it will run",
  usage: "pipe plan FILE [--set PATH=VALUE]... [--sweep PATH=V1,V2]... [--backend NAME]",
  maxArguments: 1,
  flags: [...backendFlags, { name: "json", description: "one JSON object per node on stdout" }, sweepFlag, ...pipelineFlags],
  details: "With --sweep, the plan of each variant; a node an earlier variant computes is shared with it, not run again.",
  run: (args) =>
    Effect.gen(function* () {
      const kinds = yield* loadKinds(args)
      const variants = yield* loadVariants(args, kinds)
      const sweep = args.flags.has("sweep")
      const layer = runtimeLayer(args, variants[0].graph, kinds)
      /** Key -> the number (from 1) of the variant that computes it. */
      const computedBy = new Map<string, number>()
      for (const [index, { graph, values }] of variants.entries()) {
        const planned = yield* planRun(graph, {}).pipe(Effect.provide(layer))
        const width = Math.max(...planned.map((p) => p.id.length))
        if (sweep && !args.flags.has("json"))
          process.stdout.write(`${index === 0 ? "" : "\n"}variant ${index + 1}/${variants.length}: ${variantLabel(values)}\n`)
        for (const p of planned) {
          const sharedWith = p.status === "run" ? computedBy.get(p.key) : undefined
          if (p.status === "run" && sharedWith === undefined) computedBy.set(p.key, index + 1)
          if (args.flags.has("json"))
            process.stdout.write(
              `${JSON.stringify({
                ...(sweep ? { variant: index + 1, values: Object.fromEntries(values) } : {}),
                id: p.id,
                status: p.status,
                reason: p.reason,
                key: p.key,
                ...(sharedWith ? { computedByVariant: sharedWith } : {}),
              })}\n`,
            )
          else {
            const what =
              p.status === "cached" ? "cached" : sharedWith ? `computed by variant ${sharedWith}` : `will run because ${p.reason}`
            process.stdout.write(`${p.id.padEnd(width)}  ${what}\n`)
          }
        }
      }
      return exitCodes.ok
    }),
}
