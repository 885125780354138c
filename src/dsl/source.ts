import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml"
import { dotted, type Diagnostic, type DocPath } from "./diagnostics.js"

/** A pipeline file parsed with source positions, plus the `--set` flags that changed it. */
export interface SourceDocument {
  readonly file: string
  readonly doc: Document
  readonly lines: LineCounter
  /** Dotted document path -> the flag that set it, e.g. `nodes.train.with.lr` -> `--set train.with.lr=2e-4`. */
  readonly overrides: Map<string, string>
}

export const parseSource = (file: string, text: string): { source: SourceDocument; diagnostics: Diagnostic[] } => {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, keepSourceTokens: false })
  const source: SourceDocument = { file, doc, lines, overrides: new Map() }
  const diagnostics = [...doc.errors, ...doc.warnings].map((error): Diagnostic => {
    const { line, col } = lines.linePos(error.pos[0])
    const path = error.code === "DUPLICATE_KEY" ? duplicatePath(doc, error.pos[0]) : ""
    const message = error.code === "DUPLICATE_KEY" ? duplicateMessage(path) : firstLine(error.message)
    return { where: `${file}:${line}:${col}`, path, message }
  })
  return { source, diagnostics }
}

const firstLine = (message: string): string => message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")

const duplicateMessage = (path: string): string => {
  const parts = path.split(".")
  return parts.length === 2 && parts[0] === "nodes"
    ? `duplicate node id '${parts[1]}': each node needs its own id`
    : `duplicate key '${parts[parts.length - 1] ?? ""}'`
}

/** The path of the key that starts at `offset`, found by walking the tree. */
const duplicatePath = (doc: Document, offset: number): string => {
  const walk = (node: unknown, path: DocPath): DocPath | undefined => {
    if (!isMap(node)) return undefined
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
      const range = (pair.key as YamlNode | null)?.range
      if (range && range[0] === offset) return [...path, key]
      const inner = walk(pair.value, [...path, key])
      if (inner) return inner
    }
    return undefined
  }
  return dotted(walk(doc.contents, []) ?? [])
}

/** Where a document path is in the file (or on the command line), falling back to its nearest existing parent. */
export const locate = (source: SourceDocument, path: DocPath, options: { key?: boolean } = {}): string => {
  const flag = overrideFor(source, path)
  if (flag) return flag
  let node: unknown = source.doc.contents
  let offset = (node as YamlNode | null)?.range?.[0] ?? 0
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment))
      if (!pair) break
      const keyRange = (pair.key as YamlNode).range
      const valueRange = (pair.value as YamlNode | null)?.range
      const last = segment === path[path.length - 1] && path.indexOf(segment) === path.length - 1
      offset = (last && options.key) || !valueRange ? (keyRange?.[0] ?? offset) : valueRange[0]
      node = pair.value
    } else if (isSeq(node) && typeof segment === "number" && node.items[segment]) {
      node = node.items[segment]
      offset = (node as YamlNode).range?.[0] ?? offset
    } else break
  }
  const { line, col } = source.lines.linePos(offset)
  return `${source.file}:${line}:${col}`
}

const overrideFor = (source: SourceDocument, path: DocPath): string | undefined => {
  for (let n = path.length; n > 0; n--) {
    const flag = source.overrides.get(dotted(path.slice(0, n)))
    if (flag) return flag
  }
  return undefined
}
