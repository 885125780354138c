/**
 * A Python pickle interpreter (protocols 2-5, the opcodes `torch.save` emits) that never executes anything.
 * Python values become: None -> null, bool -> boolean, int -> number (bigint beyond +-2^53), float -> number,
 * str -> string, bytes -> Uint8Array, list -> Array, tuple -> {@link Tuple}, dict/OrderedDict -> Map (keys
 * may be ints), set -> Set. Globals are resolved only through a fixed allow-list of pure TS functions (the
 * torch tensor/storage rebuilders, OrderedDict, a few builtins); any other global is a {@link ForbiddenGlobal}
 * error that names it. Tensors become lazy {@link TensorRef}s: no storage is read here.
 */

import { checkExpansion, limitMessage, unpickleLimits, type UnpickleLimit } from "./unpickle-limits.js"

export class Tuple<T = unknown> extends Array<T> {}

const tuple = (items: readonly unknown[]): Tuple => {
  const t = new Tuple()
  for (const x of items) t.push(x)
  return t
}

export type TorchDtype = "float32" | "float64" | "float16" | "bfloat16" | "int64" | "int32" | "int16" | "int8" | "uint8" | "bool"

/** `torch.FloatStorage` and friends: the element type of a storage named in a persistent id. */
export class StorageType {
  constructor(
    readonly name: string,
    readonly dtype: TorchDtype,
  ) {}
}

/** `torch.float32` and friends (used by `_rebuild_tensor_v3`). */
export class DtypeMarker {
  constructor(readonly dtype: TorchDtype) {}
}

/** A storage record, as the persistent-id resolver returns it. */
export interface StorageRef {
  readonly key: string
  readonly dtype: TorchDtype
  /** Elements in the storage (not in the tensor). */
  readonly numel: number
}

/** A tensor as the pickle describes it: a view (offset and strides in elements) of a storage. */
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
    readonly dtype: TorchDtype,
  ) {}
}

/** A global outside the allow-list: reported by name; nothing was imported or executed. */
export class ForbiddenGlobal extends Error {
  constructor(
    readonly global: string,
    source = "pickle",
  ) {
    super(
      `${source} refers to the Python global '${global}', which is not allowed in a weights checkpoint; ` +
        `nothing was executed (pipe only interprets the pickle). Re-save the checkpoint with plain tensors and dicts, ` +
        `or load it in Python with torch.load(..., weights_only=True) to see why it needs '${global}'.`,
    )
    this.name = "ForbiddenGlobal"
  }
}

/** A value of an allow-listed global: callable by REDUCE (and NEWOBJ). */
class AllowedGlobal {
  constructor(
    readonly qualified: string,
    readonly call: (args: readonly unknown[]) => unknown,
  ) {}
}

const STORAGES: Record<string, TorchDtype> = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
}

const DTYPES: Record<string, TorchDtype> = {
  float32: "float32",
  float: "float32",
  float64: "float64",
  double: "float64",
  float16: "float16",
  half: "float16",
  bfloat16: "bfloat16",
  int64: "int64",
  long: "int64",
  int32: "int32",
  int: "int32",
  int16: "int16",
  short: "int16",
  int8: "int8",
  uint8: "uint8",
  bool: "bool",
}

const asInt = (v: unknown, what: string): number => {
  if (typeof v === "number" && Number.isInteger(v)) return v
  if (typeof v === "bigint" && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v)
  throw new Error(`pickle: ${what} is not an integer`)
}

const intList = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v)) throw new Error(`pickle: ${what} is not a tuple`)
  return v.map((x, i) => asInt(x, `${what}[${i}]`))
}

const rebuildTensor = (storage: unknown, offset: unknown, size: unknown, stride: unknown, dtype?: unknown): TensorRef => {
  if (typeof storage !== "object" || storage === null || !("key" in storage))
    throw new Error("pickle: a tensor's storage is not a storage record")
  const s = storage as StorageRef
  const shape = intList(size, "tensor size")
  const strides = intList(stride, "tensor stride")
  if (strides.length !== shape.length) throw new Error("pickle: tensor size and stride differ in length")
  const d = dtype instanceof DtypeMarker ? dtype.dtype : s.dtype
  return new TensorRef(s, asInt(offset, "storage offset"), shape, strides, d)
}

/** The allow-list: the globals a weights checkpoint (torch.save of a Lightning dict) uses, as pure functions. */
const resolveGlobal = (module: string, name: string, source: string): unknown => {
  const mod = module === "__builtin__" ? "builtins" : module === "copy_reg" ? "copyreg" : module
  const q = `${mod}.${name}`
  const fn = (call: (args: readonly unknown[]) => unknown) => new AllowedGlobal(q, call)
  switch (q) {
    case "collections.OrderedDict":
      return fn((args) =>
        args.length === 0 ? new Map() : new Map(args[0] instanceof Map ? args[0] : (args[0] as Iterable<[unknown, unknown]>)),
      )
    case "torch._utils._rebuild_tensor":
      return fn((a) => rebuildTensor(a[0], a[1], a[2], a[3]))
    case "torch._utils._rebuild_tensor_v2":
      return fn((a) => rebuildTensor(a[0], a[1], a[2], a[3]))
    case "torch._utils._rebuild_tensor_v3":
      return fn((a) => rebuildTensor(a[0], a[1], a[2], a[3], a[6]))
    case "torch._utils._rebuild_parameter":
    case "torch._utils._rebuild_parameter_with_state":
      return fn((a) => a[0])
    case "torch._tensor._rebuild_from_type_v2":
      return fn((a) => {
        if (!(a[0] instanceof AllowedGlobal)) throw new Error("pickle: _rebuild_from_type_v2 with a function outside the allow-list")
        return a[0].call((a[2] as unknown[]) ?? [])
      })
    case "torch.Tensor":
    case "torch.nn.parameter.Parameter":
      return fn((a) => a[0])
    case "torch.Size":
      return fn((a) => tuple(intList(a[0], "torch.Size")))
    case "torch.device":
      return fn((a) => String(a[0]) + (a.length > 1 ? `:${String(a[1])}` : ""))
    case "torch.storage.UntypedStorage":
      return new StorageType(q, "uint8")
    case "_codecs.encode":
      return fn((a) => {
        const encoding = String(a[1] ?? "utf-8").toLowerCase()
        if (encoding !== "latin1" && encoding !== "latin-1") throw new Error(`pickle: _codecs.encode with encoding '${encoding}'`)
        return new Uint8Array(Buffer.from(String(a[0]), "latin1"))
      })
    case "builtins.set":
      return fn((a) => new Set((a[0] as Iterable<unknown>) ?? []))
    case "builtins.frozenset":
      return fn((a) => new Set((a[0] as Iterable<unknown>) ?? []))
    case "builtins.bytearray":
      return fn((a) => (a[0] instanceof Uint8Array ? a[0] : new Uint8Array(0)))
    default:
      break
  }
  if (mod === "torch" || mod === "torch.cuda") {
    const storage = STORAGES[name]
    if (storage) return new StorageType(q, storage)
    if (mod === "torch" && DTYPES[name] && name === name.toLowerCase()) return new DtypeMarker(DTYPES[name])
  }
  throw new ForbiddenGlobal(q, source)
}

export interface UnpickleOptions {
  /** BINPERSID: turns a persistent id (torch: the `('storage', type, key, location, numel)` tuple) into a value. */
  readonly persistentLoad?: (pid: unknown) => unknown
  /** Named in errors (e.g. the checkpoint path). */
  readonly source?: string
}

/** Interprets one pickle; returns the value STOP leaves, and where it stopped. */
export const unpickle = (bytes: Uint8Array, options: UnpickleOptions = {}): unknown => unpickleAt(bytes, 0, options).value

export const unpickleAt = (bytes: Uint8Array, start: number, options: UnpickleOptions = {}): { value: unknown; end: number } => {
  const source = options.source ?? "pickle"
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const decoder = new TextDecoder("utf-8", { fatal: false })
  const fail = (message: string): never => {
    throw new Error(`${source}: ${message}`)
  }
  let pos = start
  let stack: unknown[] = []
  const metastack: unknown[][] = []
  const memo = new Map<number, unknown>()
  const need = (n: number) => {
    if (pos + n > buf.length) fail(`truncated pickle (needs ${n} bytes at ${pos})`)
  }
  const u8 = () => (need(1), buf[pos++])
  const u16 = () => (need(2), (pos += 2), buf.readUInt16LE(pos - 2))
  const u32 = () => (need(4), (pos += 4), buf.readUInt32LE(pos - 4))
  const u64 = () => {
    need(8)
    const v = buf.readBigUInt64LE(pos)
    pos += 8
    if (v > BigInt(buf.length)) fail(`length ${v} exceeds the pickle`)
    return Number(v)
  }
  const take = (n: number) => {
    need(n)
    pos += n
    return buf.subarray(pos - n, pos)
  }
  const line = () => {
    const end = buf.indexOf(0x0a, pos)
    if (end < 0) fail("unterminated line")
    const s = buf.toString("latin1", pos, end)
    pos = end + 1
    return s
  }
  const failLimit = (limit: UnpickleLimit, what: string): never => fail(limitMessage(limit, what))
  let built = 0
  const push = (v: unknown) => {
    if (++built > unpickleLimits.objects) failLimit("objects", "values built")
    stack.push(v)
  }
  const remember = (i: number, v: unknown) => {
    memo.set(i, v)
    if (memo.size > unpickleLimits.memo) failLimit("memo", "memo entries")
  }
  const pop = () => (stack.length === 0 ? fail("stack underflow") : stack.pop())
  const top = () => (stack.length === 0 ? fail("stack underflow") : stack[stack.length - 1])
  const popMark = (): unknown[] => {
    const items = stack
    const previous = metastack.pop()
    if (previous === undefined) fail("MARK missing")
    stack = previous!
    return items
  }
  const decodeLong = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0
    let v = 0n
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
    if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  // Nesting so far, per container, raised as items go in: deep nesting is refused while it is built (checkExpansion
  // at STOP also covers containers filled after they were nested).
  const depths = new WeakMap<object, number>()
  const nest = <C extends object>(container: C, items: readonly unknown[]): C => {
    let depth = depths.get(container) ?? 1
    for (const x of items) if (typeof x === "object" && x !== null) depth = Math.max(depth, (depths.get(x) ?? 1) + 1)
    if (depth > unpickleLimits.depth) failLimit("depth", "levels of nesting")
    depths.set(container, depth)
    return container
  }
  const setItems = (target: unknown, items: unknown[]) => {
    if (!(target instanceof Map)) fail("SETITEM(S) on a value that is not a dict")
    nest(target as Map<unknown, unknown>, items)
    for (let i = 0; i + 1 < items.length; i += 2) (target as Map<unknown, unknown>).set(items[i], items[i + 1])
  }
  const appendItems = (target: unknown, items: unknown[]) => {
    if (!Array.isArray(target) || target instanceof Tuple) fail("APPEND(S) on a value that is not a list")
    nest(target as unknown[], items)
    for (const x of items) (target as unknown[]).push(x)
  }
  const call = (callable: unknown, args: unknown): unknown => {
    if (!(callable instanceof AllowedGlobal)) fail(`REDUCE on a value that is not an allowed callable (${describe(callable)})`)
    if (!Array.isArray(args)) fail("REDUCE arguments are not a tuple")
    return (callable as AllowedGlobal).call(args as unknown[])
  }
  const memoGet = (i: number) => {
    if (!memo.has(i)) fail(`memo entry ${i} is missing`)
    return memo.get(i)
  }

  for (;;) {
    const op = u8()
    switch (op) {
      case 0x80: {
        const proto = u8()
        if (proto > 5) fail(`unsupported pickle protocol ${proto}`)
        break
      }
      case 0x95: // FRAME
        u64()
        break
      case 0x2e: {
        // STOP
        if (metastack.length > 0) fail("STOP inside a MARK")
        const value = pop()
        checkExpansion(value, failLimit)
        return { value, end: pos }
      }
      case 0x28: // MARK
        metastack.push(stack)
        stack = []
        break
      case 0x30: // POP
        if (stack.length === 0 && metastack.length > 0) popMark()
        else pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top()) // an existing value, nothing built
        break
      case 0x4e: // NONE
        push(null)
        break
      case 0x88:
        push(true)
        break
      case 0x89:
        push(false)
        break
      case 0x4a: // BININT
        need(4)
        push(buf.readInt32LE(pos))
        pos += 4
        break
      case 0x4b: // BININT1
        push(u8())
        break
      case 0x4d: // BININT2
        push(u16())
        break
      case 0x8a: // LONG1
        push(decodeLong(take(u8())))
        break
      case 0x8b: {
        // LONG4
        const n = u32()
        if (n > 1 << 16) fail(`LONG4 of ${n} bytes`)
        push(decodeLong(take(n)))
        break
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8)
        push(buf.readDoubleBE(pos))
        pos += 8
        break
      case 0x58: // BINUNICODE
        push(decoder.decode(take(u32())))
        break
      case 0x8d: // BINUNICODE8
        push(decoder.decode(take(u64())))
        break
      case 0x8c: // SHORT_BINUNICODE
        push(decoder.decode(take(u8())))
        break
      case 0x55: // SHORT_BINSTRING
        push(take(u8()).toString("latin1"))
        break
      case 0x54: // BINSTRING
        push(take(u32()).toString("latin1"))
        break
      case 0x42: // BINBYTES
        push(new Uint8Array(take(u32())))
        break
      case 0x43: // SHORT_BINBYTES
        push(new Uint8Array(take(u8())))
        break
      case 0x8e: // BINBYTES8
        push(new Uint8Array(take(u64())))
        break
      case 0x96: // BYTEARRAY8
        push(new Uint8Array(take(u64())))
        break
      case 0x29: // EMPTY_TUPLE
        push(new Tuple())
        break
      case 0x74: {
        // TUPLE (a temporary: popMark reassigns `stack`)
        const items = popMark()
        push(nest(tuple(items), items))
        break
      }
      case 0x85: {
        const a = pop()
        push(nest(tuple([a]), [a]))
        break
      }
      case 0x86: {
        const b = pop()
        const a = pop()
        push(nest(tuple([a, b]), [a, b]))
        break
      }
      case 0x87: {
        const c = pop()
        const b = pop()
        const a = pop()
        push(nest(tuple([a, b, c]), [a, b, c]))
        break
      }
      case 0x5d: // EMPTY_LIST
        push([])
        break
      case 0x6c: {
        // LIST
        const items = popMark()
        push(nest([...items], items))
        break
      }
      case 0x61: {
        // APPEND
        const x = pop()
        appendItems(top(), [x])
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        appendItems(top(), items)
        break
      }
      case 0x7d: // EMPTY_DICT
        push(new Map())
        break
      case 0x64: {
        // DICT
        const items = popMark()
        const m = new Map()
        setItems(m, items)
        push(m)
        break
      }
      case 0x73: {
        // SETITEM
        const v = pop()
        const k = pop()
        setItems(top(), [k, v])
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        setItems(top(), items)
        break
      }
      case 0x8f: // EMPTY_SET
        push(new Set())
        break
      case 0x90: {
        // ADDITEMS
        const items = popMark()
        const s = top()
        if (!(s instanceof Set)) fail("ADDITEMS on a value that is not a set")
        nest(s as Set<unknown>, items)
        for (const x of items) (s as Set<unknown>).add(x)
        break
      }
      case 0x91: {
        // FROZENSET
        const items = popMark()
        push(nest(new Set(items), items))
        break
      }
      case 0x71: // BINPUT
        remember(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        remember(u32(), top())
        break
      case 0x94: // MEMOIZE
        remember(memo.size, top())
        break
      case 0x68: // BINGET
        stack.push(memoGet(u8()))
        break
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32()))
        break
      case 0x63: {
        // GLOBAL
        const module = line()
        const name = line()
        push(resolveGlobal(module, name, source))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== "string" || typeof name !== "string") fail("STACK_GLOBAL with non-string names")
        push(resolveGlobal(module as string, name as string, source))
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        const callable = pop()
        push(call(callable, args))
        break
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args); only allow-listed classes, built by their pure TS function
        const args = pop()
        const cls = pop()
        push(call(cls, args))
        break
      }
      case 0x92: {
        // NEWOBJ_EX
        pop() // kwargs
        const args = pop()
        const cls = pop()
        push(call(cls, args))
        break
      }
      case 0x62: {
        // BUILD: state of an OrderedDict (`_metadata`), a tensor or a parameter; recorded nowhere, never called.
        pop()
        top()
        break
      }
      case 0x51: {
        // BINPERSID
        const pid = pop()
        if (!options.persistentLoad) fail("persistent id without a resolver")
        push(options.persistentLoad!(pid))
        break
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16)} at ${pos - 1} (not one torch.save writes)`)
    }
  }
}

const describe = (v: unknown): string =>
  v === null ? "None" : v instanceof StorageType ? v.name : v instanceof Map ? "dict" : Array.isArray(v) ? "list/tuple" : typeof v

/** Plain JSON-like view of an unpickled value (Maps become objects, tensors a short description); cycles cut. */
export const toPlain = (v: unknown, seen = new Set<unknown>()): unknown => {
  if (v === null || typeof v !== "object") return typeof v === "bigint" ? v.toString() : v
  if (seen.has(v)) return "<cycle>"
  seen.add(v)
  try {
    if (v instanceof TensorRef) return `<tensor ${v.dtype} [${v.shape.join(", ")}]>`
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toPlain(x, seen)]))
    if (v instanceof Set) return [...v].map((x) => toPlain(x, seen))
    if (Array.isArray(v)) return v.map((x) => toPlain(x, seen))
    if (v instanceof Uint8Array) return `<bytes ${v.length}>`
    if (v instanceof StorageType || v instanceof DtypeMarker) return `<${v instanceof StorageType ? v.name : v.dtype}>`
    return String(v)
  } finally {
    seen.delete(v)
  }
}
