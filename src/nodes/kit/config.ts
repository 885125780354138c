import { Effect, JsonSchema, Schema } from "effect"
import type { JsonSchema as JsonSchemaObject } from "../../dsl/signature.js"

/** An optional config key with a default: absent in the file, present (and typed as such) in the config. */
export const withDefault = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S, value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(schema.annotate({ default: value }) as S)

/** `shard_size` of a kind with shards; the runtime leaves it out of the cache key, since results do not depend on it. */
export const shardSize = Schema.optionalKey(
  Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
    description:
      "images per shard: each shard is computed and cached on its own (by other processes with --shard-index or --queue), then merged; the result is the same bit for bit (default: --shard-size, else one piece)",
  }),
)

/** A config's JSON Schema (draft-07, as ajv and editors read it), with the kind's title and description. */
export const configJsonSchema = (kind: string, description: string, config: Schema.Top): JsonSchemaObject => {
  const document = JsonSchema.toDocumentDraft07(Schema.toJsonSchemaDocument(config, { onExcessProperty: "error" }))
  return { title: kind, description, ...simplify(document.schema) }
}

/** `enum` already says the type; a second `type` keyword would only double every error message. */
const simplify = (schema: JsonSchema.JsonSchema): JsonSchemaObject => {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key === "type" && "enum" in schema) continue
    if ((key === "minimum" || key === "maximum") && Math.abs(Number(value)) === Number.MAX_SAFE_INTEGER) continue
    if (key === "properties" && isObject(value)) out[key] = mapValues(value, simplify)
    else if (key === "items" && isObject(value)) out[key] = simplify(value)
    else out[key] = value
  }
  return out
}

const isObject = (value: unknown): value is Record<string, JsonSchema.JsonSchema> =>
  value !== null && typeof value === "object" && !Array.isArray(value)

const mapValues = <A, B>(record: Record<string, A>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]))
