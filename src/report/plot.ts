import type { TopLevelSpec } from "vega-lite"

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number }>
}

export interface LinePlot {
  readonly title: string
  readonly x: string
  readonly y: string
  readonly series: ReadonlyArray<Series>
  /** Draw points as well as lines. */
  readonly marks?: boolean
}

const spec = (plot: LinePlot): TopLevelSpec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title: plot.title,
  width: 480,
  height: 300,
  background: "white",
  data: { values: plot.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y }))) },
  mark: { type: "line", point: plot.marks ?? false },
  encoding: {
    x: { field: "x", type: "quantitative", title: plot.x },
    y: { field: "y", type: "quantitative", title: plot.y, scale: { zero: false } },
    color: { field: "series", type: "nominal", title: null, legend: plot.series.length > 1 ? { orient: "bottom", labelLimit: 400 } : null },
  },
  config: { font: "DejaVu Sans" },
})

/** A line plot rendered by Vega-Lite to SVG, then to PNG; nothing is fetched. */
export const linePlotSvg = async (plot: LinePlot): Promise<string> => {
  // Loaded on first use (about 0.3 s): commands and cached runs that draw nothing start without them.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")])
  const view = new vega.View(vega.parse(compile(spec(plot)).spec), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

export const linePlotPng = async (plot: LinePlot): Promise<Buffer> => {
  const { default: sharp } = await import("sharp")
  return sharp(Buffer.from(await linePlotSvg(plot)), { density: 144 })
    .png()
    .toBuffer()
}
