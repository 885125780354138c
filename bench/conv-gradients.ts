/**
 * Conv2D forward / dX / dW timings on tfjs wasm, single- and multi-threaded.
 *
 *   npx tsx bench/conv-gradients.ts            # 1 thread, then defaultWasmThreads() (min 2)
 *   THREADS=4 npx tsx bench/conv-gradients.ts  # 1 thread, then 4
 *
 * One 64->64 3x3 'same' layer at 64x64, batch 8 (2.416 GFLOP per op). Each
 * thread count runs in its own child process (the wasm build is chosen once
 * per process). Median of REPS (default 5) after 2 warm-ups; timings include
 * reading the result back (`await t.data()`). "cpu Nx" is process CPU time
 * over wall time (how many cores were busy); on a shared machine, check the
 * load average before trusting the numbers.
 */
import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import type * as TF from "@tensorflow/tfjs-core"
import { conv2dFilterGrad, conv2dInputGrad, defaultWasmThreads, initBackend } from "../src/runtime/backend/index.js"

const B = 8
const HW = 64
const C = 64
const K = 3
const REPS = Number(process.env.REPS ?? 5)

interface Row {
  readonly op: string
  readonly seconds: number
  readonly gflop: number
  /** process CPU time / wall time over the timed runs (about the threads kept busy). */
  readonly cpuPerWall: number
}

const measure = async (threads: number): Promise<{ device: string; rows: Row[] }> => {
  const info = await initBackend("wasm", { threads })
  const tf = info.tf
  const x = tf.randomNormal([B, HW, HW, C], 0, 1, "float32", 1) as TF.Tensor4D
  const w = tf.randomNormal([K, K, C, C], 0, 0.1, "float32", 2) as TF.Tensor4D
  const dy = tf.randomNormal([B, HW, HW, C], 0, 1, "float32", 3) as TF.Tensor4D
  const dy2 = tf.randomNormal([B, HW / 2, HW / 2, C], 0, 1, "float32", 4) as TF.Tensor4D
  const info1 = tf.backend_util.computeConv2DInfo(x.shape, w.shape, 1, 1, "same")
  const info2 = tf.backend_util.computeConv2DInfo(x.shape, w.shape, 2, 1, "same")
  const flop1 = 2 * B * HW * HW * C * K * K * C
  const flop2 = flop1 / 4

  const time = async (f: () => TF.Tensor): Promise<[number, number]> => {
    const once = async () => {
      const t0 = performance.now()
      const r = f()
      await r.data()
      const dt = (performance.now() - t0) / 1000
      r.dispose()
      return dt
    }
    await once()
    await once()
    const ts: number[] = []
    const cpu0 = process.cpuUsage()
    const wall0 = performance.now()
    for (let i = 0; i < REPS; i++) ts.push(await once())
    const cpu = process.cpuUsage(cpu0)
    const ratio = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0)
    ts.sort((a, b) => a - b)
    return [ts[Math.floor(ts.length / 2)]!, ratio]
  }

  const cases: Array<[string, number, () => TF.Tensor]> = [
    ["fwd conv2d (stride 1)", flop1, () => tf.conv2d(x, w, 1, "same")],
    ["dX flipped-filter conv (stride 1)", flop1, () => conv2dInputGrad(dy, w, info1)],
    ["dX native Conv2DBackpropInput (stride 1)", flop1, () => tf.conv2dTranspose(dy, w, x.shape, 1, "same")],
    ["dW transposed conv (stride 1)", flop1, () => conv2dFilterGrad(x, dy, info1)],
    ["dX zero-upsampled conv (stride 2)", flop2, () => conv2dInputGrad(dy2, w, info2)],
    ["dX native Conv2DBackpropInput (stride 2)", flop2, () => tf.conv2dTranspose(dy2, w, x.shape, 2, "same")],
    ["dW transposed conv (stride 2)", flop2, () => conv2dFilterGrad(x, dy2, info2)],
  ]
  const rows: Row[] = []
  for (const [op, flop, f] of cases) {
    const [seconds, cpuPerWall] = await time(f)
    rows.push({ op, seconds, gflop: flop / 1e9, cpuPerWall })
  }
  tf.dispose([x, w, dy, dy2])
  return { device: info.device, rows }
}

const child = process.env.CONV_BENCH_CHILD
if (child !== undefined) {
  const result = await measure(Number(child))
  process.stdout.write(JSON.stringify(result) + "\n")
  process.exit(0) // threaded wasm: end explicitly
} else {
  const multi = Math.max(2, Number(process.env.THREADS ?? defaultWasmThreads()))
  const self = fileURLToPath(import.meta.url)
  const results = [1, multi].map((threads) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", self], {
      env: { ...process.env, CONV_BENCH_CHILD: String(threads) },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    })
    if (r.status !== 0) throw new Error(`benchmark child (threads=${threads}) failed: ${r.status ?? r.signal}`)
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { device: string; rows: Row[] }
  })
  console.log(`conv 3x3 ${C}->${C}, ${HW}x${HW}, batch ${B}; median of ${REPS}, incl. readback`)
  const header = ["op", ...results.map((r) => r.device)]
  const lines = results[0]!.rows.map((row, i) => [
    row.op,
    ...results.map((r) => {
      const x = r.rows[i]!
      return `${x.seconds.toFixed(3)} s ${(x.gflop / x.seconds).toFixed(1).padStart(5)} GF/s  cpu ${x.cpuPerWall.toFixed(2)}x`
    }),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")
  console.log(fmt(header))
  console.log(widths.map((w) => "-".repeat(w)).join("-|-"))
  for (const l of lines) console.log(fmt(l))
}
