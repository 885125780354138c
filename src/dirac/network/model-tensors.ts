/**
 * A network's weights as named tensors under the official names and PyTorch layouts, with EMA weights (when
 * given) as `ema.*` beside the raw ones, and the network rebuilt from them.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { RawTensor } from "../io/safetensors.js"
import type { UNetArgs } from "./config.js"
import { createUNet, type SongUNet } from "./unet.js"
import { loadStateDict, stateDict } from "./weights.js"

export const modelTensors = async (net: SongUNet, ema?: Readonly<Record<string, tf.Tensor>>): Promise<Record<string, tf.Tensor>> => {
  const tensors: Record<string, tf.Tensor> = {}
  const add = async (prefix: string) => {
    for (const [name, raw] of Object.entries(await stateDict(net)))
      tensors[`${prefix}${name}`] = tf.tensor(raw.data, [...raw.shape], "float32")
  }
  await add("")
  if (ema) {
    const trained = Object.fromEntries(Object.entries(ema).map(([name]) => [name, net.params[name].clone()]))
    for (const [name, shadow] of Object.entries(ema)) net.params[name].assign(shadow)
    await add("ema.")
    for (const [name, value] of Object.entries(trained)) {
      net.params[name].assign(value)
      value.dispose()
    }
  }
  return tensors
}

/** The network of a model's tensors, with the raw weights or the EMA ones (`ema.*`). */
export const networkFromModelTensors = (
  args: UNetArgs,
  tensors: Readonly<Record<string, RawTensor>>,
  ema: boolean,
  source?: string,
): SongUNet => {
  const net = createUNet(args)
  try {
    const own = ema ? tensors : Object.fromEntries(Object.entries(tensors).filter(([name]) => !name.startsWith("ema.")))
    loadStateDict(net, own, { ...(source !== undefined ? { source } : {}), ...(ema ? { prefix: "ema." } : {}) })
    return net
  } catch (error) {
    net.dispose()
    throw error
  }
}
