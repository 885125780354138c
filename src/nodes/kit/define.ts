import { Effect, Schema } from "effect"
import type { UNetArgs } from "../../dirac/network/config.js"
import type { InputPort, OutputPort, PortType } from "../../dsl/ports.js"
import type { InputTypes, TypingResult } from "../../dsl/signature.js"
import { NodeFailure, type NodeContext, type NodeKind, type PortValue } from "../contract.js"
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

export interface KindDefinition<C extends ConfigSchema, I extends Inputs, O extends Outputs> {
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
  readonly typing?: (config: C["Type"], inputs: InputTypesOf<I>, given: ReadonlySet<string>) => TypingResult
  readonly seeded?: boolean
  readonly backendSensitive?: boolean
  readonly sharesBackend?: boolean
  /** `setting(key)`: what to `--set` to change a config key, for messages. */
  readonly externalFingerprint?: (config: C["Type"], setting: (key: string) => string) => Promise<string>
  readonly network?: (config: C["Type"]) => { readonly preset: string; readonly args: UNetArgs }
  readonly run: (ctx: KindContext<C["Type"], I>) => Effect.Effect<TypedOutputs<O>, NodeFailure>
}

/**
 * A node kind declared once: its config schema gives the TypeScript type, the JSON Schema (validation, editors)
 * and the decoded config; its ports' codecs turn stored values into typed ones and back.
 */
export const defineKind = <C extends ConfigSchema, I extends Inputs, O extends Outputs>(
  definition: KindDefinition<C, I, O>,
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
    ...(definition.typing ? { typing: (config, types, given) => definition.typing!(decodeConfig(config), typesOf<I>(types), given) } : {}),
    ...(definition.network ? { network: (config) => definition.network!(decodeConfig(config)) } : {}),
    ...(definition.externalFingerprint
      ? { externalFingerprint: (config, setting) => definition.externalFingerprint!(decodeConfig(config), setting) }
      : {}),
    run: (ctx) =>
      Effect.gen(function* () {
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
        const config = decodeConfig(ctx.config)
        const typed = yield* definition.run({ ...ctx, config, inputs: decoded as DecodedInputs<I> })
        const stored: Record<string, PortValue> = {}
        for (const [name, value] of Object.entries(typed as Record<string, unknown>)) {
          if (value !== undefined)
            stored[name] = yield* definition.outputs[name].codec.encode(value).pipe(Effect.mapError(naming(`${ctx.id}.${name}`)))
        }
        return stored
      }),
  }
}

/** A port's codec failure, told which output (`validation_run.trajectories`) the value is. */
const naming = (output: string) => (error: NodeFailure) => new NodeFailure({ message: `${output}: ${error.message}` })

/** The graph builder gives a list for `many` ports and one type otherwise, as InputTypesOf says. */
const typesOf = <I extends Inputs>(types: InputTypes): InputTypesOf<I> => types as InputTypesOf<I>
