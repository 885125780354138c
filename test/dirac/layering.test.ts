import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const ROOT = resolve(import.meta.dirname, "../../src/dirac")

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry.name) ? [path] : []
  })

const specifiers = (text: string): string[] => [...text.matchAll(/(?:from|import)\s*\(?\s*"([^"]+)"/g)].map((match) => match[1])

/** The folder of src/dirac a file belongs to: its first path segment, or "." for the files at the top. */
const folderOf = (path: string): string => {
  const parts = relative(ROOT, path).split("/")
  return parts.length === 1 ? "." : parts[0]
}

/** Which folder imports which, from the relative imports of every source file. */
const folderGraph = (): { edges: Map<string, Set<string>>; outside: string[] } => {
  const edges = new Map<string, Set<string>>()
  const outside: string[] = []
  for (const file of sourceFiles(ROOT)) {
    const from = folderOf(file)
    if (!edges.has(from)) edges.set(from, new Set())
    for (const specifier of specifiers(readFileSync(file, "utf8"))) {
      if (!specifier.startsWith(".")) continue
      const target = resolve(dirname(file), specifier)
      if (relative(ROOT, target).startsWith("..")) outside.push(`${relative(ROOT, file)} -> ${specifier}`)
      else if (folderOf(target) !== from) edges.get(from)!.add(folderOf(target))
    }
  }
  return { edges, outside }
}

const reachable = (edges: Map<string, Set<string>>, start: string): Set<string> => {
  const seen = new Set<string>()
  const stack = [...(edges.get(start) ?? [])]
  while (stack.length > 0) {
    const next = stack.pop()!
    if (seen.has(next)) continue
    seen.add(next)
    stack.push(...(edges.get(next) ?? []))
  }
  return seen
}

describe("src/dirac layering", () => {
  const { edges, outside } = folderGraph()

  it("has no folder that imports, directly or through others, a folder that imports it back", () => {
    const cycles = [...edges.keys()].filter((folder) => reachable(edges, folder).has(folder))
    expect(cycles).toEqual([])
  })

  it("imports nothing from outside src/dirac but packages", () => {
    expect(outside).toEqual([])
  })
})
