/** A batch of RGB images in NHWC layout, float32 values in [0, 1]. */
export interface ImageBatch {
  readonly ids: string[]
  /** Positions of these images in their source (consecutive unless images were skipped). */
  readonly indices: number[]
  readonly pixels: Float32Array
  readonly shape: [n: number, h: number, w: number, c: 3]
}

/** An image that could not be decoded and was left out (`onError: "skip"`). */
export interface SkippedImage {
  readonly index: number
  readonly id: string
  readonly path: string
  readonly reason: string
}

export interface SyntheticDescription {
  readonly kind: "synthetic"
  readonly seed: number
  readonly count: number
  readonly resolution: number
  /** Index of the first image (default 0), so disjoint sets can share a seed. */
  readonly offset?: number
  /** Generator version; opening a description made by another version fails rather than giving other pixels. */
  readonly version: string
}

export type FolderLayout = "plain" | "ffhq" | "celeba-hq" | "imagenet"
export type FolderSplit = "all" | "train" | "val" | "test"

export interface FolderDescription {
  readonly kind: "folder"
  /** Absolute path of the data set root. */
  readonly root: string
  readonly layout: FolderLayout
  readonly split: FolderSplit
  /** Index range [from, to) and then at most `limit` images, over the split's ordered list. */
  readonly from?: number
  readonly to?: number
  readonly limit?: number
  readonly resolution: number
  readonly onError: "skip" | "fail"
  /** Fingerprint from file bytes (sha256) instead of path, size and mtime. */
  readonly content?: boolean
}

export type SourceDescription = SyntheticDescription | FolderDescription

/**
 * A handle to an ordered set of square RGB images, all at `resolution`². Pixels are produced on demand, so the
 * source can be larger than memory; `describe()` gives JSON from which `openSource` re-creates it.
 */
export interface ImageSource {
  readonly kind: SourceDescription["kind"]
  readonly count: number
  readonly ids: readonly string[]
  readonly resolution: number
  /**
   * Batches of up to `batchSize` images in order, starting at image `start`. Batch k covers positions
   * [start + k·batchSize, start + (k+1)·batchSize), so a consumer that finished m batches resumes with
   * `start + m·batchSize` (skipped images only make a batch shorter). The next batch is loaded while one is used.
   */
  batches(batchSize: number, start?: number): AsyncIterableIterator<ImageBatch>
  /** The images at these positions, in the order given. */
  load(indices: readonly number[]): Promise<ImageBatch>
  /** A hex digest that changes when the images this source yields may change. */
  fingerprint(): Promise<string>
  describe(): SourceDescription
  /** Images left out so far because they could not be decoded (`onError: "skip"`); always empty for synthetic data. */
  readonly skipped: readonly SkippedImage[]
}
