import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { expectationProblems, modelProcessMismatch, trainedFor } from "../../src/dirac/io/checkpoint-expectations.js"
import { checkCheckpoint } from "../../src/dirac/network/official-checkpoint.js"

const fixture = (name: string) => new URL(`../fixtures/torch/${name}`, import.meta.url).pathname

/** hyper_parameters as the official NCSN_Module saves them (configs/trainer/*.yaml). */
const official = (experiment: string, lossType: string, dt: number, arch = "base") => ({
  dt,
  loss_type: lossType,
  lr: 1e-4,
  experiment_config_file: `configs/experiments/${experiment}.yaml`,
  operator_config: null,
  noise_config: null,
  model_arch: arch,
  residual_prediction: true,
  model_conditioning: "noise",
})

describe("what a checkpoint was trained for", () => {
  it("reads the task from the experiment config and the loss look-ahead from loss_type", () => {
    expect(trainedFor(official("gaussian_blur", "weighted_mse_x_loss", 0.05))).toMatchObject({ arch: "base", task: "blur", lossDt: 1 })
    expect(trainedFor(official("gaussian_blur", "weighted_mse_loss", 0.05))).toMatchObject({ task: "blur", lossDt: 0 })
    expect(trainedFor(official("inpainting_gaussian_imagenet", "weighted_mse_loss", 0.02, "large"))).toMatchObject({
      arch: "large",
      task: "inpaint",
      lossDt: 0,
    })
    expect(trainedFor(official("inpainting_gaussian", "inc_recon_loss", 0.25))).toMatchObject({
      task: "inpaint",
      lossDt: 0.25,
      lossSource: "loss_type 'inc_recon_loss' with dt 0.25",
    })
    // an operator_config given in place of the experiment file decides
    expect(
      trainedFor({ ...official("gaussian_blur", "mse_loss", 0), operator_config: { type: "inpainting", mask_type: "gaussian" } }).task,
    ).toBe("inpaint")
    expect(trainedFor({ loss_type: "l2", dt: 1 })).toEqual({})
    expect(trainedFor(undefined)).toEqual({})
  })
})

describe("checking a checkpoint against the pipeline", () => {
  const hp = official("gaussian_blur", "weighted_mse_x_loss", 0.05)

  it("accepts a checkpoint that says what is expected", () => {
    expect(expectationProblems("a.ckpt", hp, "base", { task: "blur", dt: 1 })).toEqual([])
    expect(expectationProblems("a.ckpt", hp, "base")).toEqual([])
  })

  it("names both values and what to change", () => {
    expect(expectationProblems("a.ckpt", hp, "large", { task: "inpaint", dt: 0 })).toEqual([
      "a.ckpt was trained with model_arch 'base', but arch is 'large': set arch: base",
      "a.ckpt was trained for deblurring (experiment_config_file 'configs/experiments/gaussian_blur.yaml'), but expect.task is inpaint: " +
        "point path at an inpainting checkpoint, or, if the pipeline is meant for deblurring, set expect.task: blur and degrade with operator gaussian-blur",
      "a.ckpt was trained with loss_type 'weighted_mse_x_loss', the loss L_IR(dt = 1), but expect.dt is 0: point path at the checkpoint trained with dt = 0, or set expect.dt: 1",
    ])
  })

  it("refuses to guess when the hyper-parameters do not say", () => {
    expect(expectationProblems("b.ckpt", { loss_type: "l2", dt: 1 }, "base", { task: "blur", dt: 1 })).toEqual([
      "b.ckpt does not say what it was trained for (no experiment_config_file or operator_config naming blur or inpainting): remove expect.task to load it unchecked",
      'b.ckpt does not say which loss it was trained with (loss_type "l2", dt 1): remove expect.dt to load it unchecked',
    ])
    expect(expectationProblems("c.pt", undefined, "base", { dt: 0 })).toEqual([
      "c.pt has no hyper_parameters to check expect against: remove expect to load it unchecked",
    ])
  })

  it("checks the files before any node runs: existence, hyper-parameters, names and shapes", async () => {
    const missing = join("checkpoints", "nowhere.ckpt")
    await expect(checkCheckpoint(missing, "base")).rejects.toThrow(
      `the checkpoint ${missing} does not exist (looked for ${join(process.cwd(), missing)})`,
    )
    // lightning.ckpt: experiment_config_file configs/experiments/deblur_celeba256.yaml, loss_type 'l2'
    await expect(checkCheckpoint(fixture("lightning.ckpt"), "base", { task: "inpaint" })).rejects.toThrow(
      /was trained for deblurring .*but expect\.task is inpaint/,
    )
    await expect(checkCheckpoint(fixture("lightning.ckpt"), "base", { dt: 0 })).rejects.toThrow(
      /does not say which loss it was trained with \(loss_type "l2", dt 0\)/,
    )
    await expect(checkCheckpoint(fixture("lightning.ckpt"), "base")).rejects.toThrow(
      /does not match the 'base' network \(lin\.weight is not in the 'base' network/,
    )
    await expect(checkCheckpoint(fixture("tiny16.ckpt"), "base")).rejects.toThrow(/model_arch 'tiny-16', but arch is 'base'/)
    await expect(checkCheckpoint(fixture("proto2.pt"), "base", { task: "blur" })).rejects.toThrow(
      /has no hyper_parameters to check expect against/,
    )
    await expect(checkCheckpoint(fixture("tiny16-parity.ckpt"), "tiny-16", { task: "blur", dt: 0 })).resolves.toBeUndefined()
  })
})

describe("a checkpoint's model against the process it samples through", () => {
  it("refuses a deblurring network on an inpainting process, and the reverse", () => {
    expect(modelProcessMismatch("blur", "inpaint-gaussian", "model.model", "process.process")).toBe(
      "the model from 'model.model' was trained for deblurring (its checkpoint's hyper-parameters say so), but the process from 'process.process' is inpaint-gaussian: " +
        "degrade with operator gaussian-blur, or import an inpainting checkpoint",
    )
    expect(modelProcessMismatch("inpaint", "gaussian-blur", "m.model", "p.process")).toMatch(
      /trained for inpainting .* is gaussian-blur: degrade with operator inpaint-gaussian, or import a deblurring checkpoint/,
    )
    expect(modelProcessMismatch("inpaint", "inpaint-box", "m.model", "p.process")).toBeUndefined()
    expect(modelProcessMismatch(undefined, "gaussian-blur", "train.model", "p.process")).toBeUndefined()
  })
})
