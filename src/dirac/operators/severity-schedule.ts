/**
 * Severity schedules: the map t in [0, 1] -> severity s(t) of a degradation
 * family (blur std, mask width, ...).
 *
 * - linear: s(t) = from + (to - from) t.
 * - table:  knots (t_i, s_i) with t_0 = 0 < t_1 < ... < t_n = 1 and
 *   s(t) = s_{e-1} + (s_e - s_{e-1}) (t - t_{e-1}) / (t_e - t_{e-1}),
 *   e = the first index with t_e >= t; s(0) = s_0 and s(1) = s_n exactly
 *   (the official `lerp_std`, including its t == 0 / t == 1 cases).
 *
 * Both are non-decreasing in t (a degradation process must be monotone).
 */

export type SeveritySchedule =
  | { readonly kind: "linear"; readonly from: number; readonly to: number }
  | { readonly kind: "table"; readonly t: readonly number[]; readonly severity: readonly number[] }

/** Throws unless 0 <= t <= 1. */
export const checkTime = (t: number): void => {
  if (!(t >= 0 && t <= 1)) throw new RangeError(`t must be in [0, 1], got ${t}`)
}

export const linearSchedule = (from: number, to: number): SeveritySchedule => {
  if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) {
    throw new RangeError(`a linear schedule needs finite from <= to, got ${from} .. ${to}`)
  }
  return { kind: "linear", from, to }
}

export const tableSchedule = (t: readonly number[], severity: readonly number[]): SeveritySchedule => {
  if (t.length < 2 || t.length !== severity.length) {
    throw new RangeError(`a schedule table needs >= 2 knots and as many t as severities (${t.length} vs ${severity.length})`)
  }
  if (t[0] !== 0 || t[t.length - 1] !== 1) throw new RangeError("a schedule table must start at t = 0 and end at t = 1")
  for (let i = 1; i < t.length; i++) {
    if (!(t[i]! > t[i - 1]!)) throw new RangeError(`schedule t values must increase strictly (index ${i})`)
  }
  for (let i = 0; i < severity.length; i++) {
    if (!Number.isFinite(severity[i]!)) throw new RangeError(`severity ${i} is not finite`)
    if (i > 0 && severity[i]! < severity[i - 1]!) throw new RangeError(`severities must not decrease (index ${i})`)
  }
  return { kind: "table", t: [...t], severity: [...severity] }
}

/** A table whose knots sit on the uniform grid t_i = i / (n - 1). */
export const uniformTableSchedule = (severity: readonly number[]): SeveritySchedule =>
  tableSchedule(
    severity.map((_, i) => i / (severity.length - 1)),
    severity,
  )

/** The first index e with t[e] >= t (t[0] < t <= t[last]). */
const firstKnotAtOrAfter = (knots: readonly number[], t: number): number => {
  let lo = 1
  let hi = knots.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (knots[mid]! >= t) hi = mid
    else lo = mid + 1
  }
  return lo
}

export const severityAt = (schedule: SeveritySchedule, t: number): number => {
  checkTime(t)
  if (schedule.kind === "linear") return schedule.from + (schedule.to - schedule.from) * t
  const { t: knots, severity } = schedule
  if (t === 0) return severity[0]!
  if (t === 1) return severity[severity.length - 1]!
  const e = firstKnotAtOrAfter(knots, t)
  const s = e - 1
  return severity[s]! + ((severity[e]! - severity[s]!) * (t - knots[s]!)) / (knots[e]! - knots[s]!)
}
