import * as tf from "@tensorflow/tfjs-core"
import { Effect, Option } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { heatImage, labelledGridPng } from "../report/grid.js"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import type { ImageSource } from "../dirac/data/types.js"
import { perceptualMetric } from "../dirac/metrics/perceptual/index.js"
import { diracSample, type SamplerArgs, type UpdateRule } from "../dirac/sample/sampler.js"
import type { PortType } from "../dsl/ports.js"
import { linePlotPng } from "../report/plot.js"
import { modelProcessMismatch } from "./checkpoint-expectations.js"
import type { Json, NodeContext, NodeKind, PortValue } from "./contract.js"
import { modelResolution, openModel } from "./model.js"
import { addBatch, emptyTrajectories, meanCurve, trajectoriesJson, type Trajectories } from "./trajectory.js"
import { failure, openImages, readProcess, single } from "./values.js"
import { configSchemaFile } from "./schema-file.js"
import { engineFingerprint, engineTypingErrors, openEngine, type SamplingEngine } from "./sample-engine.js"

export interface SampleArgs {
  readonly dt: number
  readonly stop_t: number
  readonly update: UpdateRule
  readonly del_t?: number
  readonly guidance: SamplerArgs["guidance"]
  readonly output: "x0" | "y"
  readonly samples: number
  readonly batch_size: number
  readonly limit?: number
  readonly weights: "ema" | "raw"
  readonly perceptual: "mobilenet-perceptual" | "lpips-vgg" | "none"
  readonly perceptual_weights?: string
  readonly checkpoint_seconds: number
  readonly engine: SamplingEngine
  readonly onnx_threads?: number
}

/** What an `early-stop` node hands a `sample` node. */
export interface StoppingRule {
  readonly t_stop: number
  readonly output: "x0" | "y"
}

interface Progress {
  readonly done: number
  readonly trajectories: Trajectories
}

const samplerArgs = (config: SampleArgs, rule?: StoppingRule): SamplerArgs => ({
  dt: config.dt,
  stopT: rule?.t_stop ?? config.stop_t,
  update: config.update,
  ...(config.del_t !== undefined ? { delT: config.del_t } : {}),
  guidance: config.guidance,
  output: rule?.output ?? config.output,
})

/** Clean images in the order of the given ids (the measurements' own ids). */
const cleanFor = async (source: ImageSource, ids: ReadonlyArray<string>): Promise<tf.Tensor4D> => {
  const position = new Map(source.ids.map((id, i) => [id, i]))
  const indices = ids.map((id) => {
    const i = position.get(id)
    if (i === undefined) throw new Error(`the clean images have no image '${id}' (connect the images the measurements were made from)`)
    return i
  })
  return batchToTensor4D(await source.load(indices))
}

const repeatEach = <T>(items: ReadonlyArray<T>, n: number): T[] => items.flatMap((item) => Array.from({ length: n }, () => item))

const REPORT_ROWS = 6

const writeReport = async (
  ctx: NodeContext<SampleArgs>,
  y: tf.Tensor4D,
  x: Float32Array,
  clean: tf.Tensor4D | undefined,
  trajectories: Trajectories,
  n: number,
) => {
  await mkdir(ctx.reportDir, { recursive: true })
  const [shown, h, w] = y.shape
  const per = h * w * 3
  const image = (data: Float32Array, i: number) => ({ pixels: data.slice(i * per, (i + 1) * per), width: w, height: h })
  const yData = (await y.data()) as Float32Array
  const cleanData = clean ? ((await clean.data()) as Float32Array) : undefined
  const rows = Array.from({ length: shown }, (_, i) => i)
  const columns = [
    { title: "measurement", images: rows.map((i) => image(yData, i)) },
    ...Array.from({ length: Math.min(n, 3) }, (_, s) => ({
      title: n > 1 ? `sample ${s + 1}` : "reconstruction",
      images: rows.map((i) => image(x, i * n + s)),
    })),
    ...(n > 1 ? [{ title: "std over samples", images: rows.map((i) => heatImage(pixelStd(x, i, n, per), w, h)) }] : []),
    ...(cleanData ? [{ title: "target", images: rows.map((i) => image(cleanData, i * n)) }] : []),
  ]
  await writeFile(join(ctx.reportDir, "grid.png"), await labelledGridPng(columns))
  const series = (metric: string) => ({
    name: metric,
    points: meanCurve(trajectories, metric).map((v, i) => ({ x: trajectories.t[i], y: v })),
  })
  await writeFile(
    join(ctx.reportDir, "data-consistency.png"),
    await linePlotPng({
      title: "Data consistency along the reverse process",
      x: "t",
      y: "eps_dc = mean((y~ - A_1(x^0))^2)",
      series: [
        series("eps_dc"),
        {
          name: "noise floor sigma_1^2",
          points: [trajectories.t[0] ?? 1, trajectories.t.at(-1) ?? 0].map((t) => ({ x: t, y: trajectories.noiseFloor })),
        },
      ],
    }),
  )
  if (trajectories.metrics.psnr_x0) {
    await writeFile(
      join(ctx.reportDir, "psnr.png"),
      await linePlotPng({
        title: "Distortion along the reverse process",
        x: "t",
        y: "PSNR (dB)",
        series: [series("psnr_x0"), series("psnr_y")],
      }),
    )
  }
  if (trajectories.metrics.perceptual_x0) {
    await writeFile(
      join(ctx.reportDir, "perception.png"),
      await linePlotPng({
        title: "Perception along the reverse process",
        x: "t",
        y: "perceptual distance (lower is better)",
        series: [series("perceptual_x0"), series("perceptual_y")],
      }),
    )
  }
}

/** The pixelwise standard deviation over the n samples of measurement i. */
const pixelStd = (x: Float32Array, i: number, n: number, per: number): Float32Array => {
  const std = new Float32Array(per)
  for (let p = 0; p < per; p++) {
    let sum = 0
    let squares = 0
    for (let s = 0; s < n; s++) {
      const v = x[(i * n + s) * per + p]
      sum += v
      squares += v * v
    }
    const mean = sum / n
    std[p] = Math.sqrt(Math.max(squares / n - mean * mean, 0))
  }
  return std
}

export const sample: NodeKind<SampleArgs> = {
  kind: "sample",
  version: 1,
  summary: "The reverse process (Algorithm 1): reconstructions of measurements, with per-step trajectories",
  configSchema: configSchemaFile("sample"),
  inputs: {
    model: { type: "model", description: "the trained network" },
    process: { type: "process", description: "the degradation process the model was trained with" },
    measurements: { type: "measurements", description: "y~ to reconstruct" },
    images: { type: "images", required: false, description: "the clean images, for per-step PSNR, SSIM and the report" },
    stop: { type: "stopping-rule", required: false, description: "t_stop and output chosen by an early-stop node" },
  },
  outputs: {
    reconstructions: { type: "reconstructions", description: "x (one per sample and measurement), and mean and std over samples" },
    trajectories: { type: "trajectories", description: "per step: t, eps_dc, and with clean images PSNR and SSIM of x^0 and y_t" },
  },
  defaultOutput: "reconstructions",
  seeded: true,
  backendSensitive: true,
  externalFingerprint: async (config: SampleArgs) => engineFingerprint(config),
  typing: (config: SampleArgs, inputs) => {
    const model = inputs.model as PortType | undefined
    const measured = inputs.measurements as PortType | undefined
    return {
      errors: [
        ...(config.perceptual === "lpips-vgg" && !config.perceptual_weights
          ? [{ path: ["with", "perceptual_weights"], message: "lpips-vgg needs its converted weights (see README, Metrics)" }]
          : []),
        ...engineTypingErrors(config),
      ],
      expects: { measurements: { kind: "measurements", shape: model?.shape }, images: { kind: "images", shape: measured?.shape } },
      outputs: { reconstructions: { kind: "reconstructions", shape: measured?.shape, range: [0, 1] } },
    }
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const config = ctx.config
      const process = yield* readProcess(single(ctx.inputs.process))
      const modelPort = single(ctx.inputs.model)
      const mismatch = modelProcessMismatch(
        (modelPort.meta as { task?: unknown }).task,
        process.family.kind,
        ctx.sources.model[0],
        ctx.sources.process[0],
      )
      if (mismatch) return yield* Effect.fail(failure(new Error(mismatch)))
      const net = yield* Effect.acquireRelease(openModel(modelPort, config.weights), (n) => Effect.sync(() => n.dispose()))
      const engine = yield* openEngine(net, config, ctx.backend)
      yield* ctx.log(`network forward passes on ${engine.description}`)
      const measurements = single(ctx.inputs.measurements)
      const allIds = (measurements.meta as { ids: string[] }).ids
      const count = Math.min(config.limit ?? allIds.length, allIds.length)
      const y = measurements.tensors.y as tf.Tensor4D
      if (y.shape[1] !== modelResolution(modelPort))
        yield* ctx.log(`the model was trained at ${modelResolution(modelPort)} px; the measurements are ${y.shape[1]} px`, "warn")
      const rule = ctx.inputs.stop ? (single(ctx.inputs.stop).meta as unknown as StoppingRule) : undefined
      const args = samplerArgs(config, rule)
      const clean = ctx.inputs.images ? yield* openImages(single(ctx.inputs.images)) : undefined
      const perceptual =
        clean && config.perceptual !== "none"
          ? yield* Effect.try({ try: () => perceptualMetric(config.perceptual, { weights: config.perceptual_weights }), catch: failure })
          : undefined
      const n = config.samples
      const per = y.shape[1] * y.shape[2] * 3
      const out = new Float32Array(count * n * per)
      let state: Progress = { done: 0, trajectories: emptyTrajectories(args.dt, process.sigma(1) ** 2) }
      const saved = yield* ctx.checkpoints.load
      if (Option.isSome(saved)) {
        state = saved.value.meta as unknown as Progress
        const partial = yield* Effect.promise(() => (saved.value.tensors.x as tf.Tensor).data())
        out.set(partial.subarray(0, state.done * n * per))
        tf.dispose(Object.values(saved.value.tensors))
        yield* ctx.log(`continuing after ${state.done} of ${count} measurements`)
      }
      if (rule) yield* ctx.log(`stopping rule: t_stop ${rule.t_stop}, output ${rule.output}`)
      let lastCheckpoint = Date.now()
      while (state.done < count) {
        const size = Math.min(config.batch_size, count - state.done)
        const ids = allIds.slice(state.done, state.done + size)
        const batchY = tf.tidy(() =>
          tf.gather(
            tf.slice(y, [state.done, 0, 0, 0], [size, -1, -1, -1]),
            repeatEach(
              ids.map((_, i) => i),
              n,
            ),
          ),
        )
        const cleanBatch = clean ? yield* Effect.tryPromise({ try: () => cleanFor(clean, repeatEach(ids, n)), catch: failure }) : undefined
        const sampleIds = ids.flatMap((id) => Array.from({ length: n }, (_, s) => `${id}#${s}`))
        const result = yield* Effect.tryPromise({
          try: (signal) =>
            diracSample(engine.denoiser, process, args, {
              signal,
              measurements: batchY as tf.Tensor4D,
              ids: sampleIds,
              seed: ctx.seed,
              ...(cleanBatch ? { clean: cleanBatch } : {}),
              ...(cleanBatch && perceptual ? { perceptual: (a: tf.Tensor4D, b: tf.Tensor4D) => perceptual.distance(a, b) } : {}),
            }),
          catch: failure,
        }).pipe(Effect.ensuring(Effect.sync(() => tf.dispose([batchY, ...(cleanBatch ? [cleanBatch] : [])]))))
        out.set(yield* Effect.promise(() => result.output.data()), state.done * n * per)
        result.output.dispose()
        state = { done: state.done + size, trajectories: addBatch(state.trajectories, result.trajectory) }
        yield* ctx.progress({ done: state.done, total: count, unit: "images", scalars: { steps: result.trajectory.length } })
        if (state.done < count && Date.now() - lastCheckpoint >= config.checkpoint_seconds * 1000) {
          const partial = tf.tensor1d(out.subarray(0, state.done * n * per))
          yield* ctx.checkpoints
            .save({ meta: state as unknown as Json, tensors: { x: partial } })
            .pipe(Effect.ensuring(Effect.sync(() => partial.dispose())))
          lastCheckpoint = Date.now()
        }
      }
      const shape: [number, number, number, number] = [count * n, y.shape[1], y.shape[2], 3]
      const x = tf.tensor4d(out, shape)
      const tensors: Record<string, tf.Tensor> = { x }
      if (n > 1) {
        const grouped = x.reshape([count, n, y.shape[1], y.shape[2], 3])
        tensors.mean = tf.mean(grouped, 1)
        tensors.std = tf.sqrt(tf.mean(tf.square(tf.sub(grouped, tf.expandDims(tensors.mean, 1))), 1))
        grouped.dispose()
      }
      // The report shows the first few measurements only: load no more than those.
      const shown = Math.min(count, REPORT_ROWS)
      const measured = tf.slice(y, [0, 0, 0, 0], [shown, -1, -1, -1]) as tf.Tensor4D
      const cleanShown = clean
        ? yield* Effect.tryPromise({ try: () => cleanFor(clean, repeatEach(allIds.slice(0, shown), n)), catch: failure })
        : undefined
      yield* Effect.tryPromise({ try: () => writeReport(ctx, measured, out, cleanShown, state.trajectories, n), catch: failure }).pipe(
        Effect.ensuring(Effect.sync(() => tf.dispose([measured, ...(cleanShown ? [cleanShown] : [])]))),
      )
      const reconstructions: PortValue = {
        meta: {
          ids: allIds.slice(0, count),
          samples: n,
          output: args.output,
          t_stop: args.stopT,
          dt: args.dt,
          steps: state.trajectories.t.length,
          engine: engine.description,
        },
        tensors,
      }
      return { reconstructions, trajectories: { meta: trajectoriesJson(state.trajectories), tensors: {} } }
    }).pipe(Effect.scoped),
}
