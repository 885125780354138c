/**
 * SongUNet (src/dirac/network) forward and training-step timings on tfjs wasm.
 *
 *   npx tsx bench/network.ts                      # small-64, batch 8, 1 thread then 2 threads
 *   PRESET=tiny-32 BATCH=16 npx tsx bench/network.ts
 *   THREADS=2 PROFILE=1 npx tsx bench/network.ts  # one thread count, with a per-kernel profile
 *
 * Each thread count runs in its own child process (the wasm build is chosen
 * once per process). Per configuration, after WARMUP (default 2) untimed
 * runs, the median of REPS (default 5) of:
 * - forward: eval-mode Phi(y, sigma) incl. reading the result back;
 * - fwd+bwd: `tf.variableGrads` of the MSE loss (training mode, dropout on);
 * - adam: `optimizer.applyGradients` of those gradients;
 * - train step: one `optimizer.minimize` (fwd + bwd + Adam), the number that matters.
 * "min" is the fastest run and "cpu" the process CPU time over wall time
 * (about the number of busy threads). The load average is printed because a
 * busy machine (other processes) inflates every number; on a shared box,
 * trust "min" more than the median.
 */
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import type * as TF from "@tensorflow/tfjs-core"
import { initBackend } from "../src/runtime/backend/select.js"
import { countParameters, createUNet, forward, type UNetPresetName } from "../src/dirac/network/index.js"
import {
  formatProfile,
  formatTable,
  formatTiming,
  profileKernels,
  runPerThreadCount,
  timed,
  type KernelProfile,
  type Timing,
} from "./lib/harness.js"

const PRESET = (process.env.PRESET ?? "small-64") as UNetPresetName
const BATCH = Number(process.env.BATCH ?? 8)
const REPS = Number(process.env.REPS ?? 5)
const WARMUP = Number(process.env.WARMUP ?? 2)
const PROFILE = process.env.PROFILE === "1"

interface Result {
  readonly device: string
  readonly threads: number
  readonly params: number
  readonly resolution: number
  readonly forward: Timing
  readonly fwdBwd: Timing
  readonly adam: Timing
  readonly step: Timing
  readonly firstStepSeconds: number
  readonly lossFirst: number
  readonly lossLast: number
  readonly tensorsStable: boolean
  readonly profile?: KernelProfile
}

const measure = async (threads: number): Promise<Result> => {
  const info = await initBackend("wasm", { threads })
  const tf = info.tf
  const net = createUNet(PRESET, { seed: 0 })
  const r = net.args.img_resolution
  const y = tf.randomUniform([BATCH, r, r, 3], 0, 1, "float32", 1) as TF.Tensor4D
  const x0 = tf.tidy(() => tf.add(tf.mul(y, 0.5), 0.25)) as TF.Tensor4D
  const sigma = tf.tensor1d(Array.from({ length: BATCH }, (_, i) => 0.01 * 5 ** (i / Math.max(1, BATCH - 1))))
  const vars = net.trainableVariables as TF.Variable[]
  const optimizer = tf.train.adam(1e-4)
  let seed = 0
  const lossFn = () => tf.mean(tf.square(tf.sub(forward(net, y, sigma, { training: true, dropoutSeed: seed++ }), x0))) as TF.Scalar

  const reps = { warmup: WARMUP, reps: REPS }

  // The first step includes XNNPACK operator creation and wasm heap growth.
  let t0 = performance.now()
  const first = optimizer.minimize(lossFn, true, vars)!
  const lossFirst = (await first.data())[0]!
  first.dispose()
  const firstStepSeconds = (performance.now() - t0) / 1000

  const fwd = await timed(async () => {
    const out = forward(net, y, sigma)
    await out.data()
    out.dispose()
  }, reps)
  let grads: TF.NamedTensorMap = {}
  const fwdBwd = await timed(async () => {
    tf.dispose(grads)
    const g = tf.variableGrads(lossFn, vars)
    await g.value.data()
    g.value.dispose()
    grads = g.grads
  }, reps)
  const adam = await timed(async () => {
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })))
    await (vars.at(-1) as TF.Tensor).data()
  }, reps)
  tf.dispose(grads)
  const tensorsBefore = tf.memory().numTensors
  let lossLast = Number.NaN
  const step = await timed(async () => {
    const loss = optimizer.minimize(lossFn, true, vars)!
    lossLast = (await loss.data())[0]!
    loss.dispose()
  }, reps)
  const tensorsStable = tf.memory().numTensors === tensorsBefore

  let profile: Result["profile"]
  if (PROFILE) {
    profile = await profileKernels(tf, () => {
      const loss = optimizer.minimize(lossFn, true, vars)!
      loss.dataSync()
      return loss
    })
  }
  t0 = performance.now()
  const result: Result = {
    device: info.device,
    threads,
    params: countParameters(net.arch),
    resolution: r,
    forward: fwd,
    fwdBwd,
    adam,
    step,
    firstStepSeconds,
    lossFirst,
    lossLast,
    tensorsStable,
    profile,
  }
  net.dispose()
  return result
}

const child = process.env.NETWORK_BENCH_CHILD
if (child !== undefined) {
  const result = await measure(Number(child))
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0) // threaded wasm keeps the event loop alive
} else {
  const threadList = (process.env.THREADS ?? "1,2").split(",").map(Number)
  const load0 = loadavg()[0]!
  const results = runPerThreadCount<Result>(fileURLToPath(import.meta.url), "NETWORK_BENCH_CHILD", threadList)
  const first = results[0]!
  console.log(
    `SongUNet '${PRESET}' (${first.params.toLocaleString("en-US")} params), batch ${BATCH} of ${first.resolution}x${first.resolution}x3; ` +
      `median (min) of ${REPS} after ${WARMUP} warm-ups; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
  )
  const fmt = (t: Timing) => formatTiming(t)
  const rows: Array<[string, (r: Result) => string]> = [
    ["forward (eval)", (r) => fmt(r.forward)],
    ["fwd+bwd (variableGrads)", (r) => fmt(r.fwdBwd)],
    ["adam applyGradients", (r) => fmt(r.adam)],
    ["train step (minimize)", (r) => fmt(r.step)],
    ["first train step", (r) => `${r.firstStepSeconds.toFixed(3)} s`],
    ["loss first -> last", (r) => `${r.lossFirst.toFixed(5)} -> ${r.lossLast.toFixed(5)}`],
    ["tensor count stable", (r) => String(r.tensorsStable)],
  ]
  const header = ["", ...results.map((r) => r.device)]
  const lines = rows.map(([label, f]) => [label, ...results.map(f)])
  for (const l of formatTable(header, lines)) console.log(l)
  for (const r of results) {
    if (r.profile === undefined) continue
    console.log("")
    for (const l of formatProfile(`kernel time of one train step, ${r.device}`, r.profile)) console.log(l)
  }
}
