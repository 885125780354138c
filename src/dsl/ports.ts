/**
 * Typed ports. A port carries a kind of value and, where it applies, the image shape and value range,
 * so that mismatches between nodes are found before anything runs.
 */

export type PortKind =
  | "images"
  | "measurements"
  | "reconstructions"
  | "process"
  | "model"
  | "trajectories"
  | "stopping-rule"
  | "metrics"
  | "scalar"
  | "report"
  | "state"

export const portKindDescriptions: Readonly<Record<PortKind, string>> = {
  images: "clean images",
  measurements: "degraded, noisy measurements",
  reconstructions: "reconstructed images",
  process: "degradation process",
  model: "trained model",
  trajectories: "reverse-process trajectories",
  "stopping-rule": "early-stopping rule",
  metrics: "metrics table",
  scalar: "scalar value",
  report: "report",
  state: "opaque state",
}

export interface ImageShape {
  readonly height?: number
  readonly width?: number
  readonly channels?: number
}

export interface PortType {
  readonly kind: PortKind
  readonly shape?: ImageShape
  /** Value range of pixels, e.g. [0, 1]. */
  readonly range?: readonly [number, number]
  /** Trajectories: the per-step metrics recorded, e.g. eps_dc, psnr_x0. */
  readonly metrics?: ReadonlyArray<string>
  /** Process and measurements: the degradation operator family, e.g. gaussian-blur, inpaint-box. */
  readonly operator?: string
}

export interface InputPort {
  readonly type: PortKind | ReadonlyArray<PortKind>
  readonly description: string
  readonly required?: boolean
  /** Accepts a list of references. */
  readonly many?: boolean
}

export interface OutputPort {
  readonly type: PortKind
  readonly description: string
  /** Produced only for some configs or inputs (the kind's typing says when it is absent). */
  readonly optional?: boolean
}

export const acceptedKinds = (port: InputPort): ReadonlyArray<PortKind> => (typeof port.type === "string" ? [port.type] : port.type)

export const describeType = (type: PortType): string => {
  const parts: string[] = []
  const s = type.shape
  if (s && (s.height !== undefined || s.width !== undefined || s.channels !== undefined)) {
    parts.push(`${s.height ?? "?"}x${s.width ?? "?"}x${s.channels ?? "?"}`)
  }
  parts.push(type.kind)
  if (type.range) parts.push(`in [${type.range[0]}, ${type.range[1]}]`)
  return parts.join(" ")
}

/** Why `produced` cannot flow into `port`, or undefined when it can. Unknown dimensions match anything. */
export const mismatch = (produced: PortType, port: InputPort, expected?: PortType): string | undefined => {
  const kinds = acceptedKinds(port)
  if (!kinds.includes(produced.kind)) {
    return `expects ${kinds.map((k) => portKindDescriptions[k]).join(" or ")}, got ${portKindDescriptions[produced.kind]}`
  }
  if (!expected) return undefined
  const a = produced.shape ?? {}
  const b = expected.shape ?? {}
  for (const dim of ["height", "width", "channels"] as const) {
    if (a[dim] !== undefined && b[dim] !== undefined && a[dim] !== b[dim]) {
      return `expects ${describeType(expected)}, got ${describeType(produced)}`
    }
  }
  if (produced.range && expected.range && (produced.range[0] !== expected.range[0] || produced.range[1] !== expected.range[1])) {
    return `expects values in [${expected.range[0]}, ${expected.range[1]}], got [${produced.range[0]}, ${produced.range[1]}]`
  }
  return undefined
}
