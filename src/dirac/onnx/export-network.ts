import { stateDict, type SongUNet } from "../network/index.js"
import { exportUNetOnnx } from "./export-unet.js"

/** The bytes of an ONNX model of `net` (its current weights). */
export const exportNetworkOnnx = async (net: SongUNet, metadata: Readonly<Record<string, string>> = {}): Promise<Uint8Array> => {
  const weights = await stateDict(net)
  return exportUNetOnnx(
    net.arch,
    (name) => {
      const t = weights[name]
      if (t === undefined || !(t.data instanceof Float32Array)) throw new Error(`ONNX export: no float32 weight '${name}'`)
      return t.data
    },
    { metadata },
  )
}
