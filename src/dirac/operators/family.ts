import type * as tf from "@tensorflow/tfjs-core"

export type FamilyKind = "gaussian-blur" | "inpaint-gaussian" | "inpaint-box"

/** JSON form of a family: enough to rebuild it with `familyFromDescription`. */
export type FamilyDescription =
  | { readonly kind: "gaussian-blur"; readonly stdMin: number; readonly stdMax: number; readonly kernelSize: number }
  | {
      readonly kind: "inpaint-gaussian"
      readonly widthMin: number
      readonly widthMax: number
      readonly power: number
      /** null: untruncated. */
      readonly truncate: number | null
    }
  | { readonly kind: "inpaint-box"; readonly boxSize: number }

/**
 * A family of linear degradations A_s : R^{B x H x W x 3} -> R^{B x H x W x 3}
 * indexed by a severity s (blur std, mask width, box side, in pixels).
 * Tensors are NHWC float32; A_s acts on each image and channel alike.
 */
export interface DegradationFamily {
  readonly kind: FamilyKind
  readonly linear: true
  /** What the severity measures, e.g. "blur std (px)". */
  readonly severityLabel: string
  /** [s at t = 0, s at t = 1] of the unscheduled (linear) process. */
  readonly severityRange: readonly [number, number]
  /**
   * The official operator returns x unchanged at t = 0, whatever s(0) is
   * (inpainting: M_0 = 1). False for blur, whose A_0 is the std-0.3 blur.
   */
  readonly identityAtT0: boolean
  /** y = A_s x. Differentiable with respect to x through tfjs. */
  apply(x: tf.Tensor4D, severity: number): tf.Tensor4D
  /** x = A_s^T y, the exact adjoint: <A_s x, y> = <x, A_s^T y>. */
  adjoint(y: tf.Tensor4D, severity: number): tf.Tensor4D
  describe(): FamilyDescription
}

export const checkSeverity = (severity: number): void => {
  if (!(severity >= 0 && Number.isFinite(severity))) throw new RangeError(`severity must be finite and >= 0, got ${severity}`)
}

export const checkImages = (x: tf.Tensor): void => {
  if (x.rank !== 4) throw new RangeError(`expected NHWC images [batch, height, width, channels], got shape [${x.shape}]`)
}
