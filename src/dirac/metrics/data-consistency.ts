import * as tf from "@tensorflow/tfjs-core"
import type { DegradationProcess } from "../operators/process.js"

/** (y~ - A_1(x^0))^2, the squared residual of an estimate x^0 against the measurements y~. */
const squaredResidual = (measurements: tf.Tensor4D, process: DegradationProcess, x0: tf.Tensor4D) =>
  tf.square(tf.sub(measurements, process.A(x0, 1)))

/** eps_dc = mean((y~ - A_1(x^0))^2) per image: near sigma_1^2 when x^0 is consistent with the measurement. */
export const dataConsistencyError = (measurements: tf.Tensor4D, process: DegradationProcess, x0: tf.Tensor4D): tf.Tensor1D =>
  tf.mean(squaredResidual(measurements, process, x0), [1, 2, 3])

/** ||y~ - A_1(x^0)||^2 per image: the loss that guidance takes the gradient of. */
export const dataConsistencyLoss = (measurements: tf.Tensor4D, process: DegradationProcess, x0: tf.Tensor4D): tf.Tensor1D =>
  tf.sum(squaredResidual(measurements, process, x0), [1, 2, 3])
