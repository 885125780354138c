import sharp from "sharp"
import type { Rgb8 } from "./pil-resize.js"

/**
 * Decodes PNG/JPEG bytes to 8-bit RGB, like PIL `Image.open(p).convert("RGB")`:
 * - grey is replicated to three channels; 16-bit input is reduced to 8 bits;
 * - alpha is dropped (not flattened onto a background), so fully transparent pixels keep their stored colour;
 * - embedded ICC profiles and EXIF orientation are ignored, as PIL does without explicit calls.
 * `failOn: "error"` makes truncated or corrupt files fail instead of decoding partially.
 */
export const decodeRgb8 = async (bytes: Buffer): Promise<Rgb8> => {
  const { data, info } = await sharp(bytes, { ignoreIcc: true, failOn: "error", autoOrient: false })
    .toColourspace("srgb")
    .raw({ depth: "uchar" })
    .toBuffer({ resolveWithObject: true })
  const { width, height, channels } = info
  if (channels === 3) return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width, height }
  const out = new Uint8Array(width * height * 3)
  const n = width * height
  for (let i = 0; i < n; i++) {
    if (channels >= 3) {
      out[i * 3] = data[i * channels]
      out[i * 3 + 1] = data[i * channels + 1]
      out[i * 3 + 2] = data[i * channels + 2]
    } else {
      const g = data[i * channels]
      out[i * 3] = g
      out[i * 3 + 1] = g
      out[i * 3 + 2] = g
    }
  }
  return { data: out, width, height }
}
