import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { largestNetwork, webgpuWorthwhile } from "../../src/cli/backend-hint.js"
import { loadPipeline } from "../../src/dsl/load.js"
import { builtinKinds } from "../../src/nodes/index.js"

const graphOf = (file: string, overrides: string[] = []) => {
  const path = new URL(`../../pipelines/${file}`, import.meta.url).pathname
  const loaded = loadPipeline(path, readFileSync(path, "utf8"), builtinKinds, overrides)
  expect(loaded.diagnostics ?? []).toEqual([])
  return loaded.graph!
}

describe("whether --backend auto may take WebGPU", () => {
  it("not for the quickstart's tiny-32, which trains faster on the CPU", () => {
    const graph = graphOf("quickstart-blur.yaml")
    expect(largestNetwork(graph)).toBe(461_411)
    expect(webgpuWorthwhile(graph)).toBe(false)
  })

  it("for the paper's base network, trained or imported from the official checkpoint", () => {
    expect(largestNetwork(graphOf("ffhq-blur.yaml"))).toBe(67_745_027)
    expect(webgpuWorthwhile(graphOf("ffhq-blur.yaml"))).toBe(true)
    expect(webgpuWorthwhile(graphOf("ffhq-blur-official.yaml"))).toBe(true)
  })

  it("follows the network the pipeline is set to", () => {
    expect(webgpuWorthwhile(graphOf("quickstart-blur.yaml", ["model.with.preset=base", "params.resolution=256"]))).toBe(true)
    expect(webgpuWorthwhile(graphOf("ffhq-blur.yaml", ["model_dt0.with.network.model_channels=16", "model_dt1.with.network.model_channels=16"]))).toBe(false)
  })
})
