import * as tf from "@tensorflow/tfjs-core"
import { BoundedCache } from "./bounded-cache.js"
import { checkImages, checkSeverity, type DegradationFamily, type FamilyDescription, type FamilyKind } from "./family.js"

/**
 * Families of pixel masks: A_s x = M_s (.) x, with M_s an H x W mask in [0, 1]
 * broadcast over the batch and the channels. Diagonal, hence self-adjoint:
 * A_s^T = A_s.
 */
export interface MaskFamilySpec {
  readonly kind: FamilyKind
  readonly severityLabel: string
  readonly severityRange: readonly [number, number]
  readonly description: FamilyDescription
  /** Row-major H x W mask for severity s. */
  readonly mask: (height: number, width: number, severity: number) => Float32Array
}

export const maskFamily = (spec: MaskFamilySpec): DegradationFamily => {
  const cache = new BoundedCache<string, Float32Array>(32)
  const apply = (x: tf.Tensor4D, severity: number): tf.Tensor4D => {
    checkImages(x)
    checkSeverity(severity)
    const [, h, w] = x.shape
    const mask = cache.getOrCreate(`${h}|${w}|${severity}`, () => spec.mask(h, w, severity))
    return tf.tidy(() => tf.mul(x, tf.tensor4d(mask, [1, h, w, 1])))
  }
  return {
    kind: spec.kind,
    linear: true,
    severityLabel: spec.severityLabel,
    severityRange: spec.severityRange,
    identityAtT0: true,
    apply,
    adjoint: apply,
    describe: () => spec.description,
  }
}
