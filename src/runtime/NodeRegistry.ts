import { Context, Effect, Layer } from "effect"
import { pathToFileURL } from "node:url"
import { resolve } from "node:path"
import type { NodeKind } from "../nodes/contract.js"
import { builtinKinds } from "../nodes/index.js"

export interface NodeRegistryShape {
  readonly kinds: ReadonlyArray<NodeKind>
  readonly get: (kind: string) => NodeKind | undefined
}

export class PluginError extends Error {
  readonly _tag = "PluginError"
}

const fromKinds = (kinds: ReadonlyArray<NodeKind>): NodeRegistryShape => {
  const byName = new Map(kinds.map((k) => [k.kind, k]))
  return { kinds: [...byName.values()], get: (kind) => byName.get(kind) }
}

/** Imports plugin modules (each exports `kinds: NodeKind[]`); later definitions of a kind replace earlier ones. */
export const loadPlugins = (paths: ReadonlyArray<string>): Effect.Effect<NodeKind[], PluginError> =>
  Effect.forEach(paths, (path) =>
    Effect.tryPromise({
      try: async () => {
        const module = (await import(pathToFileURL(resolve(path)).href)) as { kinds?: NodeKind[] }
        if (!Array.isArray(module.kinds)) throw new Error("it does not export `kinds` (an array of node kinds)")
        return module.kinds
      },
      catch: (cause) => new PluginError(`plugin ${path}: ${cause instanceof Error ? cause.message : String(cause)}`),
    }),
  ).pipe(Effect.map((lists) => lists.flat()))

/** Built-in node kinds plus those of the plugins named by `--plugin` flags and the PIPE_PLUGINS variable. */
export class NodeRegistry extends Context.Service<NodeRegistry, NodeRegistryShape>()("dirac-pipe/runtime/NodeRegistry") {
  static readonly layer = (pluginPaths: ReadonlyArray<string>) =>
    Layer.effect(
      NodeRegistry,
      Effect.map(loadPlugins(pluginPaths), (plugins) => NodeRegistry.of(fromKinds([...builtinKinds, ...plugins]))),
    )
}
