import { open } from "node:fs/promises"
import type { RawTensor } from "./safetensors.js"
import { TorchZip } from "./torch-zip.js"
import { StorageType, TensorRef, Tuple, toPlain, unpickle, type StorageRef, type TorchDtype } from "./unpickle.js"
import { limitMessage, unpickleLimits } from "./unpickle-limits.js"

/**
 * Reads `torch.save` checkpoints (the zip format, torch >= 1.6; Lightning `.ckpt` files) with no Python: the
 * pickle is interpreted by {@link unpickle} (allow-listed globals only, nothing executed), and only the storages
 * of the tensors asked for are read, straight from their `data/<key>` records into typed arrays. Optimizer
 * state, callbacks and other modules are never loaded.
 */

export interface TorchCheckpointOptions {
  /** Which state_dict keys to read (default: all). For a Lightning file, e.g. `(k) => k.startsWith("denoiser_fn.")`. */
  readonly keep?: (key: string) => boolean
}

export interface TorchCheckpoint {
  /** The kept tensors: floating types as float32 (float16/bfloat16/float64 converted), integers as int32, bool. */
  readonly tensors: Record<string, RawTensor>
  /** Lightning's `hyper_parameters`, as plain JSON-like values. */
  readonly hyperParameters?: Record<string, unknown>
}

const ELEMENT_SIZE: Record<TorchDtype, number> = {
  float32: 4,
  float64: 8,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
}

const LEGACY_MAGIC = Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19])

const sniff = async (path: string): Promise<void> => {
  const file = await open(path, "r")
  try {
    const head = Buffer.alloc(512)
    const { bytesRead } = await file.read(head, 0, 512, 0)
    if (bytesRead >= 4 && head.readUInt32LE(0) === 0x04034b50) return
    if (bytesRead >= LEGACY_MAGIC.length && head.subarray(0, LEGACY_MAGIC.length).equals(LEGACY_MAGIC)) {
      throw new Error(
        `${path} is a legacy (pre-zip) torch checkpoint, written by torch < 1.6 or with _use_new_zipfile_serialization=False; ` +
          `it is not supported. Re-save it in Python: torch.save(torch.load(path, weights_only=True), new_path)`,
      )
    }
    if (bytesRead >= 262 && head.toString("latin1", 257, 262) === "ustar") {
      throw new Error(`${path} is a tar-format torch checkpoint (torch < 0.4), which is not supported; re-save it with a recent torch`)
    }
    throw new Error(`${path} is not a torch checkpoint (expected a zip archive written by torch.save)`)
  } finally {
    await file.close()
  }
}

/** A DiracDiffusion/Lightning checkpoint opened lazily: the pickle is parsed, no tensor data has been read. */
export class OpenedCheckpoint {
  private constructor(
    readonly path: string,
    private readonly zip: TorchZip,
    private readonly prefix: string,
    private readonly bigEndian: boolean,
    /** The unpickled object (Maps, arrays, {@link TensorRef}s). */
    readonly root: unknown,
  ) {}

  static async open(path: string): Promise<OpenedCheckpoint> {
    await sniff(path)
    const zip = await TorchZip.open(path)
    try {
      const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n))
      if (!pkl) throw new Error(`${path}: a zip archive without data.pkl, so not a torch.save checkpoint`)
      const prefix = pkl.slice(0, -"data.pkl".length)
      if (zip.entries.has(`${prefix}constants.pkl`) || [...zip.entries.keys()].some((n) => n.startsWith(`${prefix}code/`))) {
        throw new Error(`${path} is a TorchScript archive (torch.jit.save), not a checkpoint; save the state_dict with torch.save instead`)
      }
      const order = zip.entries.has(`${prefix}byteorder`) ? (await zip.read(`${prefix}byteorder`)).toString("latin1").trim() : "little"
      const storages = new Map<string, StorageRef>()
      const persistentLoad = (pid: unknown): StorageRef => {
        if (!(pid instanceof Tuple) || pid.length < 5 || pid[0] !== "storage")
          throw new Error(`${path}: unsupported persistent id (only torch storages are allowed)`)
        const [, type, key, , numel] = pid
        if (!(type instanceof StorageType)) throw new Error(`${path}: a storage whose type is not a torch storage class`)
        if (typeof key !== "string" || !/^\d+$/.test(key)) throw new Error(`${path}: bad storage key ${String(key)}`)
        const known = storages.get(key)
        if (known) return known
        const record = `${prefix}data/${key}`
        if (!zip.entries.has(record)) throw new Error(`${path}: storage record '${record}' is missing`)
        const n = typeof numel === "bigint" ? Number(numel) : (numel as number)
        const bytes = zip.entries.get(record)!.size
        if (!Number.isInteger(n) || n * ELEMENT_SIZE[type.dtype] !== bytes) {
          throw new Error(`${path}: storage ${key} declares ${String(numel)} ${type.dtype} elements but its record holds ${bytes} bytes`)
        }
        const ref: StorageRef = { key, dtype: type.dtype, numel: n }
        storages.set(key, ref)
        return ref
      }
      const pickleBytes = zip.entries.get(pkl)!.size
      if (pickleBytes > unpickleLimits.pickleBytes)
        throw new Error(`${path}: ${pkl} is ${pickleBytes} bytes; ${limitMessage("pickleBytes", "bytes of pickle")}`)
      const root = unpickle(await zip.read(pkl, unpickleLimits.pickleBytes), { persistentLoad, source: path })
      return new OpenedCheckpoint(path, zip, prefix, order === "big", root)
    } catch (error) {
      await zip.close()
      throw error
    }
  }

  async close(): Promise<void> {
    await this.zip.close()
  }

  private get(key: string): unknown {
    return this.root instanceof Map ? this.root.get(key) : undefined
  }

  /** Lightning's `state_dict`, or the root itself when it is a plain dict of tensors. */
  get stateDict(): Map<string, TensorRef> {
    const sd = this.get("state_dict")
    const source = sd instanceof Map ? sd : this.root instanceof Map ? this.root : new Map()
    const out = new Map<string, TensorRef>()
    for (const [k, v] of source) if (typeof k === "string" && v instanceof TensorRef) out.set(k, v)
    return out
  }

  get hyperParameters(): Record<string, unknown> | undefined {
    const hp = this.get("hyper_parameters")
    return hp instanceof Map ? (toPlain(hp) as Record<string, unknown>) : undefined
  }

  /** The EMA weights of DiracDiffusion's EMA callback (`optimizer_states[0].ema`, a list of Parameters), if any. */
  get emaList(): TensorRef[] | undefined {
    const states = this.get("optimizer_states")
    const first = Array.isArray(states) ? states[0] : undefined
    const ema = first instanceof Map ? first.get("ema") : undefined
    return Array.isArray(ema) && ema.every((t) => t instanceof TensorRef) ? (ema as TensorRef[]) : undefined
  }

  /** Reads one tensor's values (only the part of its storage it covers). */
  async readTensor(ref: TensorRef, name = "tensor"): Promise<RawTensor> {
    const es = ELEMENT_SIZE[ref.dtype]
    if (es !== ELEMENT_SIZE[ref.storage.dtype] && ref.storage.dtype !== "uint8") {
      throw new Error(`${this.path}: ${name} is ${ref.dtype} over a ${ref.storage.dtype} storage`)
    }
    const storageNumel = ref.storage.dtype === "uint8" ? ref.storage.numel / es : ref.storage.numel
    const numel = ref.shape.reduce((a, b) => a * b, 1)
    const outDtype: RawTensor["dtype"] =
      ref.dtype === "bool" ? "bool" : ref.dtype.startsWith("int") || ref.dtype === "uint8" ? "int32" : "float32"
    const out = outDtype === "float32" ? new Float32Array(numel) : outDtype === "int32" ? new Int32Array(numel) : new Uint8Array(numel)
    if (numel === 0) return { dtype: outDtype, shape: [...ref.shape], data: out }
    let lo = ref.offset
    let hi = ref.offset
    for (let d = 0; d < ref.shape.length; d++) {
      const span = (ref.shape[d] - 1) * ref.stride[d]
      if (span < 0) lo += span
      else hi += span
    }
    if (lo < 0 || hi >= storageNumel) {
      throw new Error(
        `${this.path}: ${name} (offset ${ref.offset}, shape [${ref.shape}], stride [${ref.stride}]) reaches outside its storage of ${storageNumel} elements`,
      )
    }
    const bytes = new Uint8Array((hi - lo + 1) * es)
    await this.zip.readInto(`${this.prefix}data/${ref.storage.key}`, bytes, lo * es)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const read = elementReader(ref.dtype, view, !this.bigEndian)
    // Element index of each output position, in C order.
    let contiguous = true
    for (let d = ref.shape.length - 1, expect = 1; d >= 0; d--) {
      if (ref.shape[d] !== 1 && ref.stride[d] !== expect) contiguous = false
      expect *= ref.shape[d]
    }
    if (contiguous) {
      const base = ref.offset - lo
      for (let i = 0; i < numel; i++) out[i] = read(base + i)
    } else {
      const index = new Array<number>(ref.shape.length).fill(0)
      let at = ref.offset - lo
      for (let i = 0; i < numel; i++) {
        out[i] = read(at)
        for (let d = ref.shape.length - 1; d >= 0; d--) {
          index[d]++
          at += ref.stride[d]
          if (index[d] < ref.shape[d]) break
          at -= ref.stride[d] * ref.shape[d]
          index[d] = 0
        }
      }
    }
    return { dtype: outDtype, shape: [...ref.shape], data: out }
  }
}

const halfToFloat = (h: number): number => {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >> 10) & 0x1f
  const frac = h & 0x3ff
  if (exp === 0) return sign * frac * 2 ** -24
  if (exp === 0x1f) return frac ? NaN : sign * Infinity
  return sign * (1 + frac / 1024) * 2 ** (exp - 15)
}

const bf16 = new Float32Array(1)
const bf16Bits = new Uint32Array(bf16.buffer)

const elementReader = (dtype: TorchDtype, v: DataView, le: boolean): ((i: number) => number) => {
  switch (dtype) {
    case "float32":
      return (i) => v.getFloat32(i * 4, le)
    case "float64":
      return (i) => v.getFloat64(i * 8, le)
    case "float16":
      return (i) => halfToFloat(v.getUint16(i * 2, le))
    case "bfloat16":
      return (i) => {
        bf16Bits[0] = v.getUint16(i * 2, le) << 16
        return bf16[0]
      }
    case "int64":
      return (i) => {
        const x = v.getBigInt64(i * 8, le)
        if (x < -2147483648n || x > 2147483647n) throw new Error(`an int64 value ${x} does not fit in int32`)
        return Number(x)
      }
    case "int32":
      return (i) => v.getInt32(i * 4, le)
    case "int16":
      return (i) => v.getInt16(i * 2, le)
    case "int8":
      return (i) => v.getInt8(i)
    case "uint8":
    case "bool":
      return (i) => v.getUint8(i)
  }
}

/** Reads the kept tensors of a checkpoint's state_dict (Lightning) or top-level dict, and its hyper-parameters. */
export const readTorchCheckpoint = async (path: string, options: TorchCheckpointOptions = {}): Promise<TorchCheckpoint> => {
  const ckpt = await OpenedCheckpoint.open(path)
  try {
    const tensors: Record<string, RawTensor> = {}
    for (const [key, ref] of ckpt.stateDict) {
      if (options.keep && !options.keep(key)) continue
      try {
        tensors[key] = await ckpt.readTensor(ref, key)
      } catch (error) {
        throw new Error(`${path}: ${key}: ${(error as Error).message.replace(`${path}: `, "")}`, { cause: error })
      }
    }
    const hyperParameters = ckpt.hyperParameters
    return hyperParameters ? { tensors, hyperParameters } : { tensors }
  } finally {
    await ckpt.close()
  }
}
