/**
 * Writes the `data.pkl` of a `torch.save` archive (pickle protocol 2, the opcodes torch itself emits) for
 * benchmarks and tests that need checkpoints too large to make with PyTorch. Values: null, boolean, number (an
 * integer unless wrapped in {@link PyFloat}), bigint, string, arrays (lists), {@link PyTuple}, Map or plain
 * objects (dicts), {@link PyOrderedDict}, and {@link TensorSpec} (float32 tensors over numbered storages).
 * Storages are keyed "0", "1", ... in order of first use, as torch does; `storages` lists them afterwards.
 */

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

export class PyFloat {
  constructor(readonly value: number) {}
}

export class PyOrderedDict {
  constructor(readonly entries: ReadonlyArray<readonly [PyValue, PyValue]>) {}
}

/** A float32 storage of `numel` elements; the same object used twice is one storage (views, tied weights). */
export class StorageSpec {
  constructor(readonly numel: number) {}
}

/** A float32 tensor: a view of `storage` (offset and strides in elements; C-contiguous strides by default). */
export class TensorSpec {
  readonly stride: readonly number[]
  constructor(
    readonly storage: StorageSpec,
    readonly shape: readonly number[],
    readonly offset = 0,
    stride?: readonly number[],
  ) {
    this.stride = stride ?? shape.map((_, d) => shape.slice(d + 1).reduce((a, b) => a * b, 1))
  }
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyTuple
  | PyOrderedDict
  | TensorSpec
  | ReadonlyArray<PyValue>
  | ReadonlyMap<PyValue, PyValue>
  | { readonly [key: string]: PyValue }

export interface PickledCheckpoint {
  readonly pickle: Buffer
  /** The storages in key order: `storages[k]` is record `data/k`. */
  readonly storages: readonly StorageSpec[]
}

const op = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  NONE: 0x4e,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  EMPTY_TUPLE: 0x29,
  TUPLE: 0x74,
  EMPTY_LIST: 0x5d,
  APPENDS: 0x65,
  EMPTY_DICT: 0x7d,
  SETITEMS: 0x75,
  GLOBAL: 0x63,
  REDUCE: 0x52,
  BINPERSID: 0x51,
} as const

class Pickler {
  private readonly chunks: Buffer[] = []
  private readonly keys = new Map<StorageSpec, number>()
  readonly storages: StorageSpec[] = []

  bytes(...b: number[]): void {
    this.chunks.push(Buffer.from(b))
  }

  raw(b: Buffer): void {
    this.chunks.push(b)
  }

  global(module: string, name: string): void {
    this.bytes(op.GLOBAL)
    this.raw(Buffer.from(`${module}\n${name}\n`, "latin1"))
  }

  string(s: string): void {
    const utf8 = Buffer.from(s, "utf8")
    const head = Buffer.alloc(5)
    head[0] = op.BINUNICODE
    head.writeUInt32LE(utf8.length, 1)
    this.raw(Buffer.concat([head, utf8]))
  }

  integer(v: number | bigint): void {
    const n = BigInt(v)
    if (n >= 0n && n < 256n) return this.bytes(op.BININT1, Number(n))
    if (n >= 0n && n < 65536n) return this.bytes(op.BININT2, Number(n) & 0xff, Number(n) >> 8)
    if (n >= -(2n ** 31n) && n < 2n ** 31n) {
      const b = Buffer.alloc(5)
      b[0] = op.BININT
      b.writeInt32LE(Number(n), 1)
      return this.raw(b)
    }
    // LONG1: little-endian two's complement, as short as it can be.
    const out: number[] = []
    let x = n
    for (;;) {
      const byte = Number(x & 0xffn)
      out.push(byte)
      x >>= 8n
      if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break
    }
    this.bytes(op.LONG1, out.length, ...out)
  }

  tuple(items: readonly PyValue[]): void {
    if (items.length === 0) return this.bytes(op.EMPTY_TUPLE)
    this.bytes(op.MARK)
    for (const x of items) this.value(x)
    this.bytes(op.TUPLE)
  }

  dictItems(entries: Iterable<readonly [PyValue, PyValue]>): void {
    const list = [...entries]
    if (list.length === 0) return
    this.bytes(op.MARK)
    for (const [k, v] of list) {
      this.value(k)
      this.value(v)
    }
    this.bytes(op.SETITEMS)
  }

  tensor(t: TensorSpec): void {
    let key = this.keys.get(t.storage)
    if (key === undefined) {
      key = this.storages.length
      this.keys.set(t.storage, key)
      this.storages.push(t.storage)
    }
    this.global("torch._utils", "_rebuild_tensor_v2")
    this.bytes(op.MARK)
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    this.bytes(op.MARK)
    this.string("storage")
    this.global("torch", "FloatStorage")
    this.string(String(key))
    this.string("cpu")
    this.integer(t.storage.numel)
    this.bytes(op.TUPLE, op.BINPERSID)
    this.integer(t.offset)
    this.tuple(t.shape)
    this.tuple(t.stride)
    this.bytes(op.NEWFALSE)
    this.global("collections", "OrderedDict")
    this.bytes(op.EMPTY_TUPLE, op.REDUCE) // backward hooks
    this.bytes(op.TUPLE, op.REDUCE)
  }

  value(v: PyValue): void {
    if (v === null) return this.bytes(op.NONE)
    if (typeof v === "boolean") return this.bytes(v ? op.NEWTRUE : op.NEWFALSE)
    if (typeof v === "bigint") return this.integer(v)
    if (typeof v === "number") {
      if (!Number.isInteger(v)) return this.value(new PyFloat(v))
      return this.integer(v)
    }
    if (typeof v === "string") return this.string(v)
    if (v instanceof PyFloat) {
      const b = Buffer.alloc(9)
      b[0] = op.BINFLOAT
      b.writeDoubleBE(v.value, 1)
      return this.raw(b)
    }
    if (v instanceof PyTuple) return this.tuple(v.items)
    if (v instanceof TensorSpec) return this.tensor(v)
    if (v instanceof PyOrderedDict) {
      this.global("collections", "OrderedDict")
      this.bytes(op.EMPTY_TUPLE, op.REDUCE)
      return this.dictItems(v.entries)
    }
    if (Array.isArray(v)) {
      this.bytes(op.EMPTY_LIST)
      if (v.length === 0) return
      this.bytes(op.MARK)
      for (const x of v as PyValue[]) this.value(x)
      return this.bytes(op.APPENDS)
    }
    this.bytes(op.EMPTY_DICT)
    this.dictItems(v instanceof Map ? v : Object.entries(v))
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

/** Pickles `root` the way torch.save does (protocol 2, storages as persistent ids). */
export const pickleCheckpoint = (root: PyValue): PickledCheckpoint => {
  const p = new Pickler()
  p.bytes(op.PROTO, 2)
  p.value(root)
  p.bytes(op.STOP)
  return { pickle: p.finish(), storages: p.storages }
}
