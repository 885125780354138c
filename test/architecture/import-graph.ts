import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, posix, relative } from "node:path"

/** Relative import specifiers of a module: static, re-exported, side-effect and dynamic imports (JSON data is no module). */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+)["']/g

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(path)
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts") ? [path] : []
  })

/** The file a specifier names: `./x.js` is compiled from `./x.ts` or `./x.tsx`. */
const resolveImport = (from: string, specifier: string, files: ReadonlySet<string>): string | undefined => {
  const target = posix.join(posix.dirname(from), specifier)
  return [target, target.replace(/\.js$/, ".ts"), target.replace(/\.js$/, ".tsx")].find((path) => files.has(path))
}

/** Every source file under `root` (paths relative to `root`, with `/`) and the files it imports. */
export const importGraph = (root: string): Map<string, string[]> => {
  const paths = sourceFiles(root).map((path) => relative(root, path).split("\\").join("/"))
  const files = new Set(paths)
  return new Map(
    paths.map((file) => {
      const text = readFileSync(join(root, file), "utf8")
      const specifiers = [...text.matchAll(IMPORT)].map((match) => match[1]!).filter((specifier) => !specifier.endsWith(".json"))
      const targets = specifiers.map((specifier) => {
        const target = resolveImport(file, specifier, files)
        if (target === undefined) throw new Error(`${file}: cannot resolve ${specifier} (from ${dirname(file)})`)
        return target
      })
      return [file, [...new Set(targets)].sort()]
    }),
  )
}

/** Strongly connected components (Tarjan) of a directed graph, each sorted, in a stable order. */
export const stronglyConnected = (graph: ReadonlyMap<string, ReadonlyArray<string>>): string[][] => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (node: string): void => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        component.push(member)
      } while (member !== node)
      components.push(component.sort())
    }
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return components.sort((a, b) => a[0]!.localeCompare(b[0]!))
}

/** The components that are cycles: more than one member, or one that imports itself. */
export const cycles = (graph: ReadonlyMap<string, ReadonlyArray<string>>): string[][] =>
  stronglyConnected(graph).filter((c) => c.length > 1 || (graph.get(c[0]!) ?? []).includes(c[0]!))
