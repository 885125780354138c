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
 * Adam exactly as `torch.optim.Adam` (no weight decay, no amsgrad), with its state in plain named variables so
 * that a checkpoint holds it in full:
 *
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,
 *   p <- p - lr (m / (1 - b1^k)) / (sqrt(v / (1 - b2^k)) + eps),   k = the step number from 1.
 */
export class Adam {
  readonly m: Record<string, tf.Variable> = {}
  readonly v: Record<string, tf.Variable> = {}

  constructor(
    readonly params: Readonly<Record<string, tf.Variable>>,
    readonly args: AdamArgs = defaultAdam,
  ) {
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.variable(tf.zerosLike(p), false)
      this.v[name] = tf.variable(tf.zerosLike(p), false)
    }
  }

  /** Applies one update for step number `k` (1-based). */
  apply(grads: Readonly<Record<string, tf.Tensor>>, k: number): void {
    const { lr, beta1, beta2, eps } = this.args
    const c1 = 1 - beta1 ** k
    const c2 = 1 - beta2 ** k
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = grads[name]
        if (!g) continue
        const m = this.m[name]
        const v = this.v[name]
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)))
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)))
        const denominator = tf.add(tf.div(tf.sqrt(v), Math.sqrt(c2)), eps)
        p.assign(tf.sub(p, tf.mul(tf.div(m, denominator), lr / c1)))
      }
    })
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose()
  }
}

/** Exponential moving average of parameters: e <- decay e + (1 - decay) p after every step. */
export class Ema {
  readonly shadow: Record<string, tf.Variable> = {}

  constructor(
    readonly params: Readonly<Record<string, tf.Variable>>,
    readonly decay: number,
  ) {
    for (const [name, p] of Object.entries(params)) this.shadow[name] = tf.variable(p.clone(), false)
  }

  update(): void {
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const e = this.shadow[name]
        e.assign(tf.add(tf.mul(e, this.decay), tf.mul(p, 1 - this.decay)))
      }
    })
  }

  dispose(): void {
    for (const t of Object.values(this.shadow)) t.dispose()
  }
}
