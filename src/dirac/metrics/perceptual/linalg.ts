/**
 * Dense float64 linear algebra for the set metrics (Fréchet distance, KID), in plain JS.
 *
 * Matrices are row-major `Float64Array`s. The symmetric eigensolver is the classic
 * Householder tridiagonalisation + implicit QL iteration (EISPACK tred2/tql2 as in
 * JAMA, public domain), with the work matrix stored transposed so that every inner
 * loop runs over contiguous memory.
 *
 * Cost (n = order, flops): tridiagonalisation 4/3 n^3, accumulating the orthogonal
 * transform 4/3 n^3, QL with eigenvectors about 6 n^3 (O(n^2) without).
 * Eigenvalues only: about 4/3 n^3; with eigenvectors: about 9 n^3. Measured on one
 * core of this project's dev machine (bench/perceptual.ts): see the README.
 */

export interface SymmetricEigen {
  /** Eigenvalues in ascending order. */
  readonly values: Float64Array
  /**
   * Eigenvectors, row-major n x n: row j is the unit eigenvector of `values[j]`
   * (so A = Vᵀ diag(values) V with V = this matrix).
   */
  readonly vectors: Float64Array
}

const checkSquare = (a: ArrayLike<number>, n: number): void => {
  if (!Number.isInteger(n) || n < 1 || a.length !== n * n) {
    throw new RangeError(`expected a ${n} x ${n} matrix (${n * n} values), got ${a.length} values`)
  }
}

/**
 * Householder reduction of the symmetric matrix held in `w` (transposed storage:
 * w[j*n + k] = V[k][j]) to tridiagonal form. On return d/e hold JAMA's intermediate
 * values; `accumulate` forms the orthogonal transform in `w`.
 */
const tridiagonalise = (w: Float64Array, n: number, d: Float64Array, e: Float64Array, accumulate: boolean): void => {
  for (let j = 0; j < n; j++) d[j] = w[j * n + n - 1]!
  for (let i = n - 1; i > 0; i--) {
    let scale = 0
    let h = 0
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!)
    if (scale === 0) {
      e[i] = d[i - 1]!
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + i - 1]!
        w[j * n + i] = 0
        w[i * n + j] = 0
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] = d[k]! / scale
        h += d[k]! * d[k]!
      }
      let f = d[i - 1]!
      let g = Math.sqrt(h)
      if (f > 0) g = -g
      e[i] = scale * g
      h -= f * g
      d[i - 1] = f - g
      for (let j = 0; j < i; j++) e[j] = 0
      for (let j = 0; j < i; j++) {
        f = d[j]!
        w[i * n + j] = f
        const col = j * n
        g = e[j]! + w[col + j]! * f
        for (let k = j + 1; k <= i - 1; k++) {
          const v = w[col + k]!
          g += v * d[k]!
          e[k] = e[k]! + v * f
        }
        e[j] = g
      }
      f = 0
      for (let j = 0; j < i; j++) {
        e[j] = e[j]! / h
        f += e[j]! * d[j]!
      }
      const hh = f / (h + h)
      for (let j = 0; j < i; j++) e[j] = e[j]! - hh * d[j]!
      for (let j = 0; j < i; j++) {
        f = d[j]!
        g = e[j]!
        const col = j * n
        for (let k = j; k <= i - 1; k++) w[col + k] = w[col + k]! - (f * e[k]! + g * d[k]!)
        d[j] = w[col + i - 1]!
        w[col + i] = 0
      }
    }
    d[i] = h
  }

  if (!accumulate) {
    // The diagonal of the tridiagonal matrix is what the accumulation below would have saved.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j]!
    e[0] = 0
    return
  }
  for (let i = 0; i < n - 1; i++) {
    w[i * n + n - 1] = w[i * n + i]!
    w[i * n + i] = 1
    const h = d[i + 1]!
    const next = (i + 1) * n
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[next + k]! / h
      for (let j = 0; j <= i; j++) {
        const col = j * n
        let g = 0
        for (let k = 0; k <= i; k++) g += w[next + k]! * w[col + k]!
        for (let k = 0; k <= i; k++) w[col + k] = w[col + k]! - g * d[k]!
      }
    }
    for (let k = 0; k <= i; k++) w[next + k] = 0
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + n - 1]!
    w[j * n + n - 1] = 0
  }
  w[n * n - 1] = 1
  e[0] = 0
}

/** Implicit QL on the tridiagonal (d, e); rotations applied to the rows of `w` when given. */
const tridiagonalQl = (d: Float64Array, e: Float64Array, n: number, w: Float64Array | null): void => {
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!
  e[n - 1] = 0
  let f = 0
  let tst1 = 0
  const eps = 2 ** -52
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!))
    let m = l
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break
      m++
    }
    if (m > l) {
      let iter = 0
      do {
        if (++iter > 100) throw new Error("symmetric eigensolver did not converge (non-finite input?)")
        let g = d[l]!
        let p = (d[l + 1]! - g) / (2 * e[l]!)
        let r = Math.hypot(p, 1)
        if (p < 0) r = -r
        d[l] = e[l]! / (p + r)
        d[l + 1] = e[l]! * (p + r)
        const dl1 = d[l + 1]!
        let h = g - d[l]!
        for (let i = l + 2; i < n; i++) d[i] = d[i]! - h
        f += h
        p = d[m]!
        let c = 1
        let c2 = c
        let c3 = c
        const el1 = e[l + 1]!
        let s = 0
        let s2 = 0
        for (let i = m - 1; i >= l; i--) {
          c3 = c2
          c2 = c
          s2 = s
          g = c * e[i]!
          h = c * p
          r = Math.hypot(p, e[i]!)
          e[i + 1] = s * r
          s = e[i]! / r
          c = p / r
          p = c * d[i]! - s * g
          d[i + 1] = h + s * (c * g + s * d[i]!)
          if (w !== null) {
            const a = i * n
            const b = (i + 1) * n
            for (let k = 0; k < n; k++) {
              const t = w[b + k]!
              const u = w[a + k]!
              w[b + k] = s * u + c * t
              w[a + k] = c * u - s * t
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1
        e[l] = s * p
        d[l] = c * p
      } while (Math.abs(e[l]!) > eps * tst1)
    }
    d[l] = d[l]! + f
    e[l] = 0
  }
}

const checkFinite = (a: ArrayLike<number>): void => {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new RangeError("matrix has a non-finite entry")
}

/**
 * Eigen-decomposition of a symmetric n x n matrix (only the lower triangle is read).
 * Eigenvalues ascending; row j of `vectors` is the eigenvector of `values[j]`.
 */
export const symmetricEigen = (a: ArrayLike<number>, n: number): SymmetricEigen => {
  checkSquare(a, n)
  checkFinite(a)
  const w = new Float64Array(n * n)
  // w[j*n + k] = V[k][j] = A[k][j] for k >= j (the lower triangle, transposed).
  for (let k = 0; k < n; k++) for (let j = 0; j <= k; j++) w[j * n + k] = a[k * n + j]!
  for (let k = 0; k < n; k++) for (let j = k + 1; j < n; j++) w[j * n + k] = w[k * n + j]!
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  tridiagonalise(w, n, d, e, true)
  tridiagonalQl(d, e, n, w)
  // Sort ascending (selection sort on values, swapping rows of w).
  for (let i = 0; i < n - 1; i++) {
    let k = i
    for (let j = i + 1; j < n; j++) if (d[j]! < d[k]!) k = j
    if (k !== i) {
      const t = d[k]!
      d[k] = d[i]!
      d[i] = t
      const row = w.slice(i * n, (i + 1) * n)
      w.copyWithin(i * n, k * n, (k + 1) * n)
      w.set(row, k * n)
    }
  }
  return { values: d, vectors: w }
}

/** Eigenvalues (ascending) of a symmetric n x n matrix (lower triangle read); about 4/3 n^3 flops. */
export const symmetricEigenvalues = (a: ArrayLike<number>, n: number): Float64Array => {
  checkSquare(a, n)
  checkFinite(a)
  const w = new Float64Array(n * n)
  for (let k = 0; k < n; k++) for (let j = 0; j <= k; j++) w[j * n + k] = a[k * n + j]!
  const d = new Float64Array(n)
  const e = new Float64Array(n)
  tridiagonalise(w, n, d, e, false)
  tridiagonalQl(d, e, n, null)
  return d.sort()
}

/**
 * Eigenvalues below `n * eps * max|λ|` (rounding noise of a PSD matrix, including
 * slightly negative ones) are set to 0.
 */
export const clampPsdEigenvalues = (values: Float64Array): Float64Array => {
  let max = 0
  for (const v of values) max = Math.max(max, Math.abs(v))
  const floor = values.length * 2 ** -52 * max
  return values.map((v) => (v <= floor ? 0 : v))
}

/**
 * Principal square root S of a symmetric positive semi-definite matrix A (S = Sᵀ,
 * S·S = A), from its eigen-decomposition: S = Vᵀ diag(sqrt(max(λ, 0))) V. Negative
 * eigenvalues from rounding are clamped to 0, so singular (rank-deficient)
 * covariance matrices are fine. About 9 n^3 + n^3 flops.
 */
export const sqrtmSymmetric = (a: ArrayLike<number>, n: number): Float64Array => {
  const { values, vectors } = symmetricEigen(a, n)
  const roots = clampPsdEigenvalues(values).map(Math.sqrt)
  // S[i][j] = sum_k roots[k] V[k][i] V[k][j]; accumulate rank-one updates row by row.
  const s = new Float64Array(n * n)
  for (let k = 0; k < n; k++) {
    const r = roots[k]!
    if (r === 0) continue
    const vk = k * n
    for (let i = 0; i < n; i++) {
      const vi = r * vectors[vk + i]!
      if (vi === 0) continue
      const row = i * n
      for (let j = i; j < n; j++) s[row + j] = s[row + j]! + vi * vectors[vk + j]!
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) s[i * n + j] = s[j * n + i]!
  return s
}

/** C = A Bᵀ for row-major A (m x k) and B (p x k): every entry a dot product of two rows. */
export const multiplyTransposed = (a: Float64Array, m: number, b: Float64Array, p: number, k: number): Float64Array => {
  if (a.length !== m * k || b.length !== p * k) throw new RangeError("multiplyTransposed: shapes do not match")
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const ai = i * k
    for (let j = 0; j < p; j++) {
      const bj = j * k
      let s = 0
      for (let t = 0; t < k; t++) s += a[ai + t]! * b[bj + t]!
      c[i * p + j] = s
    }
  }
  return c
}

/** C = A B for row-major A (m x k) and B (k x p), i-k-j order (contiguous inner loop). */
export const multiply = (a: Float64Array, m: number, k: number, b: Float64Array, p: number): Float64Array => {
  if (a.length !== m * k || b.length !== k * p) throw new RangeError("multiply: shapes do not match")
  const c = new Float64Array(m * p)
  for (let i = 0; i < m; i++) {
    const ci = i * p
    for (let t = 0; t < k; t++) {
      const v = a[i * k + t]!
      if (v === 0) continue
      const bt = t * p
      for (let j = 0; j < p; j++) c[ci + j] = c[ci + j]! + v * b[bt + j]!
    }
  }
  return c
}

/** G = A Aᵀ (symmetric, m x m) for row-major A (m x k). */
export const gram = (a: Float64Array, m: number, k: number): Float64Array => {
  if (a.length !== m * k) throw new RangeError("gram: shape does not match")
  const g = new Float64Array(m * m)
  for (let i = 0; i < m; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0
      for (let t = 0; t < k; t++) s += a[i * k + t]! * a[j * k + t]!
      g[i * m + j] = s
      g[j * m + i] = s
    }
  }
  return g
}
