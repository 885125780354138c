import type { NodeKind } from "./contract.js"
import { baseline } from "./baseline.js"
import { degrade } from "./degrade.js"
import { earlyStop } from "./early-stop.js"
import { importCheckpoint } from "./import-checkpoint.js"
import { load } from "./load.js"
import { metric } from "./metric.js"
import { sample } from "./sample.js"
import { schedule } from "./schedule.js"
import { train } from "./train.js"

/** Every node kind that ships with `pipe`. */
export const builtinKinds: ReadonlyArray<NodeKind> = [load, degrade, schedule, train, importCheckpoint, sample, earlyStop, baseline, metric]
