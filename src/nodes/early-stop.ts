import { Effect, Schema } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { chooseStop, lowerIsBetter } from "../dirac/sample/trajectories.js"
import { didYouMean } from "../dsl/suggest.js"
import { linePlotPng } from "../report/plot.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { stoppingRulePort } from "./ports/stopping-rule.js"
import { trajectoriesPort } from "./ports/trajectories.js"

const EarlyStopConfig = Schema.Struct({
  criterion: withDefault(
    Schema.Literals(["distortion", "perception", "metric"]).annotate({
      description: "distortion: best PSNR; perception: best perceptual distance; metric: the metric named below",
    }),
    "distortion",
  ),
  output: withDefault(
    Schema.Literals(["x0", "y"]).annotate({ description: "which iterate is judged and output: the estimate x^0 or y_t" }),
    "x0",
  ),
  metric: Schema.optionalKey(
    Schema.String.annotate({ description: "criterion metric: a recorded trajectory metric, e.g. ssim_x0, psnr_y, eps_dc" }),
  ),
  mode: Schema.optionalKey(
    Schema.Literals(["max", "min"]).annotate({
      description: "criterion metric: whether larger or smaller is better (default: min for distances and eps_dc, max otherwise)",
    }),
  ),
})

type EarlyStopConfig = typeof EarlyStopConfig.Type

export const criterionMetric = (config: EarlyStopConfig): { metric: string; mode: "max" | "min" } => {
  if (config.criterion === "distortion") return { metric: `psnr_${config.output}`, mode: "max" }
  if (config.criterion === "perception") return { metric: `perceptual_${config.output}`, mode: "min" }
  const metric = config.metric ?? `psnr_${config.output}`
  return { metric, mode: config.mode ?? (lowerIsBetter(metric) ? "min" : "max") }
}

/** A criterion with no metric, or one the upstream sample node does not record (when its typing says what it records). */
const criterionErrors = (config: EarlyStopConfig, recorded: ReadonlyArray<string> | undefined) => {
  if (config.criterion === "metric" && config.metric === undefined)
    return [{ path: ["with", "criterion"], message: "criterion: metric needs the metric to judge by: add metric: NAME, e.g. ssim_x0" }]
  const { metric } = criterionMetric(config)
  if (recorded === undefined || recorded.includes(metric)) return []
  const why = /^perceptual_(x0|y)$/.test(metric)
    ? "; the sample node records a perceptual distance only with clean images and perceptual other than none"
    : /^(psnr|ssim)_(x0|y)$/.test(metric)
      ? "; the sample node records PSNR and SSIM only when clean images are connected to its images input"
      : didYouMean(metric, recorded)
  return [
    {
      path: ["with", config.criterion === "metric" ? "metric" : "criterion"],
      message: `the trajectories record ${recorded.join(", ")}, not ${metric}${why}`,
    },
  ]
}

export const earlyStop = defineKind({
  kind: "early-stop",
  version: 1,
  summary: "Chooses t_stop from validation trajectories: distortion-optimised (best PSNR) or perception-optimised",
  description:
    "Chooses t_stop from validation trajectories (paper Section 3.7): the step that maximises PSNR (distortion-optimised) or minimises the perceptual distance (perception-optimised), or any recorded metric.",
  config: EarlyStopConfig,
  inputs: {
    trajectories: {
      codec: trajectoriesPort,
      description: "per-step metrics of a sample node run on validation measurements with clean images",
    },
  },
  outputs: {
    rule: { codec: stoppingRulePort, description: "t_stop and the output (x0 or y) for a sample node's 'stop' input" },
  },
  sharesBackend: true,
  typing: (config, types) => ({ errors: criterionErrors(config, types.trajectories?.metrics) }),
  run: (ctx) =>
    Effect.gen(function* () {
      const { trajectories } = ctx.inputs
      const { metric, mode } = criterionMetric(ctx.config)
      const choice = yield* Effect.try({ try: () => chooseStop(trajectories, metric, mode), catch: failure })
      const best = `${metric} is best (${choice.value.toPrecision(4)}) after step ${choice.step + 1} of ${choice.curve.length}, at t = ${choice.t.toFixed(4)}`
      yield* ctx.log(`${best}: t_stop ${choice.tStop.toFixed(4)}`)
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(ctx.reportDir, { recursive: true })
          const points = choice.curve.map((y, i) => ({ x: trajectories.t[i], y }))
          const png = await linePlotPng({
            title: `Early stopping on ${metric} (${mode}): t_stop = ${choice.tStop.toFixed(4)}`,
            x: "t",
            y: metric,
            series: [
              { name: metric, points },
              { name: "best step", points: [{ x: choice.t, y: choice.value }] },
            ],
            marks: true,
            rules: [{ x: choice.tStop, label: `t_stop = ${choice.tStop.toFixed(4)}` }],
          })
          await writeFile(join(ctx.reportDir, "early-stop.png"), png)
          await writeFile(join(ctx.reportDir, "early-stop.md"), `Chosen t_stop = ${choice.tStop.toFixed(4)}: ${best}.\n`)
        },
        catch: failure,
      })
      const rule = {
        t_stop: choice.tStop,
        output: ctx.config.output,
        metric,
        mode,
        t: choice.t,
        value: choice.value,
        step: choice.step + 1,
        t_curve: trajectories.t,
        curve: choice.curve,
      }
      return { rule }
    }),
})
