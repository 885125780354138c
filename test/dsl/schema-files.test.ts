import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { pipelineSchema } from "../../src/dsl/schema.js"
import { builtinKinds } from "../../src/nodes/index.js"

const read = (path: string) => JSON.parse(readFileSync(new URL(`../../schemas/${path}`, import.meta.url), "utf8"))

describe("schemas/", () => {
  it("pipeline.schema.json is what the built-in kinds generate (regenerate with npm run schemas)", () => {
    expect(read("pipeline.schema.json")).toEqual(JSON.parse(JSON.stringify(pipelineSchema(builtinKinds))))
  })

  it("every built-in kind's config schema is its file in schemas/nodes/, and its defaults are valid", () => {
    for (const kind of builtinKinds) expect(read(`nodes/${kind.kind}.schema.json`)).toEqual(kind.configSchema)
  })
})
