import { Effect } from "effect"
import { acceptedKinds } from "../../dsl/ports.js"
import type { NodeKind } from "../../nodes/contract.js"
import { commonFlags, exitCodes, findKind, loadKinds } from "../context.js"
import type { Command } from "./command.js"

interface PropertySchema {
  type?: string | string[]
  default?: unknown
  description?: string
  enum?: unknown[]
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  properties?: Record<string, PropertySchema>
}

/** A kind's ports and config, with defaults: what `pipe nodes KIND` prints and README.md reproduces. */
export const describeKind = (kind: NodeKind): string => {
  const lines = [`${kind.kind} (version ${kind.version}): ${kind.summary}`]
  const inputs = Object.entries(kind.inputs)
  lines.push(
    "  inputs:",
    ...(inputs.length
      ? inputs.map(
          ([port, p]) =>
            `    ${port}: ${acceptedKinds(p).join(" | ")}${p.many ? " (list)" : ""}${p.required === false ? " (optional)" : ""} - ${p.description}`,
        )
      : ["    (none)"]),
  )
  lines.push(
    "  outputs:",
    ...Object.entries(kind.outputs).map(
      ([port, p]) => `    ${port}: ${p.type} - ${p.description}${kind.defaultOutput === port ? " (default)" : ""}`,
    ),
  )
  const properties = (kind.configSchema.properties ?? {}) as Record<string, PropertySchema>
  const required = new Set((kind.configSchema.required ?? []) as string[])
  const config = describeProperties(properties, required, "    ")
  lines.push("  config (with):", ...(config.length ? config : ["    (none)"]))
  return lines.join("\n")
}

const describeProperties = (properties: Record<string, PropertySchema>, required: ReadonlySet<string>, indent: string): string[] =>
  Object.entries(properties).flatMap(([name, s]) => [
    `${indent}${name}: ${s.properties ? "mapping" : describeProperty(s)}${required.has(name) ? " (required)" : ""}${s.description ? ` - ${s.description}` : ""}`,
    ...(s.properties ? describeProperties(s.properties, new Set(), `${indent}  `) : []),
  ])

const describeProperty = (s: PropertySchema): string => {
  const type = s.enum ? s.enum.map(String).join(" | ") : [s.type ?? "any"].flat().join(" | ")
  const bounds = [
    s.minimum !== undefined ? `>= ${s.minimum}` : "",
    s.exclusiveMinimum !== undefined ? `> ${s.exclusiveMinimum}` : "",
    s.maximum !== undefined ? `<= ${s.maximum}` : "",
  ]
    .filter(Boolean)
    .join(", ")
  return `${type}${bounds ? ` (${bounds})` : ""}${s.default !== undefined ? ` = ${JSON.stringify(s.default)}` : ""}`
}

/** The node reference of README.md: one section per kind, generated so that it cannot drift from the code. */
export const kindsMarkdown = (kinds: ReadonlyArray<NodeKind>): string =>
  kinds.map((kind) => `### \`${kind.kind}\`\n\n\`\`\`text\n${describeKind(kind)}\n\`\`\``).join("\n\n")

export const nodes: Command = {
  name: "nodes",
  summary: "list node kinds, or show one kind's ports and config",
  usage: "pipe nodes [KIND] [--markdown]",
  maxArguments: 1,
  flags: [{ name: "markdown", description: "all kinds as the Markdown of README.md's node reference" }, ...commonFlags],
  run: (args) =>
    Effect.gen(function* () {
      const kinds = yield* loadKinds(args)
      const name = args.positional[0]
      if (args.flags.has("markdown")) {
        process.stdout.write(`${kindsMarkdown(kinds)}\n`)
        return exitCodes.ok
      }
      if (name) {
        const kind = yield* findKind(kinds, name)
        process.stdout.write(`${describeKind(kind)}\n`)
      } else {
        if (kinds.length === 0) process.stdout.write("no node kinds are registered\n")
        const width = Math.max(0, ...kinds.map((k) => k.kind.length))
        for (const kind of kinds) process.stdout.write(`${kind.kind.padEnd(width)}  ${kind.summary}\n`)
      }
      return exitCodes.ok
    }),
}
