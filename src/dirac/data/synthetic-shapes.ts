import { cosTurns, type Prng, sinTurns } from "./prng.js"

/**
 * The shapes of the procedural image generator, all defined in continuous [0,1]² coordinates (u right, v down) so
 * that the same scene renders at any resolution. `coverage` is 0 outside, 1 inside, and in between only for
 * soft-edged shapes; hard edges are antialiased by supersampling in the renderer.
 */
export interface Shape {
  /** Bounding box, for culling. */
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
  readonly alpha: number
  coverage(u: number, v: number): number
  /**
   * Coverage at the four points (u ± d, v ± d) into out[at..at+3] (order: -d-d, +d-d, -d+d, +d+d); returns their sum.
   */
  coverage4(u: number, v: number, d: number, out: Float64Array, at: number): number
  /** Brightness factor from the shape's own soft shading (1 = none). */
  shading(u: number, v: number): number
}

const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x)

const coverage4ByPoints = (shape: Shape, u: number, v: number, d: number, out: Float64Array, at: number): number => {
  const a = (out[at] = shape.coverage(u - d, v - d))
  const b = (out[at + 1] = shape.coverage(u + d, v - d))
  const c = (out[at + 2] = shape.coverage(u - d, v + d))
  const e = (out[at + 3] = shape.coverage(u + d, v + d))
  return a + b + c + e
}

const fill4 = (value: number, out: Float64Array, at: number): number => {
  out[at] = out[at + 1] = out[at + 2] = out[at + 3] = value
  return 4 * value
}

/** A rotated ellipse, optionally soft-edged and shaded like a lit ball. */
export class Ellipse implements Shape {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
  private readonly c: number
  private readonly s: number
  private readonly hx: number
  private readonly hy: number
  constructor(
    private readonly cx: number,
    private readonly cy: number,
    private readonly rx: number,
    private readonly ry: number,
    angleTurns: number,
    readonly alpha: number,
    private readonly softness: number,
    private readonly ball: number,
    lightU: number,
    lightV: number,
  ) {
    this.c = cosTurns(angleTurns)
    this.s = sinTurns(angleTurns)
    const r = Math.max(rx, ry) * (1 + softness) + 1e-3
    this.x0 = cx - r
    this.x1 = cx + r
    this.y0 = cy - r
    this.y1 = cy + r
    // highlight: the point of the ellipse facing the light
    const dx = lightU - cx
    const dy = lightV - cy
    const d = Math.sqrt(dx * dx + dy * dy) + 1e-9
    this.hx = cx + (0.4 * Math.min(rx, ry) * dx) / d
    this.hy = cy + (0.4 * Math.min(rx, ry) * dy) / d
  }
  private q(u: number, v: number): number {
    const dx = u - this.cx
    const dy = v - this.cy
    const a = (dx * this.c + dy * this.s) / this.rx
    const b = (dy * this.c - dx * this.s) / this.ry
    return a * a + b * b
  }
  coverage(u: number, v: number): number {
    const q = this.q(u, v)
    if (this.softness === 0) return q <= 1 ? 1 : 0
    const lo = (1 - this.softness) * (1 - this.softness)
    const hi = (1 + this.softness) * (1 + this.softness)
    if (q <= lo) return 1
    if (q >= hi) return 0
    return clamp01((1 + this.softness - Math.sqrt(q)) / (2 * this.softness))
  }
  coverage4(u: number, v: number, d: number, out: Float64Array, at: number): number {
    // sqrt(q) changes by at most |δ| / min(rx, ry) over the four points, so far from the rim they all agree
    const m = (1.5 * d) / Math.min(this.rx, this.ry) + this.softness
    const q = this.q(u, v)
    if (m < 1 && q < (1 - m) * (1 - m)) return fill4(1, out, at)
    if (q > (1 + m) * (1 + m)) return fill4(0, out, at)
    return coverage4ByPoints(this, u, v, d, out, at)
  }
  shading(u: number, v: number): number {
    if (this.ball === 0) return 1
    const dx = (u - this.hx) / this.rx
    const dy = (v - this.hy) / this.ry
    return 1 + this.ball * (0.35 - Math.min(1.5, dx * dx + dy * dy))
  }
}

/** A simple polygon (star-shaped around its centre), tested by crossing number. */
export class Polygon implements Shape {
  readonly x0: number
  readonly y0: number
  readonly x1: number
  readonly y1: number
  constructor(
    private readonly xs: Float64Array,
    private readonly ys: Float64Array,
    readonly alpha: number,
    private readonly ramp: number,
    private readonly rampU: number,
    private readonly rampV: number,
  ) {
    let x0 = Infinity
    let y0 = Infinity
    let x1 = -Infinity
    let y1 = -Infinity
    for (let i = 0; i < xs.length; i++) {
      x0 = Math.min(x0, xs[i])
      x1 = Math.max(x1, xs[i])
      y0 = Math.min(y0, ys[i])
      y1 = Math.max(y1, ys[i])
    }
    this.x0 = x0
    this.y0 = y0
    this.x1 = x1
    this.y1 = y1
  }
  coverage(u: number, v: number): number {
    const { xs, ys } = this
    let inside = false
    for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) {
      const yi = ys[i]
      const yj = ys[j]
      if (yi > v !== yj > v && u < ((xs[j] - xs[i]) * (v - yi)) / (yj - yi) + xs[i]) inside = !inside
    }
    return inside ? 1 : 0
  }
  coverage4(u: number, v: number, d: number, out: Float64Array, at: number): number {
    return coverage4ByPoints(this, u, v, d, out, at)
  }
  shading(u: number, v: number): number {
    return 1 + this.ramp * ((u - this.x0) * this.rampU + (v - this.y0) * this.rampV)
  }
}

/** Everything below a wavy horizon line (ground, water, a hill). */
export class Ground implements Shape {
  readonly x0 = 0
  readonly x1 = 1
  readonly y0: number
  readonly y1 = 1
  constructor(
    private readonly level: number,
    private readonly amp: number,
    private readonly freq: number,
    private readonly phase: number,
    readonly alpha: number,
  ) {
    this.y0 = level - 2 * amp
  }
  coverage(u: number, v: number): number {
    const line = this.level + this.amp * (sinTurns(this.freq * u + this.phase) + 0.5 * sinTurns(2.3 * this.freq * u - this.phase))
    return v >= line ? 1 : 0
  }
  coverage4(u: number, v: number, d: number, out: Float64Array, at: number): number {
    return coverage4ByPoints(this, u, v, d, out, at)
  }
  shading(_u: number, v: number): number {
    return 0.9 + 0.2 * (v - this.level)
  }
}

/** A random polygon: a blob of 3-8 vertices, or a long thin bar. */
export const randomPolygon = (rng: Prng, cx: number, cy: number, r: number, alpha: number): Polygon => {
  const rot = rng.next()
  let xs: Float64Array
  let ys: Float64Array
  if (rng.chance(0.2)) {
    const len = r * rng.uniform(1.5, 3)
    const wid = r * rng.uniform(0.05, 0.2)
    const c = cosTurns(rot)
    const s = sinTurns(rot)
    const corners = [
      [-len, -wid],
      [len, -wid],
      [len, wid],
      [-len, wid],
    ]
    xs = Float64Array.from(corners, ([a, b]) => cx + a * c - b * s)
    ys = Float64Array.from(corners, ([a, b]) => cy + a * s + b * c)
  } else {
    const n = rng.int(3, 8)
    xs = new Float64Array(n)
    ys = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const a = rot + (i + rng.uniform(-0.3, 0.3)) / n
      const rr = r * rng.uniform(0.55, 1)
      xs[i] = cx + rr * cosTurns(a)
      ys[i] = cy + rr * sinTurns(a)
    }
  }
  return new Polygon(xs, ys, alpha, rng.uniform(-0.6, 0.6), rng.uniform(-1, 1), rng.uniform(-1, 1))
}
