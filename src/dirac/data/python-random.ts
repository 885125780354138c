/**
 * An exact port of CPython's `random` module for the parts the official DiracDiffusion split code uses:
 * `random.seed(int)` (MT19937 `init_by_array`), `getrandbits`, `_randbelow` and `shuffle`. With it,
 * `new PythonRandom(0).shuffle(list)` reorders a list exactly like `random.seed(0); random.shuffle(list)`.
 */

const N = 624
const M = 397

export class PythonRandom {
  private readonly mt = new Uint32Array(N)
  private index = N + 1

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`PythonRandom seed must be a safe integer, got ${seed}`)
    // CPython: the absolute value, split into 32-bit words, least significant first; 0 becomes [0].
    let n = Math.abs(seed)
    const key: number[] = []
    do {
      key.push(n % 4294967296)
      n = Math.floor(n / 4294967296)
    } while (n > 0)
    this.initByArray(key)
  }

  private initGenrand(s: number): void {
    const mt = this.mt
    mt[0] = s >>> 0
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]
      mt[i] = (Math.imul(1812433253, prev ^ (prev >>> 30)) + i) >>> 0
    }
    this.index = N
  }

  private initByArray(key: number[]): void {
    const mt = this.mt
    this.initGenrand(19650218)
    let i = 1
    let j = 0
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]
      mt[i] = ((mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1664525)) + key[j] + j) >>> 0
      i++
      j++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
      if (j >= key.length) j = 0
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]
      mt[i] = ((mt[i] ^ Math.imul(prev ^ (prev >>> 30), 1566083941)) - i) >>> 0
      i++
      if (i >= N) {
        mt[0] = mt[N - 1]
        i = 1
      }
    }
    mt[0] = 0x80000000
  }

  private twist(): void {
    const mt = this.mt
    for (let kk = 0; kk < N; kk++) {
      const y = (mt[kk] & 0x80000000) | (mt[(kk + 1) % N] & 0x7fffffff)
      mt[kk] = (mt[(kk + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)) >>> 0
    }
    this.index = 0
  }

  /** `genrand_uint32`: the next raw 32-bit output. */
  nextU32(): number {
    if (this.index >= N) this.twist()
    let y = this.mt[this.index++]
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }

  /** `random.getrandbits(k)` for 0 <= k <= 53 (words are filled least significant first, as in CPython). */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 53) throw new RangeError(`getrandbits supports 0..53 bits, got ${k}`)
    if (k === 0) return 0
    if (k <= 32) return this.nextU32() >>> (32 - k)
    const low = this.nextU32()
    const high = this.nextU32() >>> (64 - k)
    return high * 4294967296 + low
  }

  /** `random._randbelow(n)` (the getrandbits variant): uniform integer in [0, n). */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`randbelow expects a positive integer, got ${n}`)
    const k = bitLength(n)
    let r = this.getrandbits(k)
    while (r >= n) r = this.getrandbits(k)
    return r
  }

  /** `random.shuffle(x)` in place (and returned for convenience). */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1)
      const tmp = items[i]
      items[i] = items[j]
      items[j] = tmp
    }
    return items
  }
}

const bitLength = (n: number): number => (n < 4294967296 ? 32 - Math.clz32(n) : 32 + bitLength(Math.floor(n / 4294967296)))
