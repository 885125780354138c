import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"
import { cpuEngine, largestNetwork, webgpuWorthwhile } from "../../src/cli/auto-policy.js"
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
    expect(largestNetwork(graph)).toEqual({ preset: "tiny-32", parameters: 461_411, resolution: 32 })
    expect(webgpuWorthwhile(graph)).toBe(false)
  })

  it("for the paper's base network, trained or imported from the official checkpoint", () => {
    expect(largestNetwork(graphOf("ffhq-blur.yaml"))?.parameters).toBe(67_745_027)
    expect(webgpuWorthwhile(graphOf("ffhq-blur.yaml"))).toBe(true)
    expect(webgpuWorthwhile(graphOf("ffhq-blur-official.yaml"))).toBe(true)
  })

  it("follows the network the pipeline is set to", () => {
    expect(webgpuWorthwhile(graphOf("quickstart-blur.yaml", ["model.with.preset=base", "params.resolution=256"]))).toBe(true)
    expect(
      webgpuWorthwhile(graphOf("ffhq-blur.yaml", ["model_dt0.with.network.model_channels=16", "model_dt1.with.network.model_channels=16"])),
    ).toBe(false)
  })
})

describe("which CPU engine --backend auto takes", () => {
  it("wasm for the quickstart's tiny-32, whose many small kernel calls cost less there", () => {
    expect(cpuEngine(graphOf("quickstart-blur.yaml"))).toMatchObject({
      engine: "wasm",
      why: expect.stringContaining("tiny-32, 0.46 M parameters at 32 px"),
    })
  })

  it("native TensorFlow for small-64 and the paper's networks", () => {
    expect(cpuEngine(graphOf("quickstart-blur.yaml", ["model.with.preset=small-64", "params.resolution=64"])).engine).toBe("tensorflow")
    expect(cpuEngine(graphOf("ffhq-blur.yaml"))).toMatchObject({
      engine: "tensorflow",
      why: expect.stringContaining("base, 67.75 M parameters at 256 px"),
    })
  })

  it("wasm when there is no network at all", () => {
    expect(cpuEngine(graphOf("examples/blur-schedule.yaml"))).toMatchObject({ engine: "wasm", why: expect.stringContaining("no network") })
  })
})
