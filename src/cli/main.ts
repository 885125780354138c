import { Cause, Effect, Exit, Fiber } from "effect"
import { formatDiagnostic } from "../dsl/diagnostics.js"
import { formatFlags, parseArgs, UsageError } from "./args.js"
import { didYouMean } from "../dsl/suggest.js"
import { exitCodes } from "./context.js"
import { backends } from "./commands/backends.js"
import { cache } from "./commands/cache.js"
import { compare } from "./commands/compare.js"
import { convert } from "./commands/convert.js"
import type { Command } from "./commands/command.js"
import { graph } from "./commands/graph.js"
import { nodes } from "./commands/nodes.js"
import { plan } from "./commands/plan.js"
import { run } from "./commands/run.js"
import { schema } from "./commands/schema.js"
import { validate } from "./commands/validate.js"
import { runs } from "./commands/runs.js"
import { watch } from "./commands/watch.js"

const commands: ReadonlyArray<Command> = [run, validate, plan, graph, nodes, schema, cache, convert, runs, compare, watch, backends]

const mainHelp = () =>
  [
    "pipe: DiracDiffusion pipelines: typed YAML graphs, cached and resumable runs",
    "",
    "Usage: pipe COMMAND [ARGS] [OPTIONS]",
    "",
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    "",
    "Run 'pipe COMMAND --help' for a command's options.",
    "Exit codes: 0 success, 1 a node or check failed, 2 invalid pipeline or options, 3 internal error, 130 interrupted.",
  ].join("\n")

const commandHelp = (c: Command) =>
  [`Usage: ${c.usage}`, "", c.summary, "", "Options:", formatFlags(c.flags), ...(c.details ? ["", c.details] : [])].join("\n")

const debug = process.argv.includes("--debug") || process.env.PIPE_DEBUG === "1"

/** Turns how the program ended into a message and an exit code; a user's mistake never shows a stack trace. */
const report = (exit: Exit.Exit<number, unknown>, { name: command, interrupted }: Command): number => {
  if (Exit.isSuccess(exit)) return exit.value
  const cause = exit.cause
  if (Cause.hasInterruptsOnly(cause)) {
    process.stderr.write(`${interrupted ?? "pipe: interrupted; finished nodes and checkpoints are kept, run again to resume"}\n`)
    return exitCodes.interrupted
  }
  const error = Cause.squash(cause) as {
    _tag?: string
    message?: string
    diagnostics?: ReadonlyArray<Parameters<typeof formatDiagnostic>[0]>
    stack?: string
  }
  if (error instanceof UsageError) {
    process.stderr.write(`pipe ${command}: ${error.message}\nRun 'pipe ${command} --help' for usage.\n`)
    return exitCodes.invalid
  }
  if (error?._tag === "InvalidInput" && error.diagnostics) {
    for (const d of error.diagnostics) process.stderr.write(`${formatDiagnostic(d)}\n`)
    const n = error.diagnostics.length
    process.stderr.write(`${n} problem${n === 1 ? "" : "s"}; nothing was run\n`)
    return exitCodes.invalid
  }
  if (error?._tag === "BackendError" || error?._tag === "DataUnavailable") {
    const lines = error._tag === "DataUnavailable" ? (error.message ?? "").split("\n") : [error.message]
    for (const line of lines) process.stderr.write(`pipe: ${line}\n`)
    return exitCodes.invalid
  }
  if (error?._tag === "StoreError") {
    process.stderr.write(`pipe: ${error.message}\n`)
    return exitCodes.failed
  }
  process.stderr.write(`pipe: internal error: ${error?.message ?? String(error)}\n`)
  process.stderr.write(debug ? `${Cause.pretty(cause)}\n` : "Run with --debug for the stack trace, and please report it.\n")
  return exitCodes.internal
}

const main = async (argv: ReadonlyArray<string>): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${mainHelp()}\n`)
    return name === undefined ? exitCodes.invalid : exitCodes.ok
  }
  if (name === "--version") {
    process.stdout.write("pipe 0.1.0\n")
    return exitCodes.ok
  }
  const command = commands.find((c) => c.name === name)
  if (!command) {
    process.stderr.write(
      `pipe: unknown command '${name}'${didYouMean(
        name,
        commands.map((c) => c.name),
      )}\nRun 'pipe --help' for the list.\n`,
    )
    return exitCodes.invalid
  }
  let args
  try {
    args = parseArgs(rest, command.flags)
  } catch (error) {
    return report(Exit.fail(error), command)
  }
  if (args.flags.has("help")) {
    process.stdout.write(`${commandHelp(command)}\n`)
    return exitCodes.ok
  }
  const extra = args.positional[command.maxArguments]
  if (extra !== undefined) {
    const hint = /^[^-=][^=]*=/.test(extra) ? `; to override a value, write --set ${extra}` : ` (usage: ${command.usage})`
    return report(Exit.fail(new UsageError(`unexpected argument '${extra}'${hint}`)), command)
  }
  const fiber = Effect.runFork(Effect.suspend(() => command.run(args)))
  let interrupts = 0
  const onSignal = () => {
    interrupts++
    if (interrupts > 1) process.exit(exitCodes.interrupted)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
  const exit = await Effect.runPromise(Fiber.await(fiber))
  return report(exit, command)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
    // wasm worker threads keep the event loop alive; stdout must drain first.
    process.stdout.write("", () => process.stderr.write("", () => process.exit(code)))
  },
  (error: unknown) => {
    process.stderr.write(`pipe: internal error: ${error instanceof Error ? (debug ? error.stack : error.message) : String(error)}\n`)
    process.exit(exitCodes.internal)
  },
)
