/**
 * Where the `sample` node runs the network: on the pipeline's tfjs backend, or exported to ONNX on ONNX Runtime.
 * The choice is a function of the config, the tfjs backend and what ONNX Runtime is installed, all of which are
 * in the node's cache key (config, backend fingerprint, {@link engineFingerprint}).
 */
import { Effect } from "effect"
import type { DocPath } from "../dsl/diagnostics.js"
import type { SongUNet } from "../dirac/network/index.js"
import { openOnnxNetwork, ortFingerprint, type ExecutionProvider } from "../dirac/onnx/runtime.js"
import { onnxDenoiser } from "../dirac/sample/onnx-denoiser.js"
import { networkDenoiser, type Denoiser } from "../dirac/sample/sampler.js"
import type { BackendInfo } from "./contract.js"
import { failure } from "./kit/codec.js"

export type SamplingEngine = "auto" | "tfjs" | "onnxruntime"

interface EngineArgs {
  readonly engine: SamplingEngine
  readonly guidance: { readonly step: number }
  readonly onnx_threads?: number
}

const guided = (config: EngineArgs): boolean => config.guidance.step > 0

export const engineTypingErrors = (config: EngineArgs): Array<{ path: DocPath; message: string }> =>
  config.engine === "onnxruntime" && guided(config)
    ? [
        {
          path: ["with", "engine"],
          message:
            "guidance (with.guidance.step > 0) needs gradients through the network, which ONNX Runtime cannot give: use engine tfjs or auto",
        },
      ]
    : []

/** The ONNX Runtime that auto or onnxruntime would use ("none" when absent); tfjs-only configs need nothing. */
export const engineFingerprint = (config: EngineArgs): string =>
  config.engine === "tfjs" || (config.engine === "auto" && guided(config)) ? "tfjs" : (ortFingerprint() ?? "onnxruntime: none")

/** CPU-bound tfjs backends, which ONNX Runtime's CPU provider outruns several times over. */
const cpuBackend = (backend: BackendInfo): boolean => backend.name === "wasm" || backend.name === "cpu"

/** A WebGPU backend on a real GPU (not a software rasteriser such as lavapipe). */
const hardwareWebgpu = (backend: BackendInfo): boolean => backend.name === "webgpu" && backend.softwareEmulation !== true

/**
 * The ONNX Runtime providers to try, or null for tfjs. auto follows the measurements in bench/results: ONNX
 * Runtime's CPU provider beats tfjs WASM, and its WebGPU provider beats tfjs WebGPU (3-8x on an H100); CUDA is
 * used whenever onnxruntime-node's add-on is installed.
 */
export const onnxProviders = (config: EngineArgs, backend: BackendInfo, ort: string | null): ExecutionProvider[] | null => {
  const cuda = ort?.endsWith("/cuda") === true
  const preferred: ExecutionProvider[] = cuda ? ["cuda", "cpu"] : backend.name === "webgpu" ? ["webgpu", "cpu"] : ["cpu"]
  if (config.engine === "onnxruntime") return preferred
  if (config.engine === "tfjs" || guided(config) || ort === null) return null
  return cuda || hardwareWebgpu(backend) || cpuBackend(backend) ? preferred : null
}

export interface Engine {
  readonly denoiser: Denoiser
  readonly description: string
}

const tfjsEngine = (net: SongUNet, backend: BackendInfo): Engine => ({
  denoiser: networkDenoiser(net),
  description: `tfjs ${backend.name} (${backend.device})`,
})

/** Opens the engine; a scoped resource (the ONNX Runtime session is released with the scope). */
export const openEngine = (net: SongUNet, config: EngineArgs, backend: BackendInfo) =>
  Effect.gen(function* () {
    const ort = ortFingerprint()
    const providers = onnxProviders(config, backend, ort)
    if (providers === null) return tfjsEngine(net, backend)
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => openOnnxNetwork(net, { providers, ...(config.onnx_threads !== undefined ? { threads: config.onnx_threads } : {}) }),
        catch: failure,
      }),
      (s) => Effect.promise(() => s.release()),
    )
    return {
      denoiser: onnxDenoiser(session),
      description: `ONNX Runtime ${session.provider} (${ort ?? "onnxruntime-node"})`,
    } satisfies Engine
  })
