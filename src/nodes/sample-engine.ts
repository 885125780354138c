/**
 * Where the `sample` node runs the network: on the pipeline's tfjs backend, or exported to ONNX on ONNX Runtime.
 * The choice is a function of the config, the tfjs backend and what ONNX Runtime is installed, all of which are
 * in the node's cache key (config, backend fingerprint, {@link engineFingerprint}).
 */
import { Effect } from "effect"
import type { DocPath } from "../dsl/diagnostics.js"
import type { SongUNet } from "../dirac/network/index.js"
import { openOnnxNetwork, ortFingerprint } from "../dirac/onnx/runtime.js"
import { onnxDenoiser } from "../dirac/sample/onnx-denoiser.js"
import { networkDenoiser, type Denoiser } from "../dirac/sample/sampler.js"
import type { BackendInfo } from "./contract.js"
import { failure } from "./values.js"

export type SamplingEngine = "auto" | "tfjs" | "onnxruntime"

interface EngineArgs {
  readonly engine: SamplingEngine
  readonly guidance: { readonly step: number }
  readonly onnx_threads?: number
}

const guided = (config: EngineArgs): boolean => config.guidance.step > 0

export const engineTypingErrors = (config: EngineArgs): Array<{ path: DocPath; message: string }> =>
  config.engine === "onnxruntime" && guided(config)
    ? [{ path: ["with", "engine"], message: "guidance (with.guidance.step > 0) needs gradients through the network, which ONNX Runtime cannot give: use engine tfjs or auto" }]
    : []

/** The ONNX Runtime that auto or onnxruntime would use ("none" when absent); tfjs-only configs need nothing. */
export const engineFingerprint = (config: EngineArgs): string =>
  config.engine === "tfjs" || (config.engine === "auto" && guided(config)) ? "tfjs" : (ortFingerprint() ?? "onnxruntime: none")

/** CPU-bound tfjs backends, which ONNX Runtime's CPU provider outruns several times over. */
const cpuBackend = (backend: BackendInfo): boolean => backend.name === "wasm" || backend.name === "cpu"

export interface Engine {
  readonly denoiser: Denoiser
  readonly description: string
}

const tfjsEngine = (net: SongUNet, backend: BackendInfo): Engine => ({ denoiser: networkDenoiser(net), description: `tfjs ${backend.name} (${backend.device})` })

/** Opens the engine; a scoped resource (the ONNX Runtime session is released with the scope). */
export const openEngine = (net: SongUNet, config: EngineArgs, backend: BackendInfo) =>
  Effect.gen(function* () {
    const ort = ortFingerprint()
    const useOrt =
      config.engine === "onnxruntime" || (config.engine === "auto" && !guided(config) && ort !== null && (ort.endsWith("/cuda") || cpuBackend(backend)))
    if (!useOrt) return tfjsEngine(net, backend)
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => openOnnxNetwork(net, config.onnx_threads !== undefined ? { threads: config.onnx_threads } : {}),
        catch: failure,
      }),
      (s) => Effect.promise(() => s.release()),
    )
    return { denoiser: onnxDenoiser(session), description: `ONNX Runtime ${session.provider} (${ort ?? "onnxruntime-node"})` } satisfies Engine
  })
