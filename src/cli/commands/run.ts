import { Effect, Layer } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import { join, relative } from "node:path"
import { cpus } from "node:os"
import { didYouMean } from "../../dsl/suggest.js"
import type { PipelineGraph } from "../../dsl/graph.js"
import type { NodeKind } from "../../nodes/contract.js"
import { ArtifactStore } from "../../runtime/ArtifactStore.js"
import { EventBus } from "../../runtime/EventBus.js"
import { NodeRegistry } from "../../runtime/NodeRegistry.js"
import { planRun, runPipeline } from "../../runtime/run.js"
import { upstreamOf, type PlannedNode } from "../../runtime/planner.js"
import { Seeds } from "../../runtime/Seeds.js"
import { TensorBackend } from "../../runtime/TensorBackend.js"
import { chooseReporter, type UiMode } from "../../ui/choose.js"
import { autoPolicy } from "../auto-policy.js"
import { choiceFlag, flags, hasFlag, integerFlag, UsageError, type FlagSpec, type ParsedArgs } from "../args.js"
import { cacheDir, exitCodes, loadKinds, pipelineFlags, writableCacheDir } from "../context.js"
import { loadVariants, sweepFlag, variantLabel } from "../sweep.js"
import type { Command } from "./command.js"

const backends = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const

export const backendFlags: ReadonlyArray<FlagSpec> = [
  {
    name: "backend",
    value: "NAME",
    description:
      "auto (CUDA via tfjs-node-gpu, else a hardware GPU via WebGPU for networks of 20 M parameters or more, else native TensorFlow or wasm on the CPU, whichever the pipeline's network trains faster on; 'pipe backends' lists them), tensorflow, webgpu, wasm, cpu",
  },
  { name: "threads", value: "N", description: "CPU threads of wasm and native TensorFlow (default: the number of CPU cores, at most 8)" },
]

/** --threads, default the number of cores, at most 8 (wasm's and native TensorFlow's CPU threads). */
export const cpuThreads = (args: ParsedArgs): number => integerFlag(args, "threads", 1) ?? Math.min(8, cpus().length)

export const runtimeLayer = (args: ParsedArgs, graph: PipelineGraph, kinds: ReadonlyArray<NodeKind>) =>
  Layer.mergeAll(
    ArtifactStore.layer(cacheDir(args, graph.file)),
    EventBus.layer,
    TensorBackend.layer(choiceFlag(args, "backend", backends) ?? "auto", {
      threads: cpuThreads(args),
      ...autoPolicy(graph),
    }),
    NodeRegistry.layer(kinds),
    Seeds.layer(graph.seed),
  )

/** `--only`, `--to`: which nodes this run brings up to date. */
const selection = (args: ParsedArgs, graph: PipelineGraph): ReadonlySet<string> | undefined => {
  const check = (name: string, id: string) => {
    if (!graph.nodes.has(id)) throw new UsageError(`--${name} ${id}: no such node${didYouMean(id, graph.nodes.keys())}`)
    return id
  }
  const only = flags(args, "only").map((id) => check("only", id))
  const to = flags(args, "to").map((id) => check("to", id))
  flags(args, "force").forEach((id) => id === "*" || check("force", id))
  if (only.length === 0 && to.length === 0) return undefined
  return new Set([...only, ...upstreamOf(graph, to)])
}

const newRunId = () => `${new Date().toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15)}-${randomBytes(2).toString("hex")}`

export const run: Command = {
  name: "run",
  summary: "check a pipeline, then run what is not cached",
  usage: "pipe run FILE [options]",
  maxArguments: 1,
  flags: [
    ...backendFlags,
    { name: "only", value: "NODE", repeatable: true, description: "run just this node (its inputs must be cached)" },
    { name: "to", value: "NODE", repeatable: true, description: "run this node and what it needs" },
    { name: "force", value: "NODE", repeatable: true, description: "recompute this node even if cached ('*' for all)" },
    { name: "jobs", value: "N", description: "nodes that may run at once (default 2; tensor work is serialised)" },
    { name: "ui", value: "MODE", description: "auto, tui, lines or json (default auto: tui on a terminal)" },
    { name: "json", description: "NDJSON events on stdout (same as --ui json)" },
    { name: "debug", description: "debug logs, tensor memory per node, stack traces" },
    { name: "verbose", description: "also print each finished node's artifact folder" },
    sweepFlag,
    ...pipelineFlags,
  ],
  details: "Exit codes: 0 all nodes done, 1 a node failed, 2 invalid pipeline or options, 130 interrupted.",
  run: (args) =>
    Effect.gen(function* () {
      const kinds = yield* loadKinds(args)
      const variants = yield* loadVariants(args, kinds)
      const graph = variants[0].graph
      const selected = selection(args, graph)
      yield* writableCacheDir(cacheDir(args, graph.file))
      const layer = runtimeLayer(args, graph, kinds)
      const mode: UiMode = hasFlag(args, "json") ? "json" : (choiceFlag(args, "ui", ["auto", "tui", "lines", "json"] as const) ?? "auto")
      const sweepId = hasFlag(args, "sweep") ? `sweep-${newRunId()}` : undefined
      return yield* Effect.gen(function* () {
        const store = yield* ArtifactStore
        const plans: Array<ReadonlyArray<PlannedNode>> = []
        for (const { graph } of variants) {
          plans.push(yield* planRun(graph, { selected, force: flags(args, "force") }))
          if (flags(args, "only").length > 0) yield* onlyInputsCached(args, graph, selected!)
        }
        const reporter = yield* Effect.promise(() => chooseReporter(mode, { debug: hasFlag(args, "debug") }))
        const bus = yield* EventBus
        yield* bus.subscribe(reporter.onEvent)
        /** Keys computed by earlier variants: --force recomputes a node once per sweep, not once per variant. */
        const computed = new Set<string>()
        const results = yield* Effect.forEach(variants, ({ graph, values, settings }, index) =>
          Effect.gen(function* () {
            const force = index === 0 ? flags(args, "force") : yield* notComputed(graph, flags(args, "force"), computed)
            const result = yield* runPipeline(graph, {
              runId: newRunId(),
              // A later variant plans again: an earlier one may have computed what it shares.
              planned: index === 0 ? plans[0] : undefined,
              selected,
              force,
              jobs: integerFlag(args, "jobs", 1),
              settings,
              ...(sweepId ? { sweep: { id: sweepId, index, count: variants.length, params: Object.fromEntries(values) } } : {}),
            }).pipe(Effect.provide(Seeds.layer(graph.seed)), Effect.scoped)
            for (const p of result.planned) if (result.outcomes.some((o) => o.id === p.id && o.result === "ran")) computed.add(p.key)
            return result
          }),
        ).pipe(Effect.ensuring(Effect.promise(() => reporter.close())))
        if (mode !== "json") {
          const shown = (path: string) => relative(process.cwd(), path) || "."
          for (const [index, result] of results.entries()) {
            const label = sweepId ? ` (${variantLabel(variants[index].values)})` : ""
            process.stdout.write(`run ${result.runId} ${result.status}${label}\n`)
            if (result.report !== undefined) process.stdout.write(`report: ${shown(result.report)}\n`)
            if (!sweepId) process.stdout.write(`events: ${shown(join(result.runDir, "events.ndjson"))}\n`)
            for (const p of hasFlag(args, "verbose") ? result.planned : []) {
              const outcome = result.outcomes.find((o) => o.id === p.id)?.result
              if (outcome === "ran" || outcome === "cached") process.stdout.write(`${p.id}: ${shown(store.dirOf(p.key))}\n`)
            }
          }
          if (sweepId) process.stdout.write(`sweep ${sweepId}: ${results.length} variants; compare them with 'pipe compare'\n`)
        }
        return results.every((r) => r.status === "succeeded") ? exitCodes.ok : exitCodes.failed
      }).pipe(Effect.scoped, Effect.provide(layer))
    }),
}

/** `--only`: the inputs of the nodes it names must be cached, or those nodes cannot run. */
const onlyInputsCached = (args: ParsedArgs, graph: PipelineGraph, selected: ReadonlySet<string>) =>
  Effect.gen(function* () {
    const store = yield* ArtifactStore
    const keys = new Map((yield* planRun(graph, {})).map((p) => [p.id, p.key]))
    for (const id of flags(args, "only")) {
      for (const [port, ref] of Object.entries(graph.nodes.get(id)!.inputs)) {
        for (const r of [ref].flat()) {
          if (!selected.has(r.node) && !existsSync(join(store.dirOf(keys.get(r.node)!), "manifest.json"))) {
            return yield* Effect.fail(
              new UsageError(
                `--only ${id}: its input '${port}' comes from '${r.node}', which is not cached; use --to ${id} to run what it needs`,
              ),
            )
          }
        }
      }
    }
  })

/** The nodes of `force` ('*': all) whose results no earlier variant of the sweep computed. */
const notComputed = (graph: PipelineGraph, force: ReadonlyArray<string>, computed: ReadonlySet<string>) =>
  force.length === 0
    ? Effect.succeed(force)
    : planRun(graph, {}).pipe(
        Effect.map((planned) =>
          planned.filter((p) => (force.includes("*") || force.includes(p.id)) && !computed.has(p.key)).map((p) => p.id),
        ),
      )
