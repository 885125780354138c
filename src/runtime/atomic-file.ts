import { randomUUID } from "node:crypto"
import { rename, rm, writeFile } from "node:fs/promises"

/** Writes beside `path` and renames into place, so a reader sees the old file or the whole new one, never a part. */
export const writeFileAtomically = async (path: string, data: string | Uint8Array): Promise<void> => {
  const partial = `${path}.${randomUUID()}.partial`
  try {
    await writeFile(partial, data)
    await rename(partial, path)
  } finally {
    await rm(partial, { force: true })
  }
}
