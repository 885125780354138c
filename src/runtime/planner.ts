import { refsOf, type PipelineGraph } from "../dsl/graph.js"
import { cacheKey, canonicalJson, type KeyMaterial } from "./cache-key.js"
import type { SweepMembership } from "./run-info.js"

export interface PlannedNode {
  readonly id: string
  readonly key: string
  readonly material: KeyMaterial
  readonly status: "cached" | "run"
  /** "cached", or why it will run. */
  readonly reason: string
  /** Recomputed at the user's request (--force), even if another run computes it meanwhile. */
  readonly forced?: boolean
}

/** What the last run of a pipeline computed, node by node: the basis of "will run because ...". */
export interface RunRecord {
  readonly pipeline: string
  readonly runId: string
  readonly nodes: Readonly<Record<string, { readonly key: string; readonly material: KeyMaterial }>>
  /** When that run was a variant of a sweep: the sweep, and the keys of all its variants so far (what `cache gc` keeps). */
  readonly sweep?: SweepMembership & { readonly keys: ReadonlyArray<string> }
  /** Nodes whose shards are partly stored (by shard-index processes) and not merged yet: `cache gc` keeps those shards. */
  readonly pending?: ReadonlyArray<{ readonly node: string; readonly key: string }>
}

export interface PlanOptions {
  readonly backend: string
  readonly isStored: (key: string) => boolean
  readonly previous?: RunRecord
  /** Node ids to recompute even when cached; "*" for all. */
  readonly force?: ReadonlyArray<string>
  /** The nodes to bring up to date; all when absent. */
  readonly selected?: ReadonlySet<string>
  /** Fingerprints of external data, by node id (see KindSignature.externalFingerprint). */
  readonly external?: ReadonlyMap<string, string>
}

export const keyMaterial = (
  graph: PipelineGraph,
  id: string,
  keys: ReadonlyMap<string, string>,
  backend: string,
  external?: string,
): KeyMaterial => {
  const node = graph.nodes.get(id)!
  const inputs = Object.fromEntries(
    Object.entries(node.inputs).map(([port, ref]) => [port, refsOf(ref).map((r) => `${keys.get(r.node)}:${r.port}`)]),
  )
  return {
    kind: node.kind.kind,
    version: node.kind.version,
    config: node.kind.shardable ? withoutShardSize(node.config) : node.config,
    inputs,
    ...(node.kind.seeded ? { seed: graph.seed } : {}),
    ...(node.kind.backendSensitive ? { backend } : {}),
    ...(external !== undefined ? { external } : {}),
  }
}

const withoutShardSize = (config: unknown): unknown => {
  const { shard_size: _, ...rest } = config as Record<string, unknown>
  return rest
}

/** The nodes a target needs: itself and everything upstream of it. */
export const upstreamOf = (graph: PipelineGraph, targets: ReadonlyArray<string>): Set<string> => {
  const needed = new Set<string>()
  const visit = (id: string) => {
    if (needed.has(id)) return
    needed.add(id)
    for (const ref of Object.values(graph.nodes.get(id)?.inputs ?? {})) for (const r of refsOf(ref)) visit(r.node)
  }
  targets.forEach(visit)
  return needed
}

export const plan = (graph: PipelineGraph, options: PlanOptions): PlannedNode[] => {
  const keys = new Map<string, string>()
  const planned = new Map<string, PlannedNode>()
  const forced = new Set(options.force ?? [])
  for (const id of graph.order) {
    const material = keyMaterial(graph, id, keys, options.backend, options.external?.get(id))
    const key = cacheKey(material)
    keys.set(id, key)
    if (options.selected && !options.selected.has(id)) continue
    const isForced = forced.has(id) || forced.has("*")
    const cached = !isForced && options.isStored(key)
    const reason = cached ? "cached" : isForced ? "forced (--force)" : whyRun(id, material, options.previous, planned, graph)
    planned.set(id, { id, key, material, status: cached ? "cached" : "run", reason, ...(isForced ? { forced: true } : {}) })
  }
  return [...planned.values()]
}

const whyRun = (
  id: string,
  material: KeyMaterial,
  previous: RunRecord | undefined,
  planned: ReadonlyMap<string, PlannedNode>,
  graph: PipelineGraph,
): string => {
  const before = previous?.nodes[id]?.material
  if (!before) return "never run"
  if (before.kind !== material.kind) return `its kind changed from ${before.kind} to ${material.kind}`
  if (before.version !== material.version)
    return `the implementation of '${material.kind}' changed (version ${before.version} -> ${material.version})`
  const reasons = configChanges(before.config, material.config, ["with"])
  for (const [port, keys] of Object.entries(material.inputs)) {
    if (canonicalJson(keys) === canonicalJson(before.inputs[port] ?? [])) continue
    const sources = refsOf(graph.nodes.get(id)!.inputs[port]).map((r) => r.node)
    const upstream = sources.map((s) => `'${s}'${planned.get(s)?.status === "run" ? " will run" : " changed"}`)
    reasons.push(`input '${port}' changed (${upstream.join(", ")})`)
  }
  for (const port of Object.keys(before.inputs)) if (!(port in material.inputs)) reasons.push(`input '${port}' was removed`)
  if (before.seed !== material.seed) reasons.push(`the pipeline seed changed from ${before.seed} to ${material.seed}`)
  if (before.backend !== material.backend) reasons.push(`the backend changed from ${before.backend} to ${material.backend}`)
  if (before.external !== material.external) reasons.push("the data it reads changed")
  if (reasons.length === 0) return "its result is not in the cache (removed, or the last run did not finish it)"
  return reasons.length > 3 ? `${reasons.slice(0, 3).join("; ")}; and ${reasons.length - 3} more changes` : reasons.join("; ")
}

const show = (value: unknown): string => (value === undefined ? "(unset)" : canonicalJson(value))

/** Leaf-level differences between two configs, as "with.lr changed from 0.0001 to 0.0002". */
export const configChanges = (before: unknown, after: unknown, path: string[]): string[] => {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v)
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()
    return keys.flatMap((k) => configChanges(before[k], after[k], [...path, k]))
  }
  if (canonicalJson(before) === canonicalJson(after)) return []
  return [`${path.join(".")} changed from ${show(before)} to ${show(after)}`]
}
