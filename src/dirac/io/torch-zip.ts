import { open, type FileHandle } from "node:fs/promises"

/**
 * A minimal zip reader for `torch.save` archives: it reads the end-of-central-directory record (zip64 too),
 * the central directory, and each record's local header on demand, never the whole file (checkpoints exceed
 * Node's 2 GiB read limit). Torch writes every record ZIP_STORED (uncompressed, 64-byte aligned); a
 * compressed record (a re-zipped file) is refused.
 */

export interface ZipEntry {
  readonly name: string
  /** 0 = stored; anything else is refused when read. */
  readonly method: number
  readonly compressedSize: number
  readonly size: number
  readonly localHeaderOffset: number
}

const EOCD_SIG = 0x06054b50
const ZIP64_LOCATOR_SIG = 0x07064b50
const ZIP64_EOCD_SIG = 0x06064b50
const CENTRAL_SIG = 0x02014b50
const LOCAL_SIG = 0x04034b50
const U32_MAX = 0xffffffff
const U16_MAX = 0xffff

const u64 = (b: Buffer, at: number): number => {
  const v = b.readBigUInt64LE(at)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`zip: 64-bit value ${v} is too large`)
  return Number(v)
}

export class TorchZip {
  private dataStarts = new Map<string, number>()

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    readonly size: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(path: string): Promise<TorchZip> {
    const file = await open(path, "r")
    try {
      const { size } = await file.stat()
      const entries = await readCentralDirectory(path, file, size)
      return new TorchZip(path, file, size, entries)
    } catch (error) {
      await file.close()
      throw error
    }
  }

  async close(): Promise<void> {
    await this.file.close()
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name)
    if (!e) throw new Error(`${this.path}: the archive has no record '${name}'`)
    return e
  }

  /** Absolute file offset of a record's first data byte (from its local header, whose extra field differs). */
  async dataStart(name: string): Promise<number> {
    const cached = this.dataStarts.get(name)
    if (cached !== undefined) return cached
    const e = this.entry(name)
    if (e.method !== 0)
      throw new Error(
        `${this.path}: record '${name}' is compressed (method ${e.method}); torch writes stored records only, re-save the checkpoint with torch.save`,
      )
    const header = Buffer.alloc(30)
    await this.readExactly(header, e.localHeaderOffset)
    if (header.readUInt32LE(0) !== LOCAL_SIG) throw new Error(`${this.path}: bad local header for '${name}'`)
    const start = e.localHeaderOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28)
    if (start + e.size > this.size) throw new Error(`${this.path}: record '${name}' runs past the end of the file (truncated download?)`)
    this.dataStarts.set(name, start)
    return start
  }

  /** Reads a whole record into a Buffer (for small records such as `data.pkl`). */
  async read(name: string, maxBytes = 1 << 30): Promise<Buffer> {
    const e = this.entry(name)
    if (e.size > maxBytes) throw new Error(`${this.path}: record '${name}' is ${e.size} bytes, more than the ${maxBytes} allowed`)
    const out = Buffer.alloc(e.size)
    await this.readExactly(out, await this.dataStart(name))
    return out
  }

  /** Reads `target.byteLength` bytes of a record, from `offset` within it, straight into `target`. */
  async readInto(name: string, target: Uint8Array, offset = 0): Promise<void> {
    const e = this.entry(name)
    if (offset < 0 || offset + target.byteLength > e.size) {
      throw new Error(`${this.path}: read of ${target.byteLength} bytes at ${offset} is outside record '${name}' (${e.size} bytes)`)
    }
    await this.readExactly(target, (await this.dataStart(name)) + offset)
  }

  private async readExactly(target: Uint8Array, position: number): Promise<void> {
    // fh.read is limited to 2 GiB per call; read in chunks.
    const CHUNK = 1 << 28
    let done = 0
    while (done < target.byteLength) {
      const length = Math.min(CHUNK, target.byteLength - done)
      const { bytesRead } = await this.file.read(target, done, length, position + done)
      if (bytesRead === 0) throw new Error(`${this.path}: unexpected end of file at ${position + done}`)
      done += bytesRead
    }
  }
}

const readAt = async (file: FileHandle, position: number, length: number): Promise<Buffer> => {
  const b = Buffer.alloc(length)
  const { bytesRead } = await file.read(b, 0, length, position)
  if (bytesRead !== length) throw new Error(`unexpected end of file at ${position}`)
  return b
}

const readCentralDirectory = async (path: string, file: FileHandle, size: number): Promise<Map<string, ZipEntry>> => {
  // The EOCD is 22 bytes plus a comment of up to 64 KiB at the very end.
  const tailLength = Math.min(size, 22 + U16_MAX)
  const tail = await readAt(file, size - tailLength, tailLength)
  let eocd = -1
  for (let i = tailLength - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i
      break
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a zip archive (no end-of-central-directory record)`)
  let count = tail.readUInt16LE(eocd + 10)
  let cdSize = tail.readUInt32LE(eocd + 12)
  let cdOffset = tail.readUInt32LE(eocd + 16)
  if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
    const locatorAt = size - tailLength + eocd - 20
    if (locatorAt < 0) throw new Error(`${path}: zip64 locator missing`)
    const locator = await readAt(file, locatorAt, 20)
    if (locator.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) throw new Error(`${path}: zip64 locator missing`)
    const rec = await readAt(file, u64(locator, 8), 56)
    if (rec.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new Error(`${path}: bad zip64 end-of-central-directory record`)
    count = u64(rec, 32)
    cdSize = u64(rec, 40)
    cdOffset = u64(rec, 48)
  }
  if (cdOffset + cdSize > size) throw new Error(`${path}: the central directory lies past the end of the file (truncated?)`)
  if (cdSize > 1 << 30) throw new Error(`${path}: central directory of ${cdSize} bytes is implausibly large`)
  const cd = await readAt(file, cdOffset, cdSize)
  const entries = new Map<string, ZipEntry>()
  let at = 0
  for (let i = 0; i < count; i++) {
    if (at + 46 > cd.length || cd.readUInt32LE(at) !== CENTRAL_SIG) throw new Error(`${path}: corrupt central directory (entry ${i})`)
    const method = cd.readUInt16LE(at + 10)
    let compressedSize = cd.readUInt32LE(at + 20)
    let entrySize = cd.readUInt32LE(at + 24)
    const nameLength = cd.readUInt16LE(at + 28)
    const extraLength = cd.readUInt16LE(at + 30)
    const commentLength = cd.readUInt16LE(at + 32)
    let localHeaderOffset = cd.readUInt32LE(at + 42)
    const name = cd.toString("utf8", at + 46, at + 46 + nameLength)
    // zip64 extended information: only the fields whose 32-bit value is 0xffffffff are present, in this order.
    let x = at + 46 + nameLength
    const extraEnd = x + extraLength
    while (x + 4 <= extraEnd) {
      const id = cd.readUInt16LE(x)
      const length = cd.readUInt16LE(x + 2)
      if (id === 0x0001) {
        let p = x + 4
        if (entrySize === U32_MAX) ((entrySize = u64(cd, p)), (p += 8))
        if (compressedSize === U32_MAX) ((compressedSize = u64(cd, p)), (p += 8))
        if (localHeaderOffset === U32_MAX) ((localHeaderOffset = u64(cd, p)), (p += 8))
      }
      x += 4 + length
    }
    entries.set(name, { name, method, compressedSize, size: entrySize, localHeaderOffset })
    at = extraEnd + commentLength
  }
  return entries
}
