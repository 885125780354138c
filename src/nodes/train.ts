import * as tf from "@tensorflow/tfjs-core"
import { Effect, Option, Schema } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import type { ImageSource } from "../dirac/data/types.js"
import { createUNet, modelTensors, resolveUNetArgs, type UNetArgs } from "../dirac/network/index.js"
import { defaultAdam } from "../dirac/train/adam.js"
import { restoreTrainerTensors, trainerTensors } from "../dirac/train/checkpoint.js"
import { NonFiniteLoss, Trainer } from "../dirac/train/trainer.js"
import { linePlotPng } from "../report/plot.js"
import { NodeFailure } from "./contract.js"
import { decodeMeta, encodeMeta, failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind, type KindContext } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { modelPort } from "./ports/model.js"
import { processPort } from "./ports/process.js"
import { Preset } from "./presets.js"

const positiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

const TrainConfig = Schema.Struct({
  preset: withDefault(
    Preset.annotate({
      description:
        "network size: base and large are the paper's 256x256 models (67.7 M and 520.9 M parameters); tiny and small presets are for CPUs",
    }),
    "small-64",
  ),
  network: withDefault(
    Schema.Struct({
      model_channels: Schema.optionalKey(positiveInt),
      channel_mult: Schema.optionalKey(Schema.Array(positiveInt).check(Schema.isMinLength(1))),
      channel_mult_emb: Schema.optionalKey(positiveInt),
      channel_mult_noise: Schema.optionalKey(positiveInt),
      num_blocks: Schema.optionalKey(positiveInt),
      attn_resolutions: Schema.optionalKey(Schema.Array(positiveInt)),
      dropout: Schema.optionalKey(Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true }))),
      embedding_scale: Schema.optionalKey(Schema.Finite),
      resample_filter: Schema.optionalKey(Schema.Array(Schema.Finite).check(Schema.isMinLength(2))),
    }).annotate({ description: "hyper-parameters that replace the preset's (names as in the official models.yaml)" }),
    {},
  ),
  objective: withDefault(
    Schema.Literals(["incremental-reconstruction", "supervised"]).annotate({
      description:
        "incremental-reconstruction: DiracDiffusion (t ~ U[0, 1), loss L_IR(dt)); supervised: the plain supervised baseline with the same network, trained from the measurement (t = 1) to the clean image with a mean squared error (reconstruct with the baseline node's supervised method)",
    }),
    "incremental-reconstruction",
  ),
  dt: withDefault(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).annotate({
      description: "look-ahead of the incremental reconstruction loss: 0 is the score-matching loss L, 1 the clean-image loss",
    }),
    0,
  ),
  weighting: withDefault(
    Schema.Literals(["inverse-variance", "uniform"]).annotate({
      description:
        "per-image loss weights: inverse-variance is the official 1 / sigma_t^2 (small t dominates), uniform weighs every t alike",
    }),
    "inverse-variance",
  ),
  time_sampling: withDefault(
    Schema.Struct({
      power: withDefault(
        Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
          description: "severities t drawn with density (power + 1) t^power: 0 is the paper's t ~ U[0, 1), larger values favour t near 1",
        }),
        0,
      ),
      measurement_fraction: withDefault(
        Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })).annotate({
          description: "fraction of each batch trained at t = 1, the measurement every reverse process starts from",
        }),
        0,
      ),
    }).annotate({ description: "how training draws the severity t of each image (incremental-reconstruction only)" }),
    {},
  ),
  steps: withDefault(positiveInt.annotate({ description: "optimisation steps" }), 1000),
  batch_size: withDefault(positiveInt, 8),
  lr: withDefault(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({ description: "Adam learning rate (betas 0.9, 0.999, eps 1e-8, as PyTorch)" }),
    0.0001,
  ),
  ema: withDefault(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMaximum: true })).annotate({
      description: "EMA decay of the weights (0: off; the paper's large model uses 0.9999)",
    }),
    0,
  ),
  checkpoint_every: withDefault(positiveInt.annotate({ description: "steps between checkpoints" }), 100),
  validation: withDefault(
    Schema.Struct({
      every: withDefault(positiveInt.annotate({ description: "steps between validation losses" }), 100),
      images: withDefault(positiveInt.annotate({ description: "held-out images used" }), 8),
    }),
    {},
  ),
})

type TrainConfig = typeof TrainConfig.Type

const Point = Schema.Tuple([Schema.Number, Schema.Number])

/** What a training checkpoint holds besides tensors: where the trainer stands and the loss curves so far. */
const TrainProgress = Schema.Struct({
  position: Schema.Struct({
    step: Schema.Number,
    epoch: Schema.Number,
    position: Schema.Number,
    rng: Schema.Struct({
      algorithm: Schema.Literal("xoshiro128**"),
      words: Schema.Tuple([Schema.Number, Schema.Number, Schema.Number, Schema.Number]),
      spareNormal: Schema.NullOr(Schema.Number),
    }),
  }),
  curve: Schema.Struct({ train: Schema.Array(Point), validation: Schema.Array(Point) }),
})

const encodeProgress = encodeMeta(TrainProgress)
const decodeProgress = decodeMeta("state", TrainProgress)

interface Curve {
  readonly train: Array<readonly [number, number]>
  readonly validation: Array<readonly [number, number]>
}

const networkArgs = (config: TrainConfig, resolution?: number): UNetArgs =>
  resolveUNetArgs(config.preset, { ...config.network, ...(resolution ? { img_resolution: resolution } : {}) })

const lossPlot = (curve: Curve) =>
  linePlotPng({
    title: "Training loss",
    x: "step",
    y: "L_IR (weighted, per image)",
    logY: [...curve.train, ...curve.validation].every(([, y]) => y > 0),
    series: [
      { name: "train", points: curve.train.map(([x, y]) => ({ x, y })) },
      ...(curve.validation.length ? [{ name: "validation", points: curve.validation.map(([x, y]) => ({ x, y })) }] : []),
    ],
  })

const validationSet = (source: ImageSource | undefined, count: number) =>
  Effect.tryPromise({
    try: async () => {
      if (!source) return undefined
      const batch = await source.load(Array.from({ length: Math.min(count, source.count) }, (_, i) => i))
      return { x: batchToTensor4D(batch), ids: batch.ids }
    },
    catch: failure,
  })

const loop = (
  ctx: KindContext<TrainConfig, typeof inputs>,
  trainer: Trainer,
  curve: Curve,
  validation?: { x: tf.Tensor4D; ids: string[] },
) =>
  Effect.gen(function* () {
    const { steps, checkpoint_every, validation: v } = ctx.config
    let lastValidation: number | undefined
    while (trainer.step < steps) {
      const result = yield* Effect.tryPromise({
        try: () => trainer.trainStep(),
        catch: (e) => (e instanceof NonFiniteLoss ? new NodeFailure({ message: e.message }) : failure(e)),
      })
      const step = trainer.step
      curve.train.push([step, result.loss])
      if (validation && (step % v.every === 0 || step === steps)) {
        lastValidation = yield* Effect.tryPromise({ try: () => trainer.validationLoss(validation.x, validation.ids), catch: failure })
        curve.validation.push([step, lastValidation])
      }
      yield* ctx.progress({
        done: step,
        total: steps,
        unit: "steps",
        scalars: { loss: result.loss, grad_norm: result.gradNorm, ...(lastValidation !== undefined ? { val_loss: lastValidation } : {}) },
      })
      if (step % checkpoint_every === 0 && step < steps) {
        const meta = yield* encodeProgress({ position: trainer.state, curve })
        const { tensors, dispose } = trainerTensors(trainer)
        yield* ctx.checkpoints.save({ meta, tensors }).pipe(Effect.ensuring(Effect.sync(dispose)))
      }
      yield* Effect.yieldNow
    }
  })

const inputs = {
  images: { codec: imagesPort, description: "training images" },
  process: { codec: processPort, description: "the (scheduled) degradation process that makes y_t" },
  validation: { codec: imagesPort, required: false, description: "held-out images for the validation loss" },
} as const

export const train = defineKind({
  kind: "train",
  version: 1,
  summary: "Trains the score network with the incremental reconstruction loss L_IR(dt); resumes from checkpoints",
  description:
    "Trains the score network Phi_theta(y, sigma) with the incremental reconstruction loss L_IR(dt), Adam and optional EMA; checkpoints as it goes and continues from the last checkpoint when run again.",
  config: TrainConfig,
  inputs,
  outputs: { model: { codec: modelPort, description: "the trained network: architecture and weights (EMA weights too when enabled)" } },
  seeded: true,
  backendSensitive: true,
  network: (config) => ({ preset: config.preset, args: networkArgs(config) }),
  typing: (config, types, given) => {
    if (config.objective === "supervised") {
      const errors = [
        ...(given.has("dt") && config.dt !== 1
          ? [{ path: ["with", "dt"], message: "the supervised objective trains with the clean-image loss (dt = 1); remove dt" }]
          : []),
        ...(given.has("time_sampling")
          ? [{ path: ["with", "time_sampling"], message: "the supervised objective trains at t = 1 only; remove time_sampling" }]
          : []),
      ]
      if (errors.length) return { errors }
    }
    const images = types.images
    const resolution = images?.shape?.height
    try {
      const args = networkArgs(config, resolution)
      return {
        expects: { validation: { kind: "images", shape: images?.shape } },
        outputs: { model: { kind: "model", shape: { height: args.img_resolution, width: args.img_resolution, channels: 3 } } },
      }
    } catch (error) {
      return { errors: [{ path: ["with", "preset"], message: `${(error as Error).message} (images are ${resolution}x${resolution})` }] }
    }
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const { images: source, process, validation: held } = ctx.inputs
      const net = yield* Effect.acquireRelease(
        Effect.sync(() => createUNet(networkArgs(ctx.config, source.resolution), { seed: ctx.seed })),
        (n) => Effect.sync(() => n.dispose()),
      )
      const trainer = yield* Effect.acquireRelease(
        Effect.sync(
          () =>
            new Trainer(net, process, source, {
              batchSize: ctx.config.batch_size,
              objective: ctx.config.objective,
              dt: ctx.config.dt,
              weighting: ctx.config.weighting,
              adam: { ...defaultAdam, lr: ctx.config.lr },
              emaDecay: ctx.config.ema,
              seed: ctx.seed,
              timeSampling: {
                power: ctx.config.time_sampling.power,
                measurementFraction: ctx.config.time_sampling.measurement_fraction,
              },
            }),
        ),
        (t) => Effect.sync(() => t.dispose()),
      )
      const curve: Curve = { train: [], validation: [] }
      const saved = yield* ctx.checkpoints.load
      if (Option.isSome(saved)) {
        const meta = yield* decodeProgress(saved.value.meta)
        yield* Effect.try({ try: () => restoreTrainerTensors(trainer, saved.value.tensors), catch: failure })
        trainer.resume(meta.position)
        curve.train.push(...meta.curve.train)
        curve.validation.push(...meta.curve.validation)
        tf.dispose(Object.values(saved.value.tensors))
        yield* ctx.log(`continuing from the checkpoint at step ${trainer.step}`)
      }
      yield* ctx.log(
        `${net.numParameters.toLocaleString("en")} parameters (${ctx.config.preset}), ${source.count} training images, ${ctx.backend.device}`,
      )
      const validation = yield* validationSet(held, ctx.config.validation.images)
      yield* loop(ctx, trainer, curve, validation).pipe(Effect.ensuring(Effect.sync(() => validation && validation.x.dispose())))
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(ctx.reportDir, { recursive: true })
          await writeFile(join(ctx.reportDir, "loss.png"), await lossPlot(curve))
          await writeFile(join(ctx.reportDir, "loss.csv"), ["step,loss", ...curve.train.map(([s, l]) => `${s},${l}`)].join("\n") + "\n")
        },
        catch: failure,
      })
      const last = curve.validation.at(-1)
      const ema = trainer.ema?.named()
      const tensors = yield* Effect.tryPromise({ try: () => modelTensors(net, ema), catch: failure }).pipe(
        Effect.ensuring(Effect.sync(() => ema && tf.dispose(Object.values(ema)))),
      )
      const meta = {
        preset: ctx.config.preset,
        steps: trainer.step,
        objective: ctx.config.objective,
        dt: ctx.config.objective === "supervised" ? 1 : ctx.config.dt,
        final_loss: curve.train.at(-1)?.[1] ?? null,
        ...(last ? { validation_loss: last[1] } : {}),
        args: net.args,
        ema: ema !== undefined,
      }
      return { model: { meta, tensors } }
    }).pipe(Effect.scoped),
})
