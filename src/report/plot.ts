import type { TopLevelSpec } from "vega-lite"

export interface Series {
  readonly name: string
  readonly points: ReadonlyArray<{ readonly x: number; readonly y: number; readonly label?: string }>
  /** Small faint points around the series' own, e.g. its per-image values. */
  readonly cloud?: ReadonlyArray<{ readonly x: number; readonly y: number }>
}

export interface LinePlot {
  readonly title: string
  readonly x: string
  readonly y: string
  readonly series: ReadonlyArray<Series>
  /** Draw points as well as lines. */
  readonly marks?: boolean
  /** False: points only, for values that no line joins (different methods). */
  readonly lines?: boolean
  /** y on a log scale (a loss falling over decades); every y must be positive. */
  readonly logY?: boolean
  /** The y-axis range; by default the data's, without zero. */
  readonly yDomain?: readonly [number, number]
  /** The x-axis range; by default the data's, from zero. */
  readonly xDomain?: readonly [number, number]
  /** Legend entries per row (default: all in one row); 1 lists long series names one under the other. */
  readonly legendColumns?: number
  /** Labelled vertical lines, e.g. a chosen t. */
  readonly rules?: ReadonlyArray<{ readonly x: number; readonly label: string }>
}

const textMark = { type: "text", fontSize: 11 } as const

/** The Vega-Lite spec of a plot. */
export const plotSpec = (plot: LinePlot): TopLevelSpec => {
  const x = { field: "x", type: "quantitative", title: plot.x, ...(plot.xDomain ? { scale: { domain: [...plot.xDomain] } } : {}) } as const
  const y = {
    field: "y",
    type: "quantitative",
    title: plot.y,
    scale: { ...(plot.logY ? { type: "log" } : { zero: false }), ...(plot.yDomain ? { domain: [...plot.yDomain] } : {}) },
  } as const
  const labelled = plot.series.some((s) => s.points.some((p) => p.label !== undefined))
  const color = {
    field: "series",
    type: "nominal",
    title: null,
    legend:
      plot.series.length > 1 ? { orient: "bottom", labelLimit: 400, ...(plot.legendColumns ? { columns: plot.legendColumns } : {}) } : null,
  } as const
  const clouds = plot.series.flatMap((s) => (s.cloud ?? []).map((p) => ({ series: s.name, x: p.x, y: p.y })))
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: plot.title,
    width: 480,
    height: 300,
    background: "white",
    data: { values: plot.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y, label: p.label ?? "" }))) },
    layer: [
      ...(clouds.length
        ? [{ data: { values: clouds }, mark: { type: "point", filled: true, size: 15, opacity: 0.3 }, encoding: { x, y, color } }]
        : []),
      {
        mark: plot.lines === false ? { type: "point", filled: true, size: 80 } : { type: "line", point: plot.marks ?? false },
        encoding: { x, y, color },
      },
      ...(labelled ? [{ mark: { ...textMark, dy: -12 }, encoding: { x, y, text: { field: "label" } } }] : []),
      ...(plot.rules?.length
        ? [
            { data: { values: [...plot.rules] }, mark: { type: "rule", strokeDash: [4, 4] }, encoding: { x } },
            {
              data: { values: [...plot.rules] },
              mark: { ...textMark, align: "left", dx: 4, y: 8 },
              encoding: { x, text: { field: "label" } },
            },
          ]
        : []),
    ],
    config: { font: "DejaVu Sans" },
  } as TopLevelSpec
}

/** A line plot rendered by Vega-Lite to SVG, then to PNG; nothing is fetched. */
export const linePlotSvg = async (plot: LinePlot): Promise<string> => {
  // Loaded on first use (about 0.3 s): commands and cached runs that draw nothing start without them.
  const [vega, { compile }] = await Promise.all([import("vega"), import("vega-lite")])
  const view = new vega.View(vega.parse(compile(plotSpec(plot)).spec), { renderer: "none" })
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
