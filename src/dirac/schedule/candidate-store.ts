import { BoundedCache } from "../operators/bounded-cache.js"

/**
 * Prepared candidates of the greedy scheduler, computed on first use.
 *
 * The scheduler sweeps whole edges of candidates; when an edge holds more
 * candidates than fit in memory, an LRU cache would miss on every access.
 * So candidates are kept first come, first kept, until `budgetBytes` is
 * reached and are never evicted; the rest are recomputed when needed again,
 * except the few most recent (the edge's endpoints, used once per pair).
 */
export class CandidateStore<V> {
  private readonly kept = new Map<number, V>()
  private readonly recent = new BoundedCache<number, Promise<V>>(8)
  private bytes = 0
  /** Candidates computed so far (repeats included). */
  computed = 0

  constructor(
    private readonly budgetBytes: number,
    private readonly weigh: (value: V) => number,
    private readonly create: (index: number) => V | Promise<V>,
  ) {}

  get(index: number): Promise<V> {
    const kept = this.kept.get(index)
    if (kept !== undefined) return Promise.resolve(kept)
    return this.recent.getOrCreate(index, async () => {
      const value = await this.create(index)
      this.computed++
      const size = this.weigh(value)
      if (this.bytes + size <= this.budgetBytes) {
        this.kept.set(index, value)
        this.bytes += size
      }
      return value
    })
  }
}
