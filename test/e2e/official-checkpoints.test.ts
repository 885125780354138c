/**
 * The shipped pipelines that start from the authors' checkpoints (pipelines/*-official.yaml): without the file
 * they stop before any work naming the path they expected; given the tiny parity checkpoint (a PyTorch-written
 * Lightning file of a deblurring tiny-16 network trained with L_IR(dt = 0)) they plan and import it, and a
 * checkpoint trained for something else stops them with what to change.
 */
import { existsSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, pipe, workspace } from "./cli.js"

const root = new URL("../../", import.meta.url).pathname
const pipeline = (name: string) => join(root, "pipelines", name)
const parity = join(root, "test/fixtures/torch/tiny16-parity.ckpt")

const expected: Record<string, string> = {
  "ffhq-blur-official.yaml": "checkpoints/deblur_celeba256_dt_0.0.ckpt",
  "ffhq-inpaint-official.yaml": "checkpoints/inpaint_celeba256_dt_0.0.ckpt",
  "imagenet-blur-official.yaml": "checkpoints/deblur_imagenet_dt_1.0.ckpt",
  "imagenet-inpaint-official.yaml": "checkpoints/inpaint_imagenet_dt_0.0.ckpt",
}

/** 16 px synthetic test and validation images in place of the FFHQ folder. */
const syntheticImages = ["test_images", "val_images"].flatMap((n) => [
  "--set",
  `${n}.with.source=synthetic`,
  "--set",
  `${n}.with.resolution=16`,
])

/** The blur pipeline on the parity checkpoint: tiny-16 networks and 16 px synthetic test images. */
const onParityCheckpoint = [
  ...["params.checkpoint_dt0", "params.checkpoint_dt1"].flatMap((p) => ["--set", `${p}=${parity}`]),
  ...["model_dt0", "model_dt1"].flatMap((n) => ["--set", `${n}.with.arch=tiny-16`]),
  ...syntheticImages,
]

describe("the official-checkpoint pipelines", () => {
  it("stop before any work when the checkpoint is missing, naming the path they expected", () => {
    const ws = workspace()
    for (const [file, checkpoint] of Object.entries(expected)) {
      const r = pipe(ws, ["run", pipeline(file), "--cache-dir", join(ws.dir, ".pipe")])
      expect(r.code, file).toBe(2)
      expect(r.stderr, file).toContain(`the checkpoint ${checkpoint} does not exist (looked for ${join(ws.dir, checkpoint)})`)
      expect(r.stderr, file).toContain("github.com/z-fabian/dirac-diffusion")
      expect(r.stderr, file).not.toMatch(/\n\s+at /)
    }
    expect(existsSync(join(ws.dir, ".pipe", "objects"))).toBe(false)
  })

  it("given a checkpoint via --set, check its hyper-parameters before planning, then import it", () => {
    const ws = workspace()
    const cache = ["--cache-dir", join(ws.dir, ".pipe")]
    // The parity checkpoint was trained with L_IR(dt = 0): it cannot stand in for the dt = 1 model.
    const wrongDt = pipe(ws, ["plan", pipeline("ffhq-blur-official.yaml"), ...onParityCheckpoint, ...cache])
    expect(wrongDt.code).toBe(2)
    expect(wrongDt.stderr).toBe(
      `pipe: node 'model_dt1': ${parity} was trained with loss_type 'mse_loss', the loss L_IR(dt = 0), but expect.dt is 1: ` +
        "point path at the checkpoint trained with dt = 1, or set expect.dt: 0\n",
    )

    const accepted = [...onParityCheckpoint, "--set", "model_dt1.with.expect.dt=0", ...cache]
    const plan = pipe(ws, ["plan", pipeline("ffhq-blur-official.yaml"), ...accepted])
    expect(plan.stderr).toBe("")
    expect(plan.stdout).toMatch(/^model_dt0 +will run because never run$/m)
    const run = pipe(ws, ["run", pipeline("ffhq-blur-official.yaml"), ...accepted, "--to", "model_dt0", "--json", "--threads", "1"])
    expect(run.code).toBe(0)
    const logs = events(run.stdout).filter((e) => e.type === "node-log" && e.id === "model_dt0")
    expect(logs.map((e) => e.message).join("\n")).toMatch(
      /150 tensors \(state_dict\) loaded into tiny-16.*\(deblurring, loss L_IR\(dt = 0\)\)/,
    )
  })

  it("refuse a deblurring checkpoint in an inpainting pipeline, saying what to change", () => {
    const ws = workspace()
    const r = pipe(ws, [
      "plan",
      pipeline("ffhq-inpaint-official.yaml"),
      ...["--set", `params.checkpoint=${parity}`, "--set", "model.with.arch=tiny-16"],
      ...syntheticImages,
      ...["--cache-dir", join(ws.dir, ".pipe")],
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(
      `node 'model': ${parity} was trained for deblurring (experiment_config_file 'configs/experiments/gaussian_blur.yaml'), but expect.task is inpaint:`,
    )
    expect(r.stderr).toContain(
      "point path at an inpainting checkpoint, or, if the pipeline is meant for deblurring, set expect.task: blur and degrade with operator gaussian-blur",
    )
  })

  it("a checkpoint's network sampled through another task's process fails at that node, saying what to change", () => {
    const ws = workspace()
    const file = ws.write(
      "wiring.yaml",
      [
        "version: 1",
        "name: wiring",
        "nodes:",
        `  model: { use: import-checkpoint, with: { path: ${parity}, arch: tiny-16 } }`,
        "  images: { use: load, with: { source: synthetic, count: 1, resolution: 16 } }",
        "  process: { use: degrade, in: { images: images }, with: { operator: inpaint-gaussian } }",
        "  recon: { use: sample, in: { model: model, process: process, measurements: process.measurements } }",
      ].join("\n"),
    )
    const r = pipe(ws, ["run", file, "--json", "--threads", "1"])
    expect(r.code).toBe(1)
    const failed = events(r.stdout).find((e) => e.type === "node-failed")
    expect(failed).toMatchObject({ id: "recon" })
    expect(failed!.error).toContain(
      "the model from 'model.model' was trained for deblurring (its checkpoint's hyper-parameters say so), but the process from 'process.process' is inpaint-gaussian: " +
        "degrade with operator gaussian-blur, or import an inpainting checkpoint",
    )
  })
})
