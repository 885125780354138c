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
  it("formats durations at each scale", () => {
    expect(formatDuration(850)).toBe("850ms")
    expect(formatDuration(12_345)).toBe("12.3s")
    expect(formatDuration(59_960)).toBe("1m00s")
    expect(formatDuration(245_000)).toBe("4m05s")
    expect(formatDuration(3_720_000)).toBe("1h02m")
    expect(formatDuration(-1)).toBe("?")
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

  it("formats numbers compactly", () => {
    expect(formatNumber(0.0123456)).toBe("0.0123")
    expect(formatNumber(12.345)).toBe("12.3")
    expect(formatNumber(1234.5)).toBe("1235")
    expect(formatNumber(0.0003)).toBe("3e-4")
    expect(formatNumber(0.000123456)).toBe("1.23e-4")
    expect(formatNumber(15_000_000.5)).toBe("1.5e+7")
    expect(formatNumber(42)).toBe("42")
    expect(formatNumber(0)).toBe("0")
    expect(formatNumber(-0.5)).toBe("-0.5")
    expect(formatNumber(NaN)).toBe("NaN")
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
