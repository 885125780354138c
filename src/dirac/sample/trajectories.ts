import type { StepRecord } from "./types.js"

/** Per-step metrics of the reverse process over a data set: each metric's value for every image, step by step. */
export interface Trajectories {
  readonly dt: number
  /** t after each step (t_next). */
  readonly t: ReadonlyArray<number>
  /** metric -> step -> one value per image. */
  readonly metrics: Readonly<Record<string, ReadonlyArray<ReadonlyArray<number>>>>
  /** sigma_1^2: where eps_dc sits when x^0 is consistent with the measurement. */
  readonly noiseFloor: number
}

const keys: Record<string, keyof StepRecord> = {
  eps_dc: "epsDc",
  psnr_x0: "psnrX0",
  ssim_x0: "ssimX0",
  psnr_y: "psnrY",
  ssim_y: "ssimY",
  perceptual_x0: "perceptualX0",
  perceptual_y: "perceptualY",
}

/** Lower is better for these; higher for the others. */
export const lowerIsBetter = (metric: string): boolean => metric.startsWith("eps_dc") || metric.startsWith("perceptual")

export const emptyTrajectories = (dt: number, noiseFloor: number): Trajectories => ({ dt, t: [], metrics: {}, noiseFloor })

/** Appends one batch's records (all batches run the same time grid). */
export const addBatch = (into: Trajectories, records: ReadonlyArray<StepRecord>): Trajectories => {
  const t = into.t.length > 0 ? into.t : records.map((r) => r.t)
  const metrics: Record<string, ReadonlyArray<ReadonlyArray<number>>> = { ...into.metrics }
  for (const [name, key] of Object.entries(keys)) {
    if (records[0]?.[key] === undefined) continue
    metrics[name] = records.map((r, step) => [...(metrics[name]?.[step] ?? []), ...(r[key] as number[])])
  }
  return { ...into, t, metrics }
}

/** The trajectories of consecutive sets of images as one (they ran the same time grid). */
export const concatTrajectories = (parts: ReadonlyArray<Trajectories>): Trajectories => {
  const [first, ...rest] = parts
  if (first === undefined) throw new RangeError("no trajectories to concatenate")
  const t = parts.find((p) => p.t.length > 0)?.t ?? first.t
  const names = [...new Set(parts.flatMap((p) => Object.keys(p.metrics)))]
  const metrics = Object.fromEntries(names.map((name) => [name, t.map((_, step) => parts.flatMap((p) => p.metrics[name]?.[step] ?? []))]))
  return rest.length === 0 ? first : { ...first, t, metrics }
}

export const meanCurve = (trajectories: Trajectories, metric: string): number[] =>
  (trajectories.metrics[metric] ?? []).map((values) => values.reduce((a, b) => a + b, 0) / values.length)

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
