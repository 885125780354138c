/**
 * One method against another on the same images: the per-image difference of a metric (this minus the
 * reference), its mean and standard error (sample std / sqrt(n)), and on how many images this one is better.
 * A set of several samples per measurement counts as the mean of its samples. Images whose value is not finite
 * on either side (the infinite PSNR of an exact reconstruction) are left out.
 * A type, not an interface: it travels as JSON in the metric node's table.
 */
export type PairedDifference = {
  readonly images: number
  readonly mean: number
  /** null with fewer than two images. */
  readonly standard_error: number | null
  readonly better: number
}

/** Values per id, as the mean over the id's repeats, in the order ids first appear. */
const meanPerId = (values: ReadonlyArray<number>, ids: ReadonlyArray<string>): Map<string, number> => {
  const sums = new Map<string, { sum: number; n: number }>()
  ids.forEach((id, i) => {
    const s = sums.get(id) ?? { sum: 0, n: 0 }
    sums.set(id, { sum: s.sum + values[i]!, n: s.n + 1 })
  })
  return new Map([...sums].map(([id, s]) => [id, s.sum / s.n]))
}

export const pairedDifference = (
  row: { readonly values: ReadonlyArray<number>; readonly ids: ReadonlyArray<string> },
  reference: { readonly values: ReadonlyArray<number>; readonly ids: ReadonlyArray<string> },
  higherIsBetter: boolean,
): PairedDifference | undefined => {
  const mine = meanPerId(row.values, row.ids)
  const theirs = meanPerId(reference.values, reference.ids)
  const d = [...mine]
    .filter(([id]) => theirs.has(id))
    .map(([id, v]) => v - theirs.get(id)!)
    .filter(Number.isFinite)
  if (d.length === 0) return undefined
  const mean = d.reduce((a, b) => a + b, 0) / d.length
  const variance = d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1)
  return {
    images: d.length,
    mean,
    standard_error: d.length > 1 ? Math.sqrt(variance / d.length) : null,
    better: d.filter((x) => (higherIsBetter ? x > 0 : x < 0)).length,
  }
}
