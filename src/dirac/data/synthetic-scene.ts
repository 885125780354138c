import { cosTurns, hashInts, Prng, sinTurns } from "./prng.js"
import { Ellipse, Ground, randomPolygon, type Shape } from "./synthetic-shapes.js"

/** The random parameters of one synthetic image, drawn from a generator seeded by (seed, index). */

export const FEATURES = 6 // three noise octaves, three sinusoids

export interface Layer {
  readonly shape: Shape
  readonly rgb: [number, number, number]
  readonly texture: Float64Array // weights over the features
}

export interface Scene {
  readonly bgA: [number, number, number]
  readonly bgB: [number, number, number]
  readonly bgDir: [number, number]
  readonly corners: Float64Array // 4 corners × 3 channels of additive tint
  readonly bgTexture: Float64Array
  readonly noise: { freq: number; grid: Float64Array }[]
  readonly waves: Float64Array // per sinusoid: ku, kv, phase
  readonly light: { u: number; v: number; strength: number }
  readonly layers: Layer[]
}

/** HSV (all in [0,1]) to RGB, piecewise linear: no transcendental functions. */
const hsv = (h: number, s: number, v: number): [number, number, number] => {
  const hh = (h - Math.floor(h)) * 6
  const i = Math.floor(hh)
  const f = hh - i
  const p = v * (1 - s)
  const q = v * (1 - s * f)
  const t = v * (1 - s * (1 - f))
  switch (i) {
    case 0:
      return [v, t, p]
    case 1:
      return [q, v, p]
    case 2:
      return [p, v, t]
    case 3:
      return [p, q, v]
    case 4:
      return [t, p, v]
    default:
      return [v, p, q]
  }
}

export const buildScene = (seed: number, index: number): Scene => {
  const rng = new Prng(hashInts(seed, index, 0x5eed))
  const baseHue = rng.next()
  const scheme = [0, rng.uniform(0.04, 0.12), 0.5, 1 / 3, -1 / 3][rng.int(0, 4)]
  const pick = (): [number, number, number] => {
    const hue = baseHue + (rng.chance(0.5) ? 0 : scheme) + rng.uniform(-0.04, 0.04)
    return hsv(hue, rng.uniform(0.1, 0.85), rng.uniform(0.2, 0.95))
  }
  const dirAngle = rng.next()
  const corners = new Float64Array(12)
  for (let i = 0; i < 12; i++) corners[i] = rng.uniform(-0.08, 0.08)
  const f0 = rng.int(2, 4)
  const noise = [f0, 2 * f0, 4 * f0].map((freq) => {
    const grid = new Float64Array((freq + 1) * (freq + 1))
    for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1)
    return { freq, grid }
  })
  const waves = new Float64Array(9)
  for (let k = 0; k < 3; k++) {
    const freq = rng.uniform(3, 12)
    const angle = rng.next()
    waves[k * 3] = freq * cosTurns(angle)
    waves[k * 3 + 1] = freq * sinTurns(angle)
    waves[k * 3 + 2] = rng.next()
  }
  const texture = (amp: number): Float64Array => {
    const w = new Float64Array(FEATURES)
    w[0] = amp * rng.uniform(0, 1)
    w[1] = amp * rng.uniform(0, 0.6)
    w[2] = amp * rng.uniform(0, 0.35)
    for (let k = 3; k < FEATURES; k++) w[k] = rng.chance(0.4) ? amp * rng.uniform(0, 0.4) : 0
    return w
  }
  const light = { u: rng.uniform(-0.3, 1.3), v: rng.uniform(-0.3, 0.6), strength: rng.uniform(0.05, 0.45) }
  const bgA = pick()
  const bgB = pick()
  const bgTexture = texture(rng.uniform(0.03, 0.15))

  const layers: Layer[] = []
  if (rng.chance(0.45)) {
    const ground = new Ground(rng.uniform(0.45, 0.8), rng.uniform(0.005, 0.08), rng.uniform(0.5, 3), rng.next(), 1)
    layers.push({ shape: ground, rgb: pick(), texture: texture(rng.uniform(0.05, 0.25)) })
  }
  const count = rng.int(3, 10)
  const radii = Array.from({ length: count }, () => rng.uniform(0.04, 0.33)).sort((a, b) => b - a) // big ones behind
  for (const r of radii) {
    const cx = rng.uniform(-0.05, 1.05)
    const cy = rng.uniform(-0.05, 1.05)
    const alpha = rng.chance(0.75) ? 1 : rng.uniform(0.35, 0.85)
    const shape: Shape = rng.chance(0.55)
      ? new Ellipse(
          cx,
          cy,
          r,
          r * rng.uniform(0.35, 1),
          rng.next(),
          alpha,
          rng.chance(0.25) ? rng.uniform(0.05, 0.3) : 0,
          rng.chance(0.5) ? rng.uniform(0.2, 0.7) : 0,
          light.u,
          light.v,
        )
      : randomPolygon(rng, cx, cy, r, alpha)
    layers.push({ shape, rgb: pick(), texture: texture(rng.chance(0.6) ? rng.uniform(0.02, 0.3) : 0) })
  }
  return { bgA, bgB, bgDir: [cosTurns(dirAngle), sinTurns(dirAngle)], corners, bgTexture, noise, waves, light, layers }
}
