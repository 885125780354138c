/**
 * Seedable, serialisable pseudo-random numbers that are identical on every
 * machine (integer arithmetic plus IEEE `Math.sqrt` and V8's fdlibm `Math.log`).
 *
 * Generator: xoshiro128** (Blackman & Vigna), 128 bits of state, period 2^128 - 1.
 * A 32-bit seed is expanded to the four state words with splitmix32.
 * Normals: Marsaglia's polar method, which draws pairs; the second value of a
 * pair is kept as `spareNormal` and is part of the serialised state.
 */

export interface RngState {
  readonly algorithm: "xoshiro128**"
  /** The four 32-bit state words (unsigned). */
  readonly words: readonly [number, number, number, number]
  readonly spareNormal: number | null
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k))

/** splitmix32 step: returns the next state and its output. */
const splitmix32 = (state: number): [number, number] => {
  const next = (state + 0x9e3779b9) | 0
  let z = next
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return [next, (z ^ (z >>> 16)) >>> 0]
}

export class Rng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spare: number | null

  private constructor(words: readonly number[], spare: number | null) {
    if (words.length !== 4 || words.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw new RangeError("xoshiro128** state needs four unsigned 32-bit words")
    }
    if (words.every((w) => w === 0)) throw new RangeError("xoshiro128** state must not be all zero")
    ;[this.s0, this.s1, this.s2, this.s3] = words.map((w) => w | 0) as [number, number, number, number]
    this.spare = spare
  }

  /** A generator from a 32-bit seed (other numbers are reduced with `>>> 0`). */
  static fromSeed(seed: number): Rng {
    let state = seed >>> 0
    const words: number[] = []
    for (let i = 0; i < 4; i++) {
      const [next, out] = splitmix32(state)
      state = next
      words.push(out)
    }
    return new Rng(words, null)
  }

  static fromState(state: RngState): Rng {
    if (state.algorithm !== "xoshiro128**") throw new RangeError(`unknown generator ${String(state.algorithm)}`)
    return new Rng(state.words, state.spareNormal)
  }

  state(): RngState {
    return {
      algorithm: "xoshiro128**",
      words: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0],
      spareNormal: this.spare,
    }
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5
    const lo = this.nextUint32() >>> 6
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /** Standard normal N(0, 1). */
  normal(): number {
    if (this.spare !== null) {
      const z = this.spare
      this.spare = null
      return z
    }
    let u: number
    let v: number
    let s: number
    do {
      u = 2 * this.uniform() - 1
      v = 2 * this.uniform() - 1
      s = u * u + v * v
    } while (s >= 1 || s === 0)
    const f = Math.sqrt((-2 * Math.log(s)) / s)
    this.spare = v * f
    return u * f
  }

  /** Fills `out` with standard normals, in index order, and returns it. */
  fillNormal(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal()
    return out
  }
}

const utf8 = new TextEncoder()

/**
 * Stable 32-bit seed of an identifier (e.g. an image id): FNV-1a over its
 * UTF-8 bytes, h = 2166136261; for each byte b: h = (h xor b) * 16777619 mod 2^32.
 */
export const seedFromString = (id: string): number => {
  let h = 0x811c9dc5
  for (const byte of utf8.encode(id)) h = Math.imul(h ^ byte, 0x01000193)
  return h >>> 0
}
