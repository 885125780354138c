import { mkdir } from "node:fs/promises"
import { dirname, join } from "node:path"
import sharp from "sharp"
import type { ImageBatch } from "./types.js"

/** One RGB image, HWC float32 (values outside [0, 1] are clipped when written). */
export interface RgbImage {
  readonly pixels: Float32Array
  readonly width: number
  readonly height: number
}

/**
 * How floats become bytes. "round" (default): round(clip(x)·255). "truncate": floor(clip(x)·255), what the official
 * code's `plt.imsave` does for the PNGs that FID is computed from.
 */
export type Quantisation = "round" | "truncate"

export const toBytes = (pixels: Float32Array, quantisation: Quantisation = "round"): Uint8Array => {
  const out = new Uint8Array(pixels.length)
  const f = quantisation === "round" ? Math.round : Math.floor
  for (let i = 0; i < pixels.length; i++) {
    const x = pixels[i]
    out[i] = x > 0 ? (x < 1 ? f(x * 255) : 255) : 0 // NaN becomes 0
  }
  return out
}

const check = (img: RgbImage): void => {
  if (img.pixels.length !== img.width * img.height * 3) {
    throw new RangeError(`expected ${img.width}x${img.height}x3 = ${img.width * img.height * 3} values, got ${img.pixels.length}`)
  }
}

/** PNG bytes of an image. */
export const encodePng = (img: RgbImage, quantisation: Quantisation = "round"): Promise<Buffer> => {
  check(img)
  return sharp(toBytes(img.pixels, quantisation), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toBuffer()
}

/** Writes an image as PNG, creating the folder if needed. */
export const writePng = async (path: string, img: RgbImage, quantisation: Quantisation = "round"): Promise<void> => {
  await mkdir(dirname(path), { recursive: true })
  check(img)
  await sharp(toBytes(img.pixels, quantisation), { raw: { width: img.width, height: img.height, channels: 3 } })
    .png()
    .toFile(path)
}

/** Image `i` of a batch (a copy). */
export const batchImage = (batch: ImageBatch, i: number): RgbImage => {
  const [n, h, w] = batch.shape
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`image ${i} outside a batch of ${n}`)
  const size = h * w * 3
  return { pixels: batch.pixels.slice(i * size, (i + 1) * size), width: w, height: h }
}

/** Writes each image of a batch to `<dir>/<id>.png` (ids may contain "/"); returns the paths. */
export const writeBatchPngs = async (dir: string, batch: ImageBatch, quantisation: Quantisation = "round"): Promise<string[]> => {
  const paths: string[] = []
  for (let i = 0; i < batch.shape[0]; i++) {
    const path = join(dir, `${batch.ids[i]}.png`)
    await writePng(path, batchImage(batch, i), quantisation)
    paths.push(path)
  }
  return paths
}

export interface GridOptions {
  /** Columns (default: ceil(sqrt(n)), or from `rows`). */
  readonly cols?: number
  readonly rows?: number
  /** Pixels between images and around the border (default 2). */
  readonly gap?: number
  /** Background RGB in [0, 1] (default white). */
  readonly background?: readonly [number, number, number]
}

/** Lays equally sized images out row by row in a rows × cols grid with a gap between them. */
export const imageGrid = (images: ImageBatch | readonly RgbImage[], options: GridOptions = {}): RgbImage => {
  const list = Array.isArray(images)
    ? (images as readonly RgbImage[])
    : Array.from({ length: (images as ImageBatch).shape[0] }, (_, i) => batchImage(images as ImageBatch, i))
  const n = list.length
  if (n === 0) throw new RangeError("imageGrid needs at least one image")
  const { width: w, height: h } = list[0]
  for (const img of list) {
    check(img)
    if (img.width !== w || img.height !== h)
      throw new RangeError(`imageGrid needs equally sized images: ${w}x${h} and ${img.width}x${img.height}`)
  }
  const cols = options.cols ?? (options.rows ? Math.ceil(n / options.rows) : Math.ceil(Math.sqrt(n)))
  const rows = options.rows ?? Math.ceil(n / cols)
  if (rows * cols < n) throw new RangeError(`a ${rows}x${cols} grid cannot hold ${n} images`)
  const gap = options.gap ?? 2
  const bg = options.background ?? [1, 1, 1]
  const W = cols * w + (cols + 1) * gap
  const H = rows * h + (rows + 1) * gap
  const out = new Float32Array(W * H * 3)
  for (let p = 0; p < W * H; p++) out.set(bg, p * 3)
  list.forEach((img, k) => {
    const x0 = gap + (k % cols) * (w + gap)
    const y0 = gap + Math.floor(k / cols) * (h + gap)
    for (let y = 0; y < h; y++) out.set(img.pixels.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * W + x0) * 3)
  })
  return { pixels: out, width: W, height: H }
}

/** `imageGrid` written as a PNG. */
export const writeGridPng = (path: string, images: ImageBatch | readonly RgbImage[], options: GridOptions = {}): Promise<void> =>
  writePng(path, imageGrid(images, options))
