import { readdir, realpath, stat } from "node:fs/promises"
import { join, relative, sep } from "node:path"
import { DataError } from "./errors.js"

export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".jpg", ".jpeg"]

export interface ImageFile {
  /** Path relative to the data set root, with "/" separators. */
  readonly relPath: string
  /** Absolute path. */
  readonly path: string
}

export const isImageName = (name: string): boolean => {
  const lower = name.toLowerCase()
  return IMAGE_EXTENSIONS.some((ext) => lower.endsWith(ext) && lower.length > ext.length)
}

/** Orders strings by Unicode code point (like Python's sort), independent of locale. */
export const compareCodePoints = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!
    const y = b.codePointAt(i)!
    if (x !== y) return x - y
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/** Fails with a "missing-folder" DataError unless `path` is an existing directory. */
export const requireFolder = async (path: string, what = "data folder"): Promise<void> => {
  const info = await stat(path).catch(() => undefined)
  if (!info?.isDirectory()) {
    throw new DataError("missing-folder", `${what} not found: ${path} ${info ? "is not a directory" : "does not exist"}`, path)
  }
}

const isDirectory = async (path: string): Promise<boolean | undefined> => {
  const info = await stat(path).catch(() => undefined)
  return info === undefined ? undefined : info.isDirectory()
}

/** Names of the visible subfolders of `dir` (symlinks followed), sorted by code point. */
export const listSubfolders = async (dir: string): Promise<string[]> => {
  const out: string[] = []
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(join(dir, e.name))))) out.push(e.name)
  }
  return out.sort(compareCodePoints)
}

/**
 * All PNG/JPEG files below `dir` (extensions case-insensitive), recursively, sorted by their path relative to `root`
 * (code point order). Names starting with "." are skipped (as Python's glob does), symlinks are followed once.
 */
export const listImageFiles = async (dir: string, root = dir): Promise<ImageFile[]> => {
  const files: ImageFile[] = []
  const seen = new Set<string>()
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d)
    if (seen.has(real)) return
    seen.add(real)
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith(".")) continue
      const path = join(d, e.name)
      const kind = e.isSymbolicLink() ? await isDirectory(path) : e.isDirectory()
      if (kind === true) await walk(path)
      else if (kind === false && isImageName(e.name)) files.push({ relPath: relative(root, path).split(sep).join("/"), path })
    }
  }
  await walk(dir)
  return files.sort((a, b) => compareCodePoints(a.relPath, b.relPath))
}

/** A "no-images" error naming where it looked and for which extensions. */
export const noImagesError = (where: string): DataError =>
  new DataError(
    "no-images",
    `no images found in ${where} (searched recursively for ${IMAGE_EXTENSIONS.join(", ")}, any letter case; hidden files skipped)`,
    where,
  )
