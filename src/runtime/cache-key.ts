import { createHash } from "node:crypto"

/** JSON with sorted keys and no insignificant whitespace: equal values always give equal text. */
export const canonicalJson = (value: unknown): string => {
  if (value === undefined) return "null"
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`cannot fingerprint the number ${value}`)
    return JSON.stringify(value)
  }
  if (value === null || typeof value !== "object") return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`
}

export const sha256 = (text: string | Uint8Array): string => createHash("sha256").update(text).digest("hex")

/** Everything that determines a node's result. Its hash is the node's cache key. */
export interface KeyMaterial {
  readonly kind: string
  readonly version: number
  readonly config: unknown
  /** Port -> the keys of the artifacts it reads, with the port they come from (`KEY:port`). */
  readonly inputs: Readonly<Record<string, ReadonlyArray<string>>>
  /** The pipeline seed, for nodes that draw random numbers. */
  readonly seed?: number
  /** The backend fingerprint, for nodes whose arithmetic depends on it. */
  readonly backend?: string
  /** A fingerprint of files the node reads from outside the graph. */
  readonly external?: string
}

export const cacheKey = (material: KeyMaterial): string => sha256(canonicalJson(material))

/** A 32-bit seed for a node, stable for a given key. */
export const seedFromKey = (key: string): number => Number.parseInt(key.slice(0, 8), 16) >>> 0
