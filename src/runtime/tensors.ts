import type * as tfc from "@tensorflow/tfjs-core"
import type { RawTensor } from "../dirac/io/safetensors.js"
import type { PortValue } from "../nodes/contract.js"
import type { StoredValue } from "./ArtifactStore.js"

/** Copies a port value's tensors off the backend for storage. Integers other than int32 are not produced. */
export const toStored = async (value: PortValue): Promise<StoredValue> => {
  const tensors: Record<string, RawTensor> = {}
  for (const [name, tensor] of Object.entries(value.tensors)) {
    const data = await tensor.data()
    const dtype = tensor.dtype === "bool" ? "bool" : tensor.dtype === "int32" ? "int32" : "float32"
    if (tensor.dtype !== dtype) throw new Error(`tensor '${name}' has dtype ${tensor.dtype}, which cannot be stored`)
    tensors[name] = { dtype, shape: tensor.shape, data: data as RawTensor["data"] }
  }
  return { meta: value.meta, tensors }
}

export const toPortValue = (tf: typeof tfc, stored: StoredValue): PortValue => ({
  meta: stored.meta,
  tensors: Object.fromEntries(Object.entries(stored.tensors).map(([name, raw]) => [name, tf.tensor(raw.data, [...raw.shape], raw.dtype)])),
})

export const disposeValue = (value: PortValue): void => {
  for (const tensor of Object.values(value.tensors)) tensor.dispose()
}
