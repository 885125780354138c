import { Option } from "effect"
import { randomUUID } from "node:crypto"
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises"
import { join } from "node:path"
import { writeFileAtomically } from "./atomic-file.js"
import { hashFile, readValue, writeValue, type StoredValue } from "./stored-value.js"

/**
 * A node's checkpoints in one folder, with the same discipline as artifacts: each save is a new file, renamed into
 * place once written, its checksum recorded in `manifest.json` (itself replaced by rename). The last two are kept, so
 * that a damaged newest one falls back to the one before. Damaged files are renamed `*.damaged`, never read again.
 */

interface Generation {
  readonly file: string
  readonly sha256: string
  readonly bytes: number
}

/** Newest first. */
interface CheckpointManifest {
  readonly generations: ReadonlyArray<Generation>
}

export interface SetAside {
  readonly file: string
  readonly reason: string
}

export interface LoadedCheckpoint {
  readonly state: Option.Option<StoredValue>
  /** Checkpoints found damaged (or unverifiable) and renamed out of the way, newest first. */
  readonly setAside: ReadonlyArray<SetAside>
}

const kept = 2
const manifestName = "manifest.json"
/** What a pipe without checksummed checkpoints wrote. */
const unverifiedName = "state.safetensors"

const isMissing = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT"

const isGeneration = (g: Generation) =>
  /^state-\d+\.safetensors$/.test(String(g?.file)) && /^[0-9a-f]{64}$/.test(String(g?.sha256)) && Number.isSafeInteger(g?.bytes)

const readManifest = async (dir: string): Promise<ReadonlyArray<Generation> | undefined> => {
  const text = await readFile(join(dir, manifestName), "utf8").catch((e) => (isMissing(e) ? undefined : Promise.reject(e)))
  if (text === undefined) return undefined
  const parsed = JSON.parse(text) as CheckpointManifest
  if (!Array.isArray(parsed?.generations) || !parsed.generations.every(isGeneration)) throw new Error("no list of checkpoints")
  return parsed.generations
}

const writeManifest = async (dir: string, generations: ReadonlyArray<Generation>) => {
  await writeFileAtomically(join(dir, manifestName), JSON.stringify({ generations } satisfies CheckpointManifest, null, 2))
}

const setAsideFile = async (path: string, reason: string): Promise<SetAside> => {
  await rename(path, `${path}.damaged`).catch((e) => (isMissing(e) ? undefined : Promise.reject(e)))
  return { file: path, reason }
}

const damage = async (path: string, generation: Generation): Promise<string | undefined> => {
  const size = await stat(path).then(
    (s) => s.size,
    () => undefined,
  )
  if (size === undefined) return "missing"
  if (size !== generation.bytes) return `${size} bytes, ${generation.bytes} were written`
  if ((await hashFile(path)) !== generation.sha256) return "checksum mismatch"
  return undefined
}

export const saveCheckpoint = async (dir: string, value: StoredValue): Promise<void> => {
  await mkdir(dir, { recursive: true })
  const previous = await readManifest(dir).catch(() => undefined)
  const serial = Math.max(0, ...(previous ?? []).map((g) => Number(/(\d+)/.exec(g.file)?.[1] ?? 0))) + 1
  const file = `state-${serial}.safetensors`
  const partial = join(dir, `${file}.${randomUUID()}.partial`)
  await writeValue(partial, value)
  const generation: Generation = { file, sha256: await hashFile(partial), bytes: (await stat(partial)).size }
  await rename(partial, join(dir, file))
  const generations = [generation, ...(previous ?? [])].slice(0, kept)
  await writeManifest(dir, generations)
  for (const old of (previous ?? []).slice(kept - 1)) await rm(join(dir, old.file), { force: true })
}

/** The newest intact checkpoint; every damaged one on the way is set aside and reported. */
export const loadCheckpoint = async (dir: string): Promise<LoadedCheckpoint> => {
  const setAside: SetAside[] = []
  const generations = await readManifest(dir).catch(async (e: Error) => {
    setAside.push(await setAsideFile(join(dir, manifestName), `unreadable list of checkpoints: ${e.message}`))
    return []
  })
  if (generations === undefined) {
    const unverified = join(dir, unverifiedName)
    if (
      await stat(unverified).then(
        () => true,
        () => false,
      )
    )
      setAside.push(await setAsideFile(unverified, "written without a checksum by an older pipe"))
    return { state: Option.none(), setAside }
  }
  for (const [i, generation] of generations.entries()) {
    const path = join(dir, generation.file)
    let reason = await damage(path, generation)
    if (reason === undefined) {
      const state = await readValue(path).then(Option.some, (e: Error) => {
        reason = e.message
        return Option.none<StoredValue>()
      })
      if (Option.isSome(state)) {
        if (i > 0) await writeManifest(dir, generations.slice(i))
        return { state, setAside }
      }
    }
    setAside.push(await setAsideFile(path, reason ?? "unreadable"))
  }
  if (generations.length > 0) await writeManifest(dir, [])
  return { state: Option.none(), setAside }
}
