import type { JsonSchema, KindSignature } from "./signature.js"

export const nodeIdPattern = "^[A-Za-z_][A-Za-z0-9_-]*$"
export const configSchemaRef = (kind: string): string => `nodes/${kind}.schema.json`

/**
 * The JSON Schema of a pipeline file for the given node kinds. Each node's `with` is checked against its kind's
 * schema through `if use = KIND then with: $ref nodes/KIND.schema.json`, which editors follow for completion.
 */
export const pipelineSchema = (kinds: ReadonlyArray<KindSignature>): JsonSchema => ({
  $schema: "http://json-schema.org/draft-07/schema#",
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
    seed: { type: "integer", minimum: 0, default: 0, description: "Seed of every random draw in the run." },
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
              then: { properties: { with: { $ref: configSchemaRef(k.kind) } } },
            })),
    },
  },
})
