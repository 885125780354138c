import * as tf from "@tensorflow/tfjs-core"
import { Effect, Option, Schema } from "effect"
import { imagesById } from "../dirac/data/tensor.js"
import { modelProcessMismatch } from "../dirac/io/checkpoint-expectations.js"
import type { ImageSource } from "../dirac/data/types.js"
import { readImages } from "../dirac/metrics/image-pixels.js"
import { perceptualMetric } from "../dirac/metrics/perceptual/index.js"
import { stdErrorMoments, summariseStdError } from "../dirac/metrics/std-error-correlation.js"
import type { SamplerArgs } from "../dirac/sample/sampler.js"
import { repeatEach, sampleInBatches, samplingStart, type SampledSet } from "../dirac/sample/batches.js"
import { writeSampleReport } from "../report/sample-report.js"
import { decodeMeta, encodeMeta, failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort } from "./ports/measurements.js"
import { modelPort, openNetwork } from "./ports/model.js"
import { processPort } from "./ports/process.js"
import { reconstructionsPort } from "./ports/reconstructions.js"
import { stoppingRulePort, type StoppingRule } from "./ports/stopping-rule.js"
import { TrajectoriesMeta, trajectoriesPort } from "./ports/trajectories.js"
import { engineFingerprint, engineTypingErrors, openEngine } from "./sample-engine.js"

const SampleConfig = Schema.Struct({
  dt: withDefault(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1, exclusiveMinimum: true })).annotate({
      description: "step size in t (the number of network evaluations is at most 1/dt)",
    }),
    0.02,
  ),
  stop_t: withDefault(
    Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 1 })).annotate({
      description: "stop after the step whose t falls below t_stop (a 'stop' input overrides it); 0 runs to the end",
    }),
    0,
  ),
  update: withDefault(
    Schema.Literals(["look-ahead", "small-look-ahead", "look-back", "small-look-back"]).annotate({
      description: "incremental reconstruction rule (paper Appendix I)",
    }),
    "look-ahead",
  ),
  del_t: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({
      description: "delta of the small look-ahead/look-back rules (default dt / 2)",
    }),
  ),
  guidance: withDefault(
    Schema.Struct({
      step: withDefault(
        Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description: "step size eta; 0 turns guidance off" }),
        0,
      ),
      scaling: withDefault(
        Schema.Literals(["std", "error"]).annotate({
          description: "std: eta / (2 sigma_1^2); error: eta / ||y~ - A_1(x^0)|| (DPS-style)",
        }),
        "std",
      ),
      sign: withDefault(
        Schema.Literals(["paper", "official"]).annotate({
          description: "paper: descent on the data-consistency error (Algorithm 1); official: the sign the official code uses",
        }),
        "paper",
      ),
    }).annotate({ description: "gradient of ||y~ - A_1(Phi(y_t))||^2 with respect to y_t through the network (paper Appendix B)" }),
    {},
  ),
  output: withDefault(
    Schema.Literals(["x0", "y"]).annotate({
      description: "the posterior-mean estimate x^0 of the last step, or the iterate y_t (paper Appendix D); a 'stop' input overrides it",
    }),
    "x0",
  ),
  samples: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description:
        "reconstructions per measurement; with 2 or more and the clean images, the report gives the correlation of their pixelwise std with the error of their mean, and calls the std an uncertainty map only where it is clearly positive",
    }),
    1,
  ),
  batch_size: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "measurements sampled at once" }), 4),
  limit: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "sample only the first measurements" }),
  ),
  weights: withDefault(
    Schema.Literals(["ema", "raw"]).annotate({ description: "the model's EMA weights when it has them, or the raw ones" }),
    "ema",
  ),
  perceptual: withDefault(
    Schema.Literals(["mobilenet-perceptual", "lpips-vgg", "none"]).annotate({
      description:
        "perceptual distance recorded along the trajectory when clean images are given (mobilenet-perceptual: LPIPS-style on the MobileNetV2 inside nsfwjs; lpips-vgg: the official LPIPS, needs perceptual_weights)",
    }),
    "mobilenet-perceptual",
  ),
  perceptual_weights: Schema.optionalKey(
    Schema.String.annotate({ description: "lpips-vgg: the converted weights (safetensors from scripts/convert_lpips_vgg.py)" }),
  ),
  checkpoint_seconds: withDefault(
    Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "at most this often (on a batch boundary) the work done is checkpointed; 0: after every batch",
    }),
    60,
  ),
  engine: withDefault(
    Schema.Literals(["auto", "tfjs", "onnxruntime"]).annotate({
      description:
        "where the network's forward passes run: tfjs (the pipeline's backend), onnxruntime (the network exported to ONNX, on onnxruntime-node: CUDA when its add-on is installed, WebGPU under the webgpu backend, else CPU), or auto: ONNX Runtime when it is installed, guidance is off, and it has CUDA or the backend is a CPU one or WebGPU on a hardware GPU (guidance needs gradients through the network, which only tfjs gives)",
    }),
    "auto",
  ),
  onnx_threads: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "CPU threads of ONNX Runtime (default: one per core)" }),
  ),
})

type SampleConfig = typeof SampleConfig.Type

/** Where a resumed sample node stands: measurements done, and their trajectories. */
const SampleProgress = Schema.Struct({
  done: Schema.Number,
  trajectories: TrajectoriesMeta,
})

const encodeProgress = encodeMeta(SampleProgress)
const decodeProgress = decodeMeta("state", SampleProgress)

const samplerArgs = (config: SampleConfig, rule?: StoppingRule): SamplerArgs => ({
  dt: config.dt,
  stopT: rule?.t_stop ?? config.stop_t,
  update: config.update,
  ...(config.del_t !== undefined ? { delT: config.del_t } : {}),
  guidance: config.guidance,
  output: rule?.output ?? config.output,
})

const REPORT_ROWS = 6

/** The per-step metrics a run records: eps_dc always; with clean images PSNR, SSIM and a perceptual distance. */
const recordedMetrics = (clean: boolean, perceptual: boolean): string[] => [
  "eps_dc",
  ...(clean ? ["psnr_x0", "ssim_x0", "psnr_y", "ssim_y"] : []),
  ...(clean && perceptual ? ["perceptual_x0", "perceptual_y"] : []),
]

export const sample = defineKind({
  kind: "sample",
  version: 3, // 3: the report's std map is checked against the error before it is called an uncertainty map
  summary: "The reverse process (Algorithm 1): reconstructions of measurements, with per-step trajectories",
  description:
    "The reverse process of DiracDiffusion (paper Algorithm 1): from each measurement y~ at t = 1 towards t = 0 in steps of dt, stopping early at t_stop, with optional data-consistency guidance.",
  config: SampleConfig,
  inputs: {
    model: { codec: modelPort, description: "the trained network" },
    process: { codec: processPort, description: "the degradation process the model was trained with" },
    measurements: { codec: measurementsPort, description: "y~ to reconstruct" },
    images: { codec: imagesPort, required: false, description: "the clean images, for per-step PSNR, SSIM and the report" },
    stop: { codec: stoppingRulePort, required: false, description: "t_stop and output chosen by an early-stop node" },
  },
  outputs: {
    reconstructions: {
      codec: reconstructionsPort,
      description: "x (one per sample and measurement), and mean and std over samples",
    },
    trajectories: {
      codec: trajectoriesPort,
      description: "per step: t, eps_dc, and with clean images PSNR and SSIM of x^0 and y_t",
    },
  },
  defaultOutput: "reconstructions",
  seeded: true,
  backendSensitive: true,
  externalFingerprint: async (config) => engineFingerprint(config),
  typing: (config, types) => ({
    errors: [
      ...(config.perceptual === "lpips-vgg" && !config.perceptual_weights
        ? [{ path: ["with", "perceptual_weights"], message: "lpips-vgg needs its converted weights (see README, Metrics)" }]
        : []),
      ...engineTypingErrors(config),
    ],
    expects: {
      measurements: { kind: "measurements", shape: types.model?.shape },
      images: { kind: "images", shape: types.measurements?.shape },
    },
    outputs: {
      reconstructions: { kind: "reconstructions", shape: types.measurements?.shape, range: [0, 1] },
      trajectories: { kind: "trajectories", metrics: recordedMetrics(types.images !== undefined, config.perceptual !== "none") },
    },
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const config = ctx.config
      const { model, process, measurements, images: clean, stop: rule } = ctx.inputs
      const mismatch = modelProcessMismatch(model.meta.task, process.family.kind, ctx.sources.model[0], ctx.sources.process[0])
      if (mismatch) return yield* Effect.fail(failure(new Error(mismatch)))
      const net = yield* Effect.acquireRelease(openNetwork(model, config.weights), (n) => Effect.sync(() => n.dispose()))
      const engine = yield* openEngine(net, config, ctx.backend)
      yield* ctx.log(`network forward passes on ${engine.description}`)
      const allIds = measurements.ids
      const count = Math.min(config.limit ?? allIds.length, allIds.length)
      const y = measurements.y
      const trainedAt = model.meta.args.img_resolution
      if (y.shape[1] !== trainedAt)
        yield* ctx.log(`the model was trained at ${trainedAt} px; the measurements are ${y.shape[1]} px`, "warn")
      const args = samplerArgs(config, rule)
      const perceptual =
        clean && config.perceptual !== "none"
          ? yield* Effect.try({ try: () => perceptualMetric(config.perceptual, { weights: config.perceptual_weights }), catch: failure })
          : undefined
      const n = config.samples
      const per = y.shape[1] * y.shape[2] * 3
      const job = {
        denoiser: engine.denoiser,
        process,
        args,
        y,
        ids: allIds,
        count,
        samples: n,
        batchSize: config.batch_size,
        onStep: (done: number) => Effect.runFork(ctx.progress({ done, total: count, unit: "images" })),
        // Not ctx.seed: sample nodes that differ only in settings (a stopping rule, checkpointing) must draw the
        // same noise for the same image, so that comparing them is paired.
        seed: ctx.pipelineSeed,
        ...(clean ? { clean: (ids: ReadonlyArray<string>) => imagesById(clean, ids) } : {}),
        ...(clean && perceptual ? { perceptual: (a: tf.Tensor4D, b: tf.Tensor4D) => perceptual.distance(a, b) } : {}),
      }
      let start = { x: new Float32Array(count * n * per), state: samplingStart(job) }
      const saved = yield* ctx.checkpoints.load
      if (Option.isSome(saved)) {
        const state = yield* decodeProgress(saved.value.meta)
        const partial = yield* Effect.promise(() => saved.value.tensors.x.data())
        start.x.set(partial.subarray(0, state.done * n * per))
        start = { x: start.x, state }
        tf.dispose(Object.values(saved.value.tensors))
        yield* ctx.log(`continuing after ${state.done} of ${count} measurements`)
      }
      if (rule) yield* ctx.log(`stopping rule: t_stop ${rule.t_stop}, output ${rule.output}`)
      let lastCheckpoint = Date.now()
      const checkpoint = (done: SampledSet) =>
        Effect.gen(function* () {
          const meta = yield* encodeProgress(done.state)
          const partial = tf.tensor1d(done.x.subarray(0, done.state.done * n * per))
          yield* ctx.checkpoints.save({ meta, tensors: { x: partial } }).pipe(Effect.ensuring(Effect.sync(() => partial.dispose())))
          lastCheckpoint = Date.now()
        })
      const onBatch = (done: SampledSet, steps: number) =>
        Effect.runPromise(
          Effect.gen(function* () {
            yield* ctx.progress({ done: done.state.done, total: count, unit: "images", scalars: { steps } })
            if (done.state.done < count && Date.now() - lastCheckpoint >= config.checkpoint_seconds * 1000) yield* checkpoint(done)
          }),
        )
      const { x: out, state } = yield* Effect.tryPromise({
        try: (signal) => sampleInBatches({ ...job, signal }, start, onBatch),
        catch: failure,
      })
      const x = tf.tensor4d(out, [count * n, y.shape[1], y.shape[2], 3])
      const spread = n > 1 ? sampleSpread(x, count, n) : {}
      const uncertainty =
        clean && n > 1
          ? yield* Effect.tryPromise({
              try: () => stdErrorCorrelation(out, clean, allIds.slice(0, count), n, config.batch_size),
              catch: failure,
            })
          : undefined
      // The report shows the first few measurements only: load no more than those.
      const shown = Math.min(count, REPORT_ROWS)
      const measured = tf.slice(y, [0, 0, 0, 0], [shown, -1, -1, -1])
      const cleanShown = clean
        ? yield* Effect.tryPromise({ try: () => imagesById(clean, repeatEach(allIds.slice(0, shown), n)), catch: failure })
        : undefined
      yield* Effect.tryPromise({
        try: () =>
          writeSampleReport(
            ctx.reportDir,
            measured,
            out,
            cleanShown,
            state.trajectories,
            {
              dt: args.dt,
              tStop: args.stopT,
              output: args.output,
              samples: n,
              seed: ctx.pipelineSeed,
              engine: engine.description,
              measurements: count,
            },
            uncertainty,
          ),
        catch: failure,
      }).pipe(Effect.ensuring(Effect.sync(() => tf.dispose([measured, ...(cleanShown ? [cleanShown] : [])]))))
      const reconstructions = {
        ids: allIds.slice(0, count),
        samples: n,
        output: args.output,
        t_stop: args.stopT,
        dt: args.dt,
        steps: state.trajectories.t.length,
        engine: engine.description,
        x,
        ...spread,
      }
      return { reconstructions, trajectories: state.trajectories }
    }).pipe(Effect.scoped),
})

/** The pixelwise mean and std over the n samples of each of the count measurements. */
const sampleSpread = (x: tf.Tensor4D, count: number, n: number) =>
  tf.tidy(() => {
    const grouped = x.reshape([count, n, x.shape[1], x.shape[2], 3])
    const mean = tf.mean(grouped, 1)
    return { mean, std: tf.sqrt(tf.mean(tf.square(tf.sub(grouped, tf.expandDims(mean, 1))), 1)) }
  })

/** How the samples' pixelwise std correlates with the error of their mean, loading `batch` clean images at a time. */
const stdErrorCorrelation = async (x: Float32Array, clean: ImageSource, ids: ReadonlyArray<string>, n: number, batch: number) => {
  const moments = []
  for (let i = 0; i < ids.length; i += batch) {
    const reference = await imagesById(clean, ids.slice(i, i + batch))
    try {
      const [k, h, w, c] = reference.shape
      const per = h * w * c
      const samples = { pixels: x.subarray(i * n * per, (i + k) * n * per), shape: [k * n, h, w, c] as const }
      moments.push(...stdErrorMoments(samples, await readImages(reference), n))
    } finally {
      reference.dispose()
    }
  }
  return summariseStdError(moments)
}
