import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import sharp from "sharp"

/** Test fixtures written at runtime; the project ships no images. */

export const tempDir = (prefix = "dirac-data-"): string => mkdtempSync(join(tmpdir(), prefix))

export type Pixel = (x: number, y: number) => number[]

/** Encodes raw pixels (channels 1-4) as PNG or JPEG bytes; `grey` stores a real single-channel PNG. */
export const encode = async (
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  pixel: Pixel,
  format: "png" | "jpeg" = "png",
): Promise<Buffer> => {
  const raw = Buffer.alloc(width * height * channels)
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) raw.set(pixel(x, y), (y * width + x) * channels)
  let img = sharp(raw, { raw: { width, height, channels } })
  if (channels <= 2) img = img.toColourspace("b-w")
  return format === "png" ? img.png().toBuffer() : img.jpeg({ quality: 95 }).toBuffer()
}

export const writeFile = (path: string, bytes: Buffer | string): string => {
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, bytes)
  return path
}

/** A tiny RGB PNG whose colour encodes `k`, to tell files apart after loading. */
export const tinyPng = (k: number, size = 8): Promise<Buffer> => encode(size, size, 3, () => [k % 256, (k * 7) % 256, 128])
