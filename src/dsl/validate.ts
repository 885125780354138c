import { Ajv, type ErrorObject, type ValidateFunction } from "ajv"
import type { DocPath } from "./diagnostics.js"
import { pipelineSchema } from "./schema.js"
import type { KindSignature } from "./signature.js"
import { didYouMean } from "./suggest.js"

export interface SchemaProblem {
  readonly path: DocPath
  /** Point at the key rather than its value (unknown keys). */
  readonly atKey: boolean
  readonly message: string
}

/** Compiles the pipeline schema for a set of kinds once; validation fills defaults in place. */
export const makeValidator = (kinds: ReadonlyArray<KindSignature>) => {
  // strictNumbers: `.inf` and `1e400` (Infinity) are not numbers in a pipeline.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true, strictNumbers: true })
  const validate: ValidateFunction = ajv.compile(exactIntegers(pipelineSchema(kinds)))
  return (data: unknown): SchemaProblem[] => {
    if (validate(data)) return []
    return (validate.errors ?? []).flatMap((error) => describe(error, data))
  }
}

/** Bounds every integer of a schema to those a double holds exactly: 99999999999999999999 is not an integer here. */
const exactIntegers = (schema: unknown): any => {
  if (Array.isArray(schema)) return schema.map(exactIntegers)
  if (schema === null || typeof schema !== "object") return schema
  const copy: Record<string, unknown> = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, exactIntegers(v)]))
  if (copy.type === "integer") {
    copy.minimum ??= -Number.MAX_SAFE_INTEGER
    copy.maximum ??= Number.MAX_SAFE_INTEGER
  }
  return copy
}

const pointerToPath = (pointer: string): string[] =>
  pointer === ""
    ? []
    : pointer
        .slice(1)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))

const valueAt = (data: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), data)

const show = (value: unknown): string =>
  typeof value === "string" ? `'${value}'` : typeof value === "number" ? String(value) : JSON.stringify(value)

const describe = (error: ErrorObject, data: unknown): SchemaProblem[] => {
  const path = pointerToPath(error.instancePath)
  const value = valueAt(data, path)
  const at = (message: string, extra: string[] = [], atKey = false): SchemaProblem[] => [{ path: [...path, ...extra], atKey, message }]
  const p = error.params as Record<string, any>
  switch (error.keyword) {
    case "if":
      return []
    case "required":
      return at(`missing required key '${p.missingProperty}'`)
    case "additionalProperties": {
      const schema = error.parentSchema as { properties?: Record<string, unknown> } | undefined
      const known = Object.keys(schema?.properties ?? {})
      const hint = didYouMean(p.additionalProperty, known) || (known.length ? ` (known keys: ${known.join(", ")})` : "")
      return at(`unknown key '${p.additionalProperty}'${hint}`, [p.additionalProperty], true)
    }
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(String)
      if (path[path.length - 1] === "use") {
        return at(`unknown node kind ${show(value)}${didYouMean(String(value), allowed)} (run 'pipe nodes' for the list)`)
      }
      return at(`must be one of ${allowed.join(", ")}; got ${show(value)}${didYouMean(String(value), allowed)}`)
    }
    case "const":
      return at(`must be ${show(p.allowedValue)}; got ${show(value)}`)
    case "type":
      return at(`must be ${[p.type].flat().join(" or ")}; got ${value === null ? "nothing (null)" : `${typeof value} ${show(value)}`}`)
    default:
      return at(`${error.message ?? "is invalid"}; got ${show(value)}`)
  }
}
