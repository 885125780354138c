/**
 * Writes a checkpoint in the `torch.save` zip format (torch >= 1.6) without PyTorch and without holding its
 * tensors in memory: the records torch writes, in its order (`archive/data.pkl`, `.format_version`,
 * `.storage_alignment`, `byteorder`, `data/<key>` in sorted key order, `version`, `.data/serialization_id`),
 * with each storage's bytes streamed from `data`. `torch.load` reads the result.
 */
import { pickleCheckpoint, type PyValue, type StorageSpec } from "./torch-pickle.js"
import { ZipWriter, type ZipWriterOptions } from "./zip64-writer.js"

export interface TorchArchiveOptions extends ZipWriterOptions {
  /** The little-endian float32 bytes of a storage, `numel * 4` in all, in chunks. */
  readonly data: (storage: StorageSpec, key: number) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>
  /** Leaves a hole of this many bytes before the storage records (see {@link ZipWriter.skip}). */
  readonly holeBeforeStorages?: number
  /** Called after each storage record (for progress). */
  readonly onStorage?: (key: number, bytesSoFar: number) => void
}

export interface WrittenArchive {
  readonly bytes: number
  readonly storages: number
  readonly pickleBytes: number
}

const text = (s: string) => [Buffer.from(s, "latin1")]

export const writeTorchCheckpoint = async (path: string, root: PyValue, options: TorchArchiveOptions): Promise<WrittenArchive> => {
  const { pickle, storages } = pickleCheckpoint(root)
  const zip = await ZipWriter.create(path, options)
  try {
    await zip.add("archive/data.pkl", pickle.length, [pickle])
    await zip.add("archive/.format_version", 1, text("1"))
    await zip.add("archive/.storage_alignment", 2, text("64"))
    await zip.add("archive/byteorder", 6, text("little"))
    zip.skip(options.holeBeforeStorages ?? 0)
    // torch sorts the keys as strings: data/0, data/1, data/10, data/100, ...
    const keys = storages.map((_, k) => String(k)).sort()
    let written = 0
    for (const key of keys) {
      const k = Number(key)
      const storage = storages[k]
      await zip.add(`archive/data/${key}`, storage.numel * 4, options.data(storage, k))
      written += storage.numel * 4
      options.onStorage?.(k, written)
    }
    await zip.add("archive/version", 2, text("3\n"))
    await zip.add("archive/.data/serialization_id", 40, text("0".repeat(20) + "1".repeat(20)))
  } catch (error) {
    await zip.abandon()
    throw error
  }
  return { bytes: await zip.finish(), storages: storages.length, pickleBytes: pickle.length }
}
