import * as tf from "@tensorflow/tfjs-core"

export interface AdamArgs {
  readonly lr: number
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
}

/** PyTorch's defaults (the official training uses Adam(lr=1e-4), weight decay 0). */
export const defaultAdam: AdamArgs = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 }

/**
 * `tf.split`, except on wasm, whose Slice kernel copies its whole input for every piece (hundreds of pieces: 0.4 s
 * for tiny-32's 461 k parameters): there the vector is halved recursively, n log n copies.
 */
const splitFlat = (flat: tf.Tensor1D, sizes: readonly number[]): tf.Tensor1D[] => {
  if (sizes.length === 1) return [flat]
  if (tf.getBackend() !== "wasm") return tf.split(flat, [...sizes])
  const half = sizes.length >> 1
  const left = sizes.slice(0, half).reduce((a, b) => a + b, 0)
  const [a, b] = tf.split(flat, [left, flat.size - left]) as [tf.Tensor1D, tf.Tensor1D]
  return [...splitFlat(a, sizes.slice(0, half)), ...splitFlat(b, sizes.slice(half))]
}

/**
 * Named tensors laid end to end as one flat vector, in a fixed order. The optimiser works on that vector: a step
 * is a dozen kernel calls whatever the number of parameter tensors (a kernel call costs 15-60 us of overhead, and
 * a network has hundreds of them), with the same element-wise arithmetic as per tensor.
 */
export class FlatLayout {
  readonly names: readonly string[]
  readonly shapes: ReadonlyArray<readonly number[]>
  readonly sizes: readonly number[]
  readonly size: number

  constructor(tensors: Readonly<Record<string, tf.Tensor>>) {
    this.names = Object.keys(tensors)
    this.shapes = this.names.map((n) => tensors[n]!.shape)
    this.sizes = this.names.map((n) => tensors[n]!.size)
    this.size = this.sizes.reduce((a, b) => a + b, 0)
  }

  /** One [size] vector of the named tensors (every name must be present, with its shape). */
  flatten(tensors: Readonly<Record<string, tf.Tensor>>): tf.Tensor1D {
    const parts = this.names.map((n, i) => {
      const t = tensors[n]
      if (!t) throw new Error(`no tensor named ${n}`)
      if (t.size !== this.sizes[i]) throw new Error(`${n} has shape [${t.shape}], expected [${this.shapes[i]}]`)
      return tf.reshape(t, [-1]) as tf.Tensor1D
    })
    return parts.length === 1 ? parts[0]! : tf.concat(parts)
  }

  /** The named tensors of a flat vector (new tensors; the caller disposes them). */
  split(flat: tf.Tensor1D): Record<string, tf.Tensor> {
    const parts = splitFlat(flat, this.sizes)
    return Object.fromEntries(this.names.map((n, i) => [n, tf.reshape(parts[i]!, [...this.shapes[i]!])]))
  }

  /** split() in its own tidy scope: only the named tensors outlive it. */
  splitKept(flat: tf.Tensor1D): Record<string, tf.Tensor> {
    return tf.tidy(() => this.split(flat))
  }
}

/**
 * Adam exactly as `torch.optim.Adam` (no weight decay, no amsgrad):
 *
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
 *   p <- p - lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps),   k = the step number from 1.
 *
 * The parameters, m and v are flat vectors ({@link FlatLayout}); the parameter variables are written from the flat
 * copy after each step, so while an Adam lives they change only through {@link step} and {@link load}.
 * {@link named} and {@link load} give and take m and v per parameter, as checkpoints store them.
 */
export class Adam {
  readonly layout: FlatLayout
  private readonly flat: tf.Variable<tf.Rank.R1>
  private readonly m: tf.Variable<tf.Rank.R1>
  private readonly v: tf.Variable<tf.Rank.R1>

  constructor(
    readonly params: Readonly<Record<string, tf.Variable>>,
    readonly args: AdamArgs = defaultAdam,
  ) {
    this.layout = new FlatLayout(params)
    this.flat = tf.variable(
      tf.tidy(() => this.layout.flatten(params)),
      false,
    )
    this.m = tf.variable(tf.zeros([this.layout.size]), false)
    this.v = tf.variable(tf.zeros([this.layout.size]), false)
  }

  /**
   * One update for step number `k` (1-based) from the gradient of every parameter as one flat vector
   * (`layout.flatten(grads)`). Returns the updated parameters, flat, in the current tidy scope (the EMA reads it).
   */
  step(g: tf.Tensor1D, k: number): tf.Tensor1D {
    const { lr, beta1, beta2, eps } = this.args
    this.m.assign(tf.add(tf.mul(this.m, beta1), tf.mul(g, 1 - beta1)))
    this.v.assign(tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(g), 1 - beta2)))
    const denominator = tf.add(tf.div(tf.sqrt(this.v), Math.sqrt(1 - beta2 ** k)), eps)
    this.flat.assign(tf.sub(this.flat, tf.mul(tf.div(this.m, denominator), lr / (1 - beta1 ** k))))
    const pieces = this.layout.split(this.flat)
    for (const [name, p] of Object.entries(this.params)) p.assign(pieces[name]!)
    return this.flat
  }

  /** {@link step} from named gradients, in its own tidy scope. */
  apply(grads: Readonly<Record<string, tf.Tensor>>, k: number): void {
    tf.tidy(() => {
      this.step(this.layout.flatten(grads), k)
    })
  }

  /** m and v per parameter (new tensors; the caller disposes them). */
  named(): { readonly m: Record<string, tf.Tensor>; readonly v: Record<string, tf.Tensor> } {
    return { m: this.layout.splitKept(this.m), v: this.layout.splitKept(this.v) }
  }

  /** Restores m and v from per-parameter tensors, and takes the parameters as they are now. */
  load(m: Readonly<Record<string, tf.Tensor>>, v: Readonly<Record<string, tf.Tensor>>): void {
    tf.tidy(() => {
      this.flat.assign(this.layout.flatten(this.params))
      this.m.assign(this.layout.flatten(m))
      this.v.assign(this.layout.flatten(v))
    })
  }

  dispose(): void {
    tf.dispose([this.flat, this.m, this.v])
  }
}

/** Exponential moving average of parameters, e <- decay e + (1 - decay) p after every step, as one flat vector. */
export class Ema {
  readonly layout: FlatLayout
  private readonly shadow: tf.Variable<tf.Rank.R1>

  constructor(
    readonly params: Readonly<Record<string, tf.Variable>>,
    readonly decay: number,
  ) {
    this.layout = new FlatLayout(params)
    this.shadow = tf.variable(
      tf.tidy(() => this.layout.flatten(params)),
      false,
    )
  }

  /** One update from the current parameters, or from them as a flat vector (what {@link Adam.step} returns). */
  update(flatParams?: tf.Tensor1D): void {
    tf.tidy(() => {
      const p = flatParams ?? this.layout.flatten(this.params)
      this.shadow.assign(tf.add(tf.mul(this.shadow, this.decay), tf.mul(p, 1 - this.decay)))
    })
  }

  /** The averaged weights per parameter (new tensors; the caller disposes them). */
  named(): Record<string, tf.Tensor> {
    return this.layout.splitKept(this.shadow)
  }

  load(named: Readonly<Record<string, tf.Tensor>>): void {
    tf.tidy(() => {
      this.shadow.assign(this.layout.flatten(named))
    })
  }

  dispose(): void {
    this.shadow.dispose()
  }
}
