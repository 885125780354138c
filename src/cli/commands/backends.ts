import { Effect } from "effect"
import type { EngineStatus } from "../../runtime/backend/survey.js"
import { autoPolicy } from "../auto-policy.js"
import { hasFlag } from "../args.js"
import { exitCodes, loadGraph, loadKinds, pipelineFlags } from "../context.js"
import type { Command } from "./command.js"
import { cpuThreads } from "./run.js"

type Listed = EngineStatus & { readonly auto?: string }

/** The first sentence of a long reason: the table stays readable, --json has it whole. */
const brief = (text: string): string => text.split(/(?<=[.)])\s+(?=[A-Z])/)[0]!

const table = (engines: ReadonlyArray<Listed>): string => {
  const rows = engines.map((e) => [
    `${e.auto !== undefined ? "*" : " "} ${e.name}`,
    e.available ? "yes" : "no",
    e.device ?? "-",
    brief(e.reason),
  ])
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length), ["  engine", "available", "device"][i]!.length))
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join("  ")
  const indent = " ".repeat(widths.reduce((a, b) => a + b + 2, 0))
  return [
    line(["  engine", "available", "device", "notes"]),
    ...engines.flatMap((e, i) => [line(rows[i]!), ...(e.enable && !e.available ? [`${indent}enable: ${e.enable}`] : [])]),
  ].join("\n")
}

export const backends: Command = {
  name: "backends",
  summary: "list the tensor engines, whether each works here, and how to enable the others",
  usage: "pipe backends [FILE] [--json]",
  maxArguments: 1,
  flags: [
    { name: "json", description: "a JSON array of { name, available, version, device, reason, enable } (and auto, for a pipeline)" },
    { name: "threads", value: "N", description: "CPU threads, as for pipe run" },
    ...pipelineFlags,
  ],
  details: "With a pipeline FILE it also says which engine --backend auto takes for that pipeline, and why (marked *).",
  run: (args) =>
    Effect.gen(function* () {
      const threads = cpuThreads(args)
      const graph = args.positional[0] === undefined ? undefined : yield* loadGraph(args, yield* loadKinds(args))
      const { surveyEngines } = yield* Effect.promise(() => import("../../runtime/backend/survey.js"))
      const engines: Listed[] = yield* Effect.promise(() => surveyEngines({ threads }))
      let auto: { name: string; reason: string } | undefined
      if (graph !== undefined) {
        const { initBackend } = yield* Effect.promise(() => import("../../runtime/backend/select.js"))
        const info = yield* Effect.promise(() => initBackend("auto", { threads, ...autoPolicy(graph) }))
        auto = { name: info.name === "tensorflow" && info.device.startsWith("CUDA") ? "tensorflow-gpu" : info.name, reason: info.reason }
      }
      const listed = engines.map((e) => (e.name === auto?.name ? { ...e, auto: auto.reason } : e))
      if (hasFlag(args, "json")) {
        process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`)
      } else {
        process.stdout.write(`${table(listed)}\n`)
        if (auto !== undefined) process.stdout.write(`\n* --backend auto for ${graph!.file}: ${auto.name}: ${auto.reason}\n`)
      }
      return exitCodes.ok
    }),
}
