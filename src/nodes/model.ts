import * as tf from "@tensorflow/tfjs-core"
import { Effect } from "effect"
import type { RawTensor } from "../dirac/io/safetensors.js"
import { createUNet, loadStateDict, stateDict, type SongUNet, type UNetArgs } from "../dirac/network/index.js"
import type { Json, PortValue } from "./contract.js"
import { failure } from "./values.js"

export interface ModelMeta {
  readonly args: UNetArgs
  readonly ema: boolean
  readonly [key: string]: Json | UNetArgs | boolean
}

/** The model port: the architecture and the weights under the official names and PyTorch layouts (EMA as `ema.*`). */
export const modelValue = async (
  net: SongUNet,
  meta: Record<string, Json>,
  ema?: Readonly<Record<string, tf.Tensor>>,
): Promise<PortValue> => {
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
  return { meta: { ...meta, args: net.args as unknown as Json, ema: ema !== undefined }, tensors }
}

/** The network of a model's tensors (official names; the EMA weights under `ema.*`), raw or EMA. */
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

/** Rebuilds the network of a model port, with its EMA weights when asked for and present. */
export const openModel = (value: PortValue, weights: "ema" | "raw") =>
  Effect.tryPromise({
    try: async () => {
      const meta = value.meta as unknown as ModelMeta
      const raw: Record<string, RawTensor> = {}
      for (const [name, t] of Object.entries(value.tensors))
        raw[name] = { dtype: "float32", shape: t.shape, data: (await t.data()) as Float32Array }
      return networkFromModelTensors(meta.args, raw, weights === "ema" && meta.ema)
    },
    catch: failure,
  })

export const modelResolution = (value: PortValue): number => (value.meta as unknown as ModelMeta).args.img_resolution
