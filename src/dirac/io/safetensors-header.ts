/**
 * Validation of a safetensors header before a byte of tensor data is read: every entry's dtype, shape and byte range
 * must agree, and the ranges must lie inside the file without overlapping. A hostile or damaged header gets one error
 * naming the file and the tensor.
 */

export interface HeaderEntry {
  readonly dtype: string
  readonly shape: number[]
  readonly data_offsets: [number, number]
}

export interface SafetensorsHeader {
  readonly metadata: Record<string, string>
  readonly entries: Record<string, HeaderEntry>
}

/** The reference implementation's cap; real headers are a few hundred kilobytes. */
export const maxHeaderBytes = 100_000_000

export const dtypeBytes: Readonly<Record<string, number>> = { F64: 8, I64: 8, F32: 4, I32: 4, F16: 2, BF16: 2, U8: 1, BOOL: 1 }

/** A value from the header in a message, without walking a hostile structure. */
const show = (v: unknown): string =>
  Array.isArray(v)
    ? v.length <= 8 && v.every((x) => typeof x === "number")
      ? `[${v.join(", ")}]`
      : "a list"
    : typeof v === "string"
      ? JSON.stringify(v.slice(0, 40))
      : String(v)

const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0

const byteLength = (shape: ReadonlyArray<number>, itemBytes: number): number | undefined => {
  let n = itemBytes
  for (const dim of shape) {
    n *= dim
    if (!Number.isSafeInteger(n)) return undefined
  }
  return n
}

const parseMetadata = (fail: (why: string) => never, value: unknown): Record<string, string> => {
  if (value === undefined) return {}
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("__metadata__ is not an object of strings")
  for (const [key, v] of Object.entries(value)) if (typeof v !== "string") fail(`__metadata__ '${key}' is not a string`)
  return value as Record<string, string>
}

const parseEntry = (fail: (why: string) => never, value: unknown, dataLength: number): HeaderEntry => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("is not an object with dtype, shape and data_offsets")
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>
  if (typeof dtype !== "string" || !(dtype in dtypeBytes)) fail(`unsupported dtype ${show(dtype)}`)
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(`shape ${show(shape)} is not a list of non-negative integers`)
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount))
    fail(`data_offsets ${show(offsets)} is not a pair of non-negative integers`)
  const [begin, end] = offsets as [number, number]
  if (begin > end) fail(`data_offsets [${begin}, ${end}] are reversed`)
  if (end > dataLength) fail(`data_offsets [${begin}, ${end}] run past the end of the data (${dataLength} bytes)`)
  const expected = byteLength(shape as number[], dtypeBytes[dtype as string])
  if (expected !== end - begin)
    fail(`shape [${(shape as number[]).join(", ")}] of ${dtype} needs ${expected ?? "too many"} bytes, data_offsets give ${end - begin}`)
  return { dtype: dtype as string, shape: shape as number[], data_offsets: [begin, end] }
}

/** `dataLength`: the bytes of the file after the header. Throws with the file and tensor named. */
export const parseSafetensorsHeader = (path: string, headerBytes: Buffer, dataLength: number): SafetensorsHeader => {
  const failFile = (why: string): never => {
    throw new Error(`${path}: not a valid safetensors file: ${why}`)
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(headerBytes.toString("utf8"))
  } catch (e) {
    failFile(`header is not JSON (${(e as Error).message})`)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) failFile("header is not a JSON object")
  const { __metadata__, ...raw } = parsed as Record<string, unknown>
  const metadata = parseMetadata(failFile, __metadata__)
  const entries: Record<string, HeaderEntry> = {}
  for (const [name, value] of Object.entries(raw))
    entries[name] = parseEntry((why) => failFile(`tensor '${name}' ${why}`), value, dataLength)
  const byOffset = Object.entries(entries).sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0])
  for (let i = 1; i < byOffset.length; i++) {
    const [previous, [, previousEnd]] = [byOffset[i - 1][0], byOffset[i - 1][1].data_offsets]
    const [name, entry] = byOffset[i]
    if (entry.data_offsets[0] < previousEnd) failFile(`tensor '${name}' overlaps tensor '${previous}'`)
  }
  return { metadata, entries }
}
