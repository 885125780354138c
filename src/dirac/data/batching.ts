import { badOptions } from "./errors.js"
import type { ImageBatch } from "./types.js"

/** Loads the images at some positions into one NHWC buffer; positions whose image is skipped are left out. */
export type LoadInto = (indices: readonly number[]) => Promise<ImageBatch>

export const checkIndex = (i: number, count: number): void => {
  if (!Number.isInteger(i) || i < 0 || i >= count) throw badOptions(`image index ${i} is outside 0..${count - 1}`)
}

/** Batches of consecutive positions [start, count), one batch loaded ahead while the consumer works. */
export async function* iterateBatches(count: number, batchSize: number, start: number, load: LoadInto): AsyncIterableIterator<ImageBatch> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw badOptions(`batch size must be a positive integer, got ${batchSize}`)
  if (!Number.isInteger(start) || start < 0 || start > count) throw badOptions(`start must be an integer in 0..${count}, got ${start}`)
  const range = (from: number): number[] => Array.from({ length: Math.min(batchSize, count - from) }, (_, k) => from + k)
  let next: Promise<ImageBatch> | undefined = start < count ? load(range(start)) : undefined
  for (let from = start; from < count; from += batchSize) {
    const current = next!
    // start the next load now; attach a no-op handler so an early failure is reported when awaited, not as unhandled
    next = from + batchSize < count ? load(range(from + batchSize)) : undefined
    next?.catch(() => undefined)
    yield await current
  }
}

/** Packs per-image HWC buffers into a batch. */
export const packBatch = (resolution: number, entries: ReadonlyArray<{ id: string; index: number; pixels: Float32Array }>): ImageBatch => {
  const size = resolution * resolution * 3
  const pixels = new Float32Array(entries.length * size)
  entries.forEach((e, k) => pixels.set(e.pixels, k * size))
  return {
    ids: entries.map((e) => e.id),
    indices: entries.map((e) => e.index),
    pixels,
    shape: [entries.length, resolution, resolution, 3],
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight; results keep the input order. */
export const mapLimit = async <T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> => {
  const results = new Array<R>(items.length)
  let nextIndex = 0
  const worker = async (): Promise<void> => {
    while (nextIndex < items.length) {
      const i = nextIndex++
      results[i] = await fn(items[i], i)
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}
