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

/** Real pipelines are a few KiB; beyond this, parsing and checking would take minutes and gigabytes. */
export const maxPipelineBytes = 1024 * 1024

/** YAML aliases expanded in a whole document, at most: an alias bomb is refused before it is expanded. */
export const maxAliasCount = 100

/** A pipeline file's bytes as text: at most `maxPipelineBytes`, UTF-8 without a single invalid byte. */
export const decodePipeline = (file: string, bytes: Uint8Array): { text: string } | { diagnostic: Diagnostic } => {
  if (bytes.length > maxPipelineBytes) return { diagnostic: tooLarge(file, bytes.length) }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) }
  } catch {
    const bad = firstInvalidUtf8(bytes)
    const before = new TextDecoder("utf-8").decode(bytes.subarray(0, bad)).split("\n")
    const where = `${file}:${before.length}:${before[before.length - 1].length + 1}`
    return { diagnostic: { where, path: "", message: "the file is not valid UTF-8 here: save it as UTF-8" } }
  }
}

export const tooLarge = (file: string, size: number): Diagnostic => ({
  where: file,
  path: "",
  message: `is ${(size / 1024 / 1024).toFixed(1)} MiB; a pipeline file is at most ${maxPipelineBytes / 1024 / 1024} MiB`,
})

/** The offset of the first byte that does not decode: the end of the longest prefix that does. */
const firstInvalidUtf8 = (bytes: Uint8Array): number => {
  const decodes = (end: number, stream: boolean) => {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end), { stream })
      return true
    } catch {
      return false
    }
  }
  // Binary search allowing an unfinished character at the end, then back to where that character starts.
  let low = 0
  let high = bytes.length
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if (decodes(middle, true)) low = middle
    else high = middle - 1
  }
  while (low > 0 && !decodes(low, false)) low--
  return low
}

export const parseSource = (file: string, text: string): { source: SourceDocument; diagnostics: Diagnostic[] } => {
  const lines = new LineCounter()
  // yaml's own duplicate-key check is quadratic in a mapping's size; `duplicateKeys` is linear.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, keepSourceTokens: false, uniqueKeys: false })
  const source: SourceDocument = { file, doc, lines, overrides: new Map() }
  const at = (offset: number) => {
    const { line, col } = lines.linePos(offset)
    return `${file}:${line}:${col}`
  }
  const syntax = [...doc.errors, ...doc.warnings].map((error): Diagnostic => ({
    where: at(error.pos[0]),
    path: "",
    message: firstLine(error.message),
  }))
  const duplicates = duplicateKeys(doc.contents, []).map(({ path, offset }) => ({
    where: at(offset),
    path,
    message: duplicateMessage(path),
  }))
  return { source, diagnostics: [...syntax, ...duplicates] }
}

const firstLine = (message: string): string => message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")

const duplicateMessage = (path: string): string => {
  const parts = path.split(".")
  return parts.length === 2 && parts[0] === "nodes"
    ? `duplicate node id '${parts[1]}': each node needs its own id`
    : `duplicate key '${parts[parts.length - 1] ?? ""}'`
}

/** Every key given twice in a mapping, with its dotted path and the offset of its second occurrence. */
const duplicateKeys = (node: unknown, path: DocPath): Array<{ path: string; offset: number }> => {
  if (isSeq(node)) return node.items.flatMap((item, i) => duplicateKeys(item, [...path, i]))
  if (!isMap(node)) return []
  const seen = new Set<string>()
  return node.items.flatMap((pair) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
    const found = duplicateKeys(pair.value, [...path, key])
    if (!seen.has(key)) {
      seen.add(key)
      return found
    }
    return [{ path: dotted([...path, key]), offset: (pair.key as YamlNode | null)?.range?.[0] ?? 0 }, ...found]
  })
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

export const overrideFor = (source: SourceDocument, path: DocPath): string | undefined => {
  for (let n = path.length; n > 0; n--) {
    const flag = source.overrides.get(dotted(path.slice(0, n)))
    if (flag) return flag
  }
  return undefined
}
