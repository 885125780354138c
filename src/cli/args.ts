import { didYouMean } from "../dsl/suggest.js"

export interface FlagSpec {
  readonly name: string
  readonly value?: string
  readonly repeatable?: boolean
  readonly description: string
}

export interface ParsedArgs {
  readonly positional: string[]
  readonly flags: Map<string, string[]>
}

/** A mistake on the command line: exit code 2 and a one-line message. */
export class UsageError extends Error {
  readonly _tag = "UsageError"
}

/** `--flag value`, `--flag=value`, repeatable flags, booleans; everything after `--` is positional. */
export const parseArgs = (argv: ReadonlyArray<string>, specs: ReadonlyArray<FlagSpec>): ParsedArgs => {
  const byName = new Map(specs.map((s) => [s.name, s]))
  const positional: string[] = []
  const flags = new Map<string, string[]>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === "--") {
      positional.push(...argv.slice(i + 1))
      break
    }
    if (!arg.startsWith("--") || arg === "-") {
      if (arg.startsWith("-") && arg !== "-" && arg !== "-h") throw new UsageError(`unknown option '${arg}'`)
      if (arg === "-h") flags.set("help", ["true"])
      else positional.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const spec = byName.get(name)
    if (!spec) throw new UsageError(`unknown option '--${name}'${didYouMean(name, byName.keys())}`)
    let value = "true"
    if (spec.value) {
      if (eq >= 0) value = arg.slice(eq + 1)
      else if (i + 1 < argv.length) value = argv[++i]
      else throw new UsageError(`option '--${name}' needs a value (${spec.value})`)
    } else if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`)
    const previous = flags.get(name) ?? []
    if (previous.length > 0 && !spec.repeatable) throw new UsageError(`option '--${name}' was given twice`)
    flags.set(name, [...previous, value])
  }
  return { positional, flags }
}

export const flag = (args: ParsedArgs, name: string): string | undefined => args.flags.get(name)?.at(-1)
export const flags = (args: ParsedArgs, name: string): string[] => args.flags.get(name) ?? []
export const hasFlag = (args: ParsedArgs, name: string): boolean => args.flags.has(name)

export const integerFlag = (args: ParsedArgs, name: string, min: number): number | undefined => {
  const text = flag(args, name)
  if (text === undefined) return undefined
  const n = Number(text)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`option '--${name}' must be an integer >= ${min}, got '${text}'`)
  return n
}

export const choiceFlag = <T extends string>(args: ParsedArgs, name: string, choices: ReadonlyArray<T>): T | undefined => {
  const text = flag(args, name)
  if (text === undefined) return undefined
  if (!choices.includes(text as T))
    throw new UsageError(`option '--${name}' must be one of ${choices.join(", ")}; got '${text}'${didYouMean(text, choices)}`)
  return text as T
}

export const formatFlags = (specs: ReadonlyArray<FlagSpec>): string =>
  specs
    .map((s) => {
      const left = `  --${s.name}${s.value ? ` ${s.value}` : ""}`
      return `${left.padEnd(28)} ${s.description}${s.repeatable ? " (repeatable)" : ""}`
    })
    .join("\n")
