import { DataError } from "./errors.js"
import { openFolder, type FolderOptions } from "./folder.js"
import { SYNTHETIC_GENERATOR_VERSION, SyntheticSource } from "./synthetic.js"
import type { ImageSource, SourceDescription } from "./types.js"

const bad = (message: string): DataError => new DataError("bad-description", `invalid image source description: ${message}`)

/** Checks that a JSON value is a source description (structure only; values are checked when opened). */
export const parseSourceDescription = (value: unknown): SourceDescription => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw bad("expected an object")
  const v = value as Record<string, unknown>
  const num = (key: string, optional = false): void => {
    if (v[key] === undefined && optional) return
    if (typeof v[key] !== "number") throw bad(`"${key}" must be a number`)
  }
  if (v.kind === "synthetic") {
    num("seed")
    num("count")
    num("resolution")
    num("offset", true)
    if (typeof v.version !== "string") throw bad(`"version" must be a string`)
    return v as unknown as SourceDescription
  }
  if (v.kind === "folder") {
    if (typeof v.root !== "string") throw bad(`"root" must be a string`)
    if (typeof v.layout !== "string" || typeof v.split !== "string") throw bad(`"layout" and "split" must be strings`)
    num("resolution")
    for (const key of ["from", "to", "limit"]) num(key, true)
    if (v.onError !== "skip" && v.onError !== "fail") throw bad(`"onError" must be "skip" or "fail"`)
    if (v.content !== undefined && typeof v.content !== "boolean") throw bad(`"content" must be a boolean`)
    return v as unknown as SourceDescription
  }
  throw bad(`"kind" must be "synthetic" or "folder", got ${JSON.stringify(v.kind)}`)
}

/**
 * Re-opens a source from `describe()` output (possibly after a JSON round trip). A folder is scanned again, so
 * files added or removed since show up; compare `fingerprint()` to detect that.
 */
export const openSource = async (
  description: SourceDescription | unknown,
  extra: Pick<FolderOptions, "log" | "concurrency"> = {},
): Promise<ImageSource> => {
  const d = parseSourceDescription(description)
  if (d.kind === "synthetic") {
    if (d.version !== SYNTHETIC_GENERATOR_VERSION) {
      throw bad(`it was made by synthetic generator ${d.version}; this build has ${SYNTHETIC_GENERATOR_VERSION}, whose pixels differ`)
    }
    return new SyntheticSource(d)
  }
  return openFolder({ ...d, ...extra })
}
