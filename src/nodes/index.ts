import type { NodeKind } from "./contract.js"

/** Every node kind that ships with `pipe`. */
export const builtinKinds: ReadonlyArray<NodeKind> = []
