import { describe, expect, it } from "vitest"
import { paddedRange } from "../../src/report/metrics-report.js"
import { linePlotSvg, placeLabels, plotSpec, type LinePlot } from "../../src/report/plot.js"

const methods: LinePlot = {
  title: "psnr of each input against its number of steps",
  x: "network evaluations",
  y: "psnr",
  series: [
    { name: "DO", points: [{ x: 14, y: 24.3, label: "DO: 24.30" }] },
    { name: "PO", points: [{ x: 15, y: 23.9, label: "PO: 23.90" }] },
  ],
  lines: false,
  yDomain: paddedRange([24.3, 23.9]),
}

describe("plots", () => {
  it("draws different methods as labelled points, with no line between them", async () => {
    const svg = await linePlotSvg(methods)
    expect(svg).not.toContain("mark-line")
    expect(svg).toContain("mark-symbol")
    expect(svg).toContain("DO: 24.30")
    expect(svg).toContain("PO: 23.90")
    expect(await linePlotSvg({ ...methods, lines: undefined })).toContain("mark-line")
  })

  it("moves a label that would overlap another to the other side or a line away, and leaves the others beside their points", () => {
    // 300 px of height over y 0..3: one line (13 px) is 0.13; the first two points are 1 px apart, the third far right.
    const placed = placeLabels(
      [
        { series: "a", x: 1, y: 2, label: "perception_optimised" },
        { series: "b", x: 1.01, y: 1.99, label: "distortion_optimised" },
        { series: "c", x: 9, y: 2, label: "tv" },
      ],
      [0, 10],
      [0, 3],
    )
    const at = Object.fromEntries(placed.map((p) => [p.series, p]))
    expect(at.a).toMatchObject({ side: "right", labelY: 2 })
    expect(at.b.side !== "right" || Math.abs(at.a.labelY - at.b.labelY) >= 0.13 - 1e-9).toBe(true)
    expect(Math.abs(at.b.labelY - 1.99)).toBeLessThanOrEqual(0.13 + 1e-9)
    expect(at.c).toMatchObject({ side: "right", labelY: 2 })
    // A moved label gets a leader line from its point; one beside its point does not.
    const same = ["DO2", "DO3"].map((name) => ({ name, points: [{ x: 14, y: 24.3, label: name }] }))
    const spec = JSON.stringify(plotSpec({ ...methods, series: [...methods.series, ...same], xDomain: [0, 20] }))
    expect(spec).toContain('"type":"rule"')
    expect(JSON.stringify(plotSpec({ ...methods, xDomain: [0, 20] }))).not.toContain('"type":"rule"')
  })

  it("pads the y-range around the values so both points and labels sit inside", () => {
    expect(paddedRange([23.9, 24.3]).map((v) => Number(v.toFixed(6)))).toEqual([23.7, 24.5])
    expect(paddedRange([2, 2])).toEqual([1.8, 2.2])
    expect(paddedRange([0, 0])).toEqual([-1, 1])
  })

  it("puts y on a log scale when asked, and marks labelled x values", async () => {
    const loss: LinePlot = {
      title: "loss",
      x: "step",
      y: "loss",
      series: [{ name: "train", points: [1, 10, 100].map((x) => ({ x, y: 1 / x })) }],
      logY: true,
      rules: [{ x: 10, label: "t_stop = 0.3125" }],
    }
    expect(JSON.stringify(plotSpec(loss))).toContain('"scale":{"type":"log"}')
    const svg = await linePlotSvg(loss)
    expect(svg).toContain("mark-rule")
    expect(svg).toContain("t_stop = 0.3125")
  })

  it("draws a series' cloud as small faint points under its own, and takes an x range", async () => {
    const plane: LinePlot = {
      ...methods,
      series: [{ name: "DO", points: [{ x: 25, y: 3, label: "DO" }], cloud: [24, 26].map((x) => ({ x, y: x / 8 })) }],
      xDomain: [20, 30],
    }
    const spec = JSON.stringify(plotSpec(plane))
    expect(spec).toContain('"opacity":0.3')
    expect(spec).toContain('"domain":[20,30]')
    const symbolLayers = async (plot: LinePlot) => (await linePlotSvg(plot)).match(/class="mark-symbol role-mark/g)?.length
    expect(await symbolLayers(plane)).toBe(2)
    expect(await symbolLayers(methods)).toBe(1)
  })
})
