import { Effect } from "effect"
import type { PipelineGraph } from "../dsl/graph.js"
import { parseSweep, sweepVariants, variantAssignments, type SweepVariant } from "../dsl/sweep.js"
import type { NodeKind } from "../nodes/contract.js"
import { flags, UsageError, type FlagSpec, type ParsedArgs } from "./args.js"
import { loadGraph } from "./context.js"

export const sweepFlag: FlagSpec = {
  name: "sweep",
  value: "PATH=V1,V2",
  repeatable: true,
  description: "run a variant for every combination of these values (or range(START,STOP,STEP)); PATH as for --set",
}

/** One variant of the command line: its values, its graph and every value it overrides. */
export interface Variant {
  readonly values: SweepVariant
  readonly graph: PipelineGraph
  readonly settings: Readonly<Record<string, string>>
}

/**
 * The variants of `--sweep` (one, without it), each checked as a pipeline before anything runs. A problem with
 * the flags is a usage error; a value the pipeline refuses is named with its `--sweep PATH=VALUE`.
 */
export const loadVariants = (args: ParsedArgs, kinds: ReadonlyArray<NodeKind>) =>
  Effect.gen(function* () {
    const axes = parseSweep(flags(args, "sweep"), flags(args, "set"))
    if (typeof axes === "string") return yield* Effect.fail(new UsageError(axes))
    return yield* Effect.forEach(sweepVariants(axes), (values) =>
      Effect.gen(function* () {
        const assignments = variantAssignments(values)
        const graph = yield* loadGraph(
          args,
          kinds,
          assignments.map((assignment) => ({ assignment, flag: `--sweep ${assignment}` })),
        )
        return { values, graph, settings: settingsOf([...flags(args, "set"), ...assignments]) } satisfies Variant
      }),
    )
  })

/** `path=value` assignments as a record, in their order; a later one of a path wins, as with `--set`. */
const settingsOf = (assignments: ReadonlyArray<string>): Record<string, string> =>
  Object.fromEntries(assignments.map((a) => [a.slice(0, a.indexOf("=")).trim(), a.slice(a.indexOf("=") + 1)]))

/** How a variant is named in lines: its swept values. */
export const variantLabel = (values: SweepVariant): string => values.map(([path, value]) => `${path}=${value}`).join(" ")
