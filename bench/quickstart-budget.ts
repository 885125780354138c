/**
 * The quickstart's budget study (issue 15): which training configuration, at which number of steps, lets
 * DiracDiffusion match the classical baselines and the supervised network on the quickstart's test images.
 *
 *   npx tsx bench/quickstart-budget.ts --config NAME[,NAME...] [--steps 200,400,800] [--threads N]
 *   npx tsx bench/quickstart-budget.ts --config NAME --save-dir DIR   (also writes DIR/NAME-STEPS.safetensors)
 *   npx tsx bench/quickstart-budget.ts --curves DIR/NAME-STEPS.safetensors   (validation curves under sampler variants)
 *   npx tsx bench/quickstart-budget.ts --config NAME --steps 4800 --from DIR/NAME-3200.safetensors
 *       (continues a saved network: its weights, fresh Adam moments and a fresh batch stream; the JSON says so)
 *   npx tsx bench/quickstart-budget.ts --report      (bench/results/quickstart-budget/*.json -> quickstart-budget.md)
 *
 * The quickstart's data exactly (synthetic 32x32 images: 512 for training, seed 1; 8 validation, seed 2; 16 test,
 * seed 3), its scheduled blur (std 0.3..1.5, 200 candidates, 20 points, 1 - SSIM on 8 training images) and its
 * measurements (noise seeded by image id, sigma 0.01..0.05). Each configuration trains once; at every step count
 * in --steps the training pauses and the network is evaluated as the quickstart evaluates it: the reverse
 * process on the validation measurements chooses t_stop (PSNR of x^0 for DO, the perceptual distance for PO),
 * then DO (one sample) and PO (two samples) reconstruct the test measurements. The supervised configuration is
 * evaluated by its one network evaluation at t = 1. Tikhonov (gradient prior) and TV, their lambda chosen on the
 * validation measurements, are the classical rows. Training seconds are wall-clock time of the training steps
 * alone on wasm; the machine may have been shared (the JSON records the load average).
 */
import * as tf from "@tensorflow/tfjs-core"
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { loadavg } from "node:os"
import { join } from "node:path"
import { tikhonov, tuneLambda, tv } from "../src/dirac/baselines/index.js"
import { syntheticSource } from "../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../src/dirac/data/tensor.js"
import { psnr } from "../src/dirac/metrics/mse-psnr.js"
import { pairedDifference } from "../src/dirac/metrics/paired-difference.js"
import { ssim } from "../src/dirac/metrics/ssim.js"
import { perceptualMetric } from "../src/dirac/metrics/perceptual/index.js"
import { createUNet, forward, loadWeights, loadWeightsInto, saveWeights, type SongUNet } from "../src/dirac/network/index.js"
import { measure } from "../src/dirac/noise/measurement.js"
import { gaussianBlurFamily } from "../src/dirac/operators/gaussian-blur.js"
import { degradationProcess, type DegradationProcess } from "../src/dirac/operators/process.js"
import { diracSample, networkDenoiser, type Denoiser, type SamplerArgs } from "../src/dirac/sample/sampler.js"
import { addBatch, chooseStop, emptyTrajectories, meanCurve } from "../src/dirac/sample/trajectories.js"
import { scheduleDegradation } from "../src/dirac/schedule/schedule-degradation.js"
import { defaultAdam } from "../src/dirac/train/adam.js"
import type { LossWeighting } from "../src/dirac/train/loss.js"
import { Trainer, type TimeSampling, type TrainingObjective } from "../src/dirac/train/trainer.js"
import { initBackend } from "../src/runtime/backend/select.js"
import { repoRoot } from "./lib/options.js"

interface StudyConfig {
  readonly objective: TrainingObjective
  readonly lr: number
  readonly weighting: LossWeighting
  readonly dt: number
  readonly preset: string
  readonly batch: number
  readonly timeSampling?: TimeSampling
}

const quickstart: StudyConfig = {
  objective: "incremental-reconstruction",
  lr: 2e-3,
  weighting: "inverse-variance",
  dt: 0,
  preset: "tiny-32",
  batch: 8,
}

const dt1: StudyConfig = { ...quickstart, lr: 1e-3, weighting: "uniform", dt: 1 }

export const CONFIGS: Record<string, StudyConfig> = {
  quickstart,
  "lr1e-3": { ...quickstart, lr: 1e-3 },
  "lr1e-3-uniform": { ...quickstart, lr: 1e-3, weighting: "uniform" },
  "lr1e-3-uniform-dt1": { ...quickstart, lr: 1e-3, weighting: "uniform", dt: 1 },
  "lr1e-3-uniform-dt0.5": { ...quickstart, lr: 1e-3, weighting: "uniform", dt: 0.5 },
  supervised: { ...quickstart, objective: "supervised", lr: 1e-3 },
  "dt1-power1": { ...dt1, timeSampling: { power: 1, measurementFraction: 0 } },
  "dt1-half-at-1": { ...dt1, timeSampling: { power: 0, measurementFraction: 0.5 } },
}

const OUT = join(repoRoot, "bench", "results", "quickstart-budget")
const SAMPLER: SamplerArgs = {
  dt: 0.05,
  stopT: 0,
  update: "look-ahead",
  guidance: { step: 0, scaling: "std", sign: "paper" },
  output: "x0",
}
const mean = (v: ReadonlyArray<number>) => v.reduce((a, b) => a + b, 0) / v.length

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const imageSet = async (process_: DegradationProcess, seed: number, count: number) => {
  const batch = await syntheticSource({ seed, count, resolution: 32 }).load([...Array(count).keys()])
  const x = batchToTensor4D(batch)
  return { x, ids: batch.ids, y: measure(process_, x, batch.ids) }
}

type ImageSet = Awaited<ReturnType<typeof imageSet>>

const scheduledProcess = async () => {
  const family = gaussianBlurFamily({ stdMin: 0.3, stdMax: 1.5 })
  const train = await syntheticSource({ seed: 1, count: 512, resolution: 32 }).load([...Array(8).keys()])
  const images = batchToTensor4D(train)
  const result = await scheduleDegradation({ family, images, candidates: 200, points: 20, distance: "ssim" })
  images.dispose()
  return degradationProcess(family, { schedule: result.schedule, noise: { sigmaMin: 0.01, sigmaMax: 0.05 } })
}

const perceptual = perceptualMetric("mobilenet-perceptual")

interface Scores {
  readonly psnr: number
  readonly ssim: number
  readonly perceptual: number
  /** Per test image (the mean over its samples), for paired comparisons between methods. */
  readonly perceptual_images?: ReadonlyArray<number>
}

const score = async (x: tf.Tensor4D, clean: tf.Tensor4D, images = x.shape[0]): Promise<Scores> => {
  const clipped = tf.clipByValue(x, 0, 1) as tf.Tensor4D
  const distances = await perceptual.distance(clipped, clean)
  const result = {
    psnr: mean(psnr(clipped, clean)),
    ssim: mean(ssim(clipped, clean)),
    perceptual: mean(distances),
    perceptual_images: Array.from({ length: images }, (_, i) => mean(distances.filter((_, k) => k % images === i))),
  }
  clipped.dispose()
  return result
}

/** The reverse process on the validation measurements, recording PSNR and the perceptual distance at every step. */
const validationTrajectories = async (denoiser: Denoiser, process_: DegradationProcess, args: SamplerArgs, val: ImageSet) => {
  const run = await diracSample(denoiser, process_, args, {
    measurements: val.y,
    ids: val.ids,
    seed: 1,
    clean: val.x,
    perceptual: (a, b) => perceptual.distance(a, b),
  })
  run.output.dispose()
  return addBatch(emptyTrajectories(args.dt, process_.sigma(1) ** 2), run.trajectory)
}

/** Validation chooses t_stop for DO and PO; then DO (one sample) and PO (two) on the test measurements. */
const evaluateSampler = async (denoiser: Denoiser, process_: DegradationProcess, args: SamplerArgs, val: ImageSet, test: ImageSet) => {
  const trajectories = await validationTrajectories(denoiser, process_, args, val)
  const doStop = chooseStop(trajectories, "psnr_x0", "max").tStop
  const poStop = chooseStop(trajectories, "perceptual_x0", "min").tStop
  const sample = async (stopT: number, seed: number) =>
    (await diracSample(denoiser, process_, { ...args, stopT }, { measurements: test.y, ids: test.ids, seed })).output
  const doOut = await sample(doStop, 2)
  const po = [await sample(poStop, 3), await sample(poStop, 4)]
  const poAll = tf.concat(po) as tf.Tensor4D
  const cleanTwice = tf.concat([test.x, test.x]) as tf.Tensor4D
  const result = {
    do: { ...(await score(doOut, test.x)), t_stop: doStop },
    po: { ...(await score(poAll, cleanTwice, test.ids.length)), t_stop: poStop },
  }
  tf.dispose([doOut, ...po, poAll, cleanTwice])
  return result
}

const GUIDANCE_STEPS = [0, 0.5]

const evaluateDirac = async (net: SongUNet, process_: DegradationProcess, val: ImageSet, test: ImageSet) => {
  const denoiser = networkDenoiser(net)
  const result: Record<string, unknown> = {}
  for (const step of GUIDANCE_STEPS) {
    const { do: d, po } = await evaluateSampler(denoiser, process_, { ...SAMPLER, guidance: { ...SAMPLER.guidance, step } }, val, test)
    result[step ? `do_guided_${step}` : "do"] = d
    result[step ? `po_guided_${step}` : "po"] = po
  }
  const oneShot = tf.tidy(() => forward(net, test.y, tf.fill([test.ids.length], process_.sigma(1)) as tf.Tensor1D))
  result.x0_at_1 = await score(oneShot, test.x)
  oneShot.dispose()
  return result
}

const evaluateSupervised = async (net: Parameters<typeof forward>[0], process_: DegradationProcess, test: ImageSet) => {
  const x = tf.tidy(() => forward(net, test.y, tf.fill([test.ids.length], process_.sigma(1)) as tf.Tensor1D))
  const result = { supervised: await score(x, test.x) }
  x.dispose()
  return result
}

const study = async (name: string, config: StudyConfig, steps: number[], process_: DegradationProcess, val: ImageSet, test: ImageSet) => {
  const net = createUNet(config.preset as Parameters<typeof createUNet>[0], { seed: 0 })
  const from = argument("from")
  const offset = from ? Number(/-(\d+)\.safetensors$/.exec(from)?.[1] ?? NaN) : 0
  if (from) {
    if (!Number.isInteger(offset)) throw new Error(`--from ${from}: the file name must end in -STEPS.safetensors`)
    await loadWeightsInto(net, from)
  }
  const trainer = new Trainer(net, process_, syntheticSource({ seed: 1, count: 512, resolution: 32 }), {
    batchSize: config.batch,
    objective: config.objective,
    dt: config.dt,
    weighting: config.weighting,
    adam: { ...defaultAdam, lr: config.lr },
    emaDecay: 0,
    seed: offset,
    timeSampling: config.timeSampling,
  })
  const points: Array<Record<string, unknown>> = []
  let trainSeconds = 0
  for (const target of steps) {
    const t0 = performance.now()
    while (offset + trainer.step < target) {
      const { loss } = await trainer.trainStep()
      const step = offset + trainer.step
      if (step % 50 === 0) console.log(name, `step ${step} loss ${loss.toPrecision(3)} ${Math.round((performance.now() - t0) / 1000)} s`)
    }
    trainSeconds += (performance.now() - t0) / 1000
    const saveDir = argument("save-dir")
    if (saveDir) await saveWeights(net, join(saveDir, `${name}-${target}.safetensors`))
    const scores =
      config.objective === "supervised" ? await evaluateSupervised(net, process_, test) : await evaluateDirac(net, process_, val, test)
    const continued = from ? { continued_from: offset } : {}
    points.push({ steps: target, ...continued, train_seconds: Math.round(trainSeconds), load: loadavg()[0].toFixed(1), ...scores })
    console.log(name, JSON.stringify(points.at(-1)))
    writeFileSync(join(OUT, `${name}${from ? `-from-${offset}` : ""}.json`), JSON.stringify({ name, config, points }, null, 2))
  }
  trainer.dispose()
  net.dispose()
}

const baselines = async (process_: DegradationProcess, val: ImageSet, test: ImageSet) => {
  const rows: Record<string, unknown> = { measurement: await score(test.y, test.x) }
  for (const [name, method] of [
    [
      "tikhonov (gradient prior)",
      (y: tf.Tensor4D, lambda: number) => tikhonov(process_, y, { lambda, prior: "gradient", iterations: 100 }),
    ],
    ["tv", (y: tf.Tensor4D, lambda: number) => tv(process_, y, { lambda, iterations: 300 })],
  ] as const) {
    const grid = Array.from({ length: 13 }, (_, k) => 10 ** (-4 + k / 4))
    const options =
      name === "tv"
        ? { method: "tv" as const, iterations: 300 }
        : { method: "tikhonov" as const, iterations: 100, prior: "gradient" as const }
    const { lambda } = await tuneLambda(process_, val.y, val.x, options, grid)
    const x = method(test.y, lambda)
    rows[name] = { ...(await score(x, test.x)), lambda }
    x.dispose()
  }
  writeFileSync(join(OUT, "baselines.json"), JSON.stringify(rows, null, 2))
  console.log(JSON.stringify(rows))
}

interface Study {
  readonly name: string
  readonly points: ReadonlyArray<Record<string, any>>
}

/** PO against the supervised network image by image, at the step counts where both kept per-image distances. */
const pairedPerceptual = (studies: ReadonlyArray<Study>): string[] => {
  const supervised = new Map(
    studies
      .filter((s) => s.name === "supervised")
      .flatMap((s) => s.points)
      .filter((p) => p.supervised?.perceptual_images)
      .map((p) => [p.steps, p.supervised.perceptual_images as number[]]),
  )
  const rows = studies
    .filter((s) => s.name !== "supervised")
    .flatMap((s) => s.points.map((p) => ({ name: s.name, p })))
    .flatMap(({ name, p }) =>
      ["po", "po_guided_0.5"]
        .filter((output) => p[output]?.perceptual_images && supervised.has(p.steps))
        .map((output) => {
          const byImage = (values: number[]) => ({ values, ids: values.map((_, i) => String(i)) })
          const d = pairedDifference(byImage(p[output].perceptual_images), byImage(supervised.get(p.steps)!), false)!
          return `| ${name} | ${p.steps} | ${output} | ${d.mean.toFixed(3)} ± ${d.standard_error!.toFixed(3)} | ${d.better} of ${d.images} |`
        }),
    )
  if (rows.length === 0) return []
  return [
    "Perceptual distance of PO minus the supervised network's, per test image (PO: the mean of its two samples), same steps:",
    "",
    "| configuration | steps | output | mean ± standard error | images where PO is lower |",
    "|---|---|---|---|---|",
    ...rows,
  ]
}

const fmt = (s: Scores | undefined) => (s ? `${s.psnr.toFixed(2)} / ${s.ssim.toFixed(3)} / ${s.perceptual.toFixed(2)}` : "–")

const report = () => {
  const files = readdirSync(OUT).filter((f) => f.endsWith(".json") && f !== "baselines.json")
  const base = JSON.parse(readFileSync(join(OUT, "baselines.json"), "utf8")) as Record<string, Scores & { lambda?: number }>
  const findings = join(OUT, "findings.md")
  const lines = [
    "# Quickstart budget study",
    "",
    ...(existsSync(findings) ? [readFileSync(findings, "utf8").trim(), ""] : []),
    "`npx tsx bench/quickstart-budget.ts` (see its header). Cells: PSNR (dB) / SSIM / perceptual distance (mobilenet-perceptual, lower is better), means over the 16 test images (PO: 32 outputs, two per image).",
    "",
    "| baseline | PSNR / SSIM / perceptual | lambda (tuned on validation) |",
    "|---|---|---|",
    ...Object.entries(base).map(([name, s]) => `| ${name} | ${fmt(s)} | ${s.lambda ?? ""} |`),
    "",
    "| configuration | steps | training s | load | output | PSNR / SSIM / perceptual | t_stop |",
    "|---|---|---|---|---|---|---|",
  ]
  const studies = mergedStudies(files.sort().map((file) => JSON.parse(readFileSync(join(OUT, file), "utf8")) as Study))
  for (const { name, points } of studies)
    for (const p of points)
      for (const [output, s] of Object.entries(p).filter(([, v]) => typeof v === "object"))
        lines.push(
          `| ${name} | ${p.steps}${p.continued_from ? ` (from ${p.continued_from})` : ""} | ${p.train_seconds} | ${p.load} | ${output} | ${fmt(s)} | ${typeof s.t_stop === "number" ? s.t_stop.toFixed(3) : ""} |`,
        )
  lines.push("", ...pairedPerceptual(studies))
  writeFileSync(join(repoRoot, "bench", "results", "quickstart-budget.md"), `${lines.join("\n")}\n`)
}

/** One study per configuration, a continued run's points among the rest, by steps. */
const mergedStudies = (studies: Study[]): Study[] => {
  const byName = new Map<string, Study>()
  for (const study of studies) {
    const known = byName.get(study.name)
    byName.set(study.name, known ? { ...known, points: [...known.points, ...study.points] } : study)
  }
  return [...byName.values()].map((s) => ({ ...s, points: [...s.points].sort((a, b) => a.steps - b.steps) }))
}

/** The validation curves of one saved network under sampler variants (--curves WEIGHTS): where PSNR and the perceptual distance of x^0 and y_t peak. */
const curves = async (path: string, process_: DegradationProcess, val: ImageSet) => {
  const net = await loadWeights(path)
  const variants: Record<string, SamplerArgs> = {
    "look-ahead dt 0.05": SAMPLER,
    "look-ahead dt 0.02": { ...SAMPLER, dt: 0.02 },
    "look-back dt 0.05": { ...SAMPLER, update: "look-back" },
    "look-ahead dt 0.05, guidance 2": { ...SAMPLER, guidance: { ...SAMPLER.guidance, step: 2 } },
  }
  console.log("\nthe network on true inputs y_t = A_t(x) + sigma_t z of the validation images (what it was trained on)")
  console.log("t\tpsnr_y_t\tpsnr_x0\tperceptual_x0")
  for (const t of [1, 0.8, 0.6, 0.4, 0.2]) {
    const yt = tf.tidy(() =>
      tf.add(process_.A(val.x, t), tf.mul(tf.randomNormal(val.x.shape, 0, 1, "float32", 7), process_.sigma(t))),
    ) as tf.Tensor4D
    const x0 = tf.tidy(() => forward(net, yt, tf.fill([val.ids.length], process_.sigma(t)) as tf.Tensor1D))
    const [a, b] = [await score(yt, val.x), await score(x0, val.x)]
    console.log([t, a.psnr.toFixed(3), b.psnr.toFixed(3), b.perceptual.toFixed(3)].join("\t"))
    tf.dispose([yt, x0])
  }
  for (const [label, args] of Object.entries(variants)) {
    const tr = await validationTrajectories(networkDenoiser(net), process_, args, val)
    const rows = ["psnr_x0", "perceptual_x0", "psnr_y", "perceptual_y"].map((m) => [m, meanCurve(tr, m)] as const)
    console.log(`\n${label}`)
    console.log(["t", ...rows.map(([m]) => m)].join("\t"))
    tr.t.forEach((t, i) => console.log([t.toFixed(3), ...rows.map(([, c]) => c[i]?.toFixed(3))].join("\t")))
  }
  net.dispose()
}

const main = async () => {
  mkdirSync(OUT, { recursive: true })
  if (process.argv.includes("--report")) return report()
  await initBackend("wasm", { threads: Number(argument("threads") ?? 1) })
  const process_ = await scheduledProcess()
  const val = await imageSet(process_, 2, 8)
  const test = await imageSet(process_, 3, 16)
  if (process.argv.includes("--baselines")) await baselines(process_, val, test)
  const weights = argument("curves")
  if (weights) return curves(weights, process_, val)
  const steps = (argument("steps") ?? "200,400,800,1200").split(",").map(Number)
  for (const name of (argument("config") ?? "").split(",").filter(Boolean)) {
    const config = CONFIGS[name]
    if (!config) throw new Error(`unknown config ${name}; one of ${Object.keys(CONFIGS).join(", ")}`)
    await study(name, config, steps, process_, val, test)
  }
}

await main()
