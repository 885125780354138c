import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { readSafetensors, writeSafetensors, type RawTensor } from "../dirac/io/safetensors.js"
import type { Json } from "../nodes/contract.js"

/** A port value on disk: JSON metadata and raw tensors. */
export interface StoredValue {
  readonly meta: Json
  readonly tensors: Readonly<Record<string, RawTensor>>
}

const metaKey = "pipe.meta"

export const hashFile = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash("sha256")
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")))
  })

export const writeValue = async (path: string, value: StoredValue) => {
  await writeSafetensors(path, value.tensors, { [metaKey]: JSON.stringify(value.meta) })
}

export const readValue = async (path: string): Promise<StoredValue> => {
  const { metadata, tensors } = await readSafetensors(path)
  return { meta: JSON.parse(metadata[metaKey] ?? "null") as Json, tensors }
}
