import type { NodeKind } from "./contract.js"
import { degrade } from "./degrade.js"
import { load } from "./load.js"
import { schedule } from "./schedule.js"
import { train } from "./train.js"

/** Every node kind that ships with `pipe`. */
export const builtinKinds: ReadonlyArray<NodeKind> = [load, degrade, schedule, train]
