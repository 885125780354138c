import { createHash } from "node:crypto"
import { checkIndex, iterateBatches } from "./batching.js"
import { badOptions, checkResolution } from "./errors.js"
import { renderSynthetic, SYNTHETIC_GENERATOR_VERSION } from "./synthetic-render.js"
import type { ImageBatch, ImageSource, SkippedImage, SyntheticDescription } from "./types.js"

export { renderSynthetic, SYNTHETIC_GENERATOR_VERSION } from "./synthetic-render.js"

export interface SyntheticOptions {
  readonly seed: number
  readonly count: number
  readonly resolution: number
  readonly offset?: number
}

const checkNonNegative = (name: string, v: number): void => {
  if (!Number.isSafeInteger(v) || v < 0) throw badOptions(`${name} must be a non-negative integer, got ${v}`)
}

export const syntheticId = (seed: number, index: number): string => `synthetic/${seed}/${index}`

/** The images `synthetic/<seed>/<offset>` … `synthetic/<seed>/<offset+count-1>`, rendered on demand. */
export class SyntheticSource implements ImageSource {
  readonly kind = "synthetic" as const
  readonly seed: number
  readonly count: number
  readonly resolution: number
  readonly offset: number
  readonly skipped: readonly SkippedImage[] = []
  private idList?: string[]

  constructor(options: SyntheticOptions) {
    checkNonNegative("seed", options.seed)
    checkNonNegative("count", options.count)
    checkNonNegative("offset", options.offset ?? 0)
    checkResolution(options.resolution)
    this.seed = options.seed
    this.count = options.count
    this.resolution = options.resolution
    this.offset = options.offset ?? 0
  }

  get ids(): readonly string[] {
    this.idList ??= Array.from({ length: this.count }, (_, i) => syntheticId(this.seed, this.offset + i))
    return this.idList
  }

  load(indices: readonly number[]): Promise<ImageBatch> {
    try {
      return Promise.resolve(this.render(indices))
    } catch (e) {
      return Promise.reject(e)
    }
  }

  private render(indices: readonly number[]): ImageBatch {
    indices.forEach((i) => checkIndex(i, this.count))
    const R = this.resolution
    const pixels = new Float32Array(indices.length * R * R * 3)
    indices.forEach((i, k) => renderSynthetic(this.seed, this.offset + i, R, pixels, k * R * R * 3))
    return {
      ids: indices.map((i) => syntheticId(this.seed, this.offset + i)),
      indices: [...indices],
      pixels,
      shape: [indices.length, R, R, 3],
    }
  }

  batches(batchSize: number, start = 0): AsyncIterableIterator<ImageBatch> {
    return iterateBatches(this.count, batchSize, start, (idx) => this.load(idx))
  }

  fingerprint(): Promise<string> {
    const { kind, seed, count, resolution, offset, version } = this.describe()
    const text = JSON.stringify({ kind, version, seed, count, resolution, offset: offset ?? 0 })
    return Promise.resolve(createHash("sha256").update(text).digest("hex"))
  }

  describe(): SyntheticDescription {
    return {
      kind: "synthetic",
      seed: this.seed,
      count: this.count,
      resolution: this.resolution,
      ...(this.offset !== 0 ? { offset: this.offset } : {}),
      version: SYNTHETIC_GENERATOR_VERSION,
    }
  }
}

export const syntheticSource = (options: SyntheticOptions): SyntheticSource => new SyntheticSource(options)
