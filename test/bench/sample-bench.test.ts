import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { parseBackend } from "../../bench/lib/backends.js"
import { describeMachine } from "../../bench/lib/machine.js"
import { torchProblem } from "../../bench/lib/results.js"
import { ortFingerprint } from "../../src/dirac/onnx/runtime.js"

/** The rows of the first markdown table in `text` after `header`, split into cells. */
const tableAfter = (text: string, header: readonly string[]): string[][] => {
  const lines = text.split("\n")
  const start = lines.indexOf(`| ${header.join(" | ")} |`)
  expect(start, `no table with header ${header.join(", ")}`).toBeGreaterThanOrEqual(0)
  expect(lines[start + 1]).toBe(`|${header.map(() => "---").join("|")}|`)
  const rows: string[][] = []
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break
    rows.push(line.slice(2, -2).split(" | "))
  }
  return rows
}

describe("npm run bench -- --quick --only sample", () => {
  it("measures the real sampler and writes its table and the summary", async () => {
    process.env.TORCH_THREADS = "1"
    process.env.ONNX_THREADS = "1"
    const { runSampleBench, SAMPLE_HEADER } = await import("../../bench/sample.js")
    const { writeSummary, SUMMARY_HEADER } = await import("../../bench/lib/summary.js")
    const options = {
      quick: true,
      backends: [parseBackend("wasm:1")],
      outDir: mkdtempSync(join(tmpdir(), "bench-smoke-")),
      machine: describeMachine(),
    }
    const torch = torchProblem()
    const report = runSampleBench(options)

    const onnx = ortFingerprint() === null ? [] : ["ONNX Runtime"]
    expect(report.rows.map((r) => r.engine)).toEqual(["tfjs", ...onnx, ...(torch === null ? ["PyTorch"] : [])])
    for (const row of report.rows) {
      expect(row.steps).toBe(4)
      expect(row.nfePerSecond).toBeGreaterThan(0)
      expect(row.run.runs).toHaveLength(2)
    }
    if (torch !== null) expect(report.remarks.join("\n")).toContain(`PyTorch: not run (${torch})`)

    const table = tableAfter(readFileSync(report.file, "utf8"), SAMPLE_HEADER)
    expect(table).toHaveLength(report.rows.length)
    expect(table[0]![0]).toMatch(/^tfjs [\d.]+, WASM SIMD, 1 thread$/)
    for (const cells of table) {
      expect(cells).toHaveLength(SAMPLE_HEADER.length)
      expect(Number(cells[3])).toBeGreaterThan(0)
      expect(cells[4]).toMatch(torch === null ? /^\d+\.\dx$/ : /^n\/a$/)
    }
    expect(readFileSync(report.file, "utf8")).toMatch(/^- CPU: .+, \d+ logical cores$/m)

    const summary = tableAfter(readFileSync(writeSummary(options, [report], torch), "utf8"), SUMMARY_HEADER)
    expect(summary.map((cells) => cells[0])).toEqual(report.rows.map(() => "sampling NFE/s"))
  }, 60_000)
})
