import { Validator } from "@cfworker/json-schema"
import { readdirSync, readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { kindSchemaDocument, pipelineSchema } from "../../src/dsl/schema.js"
import { builtinKinds } from "../../src/nodes/index.js"

const here = (path: string) => new URL(`../../${path}`, import.meta.url)
const read = (path: string) => JSON.parse(readFileSync(here(`schemas/${path}`), "utf8"))
const pipelines = readdirSync(here("pipelines")).filter((f) => f.endsWith(".yaml"))
const examples = readdirSync(here("pipelines/examples")).filter((f) => f.endsWith(".yaml"))
const shipped = [...pipelines, ...examples.map((f) => `examples/${f}`)]

/** @cfworker/json-schema: a validator written independently of ajv, as an editor's would be. */
const independent = (schema: object) => new Validator(schema as never, "7", false)

describe("schemas/", () => {
  it("pipeline.schema.json and nodes/*.schema.json are what the built-in kinds generate (regenerate: npm run schemas)", () => {
    expect(read("pipeline.schema.json")).toEqual(JSON.parse(JSON.stringify(pipelineSchema(builtinKinds, "editor"))))
    expect(readdirSync(here("schemas/nodes")).sort()).toEqual(builtinKinds.map((k) => `${k.kind}.schema.json`).sort())
    for (const kind of builtinKinds)
      expect(read(`nodes/${kind.kind}.schema.json`)).toEqual(JSON.parse(JSON.stringify(kindSchemaDocument(kind))))
  })

  it("every shipped pipeline, ${params} references and all, validates in an independent validator", () => {
    const validator = independent(read("pipeline.schema.json"))
    expect(shipped.length).toBeGreaterThan(10)
    for (const file of shipped) {
      const result = validator.validate(parse(readFileSync(here(`pipelines/${file}`), "utf8")))
      expect(
        result.errors.map((e) => `${e.instanceLocation}: ${e.error}`),
        file,
      ).toEqual([])
    }
  })

  it("the independent validator still refuses what the tool refuses: a wrong type, a misspelt key, a bad choice", () => {
    const validator = independent(read("pipeline.schema.json"))
    const node = (config: object) => ({ version: 1, name: "p", nodes: { a: { use: "sample", with: config } } })
    expect(validator.validate(node({ dt: 0.1, samples: "${params.n}" })).valid).toBe(true)
    for (const bad of [{ dt: "fast" }, { dtt: 0.1 }, { update: "sideways" }, { samples: 0 }, { guidance: { step: "${steps}" } }]) {
      expect(validator.validate(node(bad)).valid, JSON.stringify(bad)).toBe(false)
    }
  })

  it("each node file stands alone: its references resolve inside it", () => {
    const validator = independent(read("nodes/train.schema.json"))
    expect(validator.validate({ steps: "${params.steps}", network: { channel_mult: [1, "${params.m}"] } }).valid).toBe(true)
    expect(validator.validate({ steps: 0 }).valid).toBe(false)
  })
})
