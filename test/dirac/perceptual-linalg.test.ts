import { describe, expect, it } from "vitest"
import { Rng } from "../../src/dirac/random.js"
import { multiply, sqrtmSymmetric, symmetricEigen, symmetricEigenvalues } from "../../src/dirac/metrics/perceptual/linalg.js"
import {
  covariance,
  featureSet,
  frechetDistance,
  kernelInceptionDistance,
  type FeatureSet,
} from "../../src/dirac/metrics/perceptual/set-statistics.js"
import { maxAbsDiff } from "../numeric.js"

const randomMatrix = (rng: Rng, rows: number, cols: number): Float64Array => Float64Array.from({ length: rows * cols }, () => rng.normal())

/** A Aᵀ / cols + shift·I: symmetric positive (semi-)definite. */
const randomSpd = (rng: Rng, n: number, rank: number, shift: number): Float64Array => {
  const a = randomMatrix(rng, n, rank)
  const s = new Float64Array(n * n)
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let v = 0
      for (let k = 0; k < rank; k++) v += a[i * rank + k]! * a[j * rank + k]!
      s[i * n + j] = v / rank + (i === j ? shift : 0)
    }
  return s
}

const maxAbs = (x: ArrayLike<number>): number => {
  let m = 0
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]!))
  return m
}

/** Features: rows of N(mean, diag(scale^2)) mixed by a fixed matrix. */
const gaussianSet = (seed: number, count: number, dim: number, mean = 0, scale = 1): FeatureSet => {
  const rng = Rng.fromSeed(seed)
  const data = new Float64Array(count * dim)
  for (let i = 0; i < data.length; i++) data[i] = mean + scale * rng.normal()
  return featureSet(data, count, dim)
}

describe("symmetric eigensolver", () => {
  it("reconstructs A = Vᵀ diag(λ) V with orthonormal V, eigenvalues ascending", () => {
    const n = 40
    const a = randomSpd(Rng.fromSeed(1), n, 60, -0.5) // indefinite
    const { values, vectors } = symmetricEigen(a, n)
    for (let i = 1; i < n; i++) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!)
    const vt = new Float64Array(n * n)
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vt[j * n + i] = vectors[i * n + j]!
    const scaled = Float64Array.from(vectors, (v, idx) => v * values[Math.floor(idx / n)]!)
    expect(maxAbsDiff(multiply(vt, n, n, scaled, n), a)).toBeLessThan(1e-12 * n)
    const identity = Float64Array.from({ length: n * n }, (_, idx) => (idx % (n + 1) === 0 ? 1 : 0))
    expect(maxAbsDiff(multiply(vectors, n, n, vt, n), identity)).toBeLessThan(1e-13 * n)
    expect(maxAbsDiff(symmetricEigenvalues(a, n), values)).toBeLessThan(1e-12 * n)
  })

  it("handles diagonal, repeated and 1 x 1 matrices", () => {
    expect(Array.from(symmetricEigenvalues([3, 0, 0, 0, 1, 0, 0, 0, 2], 3))).toEqual([1, 2, 3])
    expect(Array.from(symmetricEigen([5], 1).values)).toEqual([5])
    const values = symmetricEigen([2, 1, 1, 1, 2, 1, 1, 1, 2], 3).values
    expect(maxAbsDiff(values, [1, 1, 4])).toBeLessThan(1e-14)
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(/non-finite/)
  })
})

describe("sqrtmSymmetric", () => {
  it("S·S ≈ A and S = Sᵀ on a random SPD matrix", () => {
    const n = 64
    const a = randomSpd(Rng.fromSeed(2), n, 80, 0.01)
    const s = sqrtmSymmetric(a, n)
    expect(maxAbsDiff(multiply(s, n, n, s, n), a) / maxAbs(a)).toBeLessThan(1e-12)
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) expect(s[i * n + j]).toBe(s[j * n + i])
  })

  it("works on a singular PSD matrix (rank 5 of 30)", () => {
    const n = 30
    const a = randomSpd(Rng.fromSeed(3), n, 5, 0)
    const s = sqrtmSymmetric(a, n)
    expect(s.every(Number.isFinite)).toBe(true)
    expect(maxAbsDiff(multiply(s, n, n, s, n), a) / maxAbs(a)).toBeLessThan(1e-7)
  })
})

describe("Fréchet distance", () => {
  it("is ~0 for a set with itself and matches the Gaussian closed form for a shifted set", () => {
    const a = gaussianSet(10, 300, 8)
    expect(frechetDistance(a, a).distance).toBeLessThan(1e-10)
    const shifted = featureSet(
      Float64Array.from(a.data, (v) => v + 0.5),
      a.count,
      a.dim,
    )
    // Same covariance, means differ by 0.5 in each of 8 coordinates: FD = 8 * 0.25.
    expect(frechetDistance(a, shifted).distance).toBeCloseTo(2, 9)
  })

  it("sample-space and feature-space methods agree, also when count <= dim (singular covariances)", () => {
    for (const [na, nb, dim] of [
      [40, 50, 12],
      [6, 9, 20],
      [20, 20, 20],
    ] as const) {
      const a = gaussianSet(20 + na, na, dim)
      const b = gaussianSet(30 + nb, nb, dim, 0.3, 1.5)
      const sample = frechetDistance(a, b, { method: "sample" })
      const feature = frechetDistance(a, b, { method: "feature" })
      expect(sample.method).toBe("sample")
      expect(feature.method).toBe("feature")
      expect(Math.abs(sample.distance - feature.distance)).toBeLessThan(1e-9 * (1 + sample.distance))
      expect(sample.rankDeficient).toBe(na <= dim || nb <= dim)
      expect(frechetDistance(a, a, { method: "feature" }).distance).toBeLessThan(1e-8)
    }
  })

  it("matches Tr sqrtm(S_a S_b) through sqrtm of S_a on a small case", () => {
    const dim = 6
    const a = gaussianSet(41, 25, dim)
    const b = gaussianSet(42, 30, dim, 0.1, 2)
    const centred = (s: FeatureSet) => {
      const out = Float64Array.from(s.data)
      for (let j = 0; j < dim; j++) {
        let m = 0
        for (let i = 0; i < s.count; i++) m += out[i * dim + j]!
        m /= s.count
        for (let i = 0; i < s.count; i++) out[i * dim + j] = out[i * dim + j]! - m
      }
      return out
    }
    const sa = covariance(centred(a), a.count, dim)
    const sb = covariance(centred(b), b.count, dim)
    const root = sqrtmSymmetric(sa, dim)
    const inner = multiply(multiply(root, dim, dim, sb, dim), dim, dim, root, dim)
    const trace = Array.from(sqrtmSymmetric(inner, dim)).reduce((s, v, i) => (i % (dim + 1) === 0 ? s + v : s), 0)
    expect(frechetDistance(a, b).traceSqrtProduct).toBeCloseTo(trace, 10)
  })

  it("rejects mismatched or too small sets", () => {
    expect(() => frechetDistance(gaussianSet(1, 5, 3), gaussianSet(2, 5, 4))).toThrow(/dimension/)
    expect(() => frechetDistance(gaussianSet(1, 1, 3), gaussianSet(2, 5, 3))).toThrow(/at least 2/)
  })
})

describe("KID", () => {
  it("is near 0 for two samples of one distribution and clearly positive for different ones", () => {
    const dim = 16
    const a = gaussianSet(100, 200, dim)
    const b = gaussianSet(101, 200, dim)
    const c = gaussianSet(102, 200, dim, 0.5)
    const same = kernelInceptionDistance(a, b)
    const different = kernelInceptionDistance(a, c)
    expect(same.exact).toBe(true)
    // Sampling noise of the estimate here is ~0.01 (KID takes both signs around 0).
    expect(Math.abs(same.kid)).toBeLessThan(0.03)
    // A mean shift of 0.5 in each of 16 coordinates gives MMD^2 ~0.9, far above the noise.
    expect(different.kid).toBeGreaterThan(0.5)
    expect(different.kid).toBeGreaterThan(20 * Math.abs(same.kid))
  })

  it("is unbiased: averages to ~0 over many same-distribution pairs (|mean| << spread)", () => {
    const values = Array.from(
      { length: 20 },
      (_, i) => kernelInceptionDistance(gaussianSet(200 + 2 * i, 30, 4), gaussianSet(201 + 2 * i, 30, 4)).kid,
    )
    const mean = values.reduce((s, v) => s + v, 0) / values.length
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length)
    expect(values.some((v) => v < 0)).toBe(true) // an unbiased estimator of 0 takes both signs
    expect(Math.abs(mean)).toBeLessThan(sd)
  })

  it("uses seeded random subsets for large sets", () => {
    const a = gaussianSet(300, 60, 4)
    const b = gaussianSet(301, 70, 4, 1)
    const r1 = kernelInceptionDistance(a, b, { subsetSize: 20, subsets: 10, seed: 5 })
    const r2 = kernelInceptionDistance(a, b, { subsetSize: 20, subsets: 10, seed: 5 })
    expect(r1).toEqual(r2)
    expect(r1.exact).toBe(false)
    expect(r1.subsetSize).toBe(20)
    expect(r1.std).toBeGreaterThan(0)
    expect(Math.abs(r1.kid - kernelInceptionDistance(a, b).kid)).toBeLessThan(3 * r1.std)
  })
})
