import { Effect } from "effect"
import { mkdir, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { linePlotPng } from "../report/plot.js"
import type { Json, NodeKind } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { lowerIsBetter, meanCurve, type Trajectories } from "./trajectory.js"
import { failure, single } from "./values.js"

export interface EarlyStopArgs {
  readonly criterion: "distortion" | "perception" | "metric"
  readonly output: "x0" | "y"
  readonly metric?: string
  readonly mode?: "max" | "min"
}

export const criterionMetric = (config: EarlyStopArgs): { metric: string; mode: "max" | "min" } => {
  if (config.criterion === "distortion") return { metric: `psnr_${config.output}`, mode: "max" }
  if (config.criterion === "perception") return { metric: `perceptual_${config.output}`, mode: "min" }
  const metric = config.metric ?? `psnr_${config.output}`
  return { metric, mode: config.mode ?? (lowerIsBetter(metric) ? "min" : "max") }
}

/** The step with the best mean metric, and the t_stop that makes the sampler stop right after it. */
export const chooseStop = (trajectories: Trajectories, metric: string, mode: "max" | "min") => {
  const curve = meanCurve(trajectories, metric)
  if (curve.length === 0) {
    const known = Object.keys(trajectories.metrics).join(", ")
    throw new Error(`the trajectories have no '${metric}' (recorded: ${known || "none: connect clean images to the sample node"})`)
  }
  let best = 0
  for (let i = 1; i < curve.length; i++) if (mode === "max" ? curve[i] > curve[best] : curve[i] < curve[best]) best = i
  return { step: best, t: trajectories.t[best], value: curve[best], tStop: trajectories.t[best] + trajectories.dt / 2, curve }
}

export const earlyStop: NodeKind<EarlyStopArgs> = {
  kind: "early-stop",
  version: 1,
  summary: "Chooses t_stop from validation trajectories: distortion-optimised (best PSNR) or perception-optimised",
  configSchema: configSchemaFile("early-stop"),
  inputs: {
    trajectories: {
      type: "trajectories",
      description: "per-step metrics of a sample node run on validation measurements with clean images",
    },
  },
  outputs: { rule: { type: "stopping-rule", description: "t_stop and the output (x0 or y) for a sample node's 'stop' input" } },
  sharesBackend: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const trajectories = single(ctx.inputs.trajectories).meta as unknown as Trajectories
      const { metric, mode } = criterionMetric(ctx.config)
      const choice = yield* Effect.try({ try: () => chooseStop(trajectories, metric, mode), catch: failure })
      yield* ctx.log(
        `${metric} is best (${choice.value.toPrecision(4)}) after step ${choice.step + 1} of ${choice.curve.length}, at t = ${choice.t.toFixed(4)}: t_stop ${choice.tStop.toFixed(4)}`,
      )
      yield* Effect.tryPromise({
        try: async () => {
          await mkdir(ctx.reportDir, { recursive: true })
          const points = choice.curve.map((y, i) => ({ x: trajectories.t[i], y }))
          const png = await linePlotPng({
            title: `Early stopping on ${metric} (${mode})`,
            x: "t",
            y: metric,
            series: [
              { name: metric, points },
              { name: "chosen t", points: [{ x: choice.t, y: choice.value }] },
            ],
            marks: true,
          })
          await writeFile(join(ctx.reportDir, "early-stop.png"), png)
        },
        catch: failure,
      })
      const meta: Json = {
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
      return { rule: { meta, tensors: {} } }
    }),
}
