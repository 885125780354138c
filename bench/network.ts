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
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import { fileURLToPath } from "node:url"
import type * as TF from "@tensorflow/tfjs-core"
import { initBackend } from "../src/runtime/backend/select.js"
import { countParameters, createUNet, forward, type UNetPresetName } from "../src/dirac/network/index.js"

const PRESET = (process.env.PRESET ?? "small-64") as UNetPresetName
const BATCH = Number(process.env.BATCH ?? 8)
const REPS = Number(process.env.REPS ?? 5)
const WARMUP = Number(process.env.WARMUP ?? 2)
const PROFILE = process.env.PROFILE === "1"

interface Timing {
  /** Median wall time. */
  readonly seconds: number
  /** Fastest run: the best estimate of the uncontended time on a shared machine. */
  readonly min: number
  readonly cpuPerWall: number
}

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
  readonly profile?: ReadonlyArray<{ kernel: string; ms: number; calls: number }>
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

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

  const timed = async (f: () => Promise<void>): Promise<Timing> => {
    for (let i = 0; i < WARMUP; i++) await f()
    const ts: number[] = []
    const cpu0 = process.cpuUsage()
    const wall0 = performance.now()
    for (let i = 0; i < REPS; i++) {
      const t0 = performance.now()
      await f()
      ts.push((performance.now() - t0) / 1000)
    }
    const cpu = process.cpuUsage(cpu0)
    return { seconds: median(ts), min: Math.min(...ts), cpuPerWall: (cpu.user + cpu.system) / 1000 / (performance.now() - wall0) }
  }

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
  })
  let grads: TF.NamedTensorMap = {}
  const fwdBwd = await timed(async () => {
    tf.dispose(grads)
    const g = tf.variableGrads(lossFn, vars)
    await g.value.data()
    g.value.dispose()
    grads = g.grads
  })
  const adam = await timed(async () => {
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })))
    await (vars.at(-1) as TF.Tensor).data()
  })
  tf.dispose(grads)
  const tensorsBefore = tf.memory().numTensors
  let lossLast = Number.NaN
  const step = await timed(async () => {
    const loss = optimizer.minimize(lossFn, true, vars)!
    lossLast = (await loss.data())[0]!
    loss.dispose()
  })
  const tensorsStable = tf.memory().numTensors === tensorsBefore

  let profile: Result["profile"]
  if (PROFILE) {
    const p = await tf.profile(() => {
      const loss = optimizer.minimize(lossFn, true, vars)!
      loss.dataSync()
      return loss
    })
    const agg = new Map<string, { ms: number; calls: number }>()
    for (const k of p.kernels) {
      if (k.name === "unnamed scope") continue // custom-gradient wrappers (their kernels are listed themselves)
      const a = agg.get(k.name) ?? { ms: 0, calls: 0 }
      a.ms += Number(k.kernelTimeMs)
      a.calls++
      agg.set(k.name, a)
    }
    profile = [...agg.entries()].map(([kernel, a]) => ({ kernel, ...a })).sort((a, b) => b.ms - a.ms)
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
  const self = fileURLToPath(import.meta.url)
  const load0 = loadavg()[0]!
  const results = threadList.map((threads) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", self], {
      env: { ...process.env, NETWORK_BENCH_CHILD: String(threads) },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
      maxBuffer: 64 * 1024 * 1024,
    })
    if (r.status !== 0) throw new Error(`benchmark child (threads=${threads}) failed: ${r.status ?? r.signal}`)
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result
  })
  const first = results[0]!
  console.log(
    `SongUNet '${PRESET}' (${first.params.toLocaleString("en-US")} params), batch ${BATCH} of ${first.resolution}x${first.resolution}x3; ` +
      `median (min) of ${REPS} after ${WARMUP} warm-ups; load average ${load0.toFixed(2)} -> ${loadavg()[0]!.toFixed(2)}`,
  )
  const fmt = (t: Timing) => `${t.seconds.toFixed(3)} s (min ${t.min.toFixed(3)}, cpu ${t.cpuPerWall.toFixed(2)}x)`
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
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")
  console.log(line(header))
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
  for (const l of lines) console.log(line(l))
  for (const r of results) {
    if (r.profile === undefined) continue
    const total = r.profile.reduce((s, k) => s + k.ms, 0)
    console.log(`\nkernel time of one train step, ${r.device}: ${(total / 1000).toFixed(3)} s in kernels`)
    for (const k of r.profile.slice(0, 15)) {
      console.log(`  ${k.kernel.padEnd(26)} ${(k.ms / 1000).toFixed(3)} s  ${((100 * k.ms) / total).toFixed(1).padStart(5)}%  ${k.calls} calls`)
    }
  }
}
