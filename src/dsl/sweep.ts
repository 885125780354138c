/**
 * `--sweep PATH=VALUES`: the values of one axis of a sweep, as `--set` values (YAML scalars). VALUES is a
 * comma-separated list (`1e-3,2e-3`, `adam,sgd`) or `range(START,STOP[,STEP])`, which, as Python's and Hydra's,
 * stops before STOP.
 */
export interface SweepAxis {
  /** The path, as `--set` takes it: `params.lr`, `train.with.steps`. */
  readonly path: string
  readonly values: ReadonlyArray<string>
  /** The flag as written, for messages. */
  readonly flag: string
}

/** One variant of a sweep: path -> value, in the order of the axes. */
export type SweepVariant = ReadonlyArray<readonly [path: string, value: string]>

/** The most variants one sweep may have: more is surely a typo in a range. */
export const maxVariants = 10_000

const rangePattern = /^range\(([^)]*)\)$/

/** Numbers of range(START, STOP, STEP), rounded to 12 significant digits so that 0.1 steps print as 0.3, not 0.30000000000000004. */
const rangeValues = (text: string): string[] | string => {
  const parts = text.split(",").map((p) => p.trim())
  if (parts.length < 2 || parts.length > 3) return "range() takes START,STOP or START,STOP,STEP"
  const [start, stop, step = 1] = parts.map(Number)
  const bad = parts.find((p) => p === "" || !Number.isFinite(Number(p)))
  if (bad !== undefined) return `range() takes numbers; got '${bad}'`
  if (step === 0) return "range() needs a STEP other than 0"
  const count = Math.ceil((stop - start) / step - 1e-9)
  if (count <= 0) return `range(${text}) is empty: STOP is not beyond START in the direction of STEP`
  if (count > maxVariants) return `range(${text}) has ${count} values; at most ${maxVariants}`
  return Array.from({ length: count }, (_, i) => String(Number((start + i * step).toPrecision(12))))
}

/** Parses one `--sweep` flag; a string is what is wrong with it. */
export const parseSweepFlag = (flag: string): SweepAxis | string => {
  const eq = flag.indexOf("=")
  if (eq <= 0) return `--sweep ${flag}: expected PATH=VALUES, e.g. --sweep params.lr=1e-3,2e-3 or --sweep params.steps=range(100,500,100)`
  const path = flag.slice(0, eq).trim()
  const text = flag.slice(eq + 1).trim()
  const range = rangePattern.exec(text)
  const values = range ? rangeValues(range[1]) : text.split(",").map((v) => v.trim())
  if (typeof values === "string") return `--sweep ${flag}: ${values}`
  if (values.some((v) => v === "")) return `--sweep ${flag}: an empty value; separate values by single commas`
  if (new Set(values).size !== values.length) return `--sweep ${flag}: a value is given twice`
  return { path, values, flag }
}

/** Parses every `--sweep` flag; a string is the first problem. Two axes on one path, or a path also `--set`, are problems. */
export const parseSweep = (flags: ReadonlyArray<string>, sets: ReadonlyArray<string> = []): ReadonlyArray<SweepAxis> | string => {
  const axes: SweepAxis[] = []
  const setPaths = new Set(sets.map((s) => s.slice(0, s.indexOf("=")).trim()))
  for (const flag of flags) {
    const axis = parseSweepFlag(flag)
    if (typeof axis === "string") return axis
    if (axes.some((a) => a.path === axis.path)) return `--sweep ${flag}: '${axis.path}' is swept twice; give all its values in one --sweep`
    if (setPaths.has(axis.path)) return `--sweep ${flag}: '${axis.path}' is also given by --set; drop one of them`
    axes.push(axis)
  }
  const count = axes.reduce((n, a) => n * a.values.length, 1)
  if (count > maxVariants) return `the sweep has ${count} variants; at most ${maxVariants}`
  return axes
}

/** Every combination of the axes' values, the last axis varying fastest. */
export const sweepVariants = (axes: ReadonlyArray<SweepAxis>): SweepVariant[] =>
  axes.reduce<SweepVariant[]>(
    (variants, axis) => variants.flatMap((v) => axis.values.map((value) => [...v, [axis.path, value] as const])),
    [[]],
  )

/** A variant as `--set` assignments. */
export const variantAssignments = (variant: SweepVariant): string[] => variant.map(([path, value]) => `${path}=${value}`)
