import { Effect, Schema } from "effect"
import { measureSource } from "../dirac/noise/measurement.js"
import type { DegradationFamily } from "../dirac/operators/family.js"
import { gaussianBlurFamily } from "../dirac/operators/gaussian-blur.js"
import { inpaintBoxFamily } from "../dirac/operators/inpaint-box.js"
import { inpaintGaussianFamily } from "../dirac/operators/inpaint-gaussian.js"
import { degradationProcess, type DegradationProcess } from "../dirac/operators/process.js"
import { officialBlurSchedule } from "../dirac/operators/official-blur-table.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"
import { measurementsPort } from "./ports/measurements.js"
import { processPort } from "./ports/process.js"
import type { ImageShape } from "../dsl/ports.js"

const positive = (description: string, value: number) =>
  withDefault(Schema.Finite.check(Schema.isGreaterThan(0)).annotate({ description }), value)
const sigma = (value: number) => withDefault(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)), value)

const DegradeConfig = Schema.Struct({
  operator: withDefault(
    Schema.Literals(["gaussian-blur", "inpaint-gaussian", "inpaint-box"]).annotate({ description: "the deterministic degradation A_t" }),
    "gaussian-blur",
  ),
  schedule: withDefault(
    Schema.Literals(["linear", "official"]).annotate({
      description: "severity against t: linear between the min and max, or the official 102-point blur table (gaussian-blur only)",
    }),
    "linear",
  ),
  std_min: positive("gaussian-blur: kernel std (px) at t = 0 (A_0 is this faint blur, not the identity)", 0.3),
  std_max: positive("gaussian-blur: kernel std (px) at t = 1", 3.0),
  kernel_size: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(3)).annotate({
      description: "gaussian-blur: cap on the kernel size (radius int(6 std + 0.5) inside it)",
    }),
    61,
  ),
  w_min: positive("inpaint-gaussian: mask width (px) at t = 0+ (M_0 = 1)", 0.1),
  w_max: positive("inpaint-gaussian: mask width (px) at t = 1 (50 for CelebA-HQ/FFHQ at 256 px, 30 for ImageNet)", 50),
  power: positive("inpaint-gaussian: k in M = (1 - exp(-d^2 / (2 w^2)))^k", 4),
  box_size: withDefault(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "inpaint-box: side (px) of the box at t = 1" }),
    128,
  ),
  noise: withDefault(
    Schema.Struct({ sigma_min: sigma(0.01), sigma_max: sigma(0.05) }).annotate({
      description: "geometric noise schedule sigma_t = sigma_min (sigma_max / sigma_min)^t, in [0, 1] pixel units",
    }),
    {},
  ),
  batch_size: withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "images measured at once" }), 16),
})

type DegradeConfig = typeof DegradeConfig.Type

const family = (config: DegradeConfig): DegradationFamily => {
  switch (config.operator) {
    case "gaussian-blur":
      return gaussianBlurFamily({ stdMin: config.std_min, stdMax: config.std_max, kernelSize: config.kernel_size })
    case "inpaint-gaussian":
      return inpaintGaussianFamily({ widthMin: config.w_min, widthMax: config.w_max, power: config.power })
    case "inpaint-box":
      return inpaintBoxFamily({ boxSize: config.box_size })
  }
}

export const processOf = (config: DegradeConfig): DegradationProcess =>
  degradationProcess(family(config), {
    noise: { sigmaMin: config.noise.sigma_min, sigmaMax: config.noise.sigma_max },
    ...(config.schedule === "official" ? { schedule: officialBlurSchedule() } : {}),
  })

const configErrors = (config: DegradeConfig) => {
  const errors: Array<{ path: string[]; message: string }> = []
  if (config.schedule === "official" && (config.operator !== "gaussian-blur" || config.std_min !== 0.3 || config.std_max !== 3)) {
    errors.push({
      path: ["with", "schedule"],
      message: "the official table is a gaussian-blur schedule from std 0.3 to 3.0; use schedule: linear or a schedule node otherwise",
    })
  }
  if (config.operator === "gaussian-blur" && config.std_max < config.std_min)
    errors.push({ path: ["with", "std_max"], message: `must be >= std_min (${config.std_min})` })
  if (config.operator === "inpaint-gaussian" && config.w_max < config.w_min)
    errors.push({ path: ["with", "w_max"], message: `must be >= w_min (${config.w_min})` })
  if (config.noise.sigma_max < config.noise.sigma_min)
    errors.push({ path: ["with", "noise", "sigma_max"], message: `must be >= sigma_min (${config.noise.sigma_min})` })
  return errors
}

/** A box as large as the images masks all of them at t = 1: nothing is left to reconstruct from. */
const boxErrors = (config: DegradeConfig, shape: ImageShape | undefined) => {
  const side = Math.min(shape?.height ?? Infinity, shape?.width ?? Infinity)
  if (config.operator !== "inpaint-box" || config.box_size < side) return []
  return [
    { path: ["with", "box_size"], message: `must be smaller than the images (${shape?.height}x${shape?.width}), or it masks all of them` },
  ]
}

export const degrade = defineKind({
  kind: "degrade",
  version: 1,
  summary: "The degradation process A_t with noise sigma_t, and measurements y~ = A_1(x) + sigma_1 z of given images",
  description:
    "The stochastic degradation process y_t = A_t(x) + sigma_t z, and, given images, their measurements y~ = A_1(x) + sigma_1 z with z seeded by each image's id.",
  config: DegradeConfig,
  inputs: { images: { codec: imagesPort, required: false, description: "images to measure (their ids seed the noise)" } },
  outputs: {
    process: { codec: processPort, description: "the degradation process (operator, severity schedule, noise)" },
    measurements: {
      codec: measurementsPort,
      optional: true,
      description: "y~ = A_1(x) + sigma_1 z, with ids; only when images are given",
    },
  },
  defaultOutput: "process",
  backendSensitive: true,
  typing: (config, types) => ({
    errors: [...configErrors(config), ...boxErrors(config, types.images?.shape)],
    outputs: {
      process: { kind: "process", operator: config.operator },
      ...(types.images ? { measurements: { kind: "measurements", shape: types.images.shape, operator: config.operator } } : {}),
    },
    ...(types.images ? {} : { absent: { measurements: "connect images to its 'images' input" } }),
  }),
  run: (ctx) =>
    Effect.gen(function* () {
      const process = processOf(ctx.config)
      const source = ctx.inputs.images
      if (!source) return { process }
      const progress = (done: number) => Effect.runPromise(ctx.progress({ done, total: source.count, unit: "images" }))
      const { ids, y } = yield* Effect.tryPromise({
        try: () => measureSource(process, source, ctx.config.batch_size, progress),
        catch: failure,
      })
      const measurements = { ids, sigma: process.sigma(1), process: process.describe(), y }
      return { process, measurements }
    }),
})
