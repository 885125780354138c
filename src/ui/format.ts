/** Small text formatters shared by the reporters. */

const pad2 = (n: number): string => String(n).padStart(2, "0")

/** `850ms`, `12.3s`, `4m05s`, `1h02m`. */
export const formatDuration = (ms: number): string => {
  if (!Number.isFinite(ms) || ms < 0) return "?"
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 59_950) return `${(ms / 1000).toFixed(1)}s`
  const totalSeconds = Math.round(ms / 1000)
  if (totalSeconds < 3600) return `${Math.floor(totalSeconds / 60)}m${pad2(totalSeconds % 60)}s`
  const totalMinutes = Math.round(ms / 60_000)
  return `${Math.floor(totalMinutes / 60)}h${pad2(totalMinutes % 60)}m`
}

/** Whole seconds for short ETAs (`42s`), otherwise like formatDuration (`2m02s`). */
export const formatEta = (seconds: number | undefined): string => {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return "?"
  const rounded = Math.round(seconds)
  return rounded < 60 ? `${rounded}s` : formatDuration(rounded * 1000)
}

/** Compact number with about `digits` significant digits: `0.0123`, `12.3`, `1235`, `3e-4`, `1.5e+7`. */
export const formatNumber = (x: number, digits = 3): string => {
  if (!Number.isFinite(x)) return String(x)
  const abs = Math.abs(x)
  if (abs === 0) return "0"
  if (Number.isInteger(x) && abs < 1e6) return String(x)
  if (abs >= 1e6 || abs < 1e-3) return x.toExponential(digits - 1).replace(/\.?0+e/, "e")
  if (abs >= 10 ** digits) return String(Math.round(x))
  return String(Number(x.toPrecision(digits)))
}

/** `3.2 it/s`, using the progress unit when known. */
export const formatRate = (rate: number | undefined, unit?: string): string => {
  const u = unit ?? "it"
  if (rate === undefined || !Number.isFinite(rate)) return `? ${u}/s`
  const value = rate >= 100 ? Math.round(rate).toString() : rate >= 1 ? rate.toFixed(1) : formatNumber(rate, 2)
  return `${value} ${u}/s`
}

export const formatPercent = (done: number, total: number): string =>
  total > 0 ? `${Math.floor((Math.min(done, total) / total) * 100)}%` : "0%"

/** Fixed-width bar: `██████░░░░`. `fraction` is clamped to [0, 1]. */
export const progressBar = (fraction: number, width: number): string => {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
  const filled = Math.round(f * width)
  return "█".repeat(filled) + "░".repeat(Math.max(0, width - filled))
}

/** `loss 0.0123 lr 3e-4`, in insertion order. */
export const formatScalars = (scalars: Readonly<Record<string, number>> | undefined): string =>
  scalars === undefined
    ? ""
    : Object.entries(scalars)
        .map(([name, value]) => `${name} ${formatNumber(value)}`)
        .join(" ")

export const formatBytes = (bytes: number): string => {
  const abs = Math.abs(bytes)
  const sign = bytes < 0 ? "-" : ""
  if (abs < 1024) return `${bytes}B`
  const units = ["KiB", "MiB", "GiB", "TiB"]
  let value = abs / 1024
  let i = 0
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024
    i += 1
  }
  return `${sign}${formatNumber(value)}${units[i]}`
}

/** First line of a possibly multi-line message. */
export const firstLine = (text: string): string => text.split("\n", 1)[0] ?? ""

/** Below this many cells a bar says too little to be worth its room. */
const MIN_BAR = 6

/**
 * Lays out a progress line of `columns` cells: `used` cells of label, then a bar of up to `maxBar` cells, then
 * the stats joined by ` · `, most useful first. The bar shrinks first; the last stat goes before the bar does,
 * then the others from the last.
 */
export const fitProgressLine = (
  used: number,
  stats: ReadonlyArray<string>,
  columns: number,
  maxBar: number,
): { readonly bar: number; readonly stats: ReadonlyArray<string> } => {
  const room = (kept: ReadonlyArray<string>) => columns - used - kept.join(" · ").length
  const withBar = [stats, stats.slice(0, -1)].find((kept) => kept.length > 0 && room(kept) - 1 >= MIN_BAR)
  if (maxBar > 0 && withBar) return { bar: Math.min(maxBar, room(withBar) - 1), stats: withBar }
  let kept = [...stats]
  while (kept.length > 1 && room(kept) < 0) kept = kept.slice(0, -1)
  return { bar: 0, stats: kept }
}
