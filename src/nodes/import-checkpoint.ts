import { Effect, Schema } from "effect"
import { resolve } from "node:path"
import { trainedFor } from "../dirac/io/checkpoint-expectations.js"
import { modelTensors, resolveUNetArgs } from "../dirac/network/index.js"
import { checkCheckpoint, fileFingerprint, importCheckpointNetwork } from "../dirac/network/official-checkpoint.js"
import { failure, toJson } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { modelPort } from "./ports/model.js"
import { Preset } from "./presets.js"

const ImportCheckpointConfig = Schema.Struct({
  path: Schema.String.check(Schema.isMinLength(1)).annotate({
    description: "the .ckpt file (relative paths are from the working directory)",
  }),
  arch: withDefault(
    Preset.annotate({
      description:
        "the network the checkpoint was trained with (the hyper-parameter model_arch): the official checkpoints are base (67.7 M parameters) or large (520.9 M, ImageNet inpainting); the smaller presets are for checkpoints of the PyTorch reference network",
    }),
    "base",
  ),
  weights: withDefault(
    Schema.Literals(["raw", "ema"]).annotate({
      description:
        "raw: the state_dict's weights; ema: the EMA weights kept by DiracDiffusion's EMA callback in optimizer_states[0].ema (an error if the file has none)",
    }),
    "raw",
  ),
  expect: Schema.optionalKey(
    Schema.Struct({
      task: Schema.optionalKey(
        Schema.Literals(["blur", "inpaint"]).annotate({
          description:
            "blur: trained with the gaussian_blur experiment config; inpaint: with an inpainting one (experiment_config_file, or operator_config's type)",
        }),
      ),
      dt: Schema.optionalKey(
        Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).annotate({
          description:
            "the look-ahead dt of its loss L_IR(dt), as train's dt: 0 for loss_type (weighted_)mse_loss, 1 for (weighted_)mse_x_loss, the dt hyper-parameter for (weighted_)inc_recon_loss",
        }),
      ),
    }).annotate({
      description:
        "what the checkpoint must have been trained for, checked against its hyper_parameters before any node runs (a mismatch stops the run and says what to change)",
    }),
  ),
  fingerprint: withDefault(
    Schema.Literals(["stat", "content"]).annotate({
      description: "detect a changed file by its size and mtime (stat) or by hashing its bytes (content)",
    }),
    "stat",
  ),
})

export const importCheckpoint = defineKind({
  kind: "import-checkpoint",
  version: 2, // 2: the model's meta gives dt as the loss look-ahead (from loss_type) and the task
  summary: "Loads an official DiracDiffusion Lightning checkpoint (.ckpt) as a model, safely and without Python",
  description:
    "Loads an official DiracDiffusion PyTorch Lightning checkpoint (.ckpt, torch.save zip format) as a model, with no Python: the pickle is only interpreted (allow-listed globals, nothing executed) and only the denoiser_fn.* weights are read. Before any node runs, the file must exist and its hyper-parameters must agree with arch and expect.",
  config: ImportCheckpointConfig,
  inputs: {},
  outputs: { model: { codec: modelPort, description: "the network and its weights, interchangeable with train's model" } },
  network: (config) => ({ preset: config.arch, args: resolveUNetArgs(config.arch) }),
  typing: (config) => {
    const r = resolveUNetArgs(config.arch).img_resolution
    return { outputs: { model: { kind: "model", shape: { height: r, width: r, channels: 3 } } } }
  },
  // Runs before any node: a missing file or a checkpoint trained for something else stops the run at once.
  externalFingerprint: async (config) => {
    await checkCheckpoint(config.path, config.arch, config.expect)
    return fileFingerprint(config.path, config.fingerprint)
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const { path, arch, weights, expect } = ctx.config
      const imported = yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => importCheckpointNetwork(resolve(path), arch, weights, expect), catch: failure }),
        (i) => Effect.sync(() => i.net.dispose()),
      )
      yield* ctx.log(imported.summary)
      const hp = imported.hyperParameters
      const { task, lossDt } = trainedFor(hp)
      const tensors = yield* Effect.tryPromise({ try: () => modelTensors(imported.net), catch: failure })
      const meta = {
        preset: arch,
        source: "checkpoint",
        checkpoint: path,
        weights,
        ...(lossDt !== undefined ? { dt: lossDt } : {}),
        ...(task !== undefined ? { task } : {}),
        ...(hp ? { hyper_parameters: toJson(hp) } : {}),
        args: imported.net.args,
        ema: false,
      }
      return { model: { meta, tensors } }
    }).pipe(Effect.scoped),
})
