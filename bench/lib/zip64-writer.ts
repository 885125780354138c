/**
 * A streaming zip writer laid out as torch's (miniz-based) `PyTorchStreamWriter` writes archives: every record
 * stored (no compression), its data 64-byte aligned by an "FB" padding extra field, the CRC and sizes in a data
 * descriptor after the data (general-purpose flag bit 3), and zip64 records where sizes or offsets reach 4 GiB.
 * Data is written in the chunks it is given, so a file of any size needs only one chunk in memory.
 *
 * `forceZip64` writes every record and the end of the central directory in their zip64 form (placeholders
 * 0xffffffff / 0xffff, values in the zip64 extra fields and the zip64 end record), so that a small file takes
 * the same reading path as a file over 4 GiB.
 */
import { open, type FileHandle } from "node:fs/promises"
import { crc32 } from "node:zlib"

export interface ZipWriterOptions {
  readonly forceZip64?: boolean
  /** Data alignment in bytes (torch: 64). */
  readonly alignment?: number
}

interface Written {
  readonly name: Buffer
  readonly size: number
  readonly crc: number
  readonly offset: number
  readonly zip64: boolean
}

const U32_MAX = 0xffffffff
const U16_MAX = 0xffff
const FLAGS = 0x0808 // bit 3: sizes in a data descriptor; bit 11: UTF-8 names

export class ZipWriter {
  private position = 0
  private readonly written: Written[] = []

  private constructor(
    private readonly file: FileHandle,
    private readonly forceZip64: boolean,
    private readonly alignment: number,
  ) {}

  static async create(path: string, options: ZipWriterOptions = {}): Promise<ZipWriter> {
    return new ZipWriter(await open(path, "w"), options.forceZip64 ?? false, options.alignment ?? 64)
  }

  /**
   * Leaves `bytes` unwritten before the next record: a hole in a sparse file, so that a test gets offsets past
   * 4 GiB without writing 4 GiB. No record covers it; readers go by the central directory's offsets.
   */
  skip(bytes: number): void {
    this.position += bytes
  }

  private async write(b: Uint8Array): Promise<void> {
    let done = 0
    while (done < b.byteLength) {
      const { bytesWritten } = await this.file.write(b, done, b.byteLength - done, this.position + done)
      done += bytesWritten
    }
    this.position += b.byteLength
  }

  /** Adds a record of exactly `size` bytes, taken from `chunks` in order. */
  async add(name: string, size: number, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const nameBytes = Buffer.from(name, "utf8")
    const offset = this.position
    const zip64 = this.forceZip64 || size >= U32_MAX || offset >= U32_MAX
    const zip64Extra = zip64 ? Buffer.alloc(20) : Buffer.alloc(0)
    if (zip64) {
      zip64Extra.writeUInt16LE(0x0001, 0)
      zip64Extra.writeUInt16LE(16, 2) // sizes follow in the data descriptor; zero here
    }
    const beforePad = offset + 30 + nameBytes.length + zip64Extra.length + 4
    const pad = (this.alignment - (beforePad % this.alignment)) % this.alignment
    const padExtra = Buffer.alloc(4 + pad, "Z")
    padExtra.writeUInt16LE(0x4246, 0) // "FB", as torch writes it
    padExtra.writeUInt16LE(pad, 2)
    const header = Buffer.alloc(30)
    header.writeUInt32LE(0x04034b50, 0)
    header.writeUInt16LE(zip64 ? 45 : 20, 4)
    header.writeUInt16LE(FLAGS, 6)
    header.writeUInt32LE(zip64 ? U32_MAX : 0, 18)
    header.writeUInt32LE(zip64 ? U32_MAX : 0, 22)
    header.writeUInt16LE(nameBytes.length, 26)
    header.writeUInt16LE(zip64Extra.length + padExtra.length, 28)
    await this.write(Buffer.concat([header, nameBytes, zip64Extra, padExtra]))

    let crc = 0
    let count = 0
    for await (const chunk of chunks) {
      crc = crc32(chunk, crc)
      count += chunk.byteLength
      if (count > size) throw new Error(`zip record ${name}: more than the ${size} bytes announced`)
      await this.write(chunk)
    }
    if (count !== size) throw new Error(`zip record ${name}: ${count} bytes written, ${size} announced`)

    const descriptor = Buffer.alloc(zip64 ? 24 : 16)
    descriptor.writeUInt32LE(0x08074b50, 0)
    descriptor.writeUInt32LE(crc >>> 0, 4)
    if (zip64) {
      descriptor.writeBigUInt64LE(BigInt(size), 8)
      descriptor.writeBigUInt64LE(BigInt(size), 16)
    } else {
      descriptor.writeUInt32LE(size, 8)
      descriptor.writeUInt32LE(size, 12)
    }
    await this.write(descriptor)
    this.written.push({ name: nameBytes, size, crc: crc >>> 0, offset, zip64 })
  }

  /** Writes the central directory and the end records; returns the file's size. */
  async finish(): Promise<number> {
    try {
      const cdOffset = this.position
      for (const w of this.written) {
        const extra = w.zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0)
        if (w.zip64) {
          extra.writeUInt16LE(0x0001, 0)
          extra.writeUInt16LE(24, 2)
          extra.writeBigUInt64LE(BigInt(w.size), 4) // uncompressed
          extra.writeBigUInt64LE(BigInt(w.size), 12) // compressed
          extra.writeBigUInt64LE(BigInt(w.offset), 20) // local header offset
        }
        const h = Buffer.alloc(46)
        h.writeUInt32LE(0x02014b50, 0)
        h.writeUInt16LE(w.zip64 ? 45 : 20, 4)
        h.writeUInt16LE(w.zip64 ? 45 : 20, 6)
        h.writeUInt16LE(FLAGS, 8)
        h.writeUInt32LE(w.crc, 16)
        h.writeUInt32LE(w.zip64 ? U32_MAX : w.size, 20)
        h.writeUInt32LE(w.zip64 ? U32_MAX : w.size, 24)
        h.writeUInt16LE(w.name.length, 28)
        h.writeUInt16LE(extra.length, 30)
        h.writeUInt32LE(w.zip64 ? U32_MAX : w.offset, 42)
        await this.write(Buffer.concat([h, w.name, extra]))
      }
      const cdSize = this.position - cdOffset
      const count = this.written.length
      const zip64End = this.forceZip64 || count >= U16_MAX || cdSize >= U32_MAX || cdOffset >= U32_MAX
      // torch always writes the zip64 end record and its locator; the classic record points to it when needed.
      const end64At = this.position
      const end64 = Buffer.alloc(56)
      end64.writeUInt32LE(0x06064b50, 0)
      end64.writeBigUInt64LE(44n, 4)
      end64.writeUInt16LE(45, 12)
      end64.writeUInt16LE(45, 14)
      end64.writeBigUInt64LE(BigInt(count), 24)
      end64.writeBigUInt64LE(BigInt(count), 32)
      end64.writeBigUInt64LE(BigInt(cdSize), 40)
      end64.writeBigUInt64LE(BigInt(cdOffset), 48)
      const locator = Buffer.alloc(20)
      locator.writeUInt32LE(0x07064b50, 0)
      locator.writeBigUInt64LE(BigInt(end64At), 8)
      locator.writeUInt32LE(1, 16)
      const end = Buffer.alloc(22)
      end.writeUInt32LE(0x06054b50, 0)
      end.writeUInt16LE(zip64End ? U16_MAX : count, 8)
      end.writeUInt16LE(zip64End ? U16_MAX : count, 10)
      end.writeUInt32LE(zip64End ? U32_MAX : cdSize, 12)
      end.writeUInt32LE(zip64End ? U32_MAX : cdOffset, 16)
      await this.write(Buffer.concat([end64, locator, end]))
      return this.position
    } finally {
      await this.file.close()
    }
  }

  /** Closes the file without finishing it (after an error). */
  async abandon(): Promise<void> {
    await this.file.close()
  }
}
