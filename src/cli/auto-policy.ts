/**
 * What `--backend auto` may take for a pipeline, decided by the largest network it trains or imports, from
 * measurements committed under bench/results:
 * - WebGPU only for networks large enough for the GPU to win. On an H100 (bench/results/gpu-h100), tfjs WebGPU
 *   trained tiny-32 (0.46 M parameters) 11x and small-64 (2.7 M) 1.9x slower than wasm on 8 cores, and the
 *   paper's base (67.7 M, 256 px) in 13.7 s per step, which takes minutes on a CPU backend.
 * - On a CPU, native TensorFlow or wasm by the work per kernel call, measured as parameters x pixels: libtensorflow's
 *   kernels are faster on large tensors, while each of the ~10,000 kernel calls of a training step costs more
 *   there than on wasm (bench/results/train.md).
 */
import type { PipelineGraph } from "../dsl/graph.js"
import type { KindSignature } from "../dsl/signature.js"
import { buildArch, countParameters } from "../dirac/network/arch.js"
import type { InitBackendOptions } from "../runtime/backend/select.js"

/** Networks from this size on go to a GPU under auto (between small-64's 2.7 M and base's 67.7 M parameters). */
export const WEBGPU_MIN_PARAMETERS = 20_000_000

/**
 * Parameters x pixels from which native TensorFlow trains at least as fast as wasm on the CPU (batch 8, 2 cores,
 * bench/results/train.md): tiny-32 (4.7e8) 0.67 vs 0.41 s a step, small-32 (2.8e9) 1.25 vs 1.25 s, small-64
 * (1.1e10) 2.18 vs 2.95 s.
 */
export const NATIVE_MIN_WORK = 2.5e9

export interface NetworkSize {
  readonly preset: string
  readonly parameters: number
  readonly resolution: number
}

const networkOf = (kind: KindSignature, config: Record<string, unknown>): NetworkSize | undefined => {
  try {
    const network = kind.network?.(config)
    return (
      network && { preset: network.preset, parameters: countParameters(buildArch(network.args)), resolution: network.args.img_resolution }
    )
  } catch {
    return undefined
  }
}

/** The largest network (by parameters) the pipeline trains or imports, if any. */
export const largestNetwork = (graph: PipelineGraph): NetworkSize | undefined =>
  [...graph.nodes.values()]
    .map((n) => networkOf(n.kind, n.config as Record<string, unknown>))
    .reduce<NetworkSize | undefined>(
      (best, n) => (n !== undefined && (best === undefined || n.parameters > best.parameters) ? n : best),
      undefined,
    )

export const webgpuWorthwhile = (graph: PipelineGraph): boolean => (largestNetwork(graph)?.parameters ?? 0) >= WEBGPU_MIN_PARAMETERS

const describe = (n: NetworkSize): string => `${n.preset}, ${(n.parameters / 1e6).toFixed(2)} M parameters at ${n.resolution} px`

/** The CPU engine a pipeline's network trains faster on, and why. */
export const cpuEngine = (graph: PipelineGraph): NonNullable<InitBackendOptions["cpu"]> => {
  const network = largestNetwork(graph)
  if (network === undefined) return { engine: "wasm", why: "no network to train or run; wasm starts fastest" }
  const work = network.parameters * network.resolution ** 2
  return work >= NATIVE_MIN_WORK
    ? { engine: "tensorflow", why: `${describe(network)}: large enough to train faster on it than on wasm` }
    : { engine: "wasm", why: `${describe(network)}: small enough to train faster on wasm, whose kernel calls cost less` }
}

/** Everything auto needs to know of the pipeline. */
export const autoPolicy = (graph: PipelineGraph): Pick<InitBackendOptions, "webgpu" | "cpu"> => ({
  webgpu: webgpuWorthwhile(graph),
  cpu: cpuEngine(graph),
})
