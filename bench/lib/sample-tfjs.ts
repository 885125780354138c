/**
 * Child process of bench/sample.ts: whole trajectories of `diracSample` (src/dirac/sample/sampler.ts) with the
 * sizes in SAMPLE_BENCH_CONFIG (JSON), the tensor work on the backend in BENCH_BACKEND. The network runs there
 * too, or, with SAMPLE_BENCH_ONNX_THREADS=N, exported to ONNX on ONNX Runtime's CPU provider with N threads (what
 * the sample node's engine auto does on a CPU). Prints one JSON line.
 */
import { loadavg } from "node:os"
import * as tf from "@tensorflow/tfjs-core"
import { createUNet, type UNetPresetName } from "../../src/dirac/network/index.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { degradationProcess } from "../../src/dirac/operators/process.js"
import { openOnnxNetwork } from "../../src/dirac/onnx/runtime.js"
import { onnxDenoiser } from "../../src/dirac/sample/onnx-denoiser.js"
import { diracSample, networkDenoiser, type Denoiser, type SamplerArgs } from "../../src/dirac/sample/sampler.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { childBackend } from "./backends.js"
import { timed, type Timing } from "./harness.js"
import { maxRssMiB } from "./machine.js"

export interface SampleConfig {
  readonly preset: UNetPresetName
  readonly batch: number
  readonly dt: number
  readonly stdMin: number
  readonly stdMax: number
  readonly warmup: number
  readonly reps: number
}

export interface TfjsSampleResult {
  readonly preset: UNetPresetName
  readonly device: string
  readonly version: string
  readonly threads?: number
  readonly params: number
  /** One whole trajectory of one batch. */
  readonly run: Timing
  readonly steps: number
  readonly nfePerSecond: number
  /** The first trajectory (operator creation, heap growth). */
  readonly firstRunSeconds: number
  readonly tensorsStable: boolean
  readonly maxRssMiB: number
  readonly load: readonly [number, number]
}

const measure = async (config: SampleConfig): Promise<TfjsSampleResult> => {
  const backend = childBackend()
  const info = await initBackend(backend.choice, backend.threads !== undefined ? { threads: backend.threads } : {})
  const net = createUNet(config.preset, { seed: 0 })
  const r = net.args.img_resolution
  const process_ = degradationProcess(gaussianBlurFamily({ stdMin: config.stdMin, stdMax: config.stdMax }))
  const clean = tf.randomUniform([config.batch, r, r, 3], 0, 1, "float32", 1) as tf.Tensor4D
  const measurements = tf.tidy(() => tf.add(process_.A(clean, 1), tf.randomNormal(clean.shape, 0, 0.05, "float32", 2))) as tf.Tensor4D
  const ids = Array.from({ length: config.batch }, (_, i) => `image-${i}`)
  const args: SamplerArgs = {
    dt: config.dt,
    stopT: 0,
    update: "look-ahead",
    guidance: { step: 0, scaling: "std", sign: "paper" },
    output: "x0",
  }
  const onnxThreads = process.env.SAMPLE_BENCH_ONNX_THREADS
  const onnx = onnxThreads === undefined ? undefined : await openOnnxNetwork(net, { providers: ["cpu"], threads: Number(onnxThreads) })
  const denoiser: Denoiser = onnx === undefined ? networkDenoiser(net) : onnxDenoiser(onnx)
  let seed = 0
  let steps = 0
  const trajectory = async () => {
    const { output, trajectory } = await diracSample(denoiser, process_, args, { measurements, ids, seed: seed++ })
    await output.data()
    output.dispose()
    steps = trajectory.length
  }

  const load0 = loadavg()[0]!
  const t0 = performance.now()
  await trajectory()
  const firstRunSeconds = (performance.now() - t0) / 1000
  const tensors = tf.memory().numTensors
  const run = await timed(trajectory, { warmup: config.warmup, reps: config.reps })
  const tensorsStable = tf.memory().numTensors === tensors
  await onnx?.release()
  const result = {
    preset: config.preset,
    device:
      onnx === undefined
        ? info.device
        : `ONNX Runtime CPU, ${onnxThreads} thread${onnxThreads === "1" ? "" : "s"} (tensor work: ${info.device})`,
    version: info.version,
    ...(onnx !== undefined ? { threads: Number(onnxThreads) } : info.threads !== undefined ? { threads: info.threads } : {}),
    params: net.numParameters,
    run,
    steps,
    nfePerSecond: (config.batch * steps) / run.seconds,
    firstRunSeconds,
    tensorsStable,
    maxRssMiB: maxRssMiB(),
    load: [load0, loadavg()[0]!] as const,
  }
  tf.dispose([clean, measurements])
  net.dispose()
  return result
}

const result = await measure(JSON.parse(process.env.SAMPLE_BENCH_CONFIG ?? "{}") as SampleConfig)
process.stdout.write(`${JSON.stringify(result)}\n`)
process.exit(0) // threaded wasm keeps the event loop alive
