import { Context, Layer } from "effect"
import { seedFromKey } from "./cache-key.js"

export interface SeedsShape {
  /** The pipeline's seed: part of the cache key of every node that draws random numbers. */
  readonly pipelineSeed: number
  /** The seed a node draws from: a function of its cache key, so equal work always draws equal numbers. */
  readonly forNode: (key: string) => number
}

export class Seeds extends Context.Service<Seeds, SeedsShape>()("dirac-pipe/runtime/Seeds") {
  static readonly layer = (pipelineSeed: number) => Layer.succeed(Seeds, Seeds.of({ pipelineSeed, forNode: seedFromKey }))
}
