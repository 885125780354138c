import * as tf from "@tensorflow/tfjs-core"
import type { ImageSource } from "../data/types.js"
import { batchToTensor4D } from "../data/tensor.js"
import type { SongUNet } from "../network/index.js"
import type { DegradationProcess } from "../operators/process.js"
import { Rng, seedFromString, type RngState } from "../random.js"
import { Adam, Ema, type AdamArgs } from "./adam.js"
import { incrementalReconstructionLoss, type LossOptions, type LossWeighting, type TrainingBatch } from "./loss.js"

/**
 * `incremental-reconstruction`: DiracDiffusion, t ~ U[0, 1) and L_IR(dt). `supervised`: the plain supervised
 * baseline with the same network, t = 1 always and the clean-image loss || Phi(y_1) - x ||^2.
 */
export type TrainingObjective = "incremental-reconstruction" | "supervised"

export interface TrainerArgs {
  readonly batchSize: number
  /** Default incremental-reconstruction. */
  readonly objective?: TrainingObjective
  /** Look-ahead of the incremental reconstruction loss (the supervised objective always uses 1). */
  readonly dt: number
  /** Default inverse-variance. */
  readonly weighting?: LossWeighting
  readonly adam: AdamArgs
  /** EMA decay of the weights; 0 turns EMA off. */
  readonly emaDecay: number
  /** Seeds the data order, t, the noise and dropout. */
  readonly seed: number
  /** How the severities t are drawn; default uniform (the paper's t ~ U[0, 1)). Ignored by the supervised objective. */
  readonly timeSampling?: TimeSampling
}

/**
 * The distribution of the training severities: a fraction `measurementFraction` of the images at t = 1 (the
 * measurement itself, where every reverse process starts), the others with density (power + 1) t^power, i.e.
 * t = u^(1 / (power + 1)) for u ~ U[0, 1). power 0 and fraction 0 is the paper's t ~ U[0, 1).
 */
export interface TimeSampling {
  readonly power: number
  readonly measurementFraction: number
}

export const uniformTime: TimeSampling = { power: 0, measurementFraction: 0 }

/** One severity; draws nothing extra for the uniform case, so uniform runs keep the paper's random stream. */
export const drawTime = (rng: Rng, sampling: TimeSampling): number => {
  if (sampling.measurementFraction > 0 && rng.uniform() < sampling.measurementFraction) return 1
  const u = rng.uniform()
  return sampling.power === 0 ? u : u ** (1 / (sampling.power + 1))
}

/** Where training stands: with the weights and optimiser state, enough to continue exactly. */
export interface TrainerPosition {
  readonly step: number
  readonly epoch: number
  /** Next position in the epoch's shuffled order. */
  readonly position: number
  readonly rng: RngState
}

export interface StepResult {
  readonly loss: number
  readonly gradNorm: number
}

/** A loss that is not a finite number: training stops and the last good checkpoint stays. */
export class NonFiniteLoss extends Error {
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(`the loss became ${loss} at step ${step}; the last checkpoint is kept (try a lower lr)`)
  }
}

/** The order of the training images in an epoch: a permutation seeded by (seed, epoch). */
export const epochOrder = (count: number, seed: number, epoch: number): number[] => {
  const rng = Rng.fromSeed(seedFromString(`${seed}/epoch/${epoch}`))
  const order = Array.from({ length: count }, (_, i) => i)
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** Algorithm-agnostic training loop state for Phi_theta under L_IR(dt), Adam and optional EMA. */
export class Trainer {
  readonly adam: Adam
  readonly ema?: Ema
  private position: TrainerPosition
  private order: number[]
  private readonly officialName: Map<string, string>

  constructor(
    readonly net: SongUNet,
    readonly process: DegradationProcess,
    readonly source: ImageSource,
    readonly args: TrainerArgs,
  ) {
    const trainable = Object.fromEntries(Object.entries(net.params).filter(([, v]) => v.trainable))
    this.adam = new Adam(trainable, args.adam)
    if (args.emaDecay > 0) this.ema = new Ema(trainable, args.emaDecay)
    this.officialName = new Map(Object.entries(trainable).map(([name, v]) => [v.name, name]))
    this.position = { step: 0, epoch: 0, position: 0, rng: Rng.fromSeed(seedFromString(`${args.seed}/train`)).state() }
    this.order = epochOrder(source.count, args.seed, 0)
  }

  private get supervised(): boolean {
    return this.args.objective === "supervised"
  }

  private lossOptions(training: boolean, dropoutSeed?: number): LossOptions {
    return this.supervised
      ? { dt: 1, weighting: "uniform", training, dropoutSeed }
      : { dt: this.args.dt, weighting: this.args.weighting, training, dropoutSeed }
  }

  get step(): number {
    return this.position.step
  }

  get state(): TrainerPosition {
    return this.position
  }

  /** Continues from a saved position (weights and optimiser state are restored separately). */
  resume(position: TrainerPosition): void {
    this.position = position
    this.order = epochOrder(this.source.count, this.args.seed, position.epoch)
  }

  private async nextBatch(rng: Rng): Promise<{ batch: TrainingBatch; indices: number[] }> {
    const indices: number[] = []
    let { epoch, position } = this.position
    while (indices.length < this.args.batchSize) {
      if (position >= this.order.length) {
        epoch += 1
        position = 0
        this.order = epochOrder(this.source.count, this.args.seed, epoch)
      }
      indices.push(this.order[position++])
    }
    this.position = { ...this.position, epoch, position }
    const images = await this.source.load(indices)
    const x = batchToTensor4D(images)
    const t = indices.map(() => (this.supervised ? 1 : drawTime(rng, this.args.timeSampling ?? uniformTime)))
    const z = tf.tensor4d(rng.fillNormal(new Float32Array(x.size)), x.shape)
    return { batch: { x, t, z }, indices }
  }

  /** One optimisation step on the next batch. */
  async trainStep(): Promise<StepResult> {
    const rng = Rng.fromState(this.position.rng)
    const { batch } = await this.nextBatch(rng)
    const dropoutSeed = rng.nextUint32()
    const k = this.position.step + 1
    try {
      const { value, grads } = tf.variableGrads(
        () => incrementalReconstructionLoss(this.net, this.process, batch, this.lossOptions(true, dropoutSeed)),
        Object.values(this.adam.params),
      )
      const loss = (await value.data())[0]
      const named = Object.fromEntries(Object.entries(grads).map(([v, g]) => [this.officialName.get(v) ?? v, g]))
      const flat = tf.tidy(() => this.adam.layout.flatten(named))
      tf.dispose(Object.values(grads))
      const squaredNorm = tf.tidy(() => tf.sum(tf.square(flat)))
      const gradNorm = Math.sqrt((await squaredNorm.data())[0])
      tf.dispose([value, squaredNorm])
      try {
        if (!Number.isFinite(loss)) throw new NonFiniteLoss(k, loss)
        tf.tidy(() => {
          const updated = this.adam.step(flat, k)
          this.ema?.update(updated)
        })
      } finally {
        flat.dispose()
      }
      this.position = { ...this.position, step: k, rng: rng.state() }
      return { loss, gradNorm }
    } finally {
      tf.dispose([batch.x, batch.z])
    }
  }

  /**
   * L_IR on held-out images at fixed severities t_i = (i + 0.5) / n (supervised: t_i = 1) and noise seeded by each image's id, without
   * dropout: the same number every time for the same weights, so validation curves are comparable.
   */
  async validationLoss(images: tf.Tensor4D, ids: ReadonlyArray<string>): Promise<number> {
    const n = ids.length
    const t = ids.map((_, i) => (this.supervised ? 1 : (i + 0.5) / n))
    const z = tf.concat(
      ids.map((id) =>
        tf.tensor4d(Rng.fromSeed(seedFromString(`validation/${id}`)).fillNormal(new Float32Array(images.size / n)), [
          1,
          ...images.shape.slice(1),
        ] as [number, number, number, number]),
      ),
    )
    const loss = tf.tidy(() =>
      incrementalReconstructionLoss(this.net, this.process, { x: images, t, z: z as tf.Tensor4D }, this.lossOptions(false)),
    )
    try {
      return (await loss.data())[0]
    } finally {
      tf.dispose([z, loss])
    }
  }

  dispose(): void {
    this.adam.dispose()
    this.ema?.dispose()
  }
}
