import { isMap, parse } from "yaml"
import { dotted, type Diagnostic } from "./diagnostics.js"
import { maxAliasCount, type SourceDocument } from "./source.js"
import { didYouMean } from "./suggest.js"

const topLevelKeys = new Set(["version", "name", "description", "seed", "params", "nodes"])

/**
 * Applies `--set PATH=VALUE` flags to the parsed document before validation, so their values are coerced and
 * checked like file content. `PATH` is a document path, or `NODE.with.KEY` as a shorthand for `nodes.NODE.with.KEY`.
 * The value is read as a YAML scalar: `500` is a number, `2e-4` a number, `true` a boolean, `[1, 2]` a list.
 */
export const applyOverrides = (source: SourceDocument, flags: ReadonlyArray<string>): Diagnostic[] => {
  const diagnostics: Diagnostic[] = []
  for (const assignment of flags) {
    const flag = `--set ${assignment}`
    const problem = (message: string) => diagnostics.push({ where: flag, path: "", message })
    const eq = assignment.indexOf("=")
    if (eq <= 0) {
      problem("expected PATH=VALUE, e.g. --set params.steps=500")
      continue
    }
    const segments = assignment.slice(0, eq).trim().split(".")
    if (segments.some((s) => s === "")) {
      problem(`'${assignment.slice(0, eq)}' is not a valid path`)
      continue
    }
    const path = topLevelKeys.has(segments[0]) ? segments : ["nodes", ...segments]
    if (path[0] === "nodes" && path.length > 1) {
      const ids = keysOf(source.doc.get("nodes"))
      if (!ids.includes(path[1])) {
        problem(`no node '${path[1]}' in this pipeline${didYouMean(path[1], ids)}`)
        continue
      }
    }
    if (path[0] === "params" && path.length > 1) {
      const names = keysOf(source.doc.get("params"))
      if (!names.includes(path[1])) {
        const hint = names.length === 0 ? "; it declares no params" : didYouMean(path[1], names) || ` (it has ${names.join(", ")})`
        problem(`no parameter '${path[1]}' in this pipeline${hint}`)
        continue
      }
    }
    let value: unknown
    try {
      value = parse(assignment.slice(eq + 1), { maxAliasCount })
    } catch (error) {
      problem(`cannot read the value: ${(error as Error).message.split("\n")[0]}`)
      continue
    }
    try {
      source.doc.setIn(path, source.doc.createNode(value ?? null))
      source.overrides.set(dotted(path), flag)
    } catch {
      problem(`cannot set '${dotted(path)}': a parent of it is not a mapping`)
    }
  }
  return diagnostics
}

const keysOf = (node: unknown): string[] =>
  isMap(node) ? node.items.map((p) => String((p.key as { value?: unknown })?.value ?? p.key)) : []
