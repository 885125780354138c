import { describe, expect, it } from "vitest"
import {
  formatBytes,
  formatDuration,
  formatEta,
  formatNumber,
  formatPercent,
  formatRate,
  formatScalars,
  progressBar,
} from "../../src/ui/format.js"

describe("format", () => {
  it.each([
    [850, "850ms"],
    [12_345, "12.3s"],
    [59_960, "1m00s"],
    [245_000, "4m05s"],
    [3_720_000, "1h02m"],
    [-1, "?"],
  ])("formats the duration %s ms as %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text)
  })

  it("formats ETAs in whole seconds", () => {
    expect(formatEta(41.6)).toBe("42s")
    expect(formatEta(122)).toBe("2m02s")
    expect(formatEta(undefined)).toBe("?")
    expect(formatEta(Infinity)).toBe("?")
  })

  it("formats rates with the unit or 'it'", () => {
    expect(formatRate(3.21)).toBe("3.2 it/s")
    expect(formatRate(3.14, "steps")).toBe("3.1 steps/s")
    expect(formatRate(1234.4, "img")).toBe("1234 img/s")
    expect(formatRate(0.0456)).toBe("0.046 it/s")
    expect(formatRate(undefined, "steps")).toBe("? steps/s")
  })

  it.each([
    [0.0123456, "0.0123"],
    [12.345, "12.3"],
    [1234.5, "1235"],
    [0.0003, "3e-4"],
    [0.000123456, "1.23e-4"],
    [15_000_000.5, "1.5e+7"],
    [42, "42"],
    [0, "0"],
    [-0.5, "-0.5"],
    [NaN, "NaN"],
  ])("formats the number %s compactly as %s", (n, text) => {
    expect(formatNumber(n)).toBe(text)
  })

  it("draws a clamped fixed-width bar", () => {
    expect(progressBar(0.5, 10)).toBe("█████░░░░░")
    expect(progressBar(0, 4)).toBe("░░░░")
    expect(progressBar(2, 4)).toBe("████")
    expect(progressBar(NaN, 3)).toBe("░░░")
  })

  it("formats scalars, percentages and bytes", () => {
    expect(formatScalars({ loss: 0.0123, lr: 0.0003 })).toBe("loss 0.0123 lr 3e-4")
    expect(formatScalars(undefined)).toBe("")
    expect(formatPercent(120, 500)).toBe("24%")
    expect(formatPercent(7, 0)).toBe("0%")
    expect(formatBytes(512)).toBe("512B")
    expect(formatBytes(3 * 1024 * 1024)).toBe("3MiB")
    expect(formatBytes(-1536)).toBe("-1.5KiB")
  })
})
