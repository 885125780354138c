/**
 * Training and sampling throughput of the project's network on one tfjs backend, plus sampling on ONNX Runtime's
 * execution providers; prints one JSON object per measurement (one line each). bench/gpu/run.sh runs it on a GPU
 * machine from a bundle (bench/gpu/prepare.sh); here: `npx tsx bench/gpu/bench-gpu.ts --backend wasm --quick`.
 *
 *   --backend webgpu|wasm|tensorflow   tfjs backend for training and tfjs sampling (default wasm)
 *   --configs tiny-32@32x8,base@256x4   preset@resolution x batch (default: the quickstart's and small-64's)
 *   --ort webgpu,cuda,cpu               ONNX Runtime providers to sample on (each on its own; "" for none)
 *   --sampler-steps N  --reps N  --warmup N  --budget SECONDS (configs left when it runs out are skipped)
 *   --presets                           print the presets as JSON (for the PyTorch side) and exit
 *   --submit-batch N                    WebGPU: kernels per queue submit (tfjs's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE, 15)
 *   --parity                            also: the network's output and gradients on this backend against WASM (tiny-32)
 *   --profile                           also: kernels per training step and per forward pass, and the cost of
 *                                       one tiny kernel (dispatch overhead), per tfjs submit batch size on WebGPU
 *
 * train: one Trainer.trainStep (L_IR with dt 0 through the paper's blur, Adam) at batch B; sample: one step of
 * Algorithm 1 (network forward, A_t twice, the update) for B images, from a diracSample run of N steps.
 */
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { preloaded } from "../lib/preloaded.js"
import { createUNet, UNET_PRESETS, resolveUNetArgs, type SongUNet, type UNetPresetName } from "../../src/dirac/network/index.js"
import { measure } from "../../src/dirac/noise/measurement.js"
import { openOnnxNetwork, type ExecutionProvider } from "../../src/dirac/onnx/runtime.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { onnxDenoiser } from "../../src/dirac/sample/onnx-denoiser.js"
import { diracSample, networkDenoiser, type Denoiser, type SamplerArgs } from "../../src/dirac/sample/sampler.js"
import { defaultAdam } from "../../src/dirac/train/adam.js"
import { Trainer } from "../../src/dirac/train/trainer.js"
import type { BackendChoice } from "../../src/runtime/backend/choice.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { profileKernels, timed } from "../lib/harness.js"

const flag = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback
}
const quick = process.argv.includes("--quick")

if (process.argv.includes("--presets")) {
  console.log(JSON.stringify(Object.fromEntries(Object.keys(UNET_PRESETS).map((p) => [p, resolveUNetArgs(p as UNetPresetName)]))))
  process.exit(0)
}

interface Config {
  readonly preset: UNetPresetName
  readonly resolution: number
  readonly batch: number
}
const parseConfig = (text: string): Config => {
  const m = /^([\w-]+)@(\d+)x(\d+)$/.exec(text)
  if (!m) throw new Error(`--configs: '${text}' is not preset@RESOLUTIONxBATCH`)
  return { preset: m[1] as UNetPresetName, resolution: Number(m[2]), batch: Number(m[3]) }
}

const backend = flag("backend", "wasm") as BackendChoice
const configs = flag("configs", quick ? "tiny-16@16x2" : "tiny-32@32x8,small-64@64x8")
  .split(",")
  .filter(Boolean)
  .map(parseConfig)
const providers = flag("ort", "cpu").split(",").filter(Boolean) as ExecutionProvider[]
const samplerSteps = Number(flag("sampler-steps", quick ? "2" : "10"))
const reps = { warmup: Number(flag("warmup", quick ? "1" : "2")), reps: Number(flag("reps", quick ? "2" : "5")) }
const budget = Number(flag("budget", "600")) * 1000
const started = performance.now()

const emit = (record: Record<string, unknown>): void => console.log(JSON.stringify(record))

const info = await initBackend(backend, { threads: Number(flag("threads", "8")) })
const tf = info.tf
const submitBatch = flag("submit-batch", "")
if (submitBatch !== "" && info.name === "webgpu") tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", Number(submitBatch))
const engineName = `tfjs-${info.name}${submitBatch !== "" && info.name === "webgpu" ? `-submit${submitBatch}` : ""}`
emit({ kind: "backend", backend: info.name, device: info.device, fingerprint: info.fingerprint })

/** Milliseconds per kernel for a chain of tiny adds: the backend's fixed cost per kernel call. */
const dispatchMs = async (): Promise<number> => {
  const x = tf.ones([256])
  let y = x
  const n = 1000
  for (let rep = 0; rep < 2; rep++) {
    const t0 = performance.now()
    for (let i = 0; i < n; i++) {
      const z = tf.add(y, 1)
      if (y !== x) y.dispose()
      y = z
    }
    await y.data()
    if (rep === 1) {
      tf.dispose([x, y])
      return (performance.now() - t0) / n
    }
  }
  return Number.NaN
}

const kernelCount = async (f: () => Promise<unknown>): Promise<number> => {
  const p = await tf.profile(async () => {
    await f()
    return []
  })
  return p.kernels.filter((k) => k.name !== "unnamed scope").length
}

if (process.argv.includes("--profile")) {
  const perBatch: Record<string, number> = {}
  for (const size of info.name === "webgpu" ? [15, 128] : [0]) {
    if (info.name === "webgpu") tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", size)
    perBatch[String(size)] = await dispatchMs()
  }
  if (info.name === "webgpu") tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", submitBatch === "" ? 15 : Number(submitBatch))
  emit({ kind: "dispatch", engine: engineName, device: info.device, msPerTinyKernel: perBatch })
}

/** Output and parameter gradients of a randomised tiny-32 on the current backend, as plain arrays. */
const forwardAndGradients = async (): Promise<{ out: Float32Array; grads: Map<string, Float32Array> }> => {
  const net = createUNet("tiny-32", { seed: 4 })
  let k = 0
  for (const v of Object.values(net.params)) v.assign(tf.randomUniform(v.shape, -0.1, 0.1, "float32", 100 + k++))
  const y = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 7) as import("@tensorflow/tfjs-core").Tensor4D
  const sigma = tf.tensor1d([0.05, 0.5])
  const out = (await net.forward(y, sigma).data()) as Float32Array
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.square(net.forward(y, sigma))) as import("@tensorflow/tfjs-core").Scalar,
    [...net.trainableVariables],
  )
  const arrays = new Map<string, Float32Array>()
  for (const [name, g] of Object.entries(grads)) arrays.set(name.replace(/^songunet\d+\//, ""), (await g.data()) as Float32Array)
  tf.dispose([value, ...Object.values(grads), y, sigma])
  net.dispose()
  return { out, grads: arrays }
}

const maxRelative = (a: Float32Array, b: Float32Array): number => {
  let diff = 0
  let scale = 0
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    scale = Math.max(scale, Math.abs(b[i]!))
  }
  return diff / Math.max(scale, 1e-12)
}

if (process.argv.includes("--parity") && info.name !== "wasm") {
  const here = await forwardAndGradients()
  await initBackend("wasm", { threads: 4 })
  const reference = await forwardAndGradients()
  let worst = { name: "", error: 0 }
  for (const [name, g] of here.grads) {
    const error = maxRelative(g, reference.grads.get(name)!)
    if (error > worst.error) worst = { name, error }
  }
  emit({
    kind: "parity",
    engine: engineName,
    device: info.device,
    against: "wasm",
    outputMaxRelError: maxRelative(here.out, reference.out),
    worstGradient: worst,
    gradients: here.grads.size,
  })
  await initBackend(backend, { threads: Number(flag("threads", "8")) })
}

const sampleTiming = async (denoise: Denoiser, y: import("@tensorflow/tfjs-core").Tensor4D, ids: string[]) => {
  const process_ = paperDeblurProcess()
  const args: SamplerArgs = {
    dt: 1 / samplerSteps,
    stopT: 0,
    update: "look-ahead",
    guidance: { step: 0, scaling: "std", sign: "paper" },
    output: "x0",
  }
  const timing = await timed(
    async () => {
      const { output } = await diracSample(denoise, process_, args, { measurements: y, ids, seed: 1 })
      await output.data()
      output.dispose()
    },
    { warmup: 1, reps: Math.max(1, Math.min(reps.reps, 3)) },
  )
  return { stepSeconds: timing.seconds / samplerSteps, minStepSeconds: timing.min / samplerSteps }
}

for (const config of configs) {
  if (performance.now() - started > budget) {
    emit({ kind: "skipped", ...config, reason: "time budget spent" })
    continue
  }
  let net: SongUNet | undefined
  let trainer: Trainer | undefined
  try {
    net = createUNet(config.preset, { seed: 0 })
    const params = net.numParameters
    const source = await preloaded(syntheticSource({ seed: 1, count: 2 * config.batch, resolution: config.resolution }))
    const process_ = paperDeblurProcess()
    trainer = new Trainer(net, process_, source, { batchSize: config.batch, dt: 0, adam: defaultAdam, emaDecay: 0, seed: 1 })
    const t0 = performance.now()
    await trainer.trainStep()
    const firstStep = (performance.now() - t0) / 1000
    const train = await timed(async () => void (await trainer!.trainStep()), reps)
    emit({
      kind: "train",
      engine: engineName,
      device: info.device,
      ...config,
      params,
      stepSeconds: train.seconds,
      minStepSeconds: train.min,
      imagesPerSecond: config.batch / train.seconds,
      firstStepSeconds: firstStep,
    })
    if (process.argv.includes("--profile")) {
      const kernels = await kernelCount(() => trainer!.trainStep())
      emit({ kind: "kernels", engine: engineName, ...config, trainStepKernels: kernels, msPerKernel: (1000 * train.seconds) / kernels })
      const p = await profileKernels(tf, () => trainer!.trainStep())
      emit({
        kind: "kernel-times",
        engine: engineName,
        ...config,
        kernelSeconds: p.kernelSeconds,
        wallSeconds: p.wallSeconds,
        top: p.kernels.slice(0, 12),
      })
    }

    const batch = await source.load([...Array(config.batch).keys()])
    const x = batchToTensor4D(batch)
    const y = measure(process_, x, batch.ids)
    x.dispose()
    const ids = batch.ids.map(String)
    const tfjsSample = await sampleTiming(networkDenoiser(net), y, ids)
    emit({
      kind: "sample",
      engine: engineName,
      device: info.device,
      ...config,
      params,
      ...tfjsSample,
      nfePerSecond: 1 / tfjsSample.stepSeconds,
      imageNfePerSecond: config.batch / tfjsSample.stepSeconds,
    })
    for (const provider of providers) {
      try {
        const session = await openOnnxNetwork(net, { providers: [provider] })
        try {
          const ort = await sampleTiming(onnxDenoiser(session), y, ids)
          emit({
            kind: "sample",
            engine: `onnxruntime-${provider}`,
            device: provider,
            ...config,
            params,
            ...ort,
            nfePerSecond: 1 / ort.stepSeconds,
            imageNfePerSecond: config.batch / ort.stepSeconds,
          })
        } finally {
          await session.release()
        }
      } catch (error) {
        emit({
          kind: "unavailable",
          engine: `onnxruntime-${provider}`,
          ...config,
          reason: String((error as Error).message)
            .split("\n")
            .slice(0, 3)
            .join(" | "),
        })
      }
    }
    y.dispose()
  } catch (error) {
    emit({ kind: "failed", engine: engineName, ...config, reason: String((error as Error).message).split("\n")[0] })
  } finally {
    trainer?.dispose()
    net?.dispose()
  }
}
emit({ kind: "end", seconds: (performance.now() - started) / 1000, memory: process.memoryUsage().rss })
process.exit(0)
