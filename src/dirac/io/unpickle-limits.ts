/**
 * Bounds on what one pickle may make the unpickler build, far above any real checkpoint (the official DiracDiffusion
 * checkpoints hold ~150-1500 tensors, a pickle well under 1 MB), so that a hostile file (a "billion laughs" of memo
 * references, nesting millions deep) is refused in milliseconds instead of exhausting memory.
 */
export const unpickleLimits = {
  /** Values constructed by opcodes (containers, strings, numbers, tensors, ...). */
  objects: 2_000_000,
  /** Entries of the memo. */
  memo: 2_000_000,
  /** Nesting of lists, tuples, dicts and sets. */
  depth: 1_000,
  /** Values a walk of the result visits, a shared value counted each time it is reached (what toPlain would build). */
  expanded: 10_000_000,
  /** Bytes of the pickle record itself (`data.pkl`), which holds no tensor data. */
  pickleBytes: 64 << 20,
} as const

export type UnpickleLimit = keyof typeof unpickleLimits

export const limitMessage = (limit: UnpickleLimit, what: string) =>
  `the pickle exceeds the limit of ${unpickleLimits[limit].toLocaleString("en-US")} ${what} (unpickleLimits.${limit}); ` +
  "no weights checkpoint comes near it, so the file is damaged or hostile"

const childrenOf = (v: unknown): Iterable<unknown> | undefined => {
  if (Array.isArray(v) || v instanceof Set) return v
  if (v instanceof Map) return [...v.keys(), ...v.values()]
  return undefined
}

/**
 * Checks a result's nesting depth and expanded size in one pass over its graph (each shared value visited once; a
 * value that contains itself counts once, as toPlain cuts it), without recursion. Calls `fail` past a limit.
 */
export const checkExpansion = (root: unknown, fail: (limit: UnpickleLimit, what: string) => never): void => {
  const measured = new Map<unknown, { size: number; depth: number }>()
  const open = new Set<unknown>()
  const pending: Array<{ value: unknown; children?: unknown[] }> = [{ value: root }]
  while (pending.length > 0) {
    const frame = pending[pending.length - 1]
    const children = childrenOf(frame.value)
    if (children === undefined || measured.has(frame.value)) {
      if (children === undefined) measured.set(frame.value, { size: 1, depth: 0 })
      pending.pop()
      continue
    }
    if (frame.children === undefined) {
      frame.children = [...children]
      open.add(frame.value)
      for (const child of frame.children) if (!measured.has(child) && !open.has(child)) pending.push({ value: child })
      if (open.size > unpickleLimits.depth) fail("depth", "levels of nesting")
      continue
    }
    let size = 1
    let depth = 0
    for (const child of frame.children) {
      const m = measured.get(child) ?? { size: 1, depth: 0 }
      size += m.size
      depth = Math.max(depth, m.depth + 1)
    }
    if (size > unpickleLimits.expanded) fail("expanded", "values when expanded (shared values counted each time)")
    if (depth > unpickleLimits.depth) fail("depth", "levels of nesting")
    measured.set(frame.value, { size, depth })
    open.delete(frame.value)
    pending.pop()
  }
}
