/**
 * The LPIPS recipe on any feature network:
 *
 *   d(x, y) = sum_l  1/(H_l W_l) sum_{h,w}  sum_c  w_{l,c} (x̂_{l,hwc} - ŷ_{l,hwc})^2
 *
 * with x̂_l the layer-l activations unit-normalised over channels at each pixel
 * (x / (||x||_2 + 1e-10), LPIPS' normalize_tensor) and w_l the learned "lin" weights
 * (LPIPS) or all ones (the uncalibrated baseline, lpips=False in the lpips package).
 * Features are computed on the tfjs backend, the reduction in float64 JS, so results
 * do not depend on reduction order on the backend.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { ScheduleDistance } from "../distances.js"
import type { ImagePixels, Images } from "../image-pixels.js"
import { checkPair, imagesShape, inBatches, toNetworkInput, type NetworkInput } from "./network-input.js"
import type { LayerFeatures, PerceptualFeatures, PerceptualMetric } from "./types.js"

/** LPIPS' eps in normalize_tensor. */
export const NORMALIZE_EPS = 1e-10

/** x / (||x||_2 over channels + 1e-10) at every pixel (NHWC). */
export const unitNormalise = (x: tf.Tensor4D): tf.Tensor4D =>
  tf.tidy(() => tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), -1, true)), NORMALIZE_EPS)))

/** Per-image LPIPS-style distances between two feature batches of equal shapes. */
export const compareLayerFeatures = (
  a: PerceptualFeatures,
  b: PerceptualFeatures,
  weights: readonly (Float32Array | null)[] | null = null,
): number[] => {
  if (a.count !== b.count || a.layers.length !== b.layers.length) {
    throw new RangeError(`feature batches differ: ${a.count} images x ${a.layers.length} layers vs ${b.count} x ${b.layers.length}`)
  }
  const out = new Array<number>(a.count).fill(0)
  a.layers.forEach((la, l) => {
    const lb = b.layers[l]!
    if (la.layer !== lb.layer || la.shape.some((d, i) => d !== lb.shape[i])) {
      throw new RangeError(`layer ${l} differs: ${la.layer} [${la.shape}] vs ${lb.layer} [${lb.shape}]`)
    }
    const [n, h, w, c] = la.shape
    const lin = weights?.[l] ?? null
    if (lin !== null && lin.length !== c) throw new RangeError(`layer ${la.layer}: ${lin.length} weights for ${c} channels`)
    const size = h * w * c
    for (let i = 0; i < n; i++) {
      let total = 0
      for (let p = i * size; p < (i + 1) * size; p += c) {
        let s = 0
        for (let ch = 0; ch < c; ch++) {
          const d = la.data[p + ch]! - lb.data[p + ch]!
          s += lin === null ? d * d : lin[ch]! * d * d
        }
        total += s
      }
      out[i] = out[i]! + total / (h * w)
    }
  })
  return out
}

/** Concatenates feature batches of the same layers along the image axis. */
export const concatPerceptualFeatures = (parts: readonly PerceptualFeatures[]): PerceptualFeatures => {
  if (parts.length === 1) return parts[0]!
  if (parts.length === 0) throw new RangeError("no feature batches")
  const layers = parts[0]!.layers.map((first, l): LayerFeatures => {
    const [, h, w, c] = first.shape
    const n = parts.reduce((s, p) => s + p.layers[l]!.shape[0], 0)
    const data = new Float32Array(n * h * w * c)
    let offset = 0
    for (const p of parts) {
      data.set(p.layers[l]!.data, offset)
      offset += p.layers[l]!.data.length
    }
    return { layer: first.layer, shape: [n, h, w, c], data }
  })
  return { count: parts.reduce((s, p) => s + p.count, 0), layers }
}

export const perceptualFeaturesBytes = (f: PerceptualFeatures): number => f.layers.reduce((s, l) => s + l.data.byteLength, 0)

/** Network input -> the activations of the tapped layers, in order (called inside tf.tidy). */
export type LayerExtractor = (input: tf.Tensor4D) => tf.Tensor4D[]

export interface LayerMetricSpec {
  readonly name: string
  readonly label: string
  readonly official: boolean
  readonly input: NetworkInput
  readonly layers: readonly string[]
  readonly batchSize: number
  /** Builds the extractor (loads weights) and the per-layer channel weights (null = all ones). */
  readonly build: () => Promise<{ extract: LayerExtractor; weights: readonly (Float32Array | null)[] | null }>
  /** Smallest input side (after resizing) the network accepts; default 1. */
  readonly minSize?: number
}

const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length

/** A PerceptualMetric from a layer extractor + (optional) per-channel weights. */
export class LayerPerceptualMetric implements PerceptualMetric<PerceptualFeatures> {
  readonly name: string
  readonly label: string
  readonly lowerIsBetter = true as const
  readonly official: boolean
  readonly layers: readonly string[]
  readonly input: NetworkInput
  private readonly spec: LayerMetricSpec
  private loading?: Promise<void>
  private extract?: LayerExtractor
  private weights: readonly (Float32Array | null)[] | null = null

  constructor(spec: LayerMetricSpec) {
    this.spec = spec
    this.name = spec.name
    this.label = spec.label
    this.official = spec.official
    this.layers = spec.layers
    this.input = spec.input
  }

  get loaded(): boolean {
    return this.extract !== undefined
  }

  load(): Promise<void> {
    this.loading ??= this.spec.build().then(
      ({ extract, weights }) => {
        this.extract = extract
        this.weights = weights
      },
      (error: unknown) => {
        this.loading = undefined
        throw error
      },
    )
    return this.loading
  }

  /** Per-layer channel weights in use (null: uniform). */
  get layerWeights(): readonly (Float32Array | null)[] | null {
    return this.weights
  }

  async features(images: Images): Promise<PerceptualFeatures> {
    const extract = this.extract
    if (extract === undefined) throw new Error(`${this.name}: call load() first`)
    const [, h, w] = imagesShape(images)
    const [th, tw] = this.input.size ?? [h, w]
    const minSize = this.spec.minSize ?? 1
    if (th < minSize || tw < minSize) throw new RangeError(`${this.name}: images must be at least ${minSize} x ${minSize}, got ${h} x ${w}`)
    const parts = await inBatches(images, this.spec.batchSize, async (batch): Promise<PerceptualFeatures> => {
      const activations = tf.tidy(() => extract(toNetworkInput(batch, this.input)).map(unitNormalise))
      try {
        if (activations.length !== this.layers.length)
          throw new Error(`${this.name}: extractor gave ${activations.length} layers, expected ${this.layers.length}`)
        const data = await Promise.all(activations.map((t) => t.data() as Promise<Float32Array>))
        return {
          count: batch.shape[0],
          layers: activations.map((t, l) => ({
            layer: this.layers[l]!,
            shape: t.shape as [number, number, number, number],
            data: data[l]!,
          })),
        }
      } finally {
        activations.forEach((t) => t.dispose())
      }
    })
    return concatPerceptualFeatures(parts)
  }

  compare(a: PerceptualFeatures, b: PerceptualFeatures): number[] {
    return compareLayerFeatures(a, b, this.weights)
  }

  async distance(a: Images, b: Images): Promise<number[]> {
    await this.load()
    checkPair(a, b)
    const out: number[] = []
    const [n] = imagesShape(a)
    // Batch-wise, so that at most one batch of features of each side is held.
    const step = this.spec.batchSize
    for (let start = 0; start < n; start += step) {
      const end = Math.min(n, start + step)
      const sa = sliceImages(a, start, end)
      const sb = sliceImages(b, start, end)
      try {
        out.push(...this.compare(await this.features(sa), await this.features(sb)))
      } finally {
        if (sa !== a && sa instanceof tf.Tensor) sa.dispose()
        if (sb !== b && sb instanceof tf.Tensor) sb.dispose()
      }
    }
    return out
  }

  scheduleDistance(): ScheduleDistance<PerceptualFeatures> {
    if (!this.loaded) throw new Error(`${this.name}: call load() before scheduleDistance()`)
    return {
      name: this.name,
      prepare: (degraded: ImagePixels) => this.features(degraded),
      distance: (a, b) => mean(this.compare(a, b)),
      bytes: perceptualFeaturesBytes,
    }
  }
}

/** Images [start, end) without copying pixels when possible. */
const sliceImages = (x: Images, start: number, end: number): Images => {
  const [n, h, w, c] = imagesShape(x)
  if (start === 0 && end === n) return x
  if (x instanceof tf.Tensor) return tf.slice(x, [start, 0, 0, 0], [end - start, h, w, c])
  const size = h * w * c
  return { pixels: x.pixels.subarray(start * size, end * size), shape: [end - start, h, w, c] }
}
