/**
 * Small deterministic helpers built only from integer ops and IEEE-754 + - * / (exactly specified in
 * JavaScript), so every machine and engine produces bit-identical results. No Math.random, no Math.sin.
 */

/** A 32-bit avalanche hash (the murmur3 finaliser). */
export const mix32 = (x: number): number => {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** Hashes a list of non-negative integers (each below 2^53) into one 32-bit value. */
export const hashInts = (...values: number[]): number => {
  let h = 0x9e3779b9
  for (const v of values) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`hashInts expects non-negative safe integers, got ${v}`)
    const lo = v >>> 0
    const hi = Math.floor(v / 4294967296) >>> 0
    h = mix32((h ^ lo) + 0x7f4a7c15)
    h = mix32((h ^ hi) + 0x165667b1)
  }
  return h
}

/** mulberry32: a tiny 32-bit-state generator, good enough for picking image parameters. */
export class Prng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let t = this.state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }
  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1))
  }
  chance(p: number): boolean {
    return this.next() < p
  }
}

const TWO_PI = 6.283185307179586

/**
 * sin(2π·x) from a range reduction and an odd Taylor polynomial (absolute error below 1e-6), deterministic everywhere
 * unlike Math.sin, whose last bits are implementation-defined.
 */
export const sinTurns = (x: number): number => {
  let t = x - Math.floor(x + 0.5) // [-0.5, 0.5)
  if (t > 0.25) t = 0.5 - t
  else if (t < -0.25) t = -0.5 - t
  const z = TWO_PI * t
  const z2 = z * z
  return z * (1 + z2 * (-1 / 6 + z2 * (1 / 120 + z2 * (-1 / 5040 + z2 * (1 / 362880 + z2 * (-1 / 39916800))))))
}

export const cosTurns = (x: number): number => sinTurns(x + 0.25)
