import * as tf from "@tensorflow/tfjs-core"
import { Effect, Option } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import type { ImageSource } from "../dirac/data/types.js"
import { createUNet, resolveUNetArgs, type UNetArgs, type UNetPresetName } from "../dirac/network/index.js"
import { modelValue } from "./model.js"
import { restoreTrainerTensors, trainerTensors } from "../dirac/train/checkpoint.js"
import { NonFiniteLoss, Trainer, type TrainerPosition } from "../dirac/train/trainer.js"
import { defaultAdam } from "../dirac/train/adam.js"
import type { PortType } from "../dsl/ports.js"
import { linePlotPng } from "../report/plot.js"
import { NodeFailure, type Json, type NodeContext, type NodeKind } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { failure, openImages, readProcess, single } from "./values.js"

export interface TrainArgs {
  readonly preset: UNetPresetName
  readonly network: Partial<UNetArgs>
  readonly dt: number
  readonly steps: number
  readonly batch_size: number
  readonly lr: number
  readonly ema: number
  readonly checkpoint_every: number
  readonly validation: { readonly every: number; readonly images: number }
}

interface Curve {
  readonly train: Array<[number, number]>
  readonly validation: Array<[number, number]>
}

const networkArgs = (config: TrainArgs, resolution?: number): UNetArgs =>
  resolveUNetArgs(config.preset, { ...config.network, ...(resolution ? { img_resolution: resolution } : {}) })

const lossPlot = (curve: Curve) =>
  linePlotPng({
    title: "Training loss",
    x: "step",
    y: "L_IR (weighted, per image)",
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

const loop = (ctx: NodeContext<TrainArgs>, trainer: Trainer, curve: Curve, validation?: { x: tf.Tensor4D; ids: string[] }) =>
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
        const { tensors, dispose } = trainerTensors(trainer)
        yield* ctx.checkpoints
          .save({ meta: { position: trainer.state as unknown as Json, curve: curve as unknown as Json }, tensors })
          .pipe(Effect.ensuring(Effect.sync(dispose)))
      }
      yield* Effect.yieldNow
    }
  })

export const train: NodeKind<TrainArgs> = {
  kind: "train",
  version: 1,
  summary: "Trains the score network with the incremental reconstruction loss L_IR(dt); resumes from checkpoints",
  configSchema: configSchemaFile("train"),
  inputs: {
    images: { type: "images", description: "training images" },
    process: { type: "process", description: "the (scheduled) degradation process that makes y_t" },
    validation: { type: "images", required: false, description: "held-out images for the validation loss" },
  },
  outputs: { model: { type: "model", description: "the trained network: architecture and weights (EMA weights too when enabled)" } },
  seeded: true,
  backendSensitive: true,
  typing: (config: TrainArgs, inputs) => {
    const images = inputs.images as PortType | undefined
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
      const source = yield* openImages(single(ctx.inputs.images))
      const process = yield* readProcess(single(ctx.inputs.process))
      const held = ctx.inputs.validation ? yield* openImages(single(ctx.inputs.validation)) : undefined
      const net = yield* Effect.acquireRelease(
        Effect.sync(() => createUNet(networkArgs(ctx.config, source.resolution), { seed: ctx.seed })),
        (n) => Effect.sync(() => n.dispose()),
      )
      const trainer = yield* Effect.acquireRelease(
        Effect.sync(
          () =>
            new Trainer(net, process, source, {
              batchSize: ctx.config.batch_size,
              dt: ctx.config.dt,
              adam: { ...defaultAdam, lr: ctx.config.lr },
              emaDecay: ctx.config.ema,
              seed: ctx.seed,
            }),
        ),
        (t) => Effect.sync(() => t.dispose()),
      )
      const curve: Curve = { train: [], validation: [] }
      const saved = yield* ctx.checkpoints.load
      if (Option.isSome(saved)) {
        const meta = saved.value.meta as unknown as { position: TrainerPosition; curve: Curve }
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
      const model = yield* Effect.tryPromise({
        try: () =>
          modelValue(
            net,
            {
              preset: ctx.config.preset,
              steps: trainer.step,
              dt: ctx.config.dt,
              final_loss: curve.train.at(-1)?.[1] ?? null,
              ...(last ? { validation_loss: last[1] } : {}),
            },
            ema,
          ),
        catch: failure,
      }).pipe(Effect.ensuring(Effect.sync(() => ema && tf.dispose(Object.values(ema)))))
      return { model }
    }).pipe(Effect.scoped),
}
