/**
 * Whether `--backend auto` may choose WebGPU for a pipeline: only when it trains or imports a network large enough
 * for the GPU to win. Measured on an H100 (bench/results/gpu-h100): tfjs WebGPU trains tiny-32 (0.46 M parameters)
 * 11x and small-64 (2.7 M) 1.9x slower than WASM on 8 cores, and the paper's base (67.7 M, 256 px) in 13.7 s per
 * step, which takes minutes on a CPU backend.
 */
import type { PipelineGraph } from "../dsl/graph.js"
import { buildArch, countParameters } from "../dirac/network/arch.js"
import { isUNetPresetName, resolveUNetArgs, type UNetArgs } from "../dirac/network/config.js"

/** Networks from this size on go to a GPU under auto (between small-64's 2.7 M and base's 67.7 M parameters). */
export const WEBGPU_MIN_PARAMETERS = 20_000_000

const networkOf = (kind: string, config: Record<string, unknown>): number | undefined => {
  const preset = kind === "train" ? config.preset : kind === "import-checkpoint" ? config.arch : undefined
  if (typeof preset !== "string" || !isUNetPresetName(preset)) return undefined
  const overrides = kind === "train" ? ((config.network ?? {}) as Partial<UNetArgs>) : {}
  try {
    return countParameters(buildArch(resolveUNetArgs(preset, overrides)))
  } catch {
    return undefined
  }
}

/** The parameter count of the largest network the pipeline trains or imports (0 when none). */
export const largestNetwork = (graph: PipelineGraph): number =>
  Math.max(0, ...[...graph.nodes.values()].map((n) => networkOf(n.kind.kind, n.config as Record<string, unknown>) ?? 0))

export const webgpuWorthwhile = (graph: PipelineGraph): boolean => largestNetwork(graph) >= WEBGPU_MIN_PARAMETERS
