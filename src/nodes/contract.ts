import type * as tfc from "@tensorflow/tfjs-core"
import { Data, type Effect, type Option, type Schema } from "effect"
import type { KindSignature } from "../dsl/signature.js"

export type Json = Schema.Json

/**
 * What flows along an edge and is stored in the cache: JSON metadata plus named tensors. It is saved as one
 * safetensors file (metadata in its header), so any cached value opens in Python with `safetensors`.
 */
export interface PortValue {
  readonly meta: Json
  readonly tensors: Readonly<Record<string, tfc.Tensor>>
}

export interface BackendInfo {
  readonly name: string
  readonly version: string
  readonly device: string
  readonly threads?: number
  /** webgpu only: the adapter is a software rasteriser, not a GPU. */
  readonly softwareEmulation?: boolean
  /** Identifies what changes numeric results; part of the key of backend-sensitive nodes. */
  readonly fingerprint: string
  /** Why this backend was chosen. */
  readonly reason: string
}

/** How far a node has got, as it reports it (the runtime publishes it as a node-progress event). */
export interface Progress {
  readonly done: number
  readonly total?: number
  readonly unit?: string
  readonly scalars?: Readonly<Record<string, number>>
  readonly message?: string
}

/** Saved and restored atomically under the node's cache key; survives a killed run, cleared on success. */
export interface Checkpoints {
  readonly load: Effect.Effect<Option.Option<PortValue>, NodeFailure>
  readonly save: (state: PortValue) => Effect.Effect<void, NodeFailure>
}

export interface NodeContext<Config> {
  readonly id: string
  readonly config: Config
  /** Input values by port; a port declared `many` gets an array in the order of the references. */
  readonly inputs: Readonly<Record<string, PortValue | ReadonlyArray<PortValue>>>
  /** Where each input comes from, as `node.port` (in the order of a `many` port's list). */
  readonly sources: Readonly<Record<string, ReadonlyArray<string>>>
  /** A 32-bit seed derived from the pipeline seed and the node's cache key. */
  readonly seed: number
  /** The pipeline seed itself: for noise that nodes compared with each other must share (common random numbers). */
  readonly pipelineSeed: number
  readonly tf: typeof tfc
  readonly backend: BackendInfo
  /** A folder of this run for files a person looks at (plots, image grids, tables); create it before writing. */
  readonly reportDir: string
  /** Publishes at once (synchronous, so callbacks may `Effect.runSync` it). */
  readonly progress: (progress: Progress) => Effect.Effect<void>
  readonly log: (message: string, level?: "info" | "warn" | "debug") => Effect.Effect<void>
  readonly checkpoints: Checkpoints
}

/** A node's run failed for a reason its user can act on; the message says what happened and what to do. */
export class NodeFailure extends Data.TaggedError("NodeFailure")<{ readonly message: string }> {}

/**
 * A node's work divided over images: each shard's part is computed (and cached) on its own, then the parts merge
 * into the outputs `run` gives, bit for bit.
 */
export interface ShardedWork {
  /** The ids of the images the work divides over, in the order of the outputs. */
  readonly units: ReadonlyArray<string>
  /** One shard's part of the work: the node on the images `ids` only. `ctx` is the shard's own (its checkpoints). */
  readonly part: (ctx: NodeContext<unknown>, ids: ReadonlyArray<string>) => Effect.Effect<PortValue, NodeFailure>
  /** The node's outputs from the parts of consecutive shards that together cover `units`. */
  readonly merge: (parts: ReadonlyArray<PortValue>) => Effect.Effect<Readonly<Record<string, PortValue>>, NodeFailure>
}

/** A node kind: its signature (what the DSL checks) and how it runs. Outputs are disposed by the runtime. */
export interface NodeKind<Config = any> extends KindSignature {
  readonly run: (ctx: NodeContext<Config>) => Effect.Effect<Readonly<Record<string, PortValue>>, NodeFailure>
  /** For a `shardable` kind: its work, to run in shards (the runtime disposes the parts it gets). */
  readonly shards?: (ctx: NodeContext<Config>) => Effect.Effect<ShardedWork, NodeFailure>
}
