/**
 * Greedy degradation scheduling (paper App. C, Algorithm 2) over candidate
 * indices 0..N-1 (candidate i has severity t_i = i / (N - 1) on the unscheduled
 * process). Minimises the largest distance between consecutive selected
 * candidates:
 *
 *   S = {0, N-1}; repeat m times:
 *     (s, e) = the consecutive pair of S with the largest d(s, e) (first on ties);
 *     j* = argmin_{s<j<e} max(d(s, j), d(j, e)) (first on ties), kept only if < d(s, e);
 *     S = S + {j*}.
 *
 * Distances are memoised (each pair is evaluated once). When the largest edge
 * has no improving split it is left alone and the next largest edge is tried;
 * when no edge has one (e.g. all distances 0), the edge with the most interior
 * candidates is split at its middle (counted in `fallbackSplits`), so the
 * result always has m + 2 points.
 */

export interface GreedyOptions {
  /** N >= 2 candidate severities. */
  readonly candidates: number
  /** m interior points, m <= N - 2. */
  readonly points: number
  /** d(i, j) for candidate indices i < j (a promise when it reads tensors back from the backend). */
  readonly distance: (i: number, j: number) => number | Promise<number>
  /** Called with (splits done, m) at the start and after every split. */
  readonly onProgress?: (done: number, total: number) => void
  readonly signal?: AbortSignal
}

export interface GreedySelection {
  /** Selected candidate indices, increasing, m + 2 of them from 0 to N - 1. */
  readonly indices: number[]
  /** d(indices[k], indices[k + 1]) of the final edges. */
  readonly edgeDistances: number[]
  readonly maxDistance: number
  readonly fallbackSplits: number
  /** Distinct pairs evaluated. */
  readonly distanceEvaluations: number
}

/** Yield to the event loop this often so that progress can render and aborts arrive. */
const YIELD_EVERY_MS = 50

export const greedySelect = async (options: GreedyOptions): Promise<GreedySelection> => {
  const { candidates: n, points: m, onProgress, signal } = options
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`need at least 2 candidates, got ${n}`)
  if (!Number.isInteger(m) || m < 0 || m > n - 2) throw new RangeError(`points must be an integer in [0, ${n - 2}], got ${m}`)

  const memo = new Map<number, number>()
  let lastYield = performance.now()
  const pause = async (): Promise<void> => {
    if (performance.now() - lastYield < YIELD_EVERY_MS) return
    await new Promise((resolve) => setImmediate(resolve))
    lastYield = performance.now()
    signal?.throwIfAborted()
  }
  const d = async (i: number, j: number): Promise<number> => {
    const key = i * n + j
    let value = memo.get(key)
    if (value === undefined) {
      value = await options.distance(i, j)
      if (Number.isNaN(value)) throw new RangeError(`distance(${i}, ${j}) is NaN`)
      memo.set(key, value)
      await pause()
    }
    return value
  }

  /** The improving split of (s, e), or null. */
  const bestSplit = async (s: number, e: number): Promise<number | null> => {
    let best = await d(s, e)
    let split: number | null = null
    for (let j = s + 1; j < e; j++) {
      const worst = Math.max(await d(s, j), await d(j, e))
      if (worst < best) {
        best = worst
        split = j
      }
    }
    return split
  }

  const selected = [0, n - 1]
  const frozen = new Set<number>()
  let fallbackSplits = 0
  signal?.throwIfAborted()
  onProgress?.(0, m)
  for (let done = 0; done < m; done++) {
    let split: number | null = null
    while (split === null) {
      let start = -1
      let largest = -Infinity
      for (let k = 0; k + 1 < selected.length; k++) {
        const [s, e] = [selected[k]!, selected[k + 1]!]
        if (e - s < 2 || frozen.has(s * n + e)) continue
        const distance = await d(s, e)
        if (distance > largest) [largest, start] = [distance, k]
      }
      if (start < 0) break
      const [s, e] = [selected[start]!, selected[start + 1]!]
      split = await bestSplit(s, e)
      if (split === null) frozen.add(s * n + e)
    }
    if (split === null) {
      let widest = 0
      for (let k = 1; k + 1 < selected.length; k++) {
        if (selected[k + 1]! - selected[k]! > selected[widest + 1]! - selected[widest]!) widest = k
      }
      split = (selected[widest]! + selected[widest + 1]!) >> 1
      fallbackSplits++
    }
    selected.push(split)
    selected.sort((a, b) => a - b)
    onProgress?.(done + 1, m)
  }

  const edgeDistances: number[] = []
  for (let k = 0; k + 1 < selected.length; k++) edgeDistances.push(await d(selected[k]!, selected[k + 1]!))
  return {
    indices: selected,
    edgeDistances,
    maxDistance: Math.max(...edgeDistances),
    fallbackSplits,
    distanceEvaluations: memo.size,
  }
}
