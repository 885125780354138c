import sharp from "sharp"
import { imageGrid, toBytes, type RgbImage } from "../dirac/data/png.js"

export interface Column {
  readonly title: string
  readonly images: ReadonlyArray<RgbImage>
}

const clip = (v: number) => Math.min(1, Math.max(0, v))

/** Nearest-neighbour enlargement, so that small images stay crisp when a person looks at them. */
export const enlarge = (img: RgbImage, factor: number): RgbImage => {
  if (factor <= 1) return img
  const width = img.width * factor
  const height = img.height * factor
  const pixels = new Float32Array(width * height * 3)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (Math.floor(y / factor) * img.width + Math.floor(x / factor)) * 3
      const to = (y * width + x) * 3
      for (let c = 0; c < 3; c++) pixels[to + c] = clip(img.pixels[from + c])
    }
  }
  return { pixels, width, height }
}

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;")

/** Images in titled columns (one row per example), enlarged to at least 128 px, as a PNG. */
export const labelledGridPng = async (columns: ReadonlyArray<Column>): Promise<Buffer> => {
  const rows = Math.min(...columns.map((c) => c.images.length))
  const size = columns[0].images[0].width
  const factor = Math.max(1, Math.ceil(128 / size))
  const cell = size * factor
  const gap = 4
  const ordered = Array.from({ length: rows }, (_, r) => columns.map((c) => enlarge(c.images[r], factor))).flat()
  const grid = imageGrid(ordered, { cols: columns.length, gap })
  const header = 28
  const titles = columns
    .map(
      (c, i) =>
        `<text x="${gap + i * (cell + gap) + cell / 2}" y="19" text-anchor="middle" font-family="DejaVu Sans" font-size="14">${escape(c.title)}</text>`,
    )
    .join("")
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${grid.width}" height="${header}"><rect width="100%" height="100%" fill="white"/>${titles}</svg>`
  return sharp({ create: { width: grid.width, height: grid.height + header, channels: 3, background: "white" } })
    .composite([
      { input: Buffer.from(svg), top: 0, left: 0 },
      {
        input: Buffer.from(toBytes(grid.pixels, "round")),
        raw: { width: grid.width, height: grid.height, channels: 3 },
        top: header,
        left: 0,
      },
    ])
    .png()
    .toBuffer()
}

const channelMean = (values: Float32Array): Float32Array => {
  const grey = new Float32Array(values.length / 3)
  for (let p = 0; p < grey.length; p++) grey[p] = (values[3 * p] + values[3 * p + 1] + values[3 * p + 2]) / 3
  return grey
}

/** The largest channel mean over non-negative RGB maps: a scale that several heat images share. */
export const heatScale = (maps: ReadonlyArray<Float32Array>): number =>
  maps.reduce((m, values) => channelMean(values).reduce((a, v) => Math.max(a, v), m), 0)

/** A grey image of a non-negative RGB map (e.g. pixelwise std), averaged over channels: 0 black, `max` white. */
export const heatImage = (values: Float32Array, width: number, height: number, max = heatScale([values])): RgbImage => {
  const grey = channelMean(values)
  const pixels = new Float32Array(values.length)
  for (let p = 0; p < grey.length; p++) pixels.fill(max > 0 ? Math.min(1, grey[p] / max) : 0, 3 * p, 3 * p + 3)
  return { pixels, width, height }
}
