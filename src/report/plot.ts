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
const [WIDTH, HEIGHT, LINE, CHAR] = [480, 300, 13, 6.5]

interface LabelDatum {
  readonly series: string
  readonly x: number
  readonly y: number
  readonly label: string
  /** Where the label's middle sits on the y axis. */
  readonly labelY: number
  /** The label's side of its point. */
  readonly side: "left" | "right"
  /** Where a leader line from the point meets the label, on the x axis. */
  readonly anchorX: number
}

/** Line offsets tried for a label, nearest first. */
const OFFSETS = [0, -1, 1, -2, 2, -3, 3, -4, 4]

/**
 * Labels of a points-only plot with known axes: each beside its point, right or left and up to four lines up or
 * down, at the nearest place where it overlaps no label placed before it (methods with close scores otherwise print
 * their names over each other).
 */
export const placeLabels = (
  data: ReadonlyArray<Omit<LabelDatum, "labelY" | "side" | "anchorX">>,
  xDomain: readonly [number, number],
  yDomain: readonly [number, number],
): LabelDatum[] => {
  const px = (x: number) => ((x - xDomain[0]) / (xDomain[1] - xDomain[0])) * WIDTH
  const py = (y: number) => ((yDomain[1] - y) / (yDomain[1] - yDomain[0])) * HEIGHT
  const placed: Array<{ left: number; right: number; top: number }> = []
  const free = (box: { left: number; right: number; top: number }) =>
    !placed.some((b) => box.left < b.right && b.left < box.right && Math.abs(box.top - b.top) < LINE)
  return [...data]
    .sort((a, b) => py(a.y) - py(b.y))
    .map((d) => {
      const width = CHAR * d.label.length
      const candidates = OFFSETS.flatMap((k) =>
        (["right", "left"] as const).map((side) => ({
          side,
          left: side === "right" ? px(d.x) + 8 : px(d.x) - 8 - width,
          right: side === "right" ? px(d.x) + 8 + width : px(d.x) - 8,
          top: py(d.y) + k * LINE,
        })),
      )
      const box = candidates.find(free) ?? candidates[0]
      if (d.label) placed.push(box)
      const anchor = box.side === "right" ? box.left - 2 : box.right + 2
      return {
        ...d,
        side: box.side,
        labelY: yDomain[1] - (box.top / HEIGHT) * (yDomain[1] - yDomain[0]),
        anchorX: xDomain[0] + (anchor / WIDTH) * (xDomain[1] - xDomain[0]),
      }
    })
}

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
  const data = plot.series.flatMap((s) => s.points.map((p) => ({ series: s.name, x: p.x, y: p.y, label: p.label ?? "" })))
  const spread = plot.lines === false && plot.xDomain && plot.yDomain && !plot.logY
  const placed = spread ? placeLabels(data, plot.xDomain!, plot.yDomain!) : []
  const moved = placed.filter((d) => d.label && d.labelY !== d.y)
  const labels = spread
    ? [
        ...(moved.length
          ? [
              {
                data: { values: moved },
                mark: { type: "rule", color: "#888", strokeWidth: 0.75 },
                encoding: { x, y, x2: { field: "anchorX" }, y2: { field: "labelY" } },
              },
            ]
          : []),
        ...(["right", "left"] as const).map((side) => ({
          data: { values: placed.filter((d) => d.side === side) },
          mark: { ...textMark, align: side === "right" ? "left" : "right", baseline: "middle", dx: side === "right" ? 8 : -8 },
          encoding: { x, y: { ...y, field: "labelY" }, text: { field: "label" } },
        })),
      ]
    : [{ mark: { ...textMark, dy: -12 }, encoding: { x, y, text: { field: "label" } } }]
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: plot.title,
    width: WIDTH,
    height: HEIGHT,
    background: "white",
    data: { values: data },
    layer: [
      ...(clouds.length
        ? [{ data: { values: clouds }, mark: { type: "point", filled: true, size: 15, opacity: 0.3 }, encoding: { x, y, color } }]
        : []),
      {
        mark: plot.lines === false ? { type: "point", filled: true, size: 80 } : { type: "line", point: plot.marks ?? false },
        encoding: { x, y, color },
      },
      ...(labelled ? labels : []),
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
