import { open, type FileHandle } from "node:fs/promises"
import { maxHeaderBytes, parseSafetensorsHeader, type HeaderEntry, type SafetensorsHeader } from "./safetensors-header.js"

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header (dtype, shape and byte range of
 * each tensor, plus string metadata under `__metadata__`), then the raw little-endian data. Python reads it with
 * `safetensors.numpy.load_file`. Files are read and written tensor by tensor, so none is held in memory twice.
 */

export type StoredDtype = "F32" | "I32" | "BOOL"

export interface RawTensor {
  readonly dtype: "float32" | "int32" | "bool"
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array | Int32Array | Uint8Array
}

const storedDtype: Record<RawTensor["dtype"], StoredDtype> = { float32: "F32", int32: "I32", bool: "BOOL" }

export const writeSafetensors = async (
  path: string,
  tensors: Readonly<Record<string, RawTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> => {
  const header: Record<string, unknown> = { __metadata__: metadata }
  let offset = 0
  const names = Object.keys(tensors).sort()
  for (const name of names) {
    const t = tensors[name]
    header[name] = { dtype: storedDtype[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + t.data.byteLength] }
    offset += t.data.byteLength
  }
  let json = JSON.stringify(header)
  json += " ".repeat((8 - (Buffer.byteLength(json) % 8)) % 8)
  const headerBytes = Buffer.from(json, "utf8")
  const prefix = Buffer.alloc(8)
  prefix.writeBigUInt64LE(BigInt(headerBytes.length))
  const file = await open(path, "w")
  try {
    await file.write(prefix)
    await file.write(headerBytes)
    for (const name of names) {
      const d = tensors[name].data
      await file.write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength))
    }
    await file.sync()
  } finally {
    await file.close()
  }
}

export interface SafetensorsContents {
  readonly metadata: Record<string, string>
  readonly tensors: Record<string, RawTensor>
}

const readExactly = async (file: FileHandle, path: string, length: number, position: number): Promise<Buffer> => {
  const bytes = Buffer.alloc(length)
  const { bytesRead } = await file.read(bytes, 0, length, position)
  if (bytesRead !== length) throw new Error(`${path}: truncated (wanted ${length} bytes at ${position}, got ${bytesRead})`)
  return bytes
}

export const readSafetensorsHeader = async (path: string): Promise<SafetensorsHeader & { dataStart: number }> => {
  const file = await open(path, "r")
  try {
    const { size } = await file.stat()
    if (size < 8) throw new Error(`${path}: not a safetensors file (${size} bytes)`)
    const declared = (await readExactly(file, path, 8, 0)).readBigUInt64LE()
    if (declared > BigInt(maxHeaderBytes))
      throw new Error(`${path}: not a safetensors file (header length ${declared}, over ${maxHeaderBytes})`)
    const length = Number(declared)
    if (length <= 0 || length + 8 > size) throw new Error(`${path}: not a safetensors file (header length ${length})`)
    const header = parseSafetensorsHeader(path, await readExactly(file, path, length, 8), size - 8 - length)
    return { ...header, dataStart: 8 + length }
  } finally {
    await file.close()
  }
}

export const readSafetensors = async (path: string): Promise<SafetensorsContents> => {
  const { metadata, entries, dataStart } = await readSafetensorsHeader(path)
  const file = await open(path, "r")
  try {
    const tensors: Record<string, RawTensor> = {}
    for (const [name, entry] of Object.entries(entries)) {
      const [begin, end] = entry.data_offsets
      tensors[name] = decode(name, entry, await readExactly(file, path, end - begin, dataStart + begin))
    }
    return { metadata, tensors }
  } finally {
    await file.close()
  }
}

const decode = (name: string, entry: HeaderEntry, bytes: Buffer): RawTensor => {
  const shape = entry.shape
  const copy = (n: number) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + n)
  switch (entry.dtype) {
    case "F32":
      return { dtype: "float32", shape, data: new Float32Array(copy(bytes.length)) }
    case "I32":
      return { dtype: "int32", shape, data: new Int32Array(copy(bytes.length)) }
    case "BOOL":
    case "U8":
      return {
        dtype: entry.dtype === "BOOL" ? "bool" : "int32",
        shape,
        data: entry.dtype === "BOOL" ? new Uint8Array(copy(bytes.length)) : Int32Array.from(bytes),
      }
    case "F64":
      return { dtype: "float32", shape, data: Float32Array.from(new Float64Array(copy(bytes.length))) }
    case "I64":
      return { dtype: "int32", shape, data: Int32Array.from(new BigInt64Array(copy(bytes.length)), Number) }
    case "F16":
      return { dtype: "float32", shape, data: Float32Array.from(new Uint16Array(copy(bytes.length)), halfToFloat) }
    case "BF16":
      return { dtype: "float32", shape, data: Float32Array.from(new Uint16Array(copy(bytes.length)), (h) => bf16ToFloat(h)) }
    default:
      throw new Error(`tensor '${name}': unsupported safetensors dtype ${entry.dtype}`)
  }
}

const scratch = new DataView(new ArrayBuffer(4))
const bf16ToFloat = (h: number): number => {
  scratch.setUint32(0, h << 16)
  return scratch.getFloat32(0)
}

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024)
  if (exponent === 31) return fraction ? NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}
