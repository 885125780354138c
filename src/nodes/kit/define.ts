import { Effect, Schema } from "effect"
import type { UNetArgs } from "../../dirac/network/config.js"
import type { InputPort, OutputPort, PortType } from "../../dsl/ports.js"
import type { InputSources, InputTypes, TypingResult } from "../../dsl/signature.js"
import { NodeFailure, type NodeContext, type NodeKind, type PortValue, type ShardedWork } from "../contract.js"
import type { PortCodec } from "./codec.js"
import { configJsonSchema } from "./config.js"

export interface InputSpec<T> {
  readonly codec: PortCodec<T>
  readonly description: string
  readonly required?: boolean
  /** Accepts a list of references; the node receives an array. */
  readonly many?: boolean
}

export interface OutputSpec<T> {
  readonly codec: PortCodec<T>
  readonly description: string
  /** Produced only for some configs or inputs (the kind's typing says when). */
  readonly optional?: boolean
}

type Inputs = Record<string, InputSpec<any>>
type Outputs = Record<string, OutputSpec<any>>
type ValueOf<S> = S extends { readonly codec: PortCodec<infer T> } ? T : never

/** Decoded inputs: a list for `many` ports, possibly undefined for optional ones. */
export type DecodedInputs<I extends Inputs> = {
  readonly [P in keyof I]: I[P] extends { many: true }
    ? ReadonlyArray<ValueOf<I[P]>>
    : I[P] extends { required: false }
      ? ValueOf<I[P]> | undefined
      : ValueOf<I[P]>
}

export type TypedOutputs<O extends Outputs> = { readonly [P in keyof O as O[P] extends { optional: true } ? never : P]: ValueOf<O[P]> } & {
  readonly [P in keyof O as O[P] extends { optional: true } ? P : never]?: ValueOf<O[P]>
}

/** The types of the connected inputs, as the DSL inferred them (absent when not connected or not known). */
export type InputTypesOf<I extends Inputs> = {
  readonly [P in keyof I]?: I[P] extends { many: true } ? ReadonlyArray<PortType> : PortType
}

export interface KindContext<Config, I extends Inputs> extends Omit<NodeContext<Config>, "inputs"> {
  readonly inputs: DecodedInputs<I>
}

type ConfigSchema = Schema.Top & { readonly DecodingServices: never }

/** How a shard's part of the work is stored and read back. */
export type PartCodec<P> = Pick<PortCodec<P>, "encode" | "decode">

/** A kind whose work divides over images (see ShardedWork); its `run` is `merge` of the one part of all the units. */
export interface ShardsDefinition<Config, I extends Inputs, O extends Outputs, P> {
  readonly part: PartCodec<P>
  readonly units: (ctx: KindContext<Config, I>) => ReadonlyArray<string>
  readonly compute: (ctx: KindContext<Config, I>, ids: ReadonlyArray<string>) => Effect.Effect<P, NodeFailure>
  readonly merge: (ctx: KindContext<Config, I>, parts: ReadonlyArray<P>) => Effect.Effect<TypedOutputs<O>, NodeFailure>
  /** Frees what a part holds (tensors). */
  readonly dispose: (part: P) => void
}

type Runs<C extends ConfigSchema, I extends Inputs, O extends Outputs, P> =
  | { readonly run: (ctx: KindContext<C["Type"], I>) => Effect.Effect<TypedOutputs<O>, NodeFailure>; readonly shards?: never }
  | { readonly shards: ShardsDefinition<C["Type"], I, O, P>; readonly run?: never }

export type KindDefinition<C extends ConfigSchema, I extends Inputs, O extends Outputs, P = never> = KindBase<C, I, O> & Runs<C, I, O, P>

interface KindBase<C extends ConfigSchema, I extends Inputs, O extends Outputs> {
  readonly kind: string
  /** Bump when results change for the same config and inputs (part of every cache key). */
  readonly version: number
  readonly summary: string
  /** Longer text for the config's JSON Schema (editors show it). */
  readonly description: string
  readonly config: C
  readonly inputs: I
  readonly outputs: O
  readonly defaultOutput?: keyof O & string
  readonly typing?: (config: C["Type"], inputs: InputTypesOf<I>, given: ReadonlySet<string>, sources: InputSources) => TypingResult
  readonly seeded?: boolean
  readonly backendSensitive?: boolean
  readonly sharesBackend?: boolean
  /** `setting(key)`: what to `--set` to change a config key, for messages. */
  readonly externalFingerprint?: (config: C["Type"], setting: (key: string) => string) => Promise<string>
  readonly network?: (config: C["Type"]) => { readonly preset: string; readonly args: UNetArgs }
}

/**
 * A node kind declared once: its config schema gives the TypeScript type, the JSON Schema (validation, editors)
 * and the decoded config; its ports' codecs turn stored values into typed ones and back.
 */
export const defineKind = <C extends ConfigSchema, I extends Inputs, O extends Outputs, P = never>(
  definition: KindDefinition<C, I, O, P>,
): NodeKind<C["Type"]> => {
  const decodeConfig = Schema.decodeUnknownSync(definition.config)
  const port = <S extends InputSpec<unknown> | OutputSpec<unknown>>(spec: S) => ({
    type: spec.codec.kind,
    description: spec.description,
  })
  const inputs: Record<string, InputPort> = Object.fromEntries(
    Object.entries(definition.inputs).map(([name, spec]) => [
      name,
      { ...port(spec), ...(spec.required === false ? { required: false } : {}), ...(spec.many ? { many: true } : {}) },
    ]),
  )
  const outputs: Record<string, OutputPort> = Object.fromEntries(
    Object.entries(definition.outputs).map(([name, spec]) => [name, { ...port(spec), ...(spec.optional ? { optional: true } : {}) }]),
  )
  return {
    kind: definition.kind,
    version: definition.version,
    summary: definition.summary,
    configSchema: configJsonSchema(definition.kind, definition.description, definition.config),
    inputs,
    outputs,
    ...(definition.defaultOutput ? { defaultOutput: definition.defaultOutput } : {}),
    ...(definition.seeded ? { seeded: true } : {}),
    ...(definition.backendSensitive ? { backendSensitive: true } : {}),
    ...(definition.sharesBackend ? { sharesBackend: true } : {}),
    ...(definition.typing
      ? { typing: (config, types, given, sources) => definition.typing!(decodeConfig(config), typesOf<I>(types), given, sources) }
      : {}),
    ...(definition.network ? { network: (config) => definition.network!(decodeConfig(config)) } : {}),
    ...(definition.externalFingerprint
      ? { externalFingerprint: (config, setting) => definition.externalFingerprint!(decodeConfig(config), setting) }
      : {}),
    ...(definition.shards ? { shardable: true, shards: (ctx) => shardedWork(definition.shards!, typed(ctx)) } : {}),
    run: (ctx) =>
      Effect.gen(function* () {
        const kindCtx = yield* typed(ctx)
        const outputs = definition.shards ? yield* unsharded(definition.shards, kindCtx) : yield* definition.run!(kindCtx)
        return yield* encodeOutputs(ctx.id, outputs)
      }),
  }

  /** The context with decoded config and inputs. */
  function typed(ctx: NodeContext<unknown>): Effect.Effect<KindContext<C["Type"], I>, NodeFailure> {
    return Effect.gen(function* () {
      const decoded: Record<string, unknown> = {}
      for (const [name, spec] of Object.entries(definition.inputs)) {
        const stored = ctx.inputs[name]
        if (stored === undefined) continue
        const decode = (value: PortValue, i: number) =>
          spec.codec.decode(value).pipe(Effect.mapError(naming(ctx.sources[name]?.[i] ?? `input '${name}'`)))
        decoded[name] = Array.isArray(stored)
          ? yield* Effect.forEach(stored as ReadonlyArray<PortValue>, decode)
          : yield* decode(stored as PortValue, 0)
      }
      return { ...ctx, config: decodeConfig(ctx.config), inputs: decoded as DecodedInputs<I> }
    })
  }

  function encodeOutputs(id: string, outputs: TypedOutputs<O>): Effect.Effect<Record<string, PortValue>, NodeFailure> {
    return Effect.gen(function* () {
      const stored: Record<string, PortValue> = {}
      for (const [name, value] of Object.entries(outputs as Record<string, unknown>)) {
        if (value !== undefined)
          stored[name] = yield* definition.outputs[name].codec.encode(value).pipe(Effect.mapError(naming(`${id}.${name}`)))
      }
      return stored
    })
  }

  function shardedWork(shards: ShardsDefinition<C["Type"], I, O, P>, decoding: Effect.Effect<KindContext<C["Type"], I>, NodeFailure>) {
    return Effect.map(decoding, (kindCtx): ShardedWork => ({
      units: shards.units(kindCtx),
      // The stored value takes over what the part holds.
      part: (shardCtx, ids) =>
        Effect.flatMap(shards.compute({ ...kindCtx, ...shardCtx, config: kindCtx.config, inputs: kindCtx.inputs }, ids), (part) =>
          shards.part.encode(part).pipe(Effect.onError(() => Effect.sync(() => shards.dispose(part)))),
        ),
      merge: (stored) =>
        Effect.gen(function* () {
          const parts = yield* Effect.forEach(stored, shards.part.decode)
          return yield* encodeOutputs(kindCtx.id, yield* shards.merge(kindCtx, parts))
        }),
    }))
  }
}

/** A sharded kind run in one piece: the merge of one part of all its units. */
const unsharded = <Config, I extends Inputs, O extends Outputs, P>(
  shards: ShardsDefinition<Config, I, O, P>,
  ctx: KindContext<Config, I>,
) =>
  Effect.acquireUseRelease(
    shards.compute(ctx, shards.units(ctx)),
    (part) => shards.merge(ctx, [part]),
    (part) => Effect.sync(() => shards.dispose(part)),
  )

/** A port's codec failure, told which output (`validation_run.trajectories`) the value is. */
const naming = (output: string) => (error: NodeFailure) => new NodeFailure({ message: `${output}: ${error.message}` })

/** The graph builder gives a list for `many` ports and one type otherwise, as InputTypesOf says. */
const typesOf = <I extends Inputs>(types: InputTypes): InputTypesOf<I> => types as InputTypesOf<I>
