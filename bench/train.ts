/**
 * Training-step and forward-pass throughput of the score network, tfjs wasm vs PyTorch on the CPU.
 *
 *   npx tsx bench/train.ts                       # small-64, batch 8: wasm 1 and 2 threads, then PyTorch 1 and 2 threads
 *   PROFILE=1 npx tsx bench/train.ts             # + per-kernel tf.profile and a phase split of one step
 *   THREADS=2 TORCH=skip npx tsx bench/train.ts  # tfjs only, one thread count
 *   BENCH_BACKENDS=wasm:2,cpu npx tsx bench/train.ts  # other tensor backends (bench/lib/backends.ts)
 *
 * `npm run bench` (bench/run-all.ts) runs this script with RESULTS and SUMMARY_JSON set (and, for --quick,
 * PRESET=tiny-32 and small BATCH/REPS/WARMUP).
 *
 * tfjs: one `Trainer.trainStep` (src/dirac/train/trainer.ts) of the `small-64` preset: L_IR(dt) with the paper's
 * blur process (official std table, sigma 0.01 -> 0.05), dt = DT (default 0, the train node's default),
 * dropout 0.1, the PyTorch-exact Adam (lr 1e-4), the gradient norm it reports. Images come from a synthetic
 * source rendered once up front, so the step excludes image decoding. Each backend (wasm thread count) runs in its
 * own child process (the wasm build and its thread pool are fixed per process). "forward" is the eval-mode
 * Phi(y, sigma) of a batch including reading the result back: the cost of one sampler step.
 *
 * PyTorch: bench/reference/train_bench.py, a compact SongUNet of its own (bench/reference/songunet.py, the same
 * hyper-parameters; its parameter count is checked against `unetParameterCount`) with the same step: blur
 * (separable depthwise convs, reflect padding), weighted loss through the blur, backward, gradient norm,
 * torch.optim.Adam, `torch.set_num_threads(n)` for n in TORCH_THREADS (default "1,2"), NCHW and channels_last.
 * Every "vs PyTorch" ratio is to PyTorch NCHW with the row's thread count (else its most threads). It also loads
 * the tfjs network's weights (randomised first) and checks that both compute the same F(y, sigma). Only for the
 * presets songunet.py knows (small-64, tiny-32). Needs `python3` with torch; when `import torch` fails the PyTorch part is left out and the
 * results say so (TORCH=skip: leave it out anyway). Tests never need it.
 *
 * Per configuration: after WARMUP (default 2) untimed steps, the median and min of REPS (default 5) timed ones.
 * On a shared machine (2 cores here) other processes inflate every number, and a 2-thread PyTorch suffers most:
 * its OpenMP threads wait on each other at every op, so one descheduled thread stalls both (steps of 20 s instead
 * of 0.5 s were seen with two other busy processes). The load average and CPU/wall are printed; run it on an idle
 * machine, and trust "min" more than the median.
 *
 * Timing, per-thread child processes, kernel profiles and tables come from bench/lib/harness.ts, which
 * bench/network.ts uses too (that one times the bare network under a plain MSE loss and tf.train.adam).
 *
 * Results go to RESULTS (default bench/results/train.md; "-" for none); anything in that file below the line
 * `<!-- notes -->` is kept across runs. SUMMARY_JSON: a file for the summary lines of bench/results/README.md.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import type * as TF from "@tensorflow/tfjs-core"
import { syntheticSource } from "../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../src/dirac/data/tensor.js"
import { preloaded } from "./lib/preloaded.js"
import {
  createUNet,
  forward,
  saveWeights,
  songUNetRaw,
  UNET_PRESETS,
  unetParameterCount,
  type SongUNet,
  type UNetPresetName,
} from "../src/dirac/network/index.js"
import { paperDeblurProcess } from "../src/dirac/operators/process.js"
import { defaultAdam } from "../src/dirac/train/adam.js"
import { incrementalReconstructionLoss, type TrainingBatch } from "../src/dirac/train/loss.js"
import { Trainer } from "../src/dirac/train/trainer.js"
import { initBackend } from "../src/runtime/backend/select.js"
import { childBackend, parseBackend, parseBackends, type BenchBackend } from "./lib/backends.js"
import {
  formatProfile,
  formatTable,
  markdownTable,
  profileKernels,
  runChild,
  timed,
  type KernelProfile,
  type Timing,
} from "./lib/harness.js"
import { describeMachine, machineLines, maxRssMiB } from "./lib/machine.js"
import { runPython, slower, torchProblem, writeMarkdown, type BenchReport } from "./lib/results.js"

const PRESET = (process.env.PRESET ?? "small-64") as UNetPresetName
const BATCH = Number(process.env.BATCH ?? 8)
const REPS = Number(process.env.REPS ?? 5)
const WARMUP = Number(process.env.WARMUP ?? 2)
const DT = Number(process.env.DT ?? 0)
const PROFILE = process.env.PROFILE === "1"
/** PyTorch thread counts; each row's ratio is to NCHW with as many threads. */
const TORCH_THREADS = process.env.TORCH_THREADS ?? "1,2"
const here = dirname(fileURLToPath(import.meta.url))

interface TfjsResult {
  readonly device: string
  readonly tfjs: string
  readonly backend: string
  readonly threads?: number
  readonly params: number
  readonly step: Timing
  readonly forward: Timing
  readonly firstStepSeconds: number
  readonly lossFirst: number
  readonly lossLast: number
  readonly tensorsStable: boolean
  readonly maxRssMiB: number
  /** 1-minute load average before the first step and after the forward timings. */
  readonly load: readonly [number, number]
  /** PROFILE=1: the step's parts, timed separately. */
  readonly phases?: { readonly lossForward: Timing; readonly lossForwardEval: Timing; readonly fwdBwd: Timing; readonly adam: Timing }
  readonly profile?: KernelProfile
}

interface TorchRun {
  readonly layout: string
  readonly threads: number
  readonly step: Timing
  readonly forward: Timing
  readonly firstStepSeconds: number
  readonly lossFirst: number
  readonly lossLast: number
  readonly load: readonly [number, number]
}

interface TorchResult {
  readonly torch: string
  readonly python: string
  readonly params: number
  readonly runs: TorchRun[]
  readonly maxRssMiB?: number
  readonly check?: { missing: string[]; unexpected: string[]; maxAbsDiff: number; maxAbs: number; relDiff: number }
}

// ------------------------------------------------------------------ tfjs child

/** Fresh O(1) values for every trainable parameter, so that every path of the network shows in F (the check). */
const randomise = (tf: typeof TF, net: SongUNet): void => {
  let seed = 100
  for (const spec of net.arch.params) {
    if (!spec.trainable) continue
    const v = net.params[spec.name]!
    const init = spec.init
    const value = tf.tidy(() => {
      if (init.mode === "xavier_uniform") {
        const bound = Math.sqrt(6 / (init.fanIn + init.fanOut))
        return tf.randomUniform(v.shape, -bound, bound, "float32", seed++)
      }
      const noise = tf.randomNormal(v.shape, 0, 0.1, "float32", seed++)
      return init.mode === "ones" ? tf.add(noise, 1) : noise
    })
    v.assign(value)
    value.dispose()
  }
}

/** Weights, input and F(y, sigma) of the tfjs network for train_bench.py --check. */
const writeCheck = async (tf: typeof TF, net: SongUNet, y: TF.Tensor4D, sigma: TF.Tensor1D, dir: string): Promise<void> => {
  randomise(tf, net)
  await saveWeights(net, join(dir, "weights.safetensors"))
  const f = songUNetRaw(net, y, sigma)
  const raw = async (name: string, t: TF.Tensor) =>
    writeFileSync(join(dir, name), new Uint8Array(((await t.data()) as Float32Array).buffer))
  await raw("y.f32", y)
  await raw("sigma.f32", sigma)
  await raw("f.f32", f)
  writeFileSync(join(dir, "meta.json"), JSON.stringify({ y: y.shape, sigma: sigma.shape, f: f.shape }))
  f.dispose()
}

const measureTfjs = async (backend: BenchBackend): Promise<TfjsResult> => {
  const info = await initBackend(backend.choice, backend.threads !== undefined ? { threads: backend.threads } : {})
  const tf = info.tf
  const net = createUNet(PRESET, { seed: 0 })
  const r = net.args.img_resolution
  const process_ = paperDeblurProcess()
  const source = await preloaded(syntheticSource({ seed: 1, count: 64, resolution: r }))
  const trainer = new Trainer(net, process_, source, { batchSize: BATCH, dt: DT, adam: defaultAdam, emaDecay: 0, seed: 1 })
  const reps = { warmup: WARMUP, reps: REPS }

  const load0 = loadavg()[0]!
  // The first step includes XNNPACK operator creation and wasm heap growth.
  let t0 = performance.now()
  const lossFirst = (await trainer.trainStep()).loss
  const firstStepSeconds = (performance.now() - t0) / 1000
  const tensorsBefore = tf.memory().numTensors
  let lossLast = Number.NaN
  const step = await timed(async () => {
    lossLast = (await trainer.trainStep()).loss
  }, reps)
  const tensorsStable = tf.memory().numTensors === tensorsBefore

  const x = batchToTensor4D(await source.load([...Array(BATCH).keys()]))
  const sigma = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => 0.01 * 5 ** (i / Math.max(1, BATCH - 1))))
  const fwd = await timed(async () => {
    const out = forward(net, x, sigma)
    await out.data()
    out.dispose()
  }, reps)
  const load: [number, number] = [load0, loadavg()[0]!]

  let phases: TfjsResult["phases"]
  let profile: KernelProfile | undefined
  if (PROFILE) {
    const t = Array.from({ length: BATCH }, (_, i) => (i + 0.5) / BATCH)
    const z = tf.randomNormal(x.shape, 0, 1, "float32", 7) as TF.Tensor4D
    const batch: TrainingBatch = { x, t, z }
    const trainable = Object.entries(net.params).filter(([, v]) => v.trainable)
    const official = new Map(trainable.map(([name, v]) => [v.name, name]))
    let seed = 0
    const loss = () => incrementalReconstructionLoss(net, process_, batch, { dt: DT, training: true, dropoutSeed: seed++ })
    const lossForward = await timed(async () => {
      const l = loss()
      await l.data()
      l.dispose()
    }, reps)
    // The same without dropout: the difference is the cost of the dropout masks (made in JS).
    const lossForwardEval = await timed(async () => {
      const l = incrementalReconstructionLoss(net, process_, batch, { dt: DT, training: false })
      await l.data()
      l.dispose()
    }, reps)
    let grads: TF.NamedTensorMap = {}
    const fwdBwd = await timed(async () => {
      tf.dispose(grads)
      const g = tf.variableGrads(
        loss,
        trainable.map(([, v]) => v),
      )
      await g.value.data()
      g.value.dispose()
      grads = Object.fromEntries(Object.entries(g.grads).map(([n, v]) => [official.get(n) ?? n, v]))
    }, reps)
    let k = trainer.step + 1
    const adam = await timed(async () => {
      trainer.adam.apply(grads, k++)
      await (trainable.at(-1)![1] as TF.Tensor).data()
    }, reps)
    tf.dispose([grads, z])
    phases = { lossForward, lossForwardEval, fwdBwd, adam }
    profile = await profileKernels(tf, () => trainer.trainStep())
  }

  const checkDir = process.env.TRAIN_BENCH_CHECK_DIR
  if (checkDir !== undefined && backend.spec === process.env.TRAIN_BENCH_CHECK_BACKEND) await writeCheck(tf, net, x, sigma, checkDir)
  const params = net.numParameters
  tf.dispose([x, sigma])
  trainer.dispose()
  net.dispose()
  return {
    device: info.device,
    tfjs: info.version,
    backend: backend.spec,
    ...(info.threads !== undefined ? { threads: info.threads } : {}),
    params,
    step,
    forward: fwd,
    firstStepSeconds,
    lossFirst,
    lossLast,
    tensorsStable,
    maxRssMiB: maxRssMiB(),
    load,
    phases,
    profile,
  }
}

// ------------------------------------------------------------------ PyTorch

/** The presets bench/reference/songunet.py defines. */
const TORCH_PRESETS: readonly string[] = ["small-64", "tiny-32"]

/** Null when the PyTorch reference can run, else why not. */
const torchUnavailable = (): string | null =>
  TORCH_PRESETS.includes(PRESET) ? torchProblem() : `the PyTorch reference model has no preset '${PRESET}' (${TORCH_PRESETS.join(", ")})`

const runTorch = (checkDir: string | undefined): TorchResult => {
  const args = [
    join(here, "reference", "train_bench.py"),
    "--json",
    "--preset",
    PRESET,
    "--threads",
    TORCH_THREADS,
    "--batch",
    String(BATCH),
    "--warmup",
    String(WARMUP),
    "--reps",
    String(REPS),
    "--dt",
    String(DT),
  ]
  if (checkDir !== undefined) args.push("--check", checkDir)
  return runPython<TorchResult>(args, "train_bench.py")
}

// ------------------------------------------------------------------ report

interface Row {
  readonly name: string
  readonly threads?: number
  readonly step: Timing
  readonly forward: Timing
  readonly load: readonly [number, number]
  readonly maxRssMiB?: number
}

const main = async (): Promise<void> => {
  const backends =
    process.env.THREADS !== undefined ? process.env.THREADS.split(",").map((t) => parseBackend(`wasm:${t}`)) : parseBackends(undefined)
  const machine_ = describeMachine()
  const torchProblem = torchUnavailable()
  const checkDir = torchProblem === null ? mkdtempSync(join(tmpdir(), "train-bench-")) : undefined
  try {
    const tfjs = backends.map((backend) =>
      runChild<TfjsResult>(
        fileURLToPath(import.meta.url),
        {
          TRAIN_BENCH_CHILD: "1",
          BENCH_BACKEND: backend.spec,
          ...(checkDir !== undefined ? { TRAIN_BENCH_CHECK_DIR: checkDir, TRAIN_BENCH_CHECK_BACKEND: backends[0]!.spec } : {}),
        },
        backend.spec,
      ),
    )
    const torch = torchProblem === null ? runTorch(checkDir) : null
    const load1 = loadavg()
    const expected = unetParameterCount(PRESET)
    const res = UNET_PRESETS[PRESET].img_resolution
    for (const t of tfjs) if (t.params !== expected) throw new Error(`tfjs network has ${t.params} parameters, expected ${expected}`)
    if (torch !== null && torch.params !== expected)
      throw new Error(
        `the PyTorch SongUNet has ${torch.params.toLocaleString("en-US")} parameters, the tfjs preset ${expected.toLocaleString("en-US")}`,
      )

    const rows: Row[] = [
      ...tfjs.map((t) => ({
        name: `tfjs ${t.tfjs}, ${t.device}`,
        threads: t.threads,
        step: t.step,
        forward: t.forward,
        load: t.load,
        maxRssMiB: t.maxRssMiB,
      })),
      ...(torch?.runs ?? []).map((t) => ({
        name: `PyTorch ${torch!.torch}, ${t.threads} thread${t.threads === 1 ? "" : "s"}, ${t.layout === "nchw" ? "NCHW" : "channels_last"}`,
        threads: t.threads,
        step: t.step,
        forward: t.forward,
        load: t.load,
        maxRssMiB: torch!.maxRssMiB,
      })),
    ]
    const nchw = (torch?.runs ?? []).filter((t) => t.layout === "nchw").sort((a, b) => b.threads - a.threads)
    const referenceOf = (r: Row) => nchw.find((t) => t.threads === r.threads) ?? nchw[0]
    const header = [
      "configuration",
      "train s/step",
      "train img/s",
      "train vs PyTorch",
      "forward s",
      "forward img/s",
      "forward vs PyTorch",
      "cpu/wall (train)",
      "load avg",
    ]
    const lines = rows.map((r) => [
      r.name,
      `${r.step.seconds.toFixed(3)} (min ${r.step.min.toFixed(3)})`,
      (BATCH / r.step.seconds).toFixed(2),
      slower(r.step.seconds, referenceOf(r)?.step.seconds),
      `${r.forward.seconds.toFixed(3)} (min ${r.forward.min.toFixed(3)})`,
      (BATCH / r.forward.seconds).toFixed(2),
      slower(r.forward.seconds, referenceOf(r)?.forward.seconds),
      r.step.cpuPerWall.toFixed(2),
      `${r.load[0].toFixed(1)} -> ${r.load[1].toFixed(1)}`,
    ])

    const machine = machineLines(machine_, [
      `load average (1 min) at the end: ${load1[0]!.toFixed(2)}`,
      `tfjs-core ${tfjs[0]?.tfjs ?? "?"} (backends: ${tfjs.map((t) => t.device).join("; ")})`,
      torch !== null
        ? `PyTorch ${torch.torch} (Python ${torch.python}), torch.set_num_threads(${TORCH_THREADS})`
        : `PyTorch: not run (${torchProblem})`,
      `peak RSS: ${[...tfjs.map((t) => `${t.device} ${t.maxRssMiB.toFixed(0)} MiB`), ...(torch?.maxRssMiB !== undefined ? [`PyTorch ${torch.maxRssMiB.toFixed(0)} MiB`] : [])].join(", ")}`,
    ])
    const setup =
      `SongUNet '${PRESET}' (${expected.toLocaleString("en-US")} parameters${torch !== null ? `; the PyTorch model has ${torch.params.toLocaleString("en-US")}` : ""}), ` +
      `batch ${BATCH} of ${res}x${res} RGB; L_IR(dt = ${DT}) through the paper's blur process, dropout 0.1, Adam lr 1e-4. ` +
      `Each figure: median (and min) of ${REPS} steps after ${WARMUP} warm-up steps; "vs PyTorch" is time over the time of PyTorch (NCHW) with as many threads, so 8.0x means 8 times slower; ` +
      `"cpu/wall" is process CPU time over wall time while timing the steps (about the busy cores); "load avg" is the 1-minute load average before and after the configuration (the machine's other work included).`
    const check = torch?.check
    const checkLine =
      check === undefined
        ? null
        : `Same function: with the tfjs weights (randomised to O(1) values) loaded into the PyTorch model, F(y, sigma) differs by at most ${check.maxAbsDiff.toExponential(2)} ` +
          `(${check.relDiff.toExponential(2)} of max |F| = ${check.maxAbs.toFixed(3)})` +
          (check.missing.length + check.unexpected.length > 0
            ? `; missing keys: ${check.missing.join(", ") || "none"}, unexpected: ${check.unexpected.join(", ") || "none"}`
            : "; every state_dict key matched") +
          "."

    console.log(setup)
    for (const l of machine) console.log(l)
    console.log("")
    for (const l of formatTable(header, lines)) console.log(l)
    if (checkLine !== null) console.log(`\n${checkLine}`)
    const extra: string[] = []
    for (const t of tfjs)
      extra.push(
        `tfjs ${t.device}: first step ${t.firstStepSeconds.toFixed(2)} s, loss ${t.lossFirst.toFixed(1)} -> ${t.lossLast.toFixed(1)}, tensor count stable: ${t.tensorsStable}`,
      )
    for (const t of torch?.runs ?? [])
      extra.push(
        `PyTorch ${t.threads} thr ${t.layout}: first step ${t.firstStepSeconds.toFixed(2)} s, loss ${t.lossFirst.toFixed(1)} -> ${t.lossLast.toFixed(1)}`,
      )
    const profileText: string[] = []
    for (const t of tfjs) {
      if (t.phases !== undefined) {
        const p = t.phases
        profileText.push(
          `${t.device}: loss forward ${p.lossForward.seconds.toFixed(3)} s (without dropout ${p.lossForwardEval.seconds.toFixed(3)} s), ` +
            `forward + backward (variableGrads) ${p.fwdBwd.seconds.toFixed(3)} s, Adam ${p.adam.seconds.toFixed(3)} s (medians)`,
        )
      }
      if (t.profile !== undefined) profileText.push(...formatProfile(`kernel time of one trainStep, ${t.device}`, t.profile, 20), "")
    }
    console.log("")
    for (const l of [...extra, "", ...profileText]) console.log(l)

    const out = process.env.RESULTS ?? join(here, "results", "train.md")
    if (out !== "-") {
      writeMarkdown(out, [
        "# Training throughput: tfjs vs PyTorch (CPU)",
        "",
        "Written by `npx tsx bench/train.ts` or `npm run bench` (see bench/train.ts's header comment for what is measured).",
        "",
        setup,
        "",
        "Machine:",
        "",
        ...machine,
        "",
        ...markdownTable(header, lines),
        "",
        ...(checkLine !== null ? [checkLine, ""] : []),
        ...extra.map((l) => `- ${l}`),
        "",
        ...(profileText.length > 0 ? ["Where the tfjs time goes (PROFILE=1):", "", "```", ...profileText, "```"] : []),
      ])
      console.log(`wrote ${out}`)
    }
    const summary = process.env.SUMMARY_JSON
    if (summary !== undefined) {
      const report: BenchReport = {
        name: "train",
        file: out,
        remarks: torch === null ? [`PyTorch (training): not run (${torchProblem})`] : [],
        headlines: rows.map((r) => ({
          figure: "training img/s",
          configuration: r.name,
          value: (BATCH / r.step.seconds).toFixed(2),
          vsPyTorch: slower(r.step.seconds, referenceOf(r)?.step.seconds),
          ...(r.maxRssMiB !== undefined ? { peakRssMiB: r.maxRssMiB } : {}),
        })),
      }
      writeFileSync(summary, JSON.stringify(report))
    }
  } finally {
    if (checkDir !== undefined) rmSync(checkDir, { recursive: true, force: true })
  }
}

if (process.env.TRAIN_BENCH_CHILD !== undefined) {
  const result = await measureTfjs(childBackend())
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0) // threaded wasm keeps the event loop alive
} else {
  await main()
}
