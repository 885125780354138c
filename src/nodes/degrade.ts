import { Effect } from "effect"
import * as tf from "@tensorflow/tfjs-core"
import { batchToTensor4D } from "../dirac/data/tensor.js"
import { measure } from "../dirac/noise/measurement.js"
import type { DegradationFamily } from "../dirac/operators/family.js"
import { gaussianBlurFamily } from "../dirac/operators/gaussian-blur.js"
import { inpaintBoxFamily } from "../dirac/operators/inpaint-box.js"
import { inpaintGaussianFamily } from "../dirac/operators/inpaint-gaussian.js"
import { degradationProcess, type DegradationProcess } from "../dirac/operators/process.js"
import { officialBlurSchedule } from "../dirac/operators/official-blur-table.js"
import type { PortType } from "../dsl/ports.js"
import type { NodeKind, PortValue } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { openImages, processValue, single } from "./values.js"

export interface DegradeArgs {
  readonly operator: "gaussian-blur" | "inpaint-gaussian" | "inpaint-box"
  readonly schedule: "linear" | "official"
  readonly std_min: number
  readonly std_max: number
  readonly kernel_size: number
  readonly w_min: number
  readonly w_max: number
  readonly power: number
  readonly box_size: number
  readonly noise: { readonly sigma_min: number; readonly sigma_max: number }
  readonly batch_size: number
}

const family = (config: DegradeArgs): DegradationFamily => {
  switch (config.operator) {
    case "gaussian-blur":
      return gaussianBlurFamily({ stdMin: config.std_min, stdMax: config.std_max, kernelSize: config.kernel_size })
    case "inpaint-gaussian":
      return inpaintGaussianFamily({ widthMin: config.w_min, widthMax: config.w_max, power: config.power })
    case "inpaint-box":
      return inpaintBoxFamily({ boxSize: config.box_size })
  }
}

export const processOf = (config: DegradeArgs): DegradationProcess =>
  degradationProcess(family(config), {
    noise: { sigmaMin: config.noise.sigma_min, sigmaMax: config.noise.sigma_max },
    ...(config.schedule === "official" ? { schedule: officialBlurSchedule() } : {}),
  })

const configErrors = (config: DegradeArgs) => {
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

export const degrade: NodeKind<DegradeArgs> = {
  kind: "degrade",
  version: 1,
  summary: "The degradation process A_t with noise sigma_t, and measurements y~ = A_1(x) + sigma_1 z of given images",
  configSchema: configSchemaFile("degrade"),
  inputs: { images: { type: "images", required: false, description: "images to measure (their ids seed the noise)" } },
  outputs: {
    process: { type: "process", description: "the degradation process (operator, severity schedule, noise)" },
    measurements: { type: "measurements", optional: true, description: "y~ = A_1(x) + sigma_1 z, with ids; only when images are given" },
  },
  defaultOutput: "process",
  backendSensitive: true,
  typing: (config: DegradeArgs, inputs) => {
    const images = inputs.images as PortType | undefined
    return {
      errors: configErrors(config),
      ...(images
        ? { outputs: { measurements: { kind: "measurements", shape: images.shape } } }
        : { absent: { measurements: "connect images to its 'images' input" } }),
    }
  },
  run: (ctx) =>
    Effect.gen(function* () {
      const process = processOf(ctx.config)
      const outputs: Record<string, PortValue> = { process: processValue(process) }
      if (!ctx.inputs.images) return outputs
      const source = yield* openImages(single(ctx.inputs.images))
      const r = source.resolution
      const perImage = r * r * 3
      const y = new Float32Array(source.count * perImage)
      const ids: string[] = []
      const iterator = source.batches(ctx.config.batch_size)
      for (;;) {
        const next = yield* Effect.promise(() => iterator.next())
        if (next.done) break
        const batch = next.value
        const measured = tf.tidy(() => measure(process, batchToTensor4D(batch), batch.ids))
        y.set(yield* Effect.promise(() => measured.data() as Promise<Float32Array>), ids.length * perImage)
        measured.dispose()
        ids.push(...batch.ids)
        yield* ctx.progress({ done: ids.length, total: source.count, unit: "images" })
      }
      outputs.measurements = {
        meta: { ids, sigma: process.sigma(1), process: processValue(process).meta },
        tensors: { y: tf.tensor4d(y.subarray(0, ids.length * perImage), [ids.length, r, r, 3]) },
      }
      return outputs
    }),
}
