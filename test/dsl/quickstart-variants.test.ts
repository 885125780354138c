import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const pipeline = (path: string) => parse(readFileSync(new URL(`../../pipelines/${path}`, import.meta.url), "utf8"))

describe("pipelines/examples/quickstart-blur-6400.yaml", () => {
  it("is the blur quickstart with 6400 training steps, node for node (so the quickstart's cache serves the rest)", () => {
    const quickstart = pipeline("quickstart-blur.yaml")
    const long = pipeline("examples/quickstart-blur-6400.yaml")
    expect(long.params).toEqual({ ...quickstart.params, steps: 6400 })
    expect(long.nodes).toEqual(quickstart.nodes)
    expect(quickstart.nodes.model.with.steps).toBe("${params.steps}")
    expect(quickstart.nodes.supervised_model.with.steps).toBe("${params.steps}")
  })
})
