import type { Effect } from "effect"
import type { FlagSpec, ParsedArgs } from "../args.js"

export interface Command {
  readonly name: string
  readonly summary: string
  readonly usage: string
  /** The most positional arguments it takes (a pipeline file, a kind...); more are a usage error. */
  readonly maxArguments: number
  readonly flags: ReadonlyArray<FlagSpec>
  readonly details?: string
  /** What Ctrl-C means for this command; by default that the run stopped and can be resumed. */
  readonly interrupted?: string
  /** Resolves to the process exit code. */
  readonly run: (args: ParsedArgs) => Effect.Effect<number, unknown>
}
