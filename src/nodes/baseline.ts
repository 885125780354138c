import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { baseline as reconstruct, METHOD_FAMILIES, tuneLambda, type BaselineMethod, type TikhonovPrior } from "../dirac/baselines/index.js"
import { imagesById } from "../dirac/data/tensor.js"
import type { ImageSource } from "../dirac/data/types.js"
import { modelProcessMismatch } from "../dirac/io/checkpoint-expectations.js"
import type { DegradationProcess } from "../dirac/operators/process.js"
import type { Denoiser } from "../dirac/sample/sampler.js"
import type { DocPath } from "../dsl/diagnostics.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort, type Measurements } from "./ports/measurements.js"
import { modelPort, openNetwork } from "./ports/model.js"
import { processPort } from "./ports/process.js"
import { reconstructionsPort } from "./ports/reconstructions.js"
import { engineFingerprint, openEngine } from "./sample-engine.js"

type Method = BaselineMethod | "supervised"

const METHODS: ReadonlyArray<Method> = ["wiener", "tikhonov", "tv", "supervised"]

const BaselineConfig = Schema.Struct({
  method: Schema.Literals(METHODS).annotate({
    description:
      "wiener: min ||A_1 x - y~||^2 + lambda ||L x||^2 in closed form by the DCT-I, exact for the reflect-padded Gaussian blur (gaussian-blur only); tikhonov: the same objective by conjugate gradient on the normal equations (any operator); tv: min 1/2 ||A_1 x - y~||^2 + lambda TV(x) (isotropic, per channel) over x in [0, 1] by Chambolle-Pock (any operator); supervised: x = Phi(y~, sigma_1), one evaluation of the network on the 'model' input (trained with a plain MSE to the clean image)",
  }),
  lambda: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({
      description:
        "regularisation weight (wiener, tikhonov, tv); when absent, the value of a log grid (4 per decade: 1e-4..10 for wiener and tikhonov, 1e-4..1 for tv) with the best mean PSNR on the 'tune_measurements', scored against their clean images on 'tune_images'",
    }),
  ),
  iterations: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "conjugate-gradient (tikhonov) or primal-dual (tv) iterations; default 50 for tikhonov, 100 for tv",
    }),
  ),
  prior: withDefault(
    Schema.Literals(["identity", "gradient"]).annotate({
      description: "wiener and tikhonov: L, the identity or the finite-difference gradient",
    }),
    "gradient",
  ),
  batch_size: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "measurements reconstructed at once" }),
    16,
  ),
  weights: withDefault(
    Schema.Literals(["ema", "raw"]).annotate({ description: "supervised: the model's EMA weights when it has them, or the raw ones" }),
    "ema",
  ),
  engine: withDefault(
    Schema.Literals(["auto", "tfjs", "onnxruntime"]).annotate({
      description:
        "supervised: where the network runs, as for the sample node (tfjs: the pipeline's backend; auto: ONNX Runtime where it is faster)",
    }),
    "auto",
  ),
  onnx_threads: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "supervised: CPU threads of ONNX Runtime (default: one per core)",
    }),
  ),
})

type BaselineConfig = typeof BaselineConfig.Type

const iterationsOf = (config: BaselineConfig): number => config.iterations ?? (config.method === "tv" ? 100 : 50)

const engineArgs = (config: BaselineConfig) => ({
  engine: config.engine,
  guidance: { step: 0 },
  ...(config.onnx_threads !== undefined ? { onnx_threads: config.onnx_threads } : {}),
})

/** The methods that can reconstruct measurements of an operator family. */
const methodsFor = (operator: string): Method[] =>
  METHODS.filter((m) => m === "supervised" || (METHOD_FAMILIES[m] as ReadonlyArray<string>).includes(operator))

const unsupported = (method: Method, operator: string): string | undefined =>
  methodsFor(operator).includes(method)
    ? undefined
    : `${method} cannot reconstruct ${operator} measurements; the methods that can: ${methodsFor(operator).join(", ")}`

interface Connected {
  readonly model: boolean
  readonly tuneMeasurements: boolean
  readonly tuneImages: boolean
  readonly operator: string | undefined
}

const typingErrors = (config: BaselineConfig, connected: Connected): Array<{ path: DocPath; message: string }> => {
  const errors: Array<{ path: DocPath; message: string }> = []
  const error = (path: DocPath, message: string) => errors.push({ path, message })
  const wrongOperator = connected.operator === undefined ? undefined : unsupported(config.method, connected.operator)
  if (wrongOperator) error(["with", "method"], wrongOperator)
  if (config.method === "supervised") {
    if (!connected.model) error(["with", "method"], "supervised needs the trained network: connect it to the 'model' input")
    if (config.lambda !== undefined) error(["with", "lambda"], "supervised has no regulariser: remove lambda")
    if (config.iterations !== undefined) error(["with", "iterations"], "supervised evaluates the network once: remove iterations")
    if (connected.tuneMeasurements || connected.tuneImages)
      error(["in", connected.tuneMeasurements ? "tune_measurements" : "tune_images"], "supervised tunes nothing: remove the tune inputs")
    return errors
  }
  if (connected.model) error(["in", "model"], `only method supervised takes a model; ${config.method} needs none`)
  if (config.method === "wiener" && config.iterations !== undefined)
    error(["with", "iterations"], "wiener is solved in closed form: remove iterations")
  if (connected.tuneMeasurements !== connected.tuneImages)
    error(
      ["in", connected.tuneMeasurements ? "tune_measurements" : "tune_images"],
      "tuning needs both validation measurements on 'tune_measurements' and their clean images on 'tune_images'",
    )
  else if (config.lambda === undefined && !connected.tuneMeasurements)
    error(
      ["with", "lambda"],
      "set lambda, or connect validation measurements to 'tune_measurements' and their clean images to 'tune_images' to tune it by PSNR",
    )
  return errors
}

/** Runs `each` on the measurements batch by batch, reporting progress; the results in order, clipped to [0, 1]. */
const inBatches = (
  y: tf.Tensor4D,
  batchSize: number,
  each: (batch: tf.Tensor4D) => tf.Tensor4D | Promise<tf.Tensor4D>,
  progress: (done: number) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    const count = y.shape[0]
    const parts: tf.Tensor4D[] = []
    for (let start = 0; start < count; start += batchSize) {
      const size = Math.min(batchSize, count - start)
      const batch = tf.slice(y, [start, 0, 0, 0], [size, -1, -1, -1])
      const part = yield* Effect.tryPromise({ try: async () => each(batch), catch: failure }).pipe(
        Effect.ensuring(Effect.sync(() => batch.dispose())),
      )
      parts.push(tf.tidy(() => tf.clipByValue(part, 0, 1)))
      part.dispose()
      yield* progress(start + size)
    }
    const x = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D)
    if (parts.length > 1) tf.dispose(parts)
    return x
  })

/** The grid value of lambda with the best mean PSNR on the validation measurements, logged with the scores of all. */
const tunedLambda = (
  process: DegradationProcess,
  tune: Measurements | undefined,
  clean: ImageSource | undefined,
  options: { readonly method: BaselineMethod; readonly iterations: number; readonly prior: TikhonovPrior; readonly batchSize: number },
  log: (message: string) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    if (!tune || !clean)
      return yield* Effect.fail(failure(new Error("set lambda, or connect validation measurements and their clean images to tune it")))
    const known = new Set(clean.ids)
    const missing = tune.ids.filter((id) => !known.has(id))
    if (missing.length > 0)
      return yield* Effect.fail(
        failure(new Error(`${missing.length} of the tune_measurements have no clean image on 'tune_images' (first: '${missing[0]}')`)),
      )
    const reference = yield* Effect.tryPromise({ try: () => imagesById(clean, tune.ids), catch: failure })
    const { batchSize, ...method } = options
    const choice = yield* Effect.tryPromise({
      try: () => tuneLambda(process, tune.y, reference, method, undefined, batchSize),
      catch: failure,
    }).pipe(Effect.ensuring(Effect.sync(() => reference.dispose())))
    const scores = choice.scores.map((s) => `${s.lambda.toPrecision(3)}: ${s.psnr.toFixed(2)} dB`).join(", ")
    yield* log(`lambda ${choice.lambda.toPrecision(3)} by mean PSNR on ${tune.ids.length} validation measurements (${scores})`)
    return choice.lambda
  })

const supervisedDenoiser = (denoiser: Denoiser, process: DegradationProcess) => (batch: tf.Tensor4D) => denoiser(batch, process.sigma(1))

export const baseline = defineKind({
  kind: "baseline",
  version: 2,
  summary:
    "Reconstructions to compare against: Wiener (closed form), Tikhonov (conjugate gradient), total variation (Chambolle-Pock), or a supervised network",
  description:
    "Reconstructs measurements y~ = A_1(x) + sigma_1 z without the reverse process: Tikhonov-regularised least squares (identity or gradient prior) in closed form for Gaussian blur (wiener) or by conjugate gradient (tikhonov), total-variation regularisation by Chambolle-Pock (tv), or one evaluation x = Phi(y~, sigma_1) of a network trained end to end (supervised). Lambda is given or tuned by PSNR on validation measurements whose clean images are given, never on the measurements reconstructed.",
  config: BaselineConfig,
  inputs: {
    measurements: { codec: measurementsPort, description: "y~ to reconstruct" },
    process: { codec: processPort, description: "the degradation process (A_1 and its adjoint, sigma_1)" },
    tune_measurements: {
      codec: measurementsPort,
      required: false,
      description: "validation measurements to tune lambda on when it is not given (not the ones reconstructed)",
    },
    tune_images: { codec: imagesPort, required: false, description: "the clean images of the tune_measurements, matched by id" },
    model: { codec: modelPort, required: false, description: "supervised: the network trained to map y~ to x" },
  },
  outputs: {
    reconstructions: { codec: reconstructionsPort, description: "x, one per measurement (as the sample node's, for the metric node)" },
  },
  backendSensitive: true,
  externalFingerprint: async (config) => (config.method === "supervised" ? engineFingerprint(engineArgs(config)) : "classical"),
  typing: (config, types) => ({
    errors: typingErrors(config, {
      model: types.model !== undefined,
      tuneMeasurements: types.tune_measurements !== undefined,
      tuneImages: types.tune_images !== undefined,
      operator: types.process?.operator ?? types.measurements?.operator,
    }),
    expects: {
      measurements: { kind: "measurements", shape: types.model?.shape },
      tune_measurements: { kind: "measurements", shape: types.measurements?.shape },
      tune_images: { kind: "images", shape: types.tune_measurements?.shape },
    },
    outputs: { reconstructions: { kind: "reconstructions", shape: types.measurements?.shape, range: [0, 1] } },
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const config = ctx.config
      const { measurements, process, model } = ctx.inputs
      const fail = (message: string) => Effect.fail(failure(new Error(message)))
      const wrongOperator = unsupported(config.method, process.family.kind)
      if (wrongOperator) return yield* fail(wrongOperator)
      const progress = (done: number) => ctx.progress({ done, total: measurements.ids.length, unit: "images" })
      if (config.method === "supervised") {
        if (!model) return yield* fail("supervised needs the trained network on the 'model' input")
        const mismatch = modelProcessMismatch(model.meta.task, process.family.kind, ctx.sources.model![0]!, ctx.sources.process[0]!)
        if (mismatch) return yield* fail(mismatch)
        const net = yield* Effect.acquireRelease(openNetwork(model, config.weights), (n) => Effect.sync(() => n.dispose()))
        const engine = yield* openEngine(net, engineArgs(config), ctx.backend)
        yield* ctx.log(`network forward passes on ${engine.description}`)
        const x = yield* inBatches(measurements.y, config.batch_size, supervisedDenoiser(engine.denoiser, process), progress)
        return { reconstructions: reconstructionsOf(measurements, x, 1, `baseline supervised (${engine.description})`) }
      }
      const method = config.method
      const options = { method, iterations: iterationsOf(config), prior: config.prior }
      const tuneIds = new Set(ctx.inputs.tune_measurements?.ids ?? [])
      const shared = measurements.ids.filter((id) => tuneIds.has(id)).length
      if (config.lambda === undefined && shared > 0)
        yield* ctx.log(`${shared} of the measurements reconstructed are also tuned on: their scores are not held out`, "warn")
      const lambda =
        config.lambda ??
        (yield* tunedLambda(
          process,
          ctx.inputs.tune_measurements,
          ctx.inputs.tune_images,
          { ...options, batchSize: config.batch_size },
          ctx.log,
        ))
      const x = yield* inBatches(
        measurements.y,
        config.batch_size,
        (batch) => tf.tidy(() => reconstruct(process, batch, { ...options, lambda })),
        progress,
      )
      const steps = method === "wiener" ? 1 : options.iterations
      return { reconstructions: reconstructionsOf(measurements, x, steps, `baseline ${method} (lambda ${Number(lambda.toPrecision(3))})`) }
    }).pipe(Effect.scoped),
})

const reconstructionsOf = (measurements: Measurements, x: tf.Tensor4D, steps: number, engine: string) => ({
  ids: [...measurements.ids],
  samples: 1,
  output: "x0" as const,
  t_stop: 0,
  dt: 0,
  steps,
  engine,
  x,
})
