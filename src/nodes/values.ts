import { Effect } from "effect"
import { openSource } from "../dirac/data/source.js"
import type { ImageSource, SourceDescription } from "../dirac/data/types.js"
import { processFromDescription, type DegradationProcess, type ProcessDescription } from "../dirac/operators/process.js"
import { NodeFailure, type Json, type PortValue } from "./contract.js"

/** How the values of each port kind are carried in a PortValue. */

export const failure = (cause: unknown): NodeFailure => new NodeFailure({ message: cause instanceof Error ? cause.message : String(cause) })

/** `images`: a handle to an image source (pixels are read on demand). */
export const imagesValue = (source: ImageSource): PortValue => ({
  meta: { source: source.describe() as unknown as Json, count: source.count },
  tensors: {},
})

export const openImages = (value: PortValue): Effect.Effect<ImageSource, NodeFailure> =>
  Effect.tryPromise({ try: () => openSource((value.meta as unknown as { source: SourceDescription }).source), catch: failure })

/** `process`: the JSON description of a degradation process. */
export const processValue = (process: DegradationProcess): PortValue => ({ meta: process.describe() as unknown as Json, tensors: {} })

export const readProcess = (value: PortValue): Effect.Effect<DegradationProcess, NodeFailure> =>
  Effect.try({ try: () => processFromDescription(value.meta as unknown as ProcessDescription), catch: failure })

export const single = (value: PortValue | ReadonlyArray<PortValue>): PortValue => (Array.isArray(value) ? value[0] : (value as PortValue))
