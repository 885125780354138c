import * as tf from "@tensorflow/tfjs-core"
import { Effect, Schema } from "effect"
import { baseline as reconstruct, tuneLambda, type BaselineMethod } from "../dirac/baselines/index.js"
import { imagesById } from "../dirac/data/tensor.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort } from "./ports/measurements.js"
import { processPort } from "./ports/process.js"
import { reconstructionsPort } from "./ports/reconstructions.js"

const BaselineConfig = Schema.Struct({
  method: Schema.Literals(["tikhonov", "tv"]).annotate({
    description:
      "tikhonov: min ||A_1 x - y~||^2 + lambda ||L x||^2 by conjugate gradient on the normal equations; tv: min 1/2 ||A_1 x - y~||^2 + lambda TV(x) (isotropic, per channel) over x in [0, 1] by Chambolle-Pock",
  }),
  lambda: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({
      description:
        "regularisation weight; when absent, the value of the grid 1e-4, 10^-3.5, ..., 10^-0.5 with the best mean PSNR on the first tune_images measurements (needs the clean images on the 'images' input)",
    }),
  ),
  tune_images: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "measurements lambda is tuned on (when lambda is absent)" }),
    4,
  ),
  iterations: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({
      description: "conjugate-gradient (tikhonov) or primal-dual (tv) iterations; default 50 for tikhonov, 100 for tv",
    }),
  ),
  prior: withDefault(
    Schema.Literals(["identity", "gradient"]).annotate({ description: "tikhonov: L, the identity or the finite-difference gradient" }),
    "gradient",
  ),
  batch_size: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "measurements reconstructed at once" }),
    16,
  ),
})

type BaselineConfig = typeof BaselineConfig.Type

const iterationsOf = (config: BaselineConfig): number => config.iterations ?? (config.method === "tv" ? 100 : 50)

export const baseline = defineKind({
  kind: "baseline",
  version: 1,
  summary:
    "Classical reconstructions of measurements to compare against: Tikhonov (conjugate gradient) or total variation (Chambolle-Pock)",
  description:
    "Reconstructs measurements y~ = A_1(x) + sigma_1 z without a network: Tikhonov-regularised least squares (identity or gradient prior) by conjugate gradient, or total-variation regularisation by Chambolle-Pock. Lambda is given or tuned by PSNR on a few measurements whose clean images are given.",
  config: BaselineConfig,
  inputs: {
    measurements: { codec: measurementsPort, description: "y~ to reconstruct" },
    process: { codec: processPort, description: "the degradation process (A_1 and its adjoint)" },
    images: {
      codec: imagesPort,
      required: false,
      description: "the clean images, to tune lambda by PSNR when it is not given",
    },
  },
  outputs: {
    reconstructions: { codec: reconstructionsPort, description: "x, one per measurement (as the sample node's, for the metric node)" },
  },
  backendSensitive: true,
  typing: (config, types) => ({
    errors:
      config.lambda === undefined && types.images === undefined
        ? [
            {
              path: ["with", "lambda"],
              message: "set lambda, or connect the clean images to the 'images' input to tune it by PSNR",
            },
          ]
        : [],
    expects: { images: { kind: "images", shape: types.measurements?.shape } },
    outputs: { reconstructions: { kind: "reconstructions", shape: types.measurements?.shape, range: [0, 1] } },
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const config = ctx.config
      const { measurements, process, images: clean } = ctx.inputs
      const method: BaselineMethod = config.method
      const iterations = iterationsOf(config)
      const options = { method, iterations, prior: config.prior }
      const ids = measurements.ids
      let lambda = config.lambda
      if (lambda === undefined) {
        if (!clean) return yield* Effect.fail(failure(new Error("set lambda, or connect the clean images to the 'images' input")))
        const known = new Set(clean.ids)
        const tuneIds = ids.filter((id) => known.has(id)).slice(0, config.tune_images)
        if (tuneIds.length === 0)
          return yield* Effect.fail(failure(new Error("none of the measurements has its clean image on the 'images' input; set lambda")))
        const reference = yield* Effect.tryPromise({ try: () => imagesById(clean, tuneIds), catch: failure })
        const y = tf.gather(
          measurements.y,
          tuneIds.map((id) => ids.indexOf(id)),
        ) as tf.Tensor4D
        const choice = yield* Effect.try({ try: () => tuneLambda(process, y, reference, options), catch: failure }).pipe(
          Effect.ensuring(Effect.sync(() => tf.dispose([reference, y]))),
        )
        lambda = choice.lambda
        const scores = choice.scores.map((s) => `${s.lambda.toPrecision(3)}: ${s.psnr.toFixed(2)} dB`).join(", ")
        yield* ctx.log(`lambda ${lambda.toPrecision(3)} by mean PSNR on ${tuneIds.length} measurements (${scores})`)
      }
      const count = ids.length
      const parts: tf.Tensor4D[] = []
      for (let start = 0; start < count; start += config.batch_size) {
        const size = Math.min(config.batch_size, count - start)
        const chosen = lambda
        const part = yield* Effect.try({
          try: () =>
            tf.tidy(() => reconstruct(process, measurements.y.slice([start, 0, 0, 0], [size, -1, -1, -1]), { ...options, lambda: chosen })),
          catch: failure,
        })
        parts.push(tf.tidy(() => tf.clipByValue(part, 0, 1)))
        part.dispose()
        yield* ctx.progress({ done: start + size, total: count, unit: "images" })
      }
      const x = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D)
      if (parts.length > 1) tf.dispose(parts)
      const reconstructions = {
        ids: [...ids],
        samples: 1,
        output: "x0" as const,
        t_stop: 0,
        dt: 0,
        steps: iterations,
        engine: `baseline ${method} (lambda ${Number(lambda.toPrecision(3))})`,
        x,
      }
      return { reconstructions }
    }),
})
