import { Context, Layer } from "effect"
import type { NodeKind } from "../nodes/contract.js"

export interface NodeRegistryShape {
  readonly get: (kind: string) => NodeKind | undefined
}

/** The node kinds a run can execute, as its caller provides them (the CLI: the built-in kinds and the plugins'). */
export class NodeRegistry extends Context.Service<NodeRegistry, NodeRegistryShape>()("dirac-pipe/runtime/NodeRegistry") {
  /** Later definitions of a kind replace earlier ones. */
  static readonly layer = (kinds: ReadonlyArray<NodeKind>) => {
    const byName = new Map(kinds.map((k) => [k.kind, k]))
    return Layer.succeed(NodeRegistry, NodeRegistry.of({ get: (kind) => byName.get(kind) }))
  }
}
