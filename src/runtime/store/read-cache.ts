import { randomUUID } from "node:crypto"
import { copyFile, mkdir, readdir, rename, rm, stat } from "node:fs/promises"
import { join } from "node:path"
import { hashFile } from "../stored-value.js"

/**
 * Files fetched from a remote store, kept under `dir/SHA256`. A file here is used only when its content still
 * hashes to its name, so a damaged copy is fetched again rather than trusted.
 */
export const makeReadCache = (dir: string) => {
  const pathOf = (sha256: string) => join(dir, sha256)

  /** Moves or copies `source` in under `sha256` if its content has that hash; false (and nothing kept) otherwise. */
  const admit = async (sha256: string, source: string, move: boolean): Promise<boolean> => {
    if ((await hashFile(source)) !== sha256) return false
    await mkdir(dir, { recursive: true })
    if (move) await rename(source, pathOf(sha256))
    else {
      const partial = `${pathOf(sha256)}.${randomUUID()}.partial`
      await copyFile(source, partial)
      await rename(partial, pathOf(sha256))
    }
    return true
  }

  return {
    dir,
    /**
     * The path of the file with this checksum, downloaded when it is not here intact; undefined when there is no
     * such file to download or what came has another checksum.
     */
    fetch: async (sha256: string, download: (path: string) => Promise<boolean>): Promise<string | undefined> => {
      const path = pathOf(sha256)
      if ((await hashFile(path).catch(() => undefined)) === sha256) return path
      await mkdir(dir, { recursive: true })
      const partial = `${path}.${randomUUID()}.partial`
      try {
        return (await download(partial)) && (await admit(sha256, partial, true)) ? path : undefined
      } finally {
        await rm(partial, { force: true })
      }
    },
    /** Keeps a copy of a file just stored, so that this machine need not download it again. */
    keep: (sha256: string, source: string): Promise<boolean> => admit(sha256, source, false),
    /** Removes the files whose checksum is not in `wanted`; returns the bytes freed. */
    prune: async (wanted: ReadonlySet<string>, dryRun: boolean): Promise<number> => {
      let freed = 0
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (wanted.has(name)) continue
        freed += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size
        if (!dryRun) await rm(join(dir, name), { force: true })
      }
      return freed
    },
  }
}

export type ReadCache = ReturnType<typeof makeReadCache>
