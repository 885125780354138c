import { posix } from "node:path"

/**
 * The per-image name and measurement-noise seed of the official reconstruction script:
 * `fname = str(path).replace(str(path.parents[1]), '').replace(path.suffix, '')` and
 * `str2int(s) = int.from_bytes(s.encode(), 'little') % (2**32 - 1)`, e.g. `/data/ffhq/00000/00000.png` →
 * `/00000/00000` → 2425327759. Paths use "/" separators; both replaces act on every occurrence, as in Python.
 */
export const officialImageName = (path: string): string => {
  const parent2 = posix.dirname(posix.dirname(path))
  let name = path.split(parent2).join("")
  const suffix = posix.extname(path)
  if (suffix !== "") name = name.split(suffix).join("")
  return name
}

export const officialNoiseSeed = (name: string): number => {
  const bytes = new TextEncoder().encode(name)
  let n = 0n
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i])
  return Number(n % 4294967295n)
}
