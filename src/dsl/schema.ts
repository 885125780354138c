import type { JsonSchema, KindSignature } from "./signature.js"

export const nodeIdPattern = "^[A-Za-z_][A-Za-z0-9_-]*$"

const DRAFT_07 = "http://json-schema.org/draft-07/schema#"
export const pipelineSchemaId = "urn:dirac-pipe:schema:pipeline"
export const kindSchemaId = (kind: string): string => `urn:dirac-pipe:schema:node:${kind}`

/**
 * For editors, a file before `${params.NAME}` references are replaced: such a string may stand wherever a
 * number, boolean, choice, list or mapping is expected (a plain string accepts it already).
 */
const reference = {
  type: "string",
  pattern: "^\\$\\{\\s*params\\.[^}]+\\}$",
  description: "a ${params.NAME} reference, replaced by the parameter's value before the pipeline is checked",
}

const ANNOTATIONS = ["title", "description", "default"]

/** A config's schema whose every non-string value (at any depth) also accepts a `#/definitions/reference`. */
export const allowReferences = (schema: JsonSchema): JsonSchema => {
  const inner: Record<string, unknown> = { ...schema }
  if (isRecord(inner.properties)) {
    inner.properties = Object.fromEntries(Object.entries(inner.properties).map(([k, v]) => [k, orReference(v as JsonSchema)]))
  }
  if (isRecord(inner.items)) inner.items = orReference(inner.items as JsonSchema)
  return inner
}

const orReference = (schema: JsonSchema): JsonSchema => {
  const inner: Record<string, unknown> = allowReferences(schema)
  if (schema.type === "string" && schema.enum === undefined) return inner
  const outer: Record<string, unknown> = {}
  for (const key of ANNOTATIONS) {
    if (key in inner) {
      outer[key] = inner[key]
      delete inner[key]
    }
  }
  return { ...outer, anyOf: [inner, { $ref: "#/definitions/reference" }] }
}

const configDefinition = (kind: string): string => `config-${kind}`

/**
 * The JSON Schema of a pipeline file for the given node kinds, in one document: each node's `with` is checked
 * against its kind's config through `if use = KIND then with: #/definitions/config-KIND`. The `editor` form is
 * the one shipped in schemas/: it accepts `${params.NAME}` references, which the tool resolves before it checks.
 */
export const pipelineSchema = (kinds: ReadonlyArray<KindSignature>, form: "resolved" | "editor" = "resolved"): JsonSchema => {
  const editor = form === "editor"
  const config = (k: KindSignature) => (editor ? allowReferences(k.configSchema) : k.configSchema)
  const seed = { type: "integer", minimum: 0, default: 0, description: "Seed of every random draw in the run." }
  return {
    $schema: DRAFT_07,
    ...(editor ? { $id: pipelineSchemaId } : {}),
    title: "dirac-pipe pipeline",
    description: "A DiracDiffusion pipeline: a graph of typed nodes. See README.md, 'Authoring a pipeline'.",
    type: "object",
    required: ["version", "name", "nodes"],
    additionalProperties: false,
    properties: {
      version: { const: 1, description: "Pipeline file format version." },
      name: {
        type: "string",
        pattern: "^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description: "Name of the pipeline (runs and caches are grouped by it).",
      },
      description: { type: "string" },
      seed: editor ? orReference(seed) : seed,
      params: { type: "object", description: "Named values, referenced as ${params.NAME}; override with --set params.NAME=VALUE." },
      nodes: {
        type: "object",
        minProperties: 1,
        description: "The graph: node id -> node.",
        additionalProperties: { $ref: "#/definitions/node" },
      },
    },
    definitions: {
      node: {
        type: "object",
        required: ["use"],
        additionalProperties: false,
        properties: {
          use: kinds.length > 0 ? { enum: kinds.map((k) => k.kind), description: "The node kind." } : { type: "string" },
          description: { type: "string" },
          with: { type: "object", description: "The kind's configuration." },
          in: {
            type: "object",
            description: "Inputs: port -> 'node' or 'node.port' (or a list of them for ports that take several).",
            additionalProperties: { type: ["string", "array"], items: { type: "string" } },
          },
        },
        allOf:
          kinds.length === 0
            ? undefined
            : kinds.map((k) => ({
                if: { properties: { use: { const: k.kind } }, required: ["use"] },
                then: { properties: { with: { $ref: `#/definitions/${configDefinition(k.kind)}` } } },
              })),
      },
      ...Object.fromEntries(kinds.map((k) => [configDefinition(k.kind), config(k)])),
      ...(editor ? { reference } : {}),
    },
  }
}

/** One kind's config schema as a document of its own, in the editor form (schemas/nodes/KIND.schema.json). */
export const kindSchemaDocument = (kind: KindSignature): JsonSchema => ({
  $schema: DRAFT_07,
  $id: kindSchemaId(kind.kind),
  ...allowReferences(kind.configSchema),
  definitions: { reference },
})

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value)
