import type { DocPath } from "./diagnostics.js"
import { mismatch, type PortType } from "./ports.js"
import { nodeIdPattern } from "./schema.js"
import type { InputSources, InputTypes, KindLookup, KindSignature } from "./signature.js"
import { didYouMean } from "./suggest.js"

export interface PortRef {
  readonly node: string
  readonly port: string
}

export interface GraphNode {
  readonly id: string
  readonly kind: KindSignature
  /** The complete, validated config (schema defaults filled, `${...}` resolved). */
  readonly config: Readonly<Record<string, unknown>>
  readonly inputs: Readonly<Record<string, PortRef | ReadonlyArray<PortRef>>>
  readonly outputTypes: Readonly<Record<string, PortType>>
  /** Config keys whose value was a `${params.NAME}` reference: key -> `params.NAME` (what to `--set` to change it). */
  readonly referenced?: Readonly<Record<string, string>>
}

/** What to `--set` to change a node's config key: the parameter it came from, or the key itself. */
export const settingOf = (node: Pick<GraphNode, "id" | "referenced">, key: string): string =>
  node.referenced?.[key] ?? `${node.id}.with.${key}`

export interface PipelineGraph {
  readonly name: string
  readonly description?: string
  readonly seed: number
  readonly file: string
  readonly nodes: ReadonlyMap<string, GraphNode>
  /** Topological order: every node after the nodes it reads from. */
  readonly order: ReadonlyArray<string>
}

export interface GraphProblem {
  readonly path: DocPath
  readonly atKey?: boolean
  readonly message: string
}

interface RawNode {
  readonly use: string
  readonly with: Record<string, unknown>
  readonly in?: Record<string, string | string[]>
}

export const refsOf = (input: PortRef | ReadonlyArray<PortRef>): ReadonlyArray<PortRef> =>
  Array.isArray(input) ? input : [input as PortRef]

/** Per input port, the outputs it reads as `node.port`: what typing and the running node see of their sources. */
export const inputSources = (inputs: Readonly<Record<string, PortRef | ReadonlyArray<PortRef>>>): InputSources =>
  Object.fromEntries(Object.entries(inputs).map(([port, ref]) => [port, refsOf(ref).map((r) => `${r.node}.${r.port}`)]))

/** Resolves references, checks ports and types, and orders the graph. The document has passed the schema. */
export const buildGraph = (
  doc: { name: string; description?: string; seed: number; nodes: Record<string, RawNode> },
  file: string,
  lookup: KindLookup,
  given: ReadonlyMap<string, ReadonlySet<string>> = new Map(),
  /** Dotted document path -> the `${...}` reference its value was, e.g. `nodes.a.with.root` -> `params.data`. */
  references: ReadonlyMap<string, string> = new Map(),
): { graph?: PipelineGraph; problems: GraphProblem[] } => {
  const problems: GraphProblem[] = []
  const ids = Object.keys(doc.nodes)
  const idRegex = new RegExp(nodeIdPattern)
  for (const id of ids) {
    if (!idRegex.test(id))
      problems.push({
        path: ["nodes", id],
        atKey: true,
        message: `node id '${id}' must start with a letter or _ and use only letters, digits, _ and -`,
      })
  }

  const resolved = new Map<string, Record<string, PortRef | PortRef[]>>()
  for (const id of ids) {
    const raw = doc.nodes[id]
    const kind = lookup(raw.use)
    if (!kind) {
      problems.push({ path: ["nodes", id, "use"], message: `unknown node kind '${raw.use}' (run 'pipe nodes' for the list)` })
      continue
    }
    const inputs: Record<string, PortRef | PortRef[]> = {}
    for (const [port, value] of Object.entries(raw.in ?? {})) {
      const path = ["nodes", id, "in", port]
      const spec = kind.inputs[port]
      if (!spec) {
        const known = Object.keys(kind.inputs)
        problems.push({
          path,
          atKey: true,
          message: `kind '${kind.kind}' has no input '${port}'${didYouMean(port, known) || ` (inputs: ${known.join(", ") || "none"})`}`,
        })
        continue
      }
      if (Array.isArray(value) && !spec.many) {
        problems.push({ path, message: `input '${port}' takes one reference, not a list` })
        continue
      }
      const refs = [value].flat().map((text, i) => parseRef(text, Array.isArray(value) ? [...path, i] : path, doc.nodes, lookup, problems))
      // A port that takes a list takes a single reference as a list of one.
      if (refs.every((r): r is PortRef => r !== undefined)) inputs[port] = spec.many ? refs : refs[0]
    }
    for (const [port, spec] of Object.entries(kind.inputs)) {
      if (spec.required !== false && !(port in (raw.in ?? {}))) {
        problems.push({
          path: ["nodes", id],
          atKey: true,
          message: `missing required input '${port}' (${spec.description}); add in: { ${port}: NODE }`,
        })
      }
    }
    resolved.set(id, inputs)
  }

  const cycle = findCycle(ids, (id) => [...Object.values(resolved.get(id) ?? {})].flatMap((r) => refsOf(r).map((x) => x.node)))
  if (cycle) {
    problems.push({ path: ["nodes", cycle[0], "in"], message: `cycle: ${cycle.join(" -> ")}` })
    return { problems }
  }
  const order = topologicalOrder(ids, (id) => [...Object.values(resolved.get(id) ?? {})].flatMap((r) => refsOf(r).map((x) => x.node)))

  const nodes = new Map<string, GraphNode>()
  const absent = new Map<string, Readonly<Record<string, string>>>()
  for (const id of order) {
    const raw = doc.nodes[id]
    const kind = lookup(raw.use)
    const inputs = resolved.get(id)
    if (!kind || !inputs) continue
    const inputTypes: Record<string, PortType | PortType[]> = {}
    for (const [port, ref] of Object.entries(inputs)) {
      const types = refsOf(ref).map((r) => nodes.get(r.node)?.outputTypes[r.port])
      if (types.every((t): t is PortType => t !== undefined)) inputTypes[port] = Array.isArray(ref) ? types : types[0]
    }
    const typing = kind.typing?.(raw.with, inputTypes as InputTypes, given.get(id) ?? new Set(), inputSources(inputs)) ?? {}
    for (const error of typing.errors ?? []) problems.push({ path: ["nodes", id, ...error.path], message: error.message })
    for (const [port, ref] of Object.entries(inputs)) {
      refsOf(ref).forEach((r, i) => {
        const why = absent.get(r.node)?.[r.port]
        if (why)
          problems.push({
            path: Array.isArray(ref) ? ["nodes", id, "in", port, i] : ["nodes", id, "in", port],
            message: `'${r.node}' produces no ${r.port}: ${why}`,
          })
      })
    }
    absent.set(id, typing.absent ?? {})
    for (const [port, ref] of Object.entries(inputs)) {
      refsOf(ref).forEach((r, i) => {
        const produced = nodes.get(r.node)?.outputTypes[r.port]
        const why = produced && mismatch(produced, kind.inputs[port], typing.expects?.[port])
        if (why) {
          const path = Array.isArray(ref) ? ["nodes", id, "in", port, i] : ["nodes", id, "in", port]
          problems.push({ path, message: `input '${port}' ${why} from '${r.node}.${r.port}'` })
        }
      })
    }
    const outputTypes = Object.fromEntries(
      Object.entries(kind.outputs).map(([port, spec]) => [port, typing.outputs?.[port] ?? { kind: spec.type }]),
    )
    const prefix = `nodes.${id}.with.`
    const referenced = Object.fromEntries(
      [...references].filter(([path]) => path.startsWith(prefix)).map(([path, ref]) => [path.slice(prefix.length), ref]),
    )
    nodes.set(id, { id, kind, config: raw.with, inputs, outputTypes, referenced })
  }
  if (problems.length > 0) return { problems }
  return { graph: { name: doc.name, description: doc.description, seed: doc.seed, file, nodes, order }, problems }
}

const parseRef = (
  text: string,
  path: DocPath,
  nodes: Record<string, RawNode>,
  lookup: KindLookup,
  problems: GraphProblem[],
): PortRef | undefined => {
  const [node, port, ...rest] = text.split(".")
  if (rest.length > 0 || !node) {
    problems.push({ path, message: `'${text}' is not a reference: write 'node' or 'node.port'` })
    return undefined
  }
  const target = nodes[node]
  if (!target) {
    problems.push({ path, message: `unknown node '${node}'${didYouMean(node, Object.keys(nodes))}` })
    return undefined
  }
  const kind = lookup(target.use)
  if (!kind) return undefined
  const outputs = Object.keys(kind.outputs)
  if (port === undefined) {
    const chosen = kind.defaultOutput ?? (outputs.length === 1 ? outputs[0] : undefined)
    if (chosen === undefined) {
      problems.push({ path, message: `node '${node}' has several outputs (${outputs.join(", ")}): write '${node}.PORT'` })
    }
    return chosen === undefined ? undefined : { node, port: chosen }
  }
  if (!kind.outputs[port]) {
    problems.push({
      path,
      message: `node '${node}' (${kind.kind}) has no output '${port}'${didYouMean(port, outputs) || ` (outputs: ${outputs.join(", ")})`}`,
    })
    return undefined
  }
  return { node, port }
}

/** A cycle as a closed path of ids (first = last), or undefined. */
export const findCycle = (ids: ReadonlyArray<string>, deps: (id: string) => ReadonlyArray<string>): string[] | undefined => {
  const state = new Map<string, "open" | "done">()
  const stack: string[] = []
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined
    if (state.get(id) === "open") return [...stack.slice(stack.indexOf(id)), id]
    state.set(id, "open")
    stack.push(id)
    for (const dep of deps(id)) {
      if (!ids.includes(dep)) continue
      const cycle = visit(dep)
      if (cycle) return cycle
    }
    stack.pop()
    state.set(id, "done")
    return undefined
  }
  for (const id of ids) {
    const cycle = visit(id)
    if (cycle) return cycle.reverse()
  }
  return undefined
}

/** Kahn's algorithm, stable with respect to the file's order. */
export const topologicalOrder = (ids: ReadonlyArray<string>, deps: (id: string) => ReadonlyArray<string>): string[] => {
  const done = new Set<string>()
  const order: string[] = []
  while (order.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && deps(id).every((d) => done.has(d) || !ids.includes(d)))
    if (next === undefined) break
    done.add(next)
    order.push(next)
  }
  return order
}
