import type { DocPath } from "./diagnostics.js"
import { didYouMean } from "./suggest.js"

const whole = /^\$\{\s*([^}]+?)\s*\}$/
const embedded = /\$\{\s*([^}]+?)\s*\}/g

/**
 * Replaces `${params.x}` references. A string that is exactly one reference takes the parameter's value and type
 * (`"${params.steps}"` becomes the number 500); references inside longer strings are spliced in as text.
 */
export const interpolate = (
  value: unknown,
  params: Readonly<Record<string, unknown>>,
  report: (path: DocPath, message: string) => void,
  path: DocPath = [],
  /** Told of each value that is exactly a reference: where, and which reference (`params.steps`). */
  onReference: (path: DocPath, ref: string) => void = () => {},
): unknown => {
  if (typeof value === "string") {
    const single = whole.exec(value)
    if (single) {
      onReference(path, single[1])
      return resolve(single[1], params, (m) => report(path, m))
    }
    return value.replace(embedded, (match, ref: string) => {
      const resolved = resolve(ref, params, (m) => report(path, m))
      if (resolved !== null && typeof resolved === "object") {
        report(path, `'${match}' is a ${Array.isArray(resolved) ? "list" : "mapping"} and cannot be spliced into text`)
        return match
      }
      return resolved === undefined ? match : String(resolved)
    })
  }
  if (Array.isArray(value)) return value.map((item, i) => interpolate(item, params, report, [...path, i], onReference))
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolate(item, params, report, [...path, key], onReference)]),
    )
  }
  return value
}

const resolve = (ref: string, params: Readonly<Record<string, unknown>>, fail: (message: string) => void): unknown => {
  const [head, ...rest] = ref.split(".")
  if (head !== "params" || rest.length === 0) {
    fail(`unresolved \${${ref}}: only \${params.NAME} references are supported`)
    return undefined
  }
  let current: unknown = params
  for (let i = 0; i < rest.length; i++) {
    const scope = current !== null && typeof current === "object" ? (current as Record<string, unknown>) : {}
    if (!(rest[i] in scope)) {
      const known = Object.keys(scope).map((k) => [head, ...rest.slice(0, i), k].join("."))
      fail(`unresolved \${${ref}}: no such parameter${didYouMean(ref, known)}`)
      return undefined
    }
    current = scope[rest[i]]
  }
  return current
}
