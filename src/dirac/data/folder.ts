import { readFile, realpath } from "node:fs/promises"
import { isAbsolute, relative, resolve, sep } from "node:path"
import { checkIndex, iterateBatches, mapLimit, packBatch } from "./batching.js"
import { decodeRgb8 } from "./decode.js"
import { badOptions, checkResolution, DataError } from "./errors.js"
import { fingerprintFiles } from "./fingerprint.js"
import { cropAndResizeSquare } from "./pil-resize.js"
import type { ImageFile } from "./scan-folder.js"
import { LAYOUTS, SPLITS, splitFiles } from "./splits.js"
import type { FolderDescription, FolderLayout, FolderSplit, ImageBatch, ImageSource, SkippedImage } from "./types.js"

/** Bump when the pixels produced from the same file bytes change. */
export const FOLDER_PREPROCESSING_VERSION = "rgb-dropalpha+centercrop+pil-bilinear/v1"

export interface FolderOptions {
  readonly root: string
  readonly layout?: FolderLayout
  readonly split?: FolderSplit
  readonly from?: number
  readonly to?: number
  readonly limit?: number
  readonly resolution: number
  readonly onError?: "skip" | "fail"
  readonly content?: boolean
  /** Where skipped files are reported (default: console.warn). */
  readonly log?: (message: string) => void
  /** Images decoded at once (default 4). */
  readonly concurrency?: number
}

/**
 * One image file as the official transform sees it: decoded to RGB (alpha dropped), centre-cropped to its shorter
 * side, resized with Pillow's antialiased bilinear filter to `resolution`², scaled by 1/255 to float32 HWC.
 */
export const loadImageFile = async (path: string, resolution: number): Promise<Float32Array> => {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    throw new DataError("unreadable-image", `cannot read image ${path}: ${(e as Error).message}`, path, { cause: e })
  }
  let img
  try {
    img = await decodeRgb8(bytes)
  } catch (e) {
    throw new DataError("unreadable-image", `cannot decode image ${path} (corrupt or not a PNG/JPEG): ${(e as Error).message}`, path, {
      cause: e,
    })
  }
  const { data } = cropAndResizeSquare(img, resolution)
  const out = new Float32Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i] / 255
  return out
}

/** The id of a file: its relative path without the extension, e.g. `00000/00000`. */
export const fileId = (relPath: string): string => relPath.replace(/\.[^./]*$/, "")

const checkRange = (name: string, v: number | undefined): void => {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw badOptions(`${name} must be a non-negative integer, got ${v}`)
}

/** Applies `from`/`to` (index range [from, to) over the list) and then `limit`. */
export const selectRange = <T>(items: readonly T[], from = 0, to = items.length, limit = Infinity): T[] =>
  items.slice(from, Math.min(to, from + limit))

/** The files whose real path (links resolved) is not inside the real `root`: links that lead out of the data set. */
const linksLeaving = async (root: string, files: readonly ImageFile[]): Promise<ImageFile[]> => {
  const realRoot = await realpath(root)
  const real = await mapLimit(files, 16, (f) => realpath(f.path).catch(() => f.path))
  return files.filter((_, i) => {
    const inside = relative(realRoot, real[i])
    return inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)
  })
}

/** Refuses files that are links to outside `root`: an error, or under onError "skip" a warning and no such file. */
const refuseLinksLeaving = async (root: string, files: ImageFile[], options: FolderOptions): Promise<ImageFile[]> => {
  const leaving = await linksLeaving(root, files)
  if (leaving.length === 0) return files
  const why = (f: ImageFile) => `${f.path} is a link to a file outside the data folder ${root}`
  if (options.onError !== "skip") {
    const more = leaving.length > 1 ? ` (and ${leaving.length - 1} more)` : ""
    throw new DataError(
      "link-outside-root",
      `${why(leaving[0])}${more}; remove the link, or skip such files with on_error: skip`,
      leaving[0].path,
    )
  }
  const kept = files.filter((f) => !leaving.includes(f))
  if (kept.length === 0)
    throw new DataError("link-outside-root", `every selected image is a link to a file outside the data folder ${root}`, root)
  for (const f of leaving) (options.log ?? console.warn)(`skipping ${why(f)}`)
  return kept
}

export class FolderSource implements ImageSource {
  readonly kind = "folder" as const
  readonly ids: readonly string[]
  private readonly skippedByIndex = new Map<number, SkippedImage>()

  constructor(
    private readonly options: Required<Pick<FolderOptions, "root" | "layout" | "split" | "resolution" | "onError">> & FolderOptions,
    /** The selected files, in order. */
    readonly files: readonly ImageFile[],
  ) {
    this.ids = files.map((f) => fileId(f.relPath))
    const seen = new Map<string, string>()
    for (const f of files) {
      const id = fileId(f.relPath)
      const other = seen.get(id)
      if (other !== undefined) throw new DataError("bad-layout", `two files have the same id "${id}": ${other} and ${f.relPath}`, f.path)
      seen.set(id, f.relPath)
    }
  }

  get count(): number {
    return this.files.length
  }
  get resolution(): number {
    return this.options.resolution
  }
  get skipped(): readonly SkippedImage[] {
    return [...this.skippedByIndex.values()].sort((a, b) => a.index - b.index)
  }

  async load(indices: readonly number[]): Promise<ImageBatch> {
    indices.forEach((i) => checkIndex(i, this.count))
    const R = this.options.resolution
    const loaded = await mapLimit(indices, this.options.concurrency ?? 4, async (index) => {
      const file = this.files[index]
      try {
        return { id: this.ids[index], index, pixels: await loadImageFile(file.path, R) }
      } catch (e) {
        if (this.options.onError === "fail" || !(e instanceof DataError)) throw e
        if (!this.skippedByIndex.has(index)) {
          this.skippedByIndex.set(index, { index, id: this.ids[index], path: file.path, reason: e.message })
          ;(this.options.log ?? console.warn)(`skipping ${e.message}`)
        }
        return undefined
      }
    })
    return packBatch(
      R,
      loaded.filter((x) => x !== undefined),
    )
  }

  batches(batchSize: number, start = 0): AsyncIterableIterator<ImageBatch> {
    return iterateBatches(this.count, batchSize, start, (idx) => this.load(idx))
  }

  fingerprint(): Promise<string> {
    const header = { kind: "folder", preprocessing: FOLDER_PREPROCESSING_VERSION, resolution: this.resolution }
    return fingerprintFiles(header, this.files, this.options.content ?? false)
  }

  describe(): FolderDescription {
    const { root, layout, split, from, to, limit, resolution, onError, content } = this.options
    return {
      kind: "folder",
      root,
      layout,
      split,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(limit !== undefined ? { limit } : {}),
      resolution,
      onError,
      ...(content ? { content } : {}),
    }
  }
}

/** Scans a data set folder (no image is read) and returns the selected images as a source. */
export const openFolder = async (options: FolderOptions): Promise<FolderSource> => {
  const layout = options.layout ?? "plain"
  const split = options.split ?? "all"
  const onError = options.onError ?? "fail"
  if (!LAYOUTS.includes(layout)) throw badOptions(`unknown layout "${layout}" (one of ${LAYOUTS.join(", ")})`)
  if (!SPLITS.includes(split)) throw badOptions(`unknown split "${split}" (one of ${SPLITS.join(", ")})`)
  if (onError !== "skip" && onError !== "fail") throw badOptions(`onError must be "skip" or "fail", got "${onError}"`)
  checkResolution(options.resolution)
  checkRange("from", options.from)
  checkRange("to", options.to)
  checkRange("limit", options.limit)
  if (options.from !== undefined && options.to !== undefined && options.to < options.from) {
    throw badOptions(`"to" (${options.to}) must not be below "from" (${options.from})`)
  }
  if (options.concurrency !== undefined && !(Number.isInteger(options.concurrency) && options.concurrency >= 1)) {
    throw badOptions(`concurrency must be a positive integer, got ${options.concurrency}`)
  }
  const root = resolve(options.root)
  const selected = selectRange(await splitFiles(root, layout, split), options.from, options.to, options.limit)
  const files = await refuseLinksLeaving(root, selected, { ...options, onError })
  return new FolderSource({ ...options, root, layout, split, onError }, files)
}
