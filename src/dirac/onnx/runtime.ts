/**
 * Forward passes of the network on ONNX Runtime (`onnxruntime-node`, an
 * optional dependency). The model is exported from the network's own
 * architecture and weights (export-unet.ts); execution providers are tried in
 * order, since onnxruntime-node throws instead of falling back when one is
 * missing (its CUDA add-on is a separate download).
 */
import { existsSync, readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import type { SongUNet } from "../network/index.js"
import { exportNetworkOnnx } from "./export-network.js"

export type ExecutionProvider = "cpu" | "cuda" | "webgpu"

/** The parts of onnxruntime-node's API used here. */
interface OrtTensor {
  readonly data: Float32Array
  readonly dims: readonly number[]
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>
  release(): Promise<void>
}
interface Ort {
  readonly InferenceSession: {
    create(model: Uint8Array, options: Record<string, unknown>): Promise<OrtSession>
  }
  readonly Tensor: new (type: "float32", data: Float32Array, dims: readonly number[]) => OrtTensor
  readonly env: { readonly versions?: { readonly common?: string } }
}

export class OnnxRuntimeUnavailable extends Error {
  override readonly name = "OnnxRuntimeUnavailable"
}

const HOWTO =
  "ONNX Runtime is an optional dependency that is not installed. Install it with\n" +
  "  ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0\n" +
  "(the variable skips its CUDA add-on download), or use engine: tfjs."

const importOptional = (specifier: string): Promise<unknown> => import(specifier)

let loaded: Promise<Ort> | undefined

/** The onnxruntime-node module, or OnnxRuntimeUnavailable saying how to install it. */
export const loadOrt = (): Promise<Ort> => {
  loaded ??= importOptional("onnxruntime-node").then(
    (m) => ((m as { default?: Ort }).default ?? m) as Ort,
    (error: unknown) => {
      loaded = undefined
      const code = (error as { code?: string } | null)?.code
      const missing = code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
      throw new OnnxRuntimeUnavailable(missing ? HOWTO : `onnxruntime-node failed to load: ${(error as Error).message}\n${HOWTO}`)
    },
  )
  return loaded
}

export interface OnnxNetworkOptions {
  /** Tried in order; the first that creates a session is used. Default: cuda, then cpu. */
  readonly providers?: readonly ExecutionProvider[]
  /** CPU threads (default: ONNX Runtime's choice, one per core). */
  readonly threads?: number
}

/** A network compiled into an ONNX Runtime session. */
export interface OnnxNetwork {
  /** The provider the session runs on. */
  readonly provider: ExecutionProvider
  /** What was tried before it, with the reason each failed. */
  readonly skipped: readonly string[]
  readonly modelBytes: number
  /** x^0 = Phi(y, sigma) for NHWC y [B, H, W, C] as flat data. */
  run(y: Float32Array, shape: readonly [number, number, number, number], sigma: Float32Array): Promise<Float32Array>
  release(): Promise<void>
}

const binDir = (): string | null => {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch)
  } catch {
    return null
  }
}

/** onnxruntime-node logs an error when asked for a provider whose library is missing: look for the CUDA add-on first. */
export const cudaAddOnMissing = (): string | null => {
  const bin = binDir()
  if (bin === null) return "onnxruntime-node is not installed"
  const lib = join(bin, "libonnxruntime_providers_cuda.so")
  return existsSync(lib)
    ? null
    : `the CUDA add-on is not installed (${lib} is missing; onnxruntime-node downloads it at install time unless ONNXRUNTIME_NODE_INSTALL=skip)`
}

/**
 * What decides which ONNX Runtime would run, without loading it: the package version and whether the CUDA
 * add-on is present, e.g. "onnxruntime-node@1.30.0/cpu" or "onnxruntime-node@1.30.0/cuda"; null when absent.
 */
export const ortFingerprint = (): string | null => {
  const bin = binDir()
  if (bin === null) return null
  const pkg = JSON.parse(readFileSync(join(bin, "..", "..", "..", "..", "package.json"), "utf8")) as { version: string }
  return `onnxruntime-node@${pkg.version}/${cudaAddOnMissing() === null ? "cuda" : "cpu"}`
}

const firstLine = (error: unknown): string => (error instanceof Error ? error.message : String(error)).split("\n")[0]!

/** Export `net` to ONNX and open a session on the first provider that loads. */
export const openOnnxNetwork = async (net: SongUNet, options: OnnxNetworkOptions = {}): Promise<OnnxNetwork> => {
  const ort = await loadOrt()
  const model = await exportNetworkOnnx(net)
  const skipped: string[] = []
  for (const provider of options.providers ?? (["cuda", "cpu"] as const)) {
    const missing = provider === "cuda" ? cudaAddOnMissing() : null
    if (missing !== null) {
      skipped.push(`cuda: ${missing}`)
      continue
    }
    try {
      const session = await ort.InferenceSession.create(model, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
        ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      })
      return {
        provider,
        skipped,
        modelBytes: model.length,
        run: async (y, shape, sigma) => {
          const out = await session.run({ y: new ort.Tensor("float32", y, shape), sigma: new ort.Tensor("float32", sigma, [shape[0]]) })
          return out.x0!.data
        },
        release: () => session.release(),
      }
    } catch (error) {
      skipped.push(`${provider}: ${firstLine(error)}`)
    }
  }
  throw new OnnxRuntimeUnavailable(`no ONNX Runtime execution provider could run the network:\n  ${skipped.join("\n  ")}`)
}
