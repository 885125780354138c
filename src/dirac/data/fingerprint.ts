import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { stat } from "node:fs/promises"
import { mapLimit } from "./batching.js"
import { DataError } from "./errors.js"
import type { ImageFile } from "./scan-folder.js"

const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("end", () => resolve(hash.digest("hex")))
      .on("error", reject)
  })

const unreadable = (file: ImageFile, e: unknown): DataError =>
  new DataError("unreadable-image", `cannot read ${file.path}: ${e instanceof Error ? e.message : String(e)}`, file.path, { cause: e })

/**
 * A sha256 over `header` and, per file in order, its relative path with either size and mtime (fast: no reading)
 * or, with `content`, the sha256 of its bytes. The root's absolute location is not part of it, so a moved copy
 * with the same content (and, in stat mode, the same mtimes) keeps its fingerprint.
 */
export const fingerprintFiles = async (header: unknown, files: readonly ImageFile[], content: boolean): Promise<string> => {
  const lines = await mapLimit(files, 16, async (file) => {
    try {
      if (content) return `${file.relPath}\t${await sha256File(file.path)}\n`
      const info = await stat(file.path)
      return `${file.relPath}\t${info.size}\t${info.mtimeMs}\n`
    } catch (e) {
      throw unreadable(file, e)
    }
  })
  const hash = createHash("sha256").update(JSON.stringify(header)).update("\n")
  for (const line of lines) hash.update(line)
  return hash.digest("hex")
}
