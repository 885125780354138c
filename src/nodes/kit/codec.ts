import { Effect, Schema } from "effect"
import type { PortKind } from "../../dsl/ports.js"
import { NodeFailure, type PortValue } from "../contract.js"

/** How a port kind's typed value is stored (a PortValue: JSON metadata and named tensors) and read back. */
export interface PortCodec<T> {
  readonly kind: PortKind
  readonly encode: (value: T) => Effect.Effect<PortValue, NodeFailure>
  readonly decode: (stored: PortValue) => Effect.Effect<T, NodeFailure>
}

export const failure = (cause: unknown): NodeFailure => new NodeFailure({ message: cause instanceof Error ? cause.message : String(cause) })

/** Decodes a stored port's metadata with `schema`; a mismatch names the port kind and what is wrong. */
export const decodeMeta = <S extends Schema.Top & { readonly DecodingServices: never }>(kind: PortKind, schema: S) => {
  const decode = Schema.decodeUnknownEffect(Schema.toCodecJson(schema))
  return (meta: unknown): Effect.Effect<S["Type"], NodeFailure> =>
    decode(meta).pipe(Effect.mapError((error) => new NodeFailure({ message: `a stored ${kind} value is malformed: ${error.message}` })))
}

export const encodeMeta = <S extends Schema.Top & { readonly EncodingServices: never }>(schema: S) => {
  const encode = Schema.encodeEffect(Schema.toCodecJson(schema))
  return (value: S["Type"]): Effect.Effect<Schema.Json, NodeFailure> => encode(value).pipe(Effect.mapError(failure))
}

/** A port whose whole value is JSON metadata described by `schema` (no tensors). */
export const metaCodec = <S extends Schema.Top & { readonly DecodingServices: never; readonly EncodingServices: never }>(
  kind: PortKind,
  schema: S,
): PortCodec<S["Type"]> => {
  const encode = encodeMeta(schema)
  const decode = decodeMeta(kind, schema)
  return {
    kind,
    encode: (value) => Effect.map(encode(value), (meta) => ({ meta, tensors: {} })),
    decode: (stored) => decode(stored.meta),
  }
}

/** Any value as JSON, as JSON.stringify writes it (non-finite numbers become null). */
export const toJson = (value: unknown): Schema.Json => Schema.decodeUnknownSync(Schema.Json)(JSON.parse(JSON.stringify(value ?? null)))
