import { sinTurns } from "./prng.js"
import { buildScene, FEATURES } from "./synthetic-scene.js"

/**
 * Procedural "natural-looking" images: a smooth two-colour background with a tinted corner field, an optional wavy
 * horizon, 3-10 overlapping ellipses and polygons (hard or soft edges, some translucent, some shaded like balls),
 * textures made of value noise at three octaves plus a few oriented sinusoids, and soft global lighting. Scenes are
 * defined in continuous [0,1]² coordinates: smooth terms are sampled at pixel centres, shape coverage with 2×2
 * supersampling, so a small rendering looks like a downscaled large one. Only deterministic arithmetic is used
 * (see prng.ts), and the output is quantised to 8-bit levels like real image files.
 */

/** Bump when the pixels a (seed, index, resolution) produces change. */
export const SYNTHETIC_GENERATOR_VERSION = "synthetic-v1"

const smooth = (t: number): number => t * t * (3 - 2 * t)

const valueNoise = (grid: Float64Array, freq: number, u: number, v: number): number => {
  const x = u * freq // u, v are pixel centres, inside (0, 1)
  const y = v * freq
  const ix = x | 0
  const iy = y | 0
  const fx = smooth(x - ix)
  const fy = smooth(y - iy)
  const row = freq + 1
  const a = grid[iy * row + ix]
  const b = grid[iy * row + ix + 1]
  const c = grid[(iy + 1) * row + ix]
  const d = grid[(iy + 1) * row + ix + 1]
  return a + (b - a) * fx + (c - a + (a - b - c + d) * fx) * fy
}

const dot = (w: Float64Array, f: Float64Array): number => {
  let s = 0
  for (let k = 0; k < FEATURES; k++) s += w[k] * f[k]
  return s
}

/**
 * Renders image `index` of the synthetic set `seed` at `resolution`² into `out` (HWC, RGB, values k/255) starting
 * at `offset`; allocates when `out` is omitted.
 */
export const renderSynthetic = (
  seed: number,
  index: number,
  resolution: number,
  out: Float32Array = new Float32Array(resolution * resolution * 3),
  offset = 0,
): Float32Array => {
  const scene = buildScene(seed, index)
  const { layers, noise, waves, corners, bgTexture, light } = scene
  const bg = Float64Array.of(...scene.bgA, ...scene.bgB)
  const dirU = scene.bgDir[0]
  const dirV = scene.bgDir[1]
  const g0 = noise[0].grid
  const g1 = noise[1].grid
  const g2 = noise[2].grid
  const n0 = noise[0].freq
  const n1 = noise[1].freq
  const n2 = noise[2].freq
  const lightU = light.u
  const lightV = light.v
  const lightK = light.strength
  const R = resolution
  const half = 0.5 / R
  const sub = 0.25 / R
  const f = new Float64Array(FEATURES)
  const cov = new Float64Array(layers.length * 4)
  const alpha = new Float64Array(layers.length)
  const shapes = layers.map((L) => L.shape)
  const colR = new Float64Array(layers.length)
  const colG = new Float64Array(layers.length)
  const colB = new Float64Array(layers.length)
  for (let py = 0; py < R; py++) {
    const v = (py + 0.5) / R
    for (let px = 0; px < R; px++) {
      const u = (px + 0.5) / R
      f[0] = valueNoise(g0, n0, u, v)
      f[1] = valueNoise(g1, n1, u, v)
      f[2] = valueNoise(g2, n2, u, v)
      f[3] = sinTurns(waves[0] * u + waves[1] * v + waves[2])
      f[4] = sinTurns(waves[3] * u + waves[4] * v + waves[5])
      f[5] = sinTurns(waves[6] * u + waves[7] * v + waves[8])
      // background: two-colour gradient, corner tints, texture
      let t = (u - 0.5) * dirU + (v - 0.5) * dirV + 0.5
      t = smooth(t < 0 ? 0 : t > 1 ? 1 : t)
      const tex = 1 + dot(bgTexture, f)
      const w00 = (1 - u) * (1 - v)
      const w10 = u * (1 - v)
      const w01 = (1 - u) * v
      const w11 = u * v
      const bg0 = (bg[0] + (bg[3] - bg[0]) * t + w00 * corners[0] + w10 * corners[3] + w01 * corners[6] + w11 * corners[9]) * tex
      const bg1 = (bg[1] + (bg[4] - bg[1]) * t + w00 * corners[1] + w10 * corners[4] + w01 * corners[7] + w11 * corners[10]) * tex
      const bg2 = (bg[2] + (bg[5] - bg[2]) * t + w00 * corners[2] + w10 * corners[5] + w01 * corners[8] + w11 * corners[11]) * tex
      // shapes touching this pixel (coverage at 2×2 subsamples); their colour is evaluated once at the pixel centre
      let nActive = 0
      for (let s = 0; s < shapes.length; s++) {
        const sh = shapes[s]
        if (sh.x1 < u - half || sh.x0 > u + half || sh.y1 < v - half || sh.y0 > v + half) continue
        if (sh.coverage4(u, v, sub, cov, nActive * 4) === 0) continue
        const L = layers[s]
        const k = (1 + dot(L.texture, f)) * sh.shading(u, v)
        colR[nActive] = L.rgb[0] * k
        colG[nActive] = L.rgb[1] * k
        colB[nActive] = L.rgb[2] * k
        alpha[nActive] = sh.alpha
        nActive++
      }
      let r = bg0
      let g = bg1
      let b = bg2
      if (nActive > 0) {
        r = 0
        g = 0
        b = 0
        for (let q = 0; q < 4; q++) {
          let cr = bg0
          let cg = bg1
          let cb = bg2
          for (let a = 0; a < nActive; a++) {
            const al = alpha[a] * cov[a * 4 + q]
            cr += al * (colR[a] - cr)
            cg += al * (colG[a] - cg)
            cb += al * (colB[a] - cb)
          }
          r += cr
          g += cg
          b += cb
        }
        r *= 0.25
        g *= 0.25
        b *= 0.25
      }
      const du = u - lightU
      const dv = v - lightV
      const d2 = du * du + dv * dv
      const shade = 1.08 - lightK * (d2 < 1.5 ? d2 : 1.5)
      const o = offset + (py * R + px) * 3
      out[o] = quantise(r * shade)
      out[o + 1] = quantise(g * shade)
      out[o + 2] = quantise(b * shade)
    }
  }
  return out
}

const quantise = (x: number): number => Math.round((x < 0 ? 0 : x > 1 ? 1 : x) * 255) / 255
