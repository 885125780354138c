import type { UNetArgs } from "../dirac/network/config.js"
import type { DocPath } from "./diagnostics.js"
import type { InputPort, OutputPort, PortType } from "./ports.js"

export type JsonSchema = { readonly [key: string]: unknown }

export type InputTypes = Readonly<Record<string, PortType | ReadonlyArray<PortType>>>

/** Per input port, the outputs it reads (`node.port`), in the order written. */
export type InputSources = Readonly<Record<string, ReadonlyArray<string>>>

export interface TypingResult {
  /** Output types refined from the config and the input types (e.g. the resolution of loaded images). */
  readonly outputs?: Readonly<Record<string, PortType>>
  /** What the node needs on an input beyond its kind (e.g. images of the model's resolution). */
  readonly expects?: Readonly<Record<string, PortType>>
  /** Optional outputs this config does not produce, with the reason (a reference to one is an error). */
  readonly absent?: Readonly<Record<string, string>>
  /** Problems found from config and inputs together; paths are relative to the node (`["with", "resolution"]`). */
  readonly errors?: ReadonlyArray<{ readonly path: DocPath; readonly message: string }>
}

/** What the DSL knows of a node kind: enough to validate and type-check a graph without running it. */
export interface KindSignature {
  readonly kind: string
  /** Bump when the kind's results change for the same config and inputs: it is part of every cache key. */
  readonly version: number
  readonly summary: string
  /** JSON Schema of `with`, defaults included (a validated config is complete). */
  readonly configSchema: JsonSchema
  readonly inputs: Readonly<Record<string, InputPort>>
  readonly outputs: Readonly<Record<string, OutputPort>>
  /** The port a bare `in: { x: node }` reference means when the kind has several outputs. */
  readonly defaultOutput?: string
  /**
   * `given`: the options written in the pipeline or by `--set`, before schema defaults filled the rest; `sources`:
   * per input, the outputs it reads, as `node.port`.
   */
  readonly typing?: (config: any, inputs: InputTypes, given: ReadonlySet<string>, sources: InputSources) => TypingResult
  /** Draws random numbers: the pipeline seed is part of its cache key. */
  readonly seeded?: boolean
  /** Its results depend on the tensor backend's arithmetic: the backend fingerprint is part of its key. */
  readonly backendSensitive?: boolean
  /**
   * A fingerprint of what the node reads from outside the graph (files, folders), computed before planning and
   * made part of the cache key, so that changed data re-runs the node.
   */
  /** `setting(key)`: what to `--set` to change a config key (`params.data`, or `NODE.with.root`), for messages. */
  readonly externalFingerprint?: (config: any, setting: (key: string) => string) => Promise<string>
  /** The network the node makes (trains or imports), for choosing a backend; it may throw for a bad config. */
  readonly network?: (config: any) => { readonly preset: string; readonly args: UNetArgs }
  /** Does no heavy tensor work, so it may run while another node holds the backend. */
  readonly sharesBackend?: boolean
  /**
   * Its work divides over images into shards (config `shard_size`) that are cached on their own; `shard_size` is
   * not part of its cache key, since the result does not depend on it.
   */
  readonly shardable?: boolean
}

export type KindLookup = (kind: string) => KindSignature | undefined
