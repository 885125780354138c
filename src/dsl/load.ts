import { dotted, type Diagnostic, type DocPath } from "./diagnostics.js"
import { buildGraph, type PipelineGraph } from "./graph.js"
import { interpolate } from "./interpolate.js"
import { applyOverrides } from "./overrides.js"
import type { KindSignature } from "./signature.js"
import { locate, maxAliasCount, overrideFor, parseSource, type SourceDocument } from "./source.js"
import { visit } from "yaml"
import { makeValidator } from "./validate.js"

export interface LoadResult {
  readonly graph?: PipelineGraph
  readonly diagnostics: ReadonlyArray<Diagnostic>
}

/**
 * Pipeline text -> typed graph, in stages: YAML syntax, `--set` overrides, `${params}` resolution, schema
 * (defaults filled), references, ports, cycles and types. Every stage reports all it finds; a stage runs only
 * when the ones before it passed, so each diagnostic is about a real mistake, not a consequence of another.
 */
export const loadPipeline = (
  file: string,
  text: string,
  kinds: ReadonlyArray<KindSignature>,
  overrides: ReadonlyArray<string> = [],
): LoadResult => {
  const parsed = parseSource(file, text)
  if (parsed.diagnostics.length > 0) return { diagnostics: parsed.diagnostics }
  const source = parsed.source
  const overrideProblems = applyOverrides(source, overrides)
  if (overrideProblems.length > 0) return { diagnostics: overrideProblems }

  const js = toPlain(source)
  if ("diagnostic" in js) return { diagnostics: [js.diagnostic] }
  const raw = js.value
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { diagnostics: [{ where: `${file}:1:1`, path: "", message: "a pipeline file is a mapping with version, name and nodes" }] }
  }
  const diagnostics: Diagnostic[] = []
  const report = (path: DocPath, message: string, atKey = false) =>
    diagnostics.push({ where: locate(source, path, { key: atKey }), path: dotted(path), message })

  const document = raw as Record<string, unknown>
  const params = isRecord(document.params) ? document.params : {}
  const references = new Map<string, string>()
  const onReference = (path: DocPath, ref: string) => references.set(dotted(path), ref)
  const resolved = Object.fromEntries(
    Object.entries(document).map(([key, value]) => [
      key,
      key === "params" ? value : interpolate(value, params, report, [key], onReference),
    ]),
  )
  if (isRecord(resolved.nodes)) {
    for (const node of Object.values(resolved.nodes)) if (isRecord(node) && node.with === undefined) node.with = {}
  }
  const given = new Map<string, ReadonlySet<string>>()
  if (isRecord(resolved.nodes)) {
    for (const [id, node] of Object.entries(resolved.nodes))
      if (isRecord(node) && isRecord(node.with)) given.set(id, new Set(Object.keys(node.with)))
  }
  // Schema problems of a value whose ${...} did not resolve would only repeat that problem.
  const unresolved = diagnostics.map((d) => d.path)
  const validate = makeValidator(kinds)
  for (const problem of validate(resolved)) {
    const path = dotted(problem.path)
    if (!unresolved.some((u) => path === u || path.startsWith(`${u}.`)))
      report(problem.path, `${problem.message}${fromFlag(source, problem.path, references)}`, problem.atKey)
  }
  if (diagnostics.length > 0) return { diagnostics: sorted(diagnostics, source) }

  const byKind = new Map(kinds.map((k) => [k.kind, k]))
  const { graph, problems } = buildGraph(resolved as Parameters<typeof buildGraph>[0], file, (k) => byKind.get(k), given, references)
  for (const problem of problems) report(problem.path, problem.message, problem.atKey)
  return { graph, diagnostics: sorted(diagnostics, source) }
}

/** The document as plain data; an alias bomb or a value that contains itself is a located mistake. */
const toPlain = (source: SourceDocument): { value: unknown } | { diagnostic: Diagnostic } => {
  let value: unknown
  try {
    value = source.doc.toJS({ maxAliasCount })
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error
    const where = firstAlias(source) ?? `${source.file}:1:1`
    return { diagnostic: { where, path: "", message: `expanding the YAML aliases (*name) here would exceed ${maxAliasCount} copies` } }
  }
  const cycle = selfReference(value, [])
  if (!cycle) return { value }
  const message = "this value contains itself (an anchor &name used inside its own value): write the value out"
  return { diagnostic: { where: locate(source, cycle), path: dotted(cycle), message } }
}

const firstAlias = (source: SourceDocument): string | undefined => {
  let offset: number | undefined
  visit(source.doc, {
    Alias(_, node) {
      offset = node.range?.[0]
      return visit.BREAK
    },
  })
  if (offset === undefined) return undefined
  const { line, col } = source.lines.linePos(offset)
  return `${source.file}:${line}:${col}`
}

/** The path of the first value that contains one of its own ancestors. */
const selfReference = (value: unknown, path: DocPath, ancestors: ReadonlySet<unknown> = new Set()): DocPath | undefined => {
  if (value === null || typeof value !== "object") return undefined
  if (ancestors.has(value)) return path
  const inner = new Set(ancestors).add(value)
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value)
  for (const [key, child] of entries) {
    const found = selfReference(child, [...path, key], inner)
    if (found) return found
  }
  return undefined
}

/** ` (the value of ${params.steps}, from --set params.steps=ten)` when a wrong value came from a flag. */
const fromFlag = (source: SourceDocument, path: DocPath, references: ReadonlyMap<string, string>): string => {
  for (let n = path.length; n > 0; n--) {
    const ref = references.get(dotted(path.slice(0, n)))
    if (ref === undefined) continue
    const flag = overrideFor(source, ref.split("."))
    return flag ? ` (the value of \${${ref}}, from ${flag})` : ""
  }
  return ""
}

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)

/** File order (line, column); flag diagnostics first, as they were given. */
const sorted = (diagnostics: Diagnostic[], source: SourceDocument): Diagnostic[] => {
  const position = (d: Diagnostic): [number, number] => {
    const match = d.where.startsWith(source.file) ? /:(\d+):(\d+)$/.exec(d.where) : null
    return match ? [Number(match[1]), Number(match[2])] : [0, 0]
  }
  return [...diagnostics].sort((a, b) => {
    const [la, ca] = position(a)
    const [lb, cb] = position(b)
    return la - lb || ca - cb
  })
}
