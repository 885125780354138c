import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { formatDiagnostic } from "../../src/dsl/diagnostics.js"
import { loadPipeline } from "../../src/dsl/load.js"
import { builtinKinds } from "../../src/nodes/index.js"
import { testKinds } from "../fixtures/kinds.js"

const file = "pipelines/quickstart-inpaint.yaml"
const quickstart = readFileSync(file, "utf8")
const check = (overrides: string[]) => loadPipeline(file, quickstart, builtinKinds, overrides)
const problems = (overrides: string[]) => check(overrides).diagnostics.map(formatDiagnostic)

describe("checks made when typing, not at run time", () => {
  it("takes a single reference on a port of several as a list of one", () => {
    const single =
      "version: 1\nname: x\nnodes:\n  a: { use: make }\n  c: { use: count, in: { in: a } }\n  all: { use: collect, in: { items: c } }\n"
    const { graph, diagnostics } = loadPipeline("p.yaml", single, testKinds)
    expect(diagnostics).toEqual([])
    expect(graph!.nodes.get("all")!.inputs.items).toEqual([{ node: "c", port: "total" }])
    const scores = check(["scores.in.reconstructions=distortion_optimised", "scores.with.paired_against=[]"]).graph!.nodes.get("scores")!
    expect(scores.inputs.reconstructions).toEqual([{ node: "distortion_optimised", port: "reconstructions" }])
  })

  it("refuses early-stop on criterion metric without naming the metric", () => {
    expect(problems(["distortion_rule.with.criterion=metric"])).toEqual([
      "--set distortion_rule.with.criterion=metric nodes.distortion_rule.with.criterion: criterion: metric needs the metric to judge by: add metric: NAME, e.g. ssim_x0",
    ])
    expect(problems(["distortion_rule.with.criterion=metric", "distortion_rule.with.metric=ssim_x0"])).toEqual([])
  })

  it("refuses the DiracDiffusion-only training options with the supervised objective", () => {
    expect(problems(["model.with.objective=supervised", "model.with.dt=0.5"])).toEqual([
      "--set model.with.dt=0.5 nodes.model.with.dt: the supervised objective trains with the clean-image loss (dt = 1); remove dt",
      expect.stringMatching(/nodes\.model\.with\.time_sampling: the supervised objective trains at t = 1 only; remove time_sampling$/),
    ])
  })

  it("refuses a paired comparison against a set the metric node does not score, or without a per-image metric", () => {
    expect(problems(["scores.with.paired_against=[tv, tikonov]"])).toEqual([
      "--set scores.with.paired_against=[tv, tikonov] nodes.scores.with.paired_against.1: 'tikonov' is not one of this node's reconstructions (distortion_optimised, perception_optimised, tikhonov, tv) (did you mean 'tikhonov'?)",
    ])
    const line = quickstart.split("\n").findIndex((text) => text.includes("paired_against"))
    const column = quickstart.split("\n")[line]!.indexOf("paired_against: ") + "paired_against: ".length + 1
    expect(problems(["scores.with.metrics=[eps_dc]"])).toEqual([
      `${file}:${line + 1}:${column} nodes.scores.with.paired_against: paired comparisons need psnr, ssim or a perceptual distance in metrics`,
    ])
  })

  it("refuses an inpainting box as large as the images it masks", () => {
    const box = (size: number) => ["test.with.operator=inpaint-box", `test.with.box_size=${size}`, "test.with.w_max=50"]
    expect(problems(box(32))).toEqual([
      "--set test.with.box_size=32 nodes.test.with.box_size: must be smaller than the images (32x32), or it masks all of them",
    ])
    expect(problems(box(31))).toEqual([])
  })
})

describe("early-stop's metric is one the sample node records", () => {
  it("suggests the metric meant, and says why a metric is not recorded", () => {
    expect(problems(["distortion_rule.with.criterion=metric", "distortion_rule.with.metric=ssim_xo"])).toEqual([
      "--set distortion_rule.with.metric=ssim_xo nodes.distortion_rule.with.metric: the trajectories record eps_dc, psnr_x0, ssim_x0, psnr_y, ssim_y, perceptual_x0, perceptual_y, not ssim_xo (did you mean 'ssim_x0'?)",
    ])
    // file:line:col of the criterion in perception_rule's line of the shipped file
    const lines = quickstart.split("\n")
    const line = lines.findIndex((l) => l.startsWith("  perception_rule:"))
    const col = lines[line]!.indexOf("criterion: perception") + "criterion: ".length + 1
    expect(problems(["validation_run.with.perceptual=none"])).toEqual([
      `pipelines/quickstart-inpaint.yaml:${line + 1}:${col} nodes.perception_rule.with.criterion: the trajectories record eps_dc, psnr_x0, ssim_x0, psnr_y, ssim_y, not perceptual_y; the sample node records a perceptual distance only with clean images and perceptual other than none`,
    ])
  })

  it("accepts every shipped pipeline", () => {
    for (const name of readdirSync("pipelines").filter((f) => f.endsWith(".yaml"))) {
      const path = join("pipelines", name)
      expect(loadPipeline(path, readFileSync(path, "utf8"), builtinKinds).diagnostics, path).toEqual([])
    }
  })
})
