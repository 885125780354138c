/**
 * The score network Phi_theta(y, sigma) of DiracDiffusion: EDM's SongUNet
 * (NCSN++ configuration) over tfjs, NHWC, with residual prediction.
 *
 *   const net = createUNet("small-64", { seed: 1 })
 *   const x0 = forward(net, y, sigma)                       // eval
 *   optimizer.minimize(() => loss(forward(net, y, sigma, { training: true })), false, [...net.trainableVariables])
 *   await saveWeights(net, "net.safetensors")             // official names / PyTorch layouts
 */
export { UNET_PRESETS, isUNetPresetName, resolveUNetArgs, validateUNetArgs, type UNetArgs, type UNetPresetName } from "./config.js"
export {
  buildArch,
  countParameters,
  stateDictShapes,
  stateDictSize,
  groupCount,
  type BlockSpec,
  type BufferSpec,
  type ConvSpec,
  type DecoderStep,
  type EncoderStep,
  type InitSpec,
  type LinearSpec,
  type NormSpec,
  type ParamRole,
  type ParamSpec,
  type UNetArch,
} from "./arch.js"
export {
  SongUNet,
  createUNet,
  embedSigma,
  forward,
  initialValues,
  songUNetRaw,
  type CreateUNetOptions,
  type ForwardOptions,
  type UNetParams,
} from "./unet.js"
export {
  MODEL_METADATA_KEY,
  UNET_ARGS_METADATA_KEY,
  WeightsMismatchError,
  fromTorchLayout,
  loadStateDict,
  loadWeights,
  loadWeightsInto,
  saveWeights,
  stateDict,
  toTorchLayout,
  unetArgsFromMetadata,
  type LoadStateDictOptions,
  type LoadWeightsOptions,
  type Mismatch,
} from "./weights.js"
export { modelTensors, networkFromModelTensors } from "./model-tensors.js"

import { buildArch, countParameters } from "./arch.js"
import { resolveUNetArgs, type UNetArgs, type UNetPresetName } from "./config.js"

/** Learned-parameter count of a preset or config, computed from shapes only (no allocation). */
export const unetParameterCount = (spec: UNetPresetName | UNetArgs): number => countParameters(buildArch(resolveUNetArgs(spec)))
