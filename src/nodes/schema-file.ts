import { readFileSync } from "node:fs"
import type { JsonSchema } from "../dsl/signature.js"

/** A built-in kind's config schema: the file `schemas/nodes/KIND.schema.json`, which editors use too. */
export const configSchemaFile = (kind: string): JsonSchema =>
  JSON.parse(readFileSync(new URL(`../../schemas/nodes/${kind}.schema.json`, import.meta.url), "utf8")) as JsonSchema
