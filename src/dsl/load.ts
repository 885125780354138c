import { dotted, type Diagnostic, type DocPath } from "./diagnostics.js"
import { buildGraph, type PipelineGraph } from "./graph.js"
import { interpolate } from "./interpolate.js"
import { applyOverrides } from "./overrides.js"
import type { KindSignature } from "./signature.js"
import { locate, parseSource, type SourceDocument } from "./source.js"
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

  const raw = source.doc.toJS() as unknown
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { diagnostics: [{ where: `${file}:1:1`, path: "", message: "a pipeline file is a mapping with version, name and nodes" }] }
  }
  const diagnostics: Diagnostic[] = []
  const report = (path: DocPath, message: string, atKey = false) =>
    diagnostics.push({ where: locate(source, path, { key: atKey }), path: dotted(path), message })

  const document = raw as Record<string, unknown>
  const params = isRecord(document.params) ? document.params : {}
  const resolved = Object.fromEntries(
    Object.entries(document).map(([key, value]) => [key, key === "params" ? value : interpolate(value, params, report, [key])]),
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
    if (!unresolved.some((u) => path === u || path.startsWith(`${u}.`))) report(problem.path, problem.message, problem.atKey)
  }
  if (diagnostics.length > 0) return { diagnostics: sorted(diagnostics, source) }

  const byKind = new Map(kinds.map((k) => [k.kind, k]))
  const { graph, problems } = buildGraph(resolved as Parameters<typeof buildGraph>[0], file, (k) => byKind.get(k), given)
  for (const problem of problems) report(problem.path, problem.message, problem.atKey)
  return { graph, diagnostics: sorted(diagnostics, source) }
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
