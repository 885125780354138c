import { describe, expect, it } from "vitest"
import {
  compareRuns,
  comparisonCsv,
  comparisonMarkdown,
  comparisonPlot,
  comparisonText,
  metricMeans,
  type ComparedRun,
} from "../../src/report/compare-table.js"
import type { MetricRow } from "../../src/report/metrics-report.js"

const row = (name: string, psnr: number): MetricRow => ({
  name,
  count: 2,
  metrics: { psnr: { mean: psnr, std: 0, values: [psnr, psnr] } },
  sets: {},
})

const run = (id: string, lr: string, steps: string, psnr: number): ComparedRun => ({
  id,
  status: "succeeded",
  params: { "params.seed": "1", "params.lr": lr, "params.steps": steps },
  metrics: { "do.psnr": psnr },
})

const runs = [run("r1", "1e-3", "400", 24.123456), run("r2", "1e-3", "800", 25), run("r3", "2e-3", "400", 23.5)]

describe("metricMeans", () => {
  it("names columns ROW.METRIC, with the node when there are several, and splits set metrics into FD and KID", () => {
    expect(metricMeans([{ node: "scores", rows: [row("do", 24), row("po", 23)] }])).toEqual({ "do.psnr": 24, "po.psnr": 23 })
    const set: MetricRow = { ...row("do", 24), sets: { "inception-fd": { fd: 12, kid: 0.5, kid_std: 0.1, images: 2, label: "x" } } }
    expect(
      metricMeans([
        { node: "a", rows: [set] },
        { node: "b", rows: [row("do", 20)] },
      ]),
    ).toEqual({
      "a/do.psnr": 24,
      "a/do.inception-fd.fd": 12,
      "a/do.inception-fd.kid": 0.5,
      "b/do.psnr": 20,
    })
  })
})

describe("comparison", () => {
  const c = compareRuns([...runs, { id: "r4", status: "running", params: { "params.lr": "2e-3" }, metrics: {} }])

  it("keeps the values that differ between the runs, and every metric column", () => {
    expect(c.params).toEqual(["params.seed", "params.lr", "params.steps"])
    expect(compareRuns(runs).params).toEqual(["params.lr", "params.steps"])
    expect(compareRuns(runs.slice(0, 1)).params).toEqual(["params.seed", "params.lr", "params.steps"])
    expect(c.metrics).toEqual(["do.psnr"])
  })

  it("prints as aligned text, Markdown and CSV, '-' or empty where a run has no value", () => {
    const t = compareRuns(runs)
    expect(comparisonText(t)).toBe(
      [
        "run  status     params.lr  params.steps  do.psnr",
        "r1   succeeded  1e-3       400           24.12",
        "r2   succeeded  1e-3       800           25",
        "r3   succeeded  2e-3       400           23.5",
      ].join("\n"),
    )
    expect(comparisonMarkdown(c).split("\n").slice(0, 2)).toEqual([
      "| run | status | params.seed | params.lr | params.steps | do.psnr |",
      "|---|---|---|---|---|---|",
    ])
    expect(comparisonMarkdown(c).split("\n")[5]).toBe("| r4 | running | - | 2e-3 | - | - |")
    expect(comparisonCsv(c).split("\n")).toEqual([
      "run,status,params.seed,params.lr,params.steps,do.psnr",
      "r1,succeeded,1,1e-3,400,24.123456",
      "r2,succeeded,1,1e-3,800,25",
      "r3,succeeded,1,2e-3,400,23.5",
      "r4,running,,2e-3,,",
    ])
  })

  it("plots a metric against a differing value, one series per combination of the others", () => {
    const plot = comparisonPlot(compareRuns(runs), "psnr", "params.lr")
    expect(plot).toMatchObject({
      x: "params.lr",
      y: "psnr",
      series: [
        {
          name: "do.psnr, params.steps=400",
          points: [
            { x: 0.001, y: 24.123456 },
            { x: 0.002, y: 23.5 },
          ],
        },
        { name: "do.psnr, params.steps=800", points: [{ x: 0.001, y: 25 }] },
      ],
    })
    expect(comparisonPlot(compareRuns(runs), "ssim", "params.lr")).toBe("no metric 'ssim' in these runs; they have do.psnr")
    expect(comparisonPlot(compareRuns(runs), "psnr", "params.seed")).toBe(
      "'params.seed' does not differ between these runs; they differ in params.lr, params.steps",
    )
    const named = compareRuns([run("a", "fast", "1", 1), run("b", "slow", "1", 2)])
    expect(comparisonPlot(named, "do.psnr", "params.lr")).toBe("--by params.lr: run a has the value 'fast', not a number")
  })
})
