/**
 * The subset of ONNX's protobuf schema (onnx/onnx.proto, IR version 8) that a
 * feed-forward float32 model needs, encoded by hand: varints, length-delimited
 * fields and little-endian floats. Field numbers are the schema's.
 */

export type Dim = number | string

export interface TensorProto {
  readonly name: string
  readonly dims: readonly number[]
  readonly dataType: "float32" | "int64"
  /** float32: Float32Array; int64: plain numbers (small shape/index constants). */
  readonly data: Float32Array | readonly number[]
}

export type AttributeValue =
  number | readonly number[] | string | TensorProto | { readonly float: number } | { readonly floats: readonly number[] }

export interface NodeProto {
  readonly opType: string
  readonly inputs: readonly string[]
  readonly outputs: readonly string[]
  readonly name: string
  readonly attributes?: Readonly<Record<string, AttributeValue>>
}

export interface ValueInfo {
  readonly name: string
  readonly shape: readonly Dim[]
}

export interface ModelProto {
  readonly producer: string
  readonly producerVersion: string
  readonly opset: number
  readonly graphName: string
  readonly nodes: readonly NodeProto[]
  readonly initializers: readonly TensorProto[]
  readonly inputs: readonly ValueInfo[]
  readonly outputs: readonly ValueInfo[]
  readonly metadata?: Readonly<Record<string, string>>
}

const DATA_TYPE = { float32: 1, int64: 7 } as const
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const
const IR_VERSION = 8

/** Appends protobuf fields to a growing list of byte chunks. */
class Writer {
  private readonly chunks: Uint8Array[] = []
  private length = 0

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes)
    this.length += bytes.length
  }

  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value))
    const out: number[] = []
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80)
      v >>= 7n
    }
    out.push(Number(v))
    this.push(Uint8Array.from(out))
  }

  private tag(field: number, wire: 0 | 2 | 5): void {
    this.varint((field << 3) | wire)
  }

  int(field: number, value: number): this {
    this.tag(field, 0)
    this.varint(value)
    return this
  }

  float(field: number, value: number): this {
    this.tag(field, 5)
    const b = new Uint8Array(4)
    new DataView(b.buffer).setFloat32(0, value, true)
    this.push(b)
    return this
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2)
    this.varint(value.length)
    this.push(value)
    return this
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value))
  }

  /** A nested message: its chunks are appended, not copied, so weights are copied once, by {@link finish}. */
  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer()
    build(inner)
    this.tag(field, 2)
    this.varint(inner.length)
    for (const c of inner.chunks) this.push(c)
    return this
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length)
    let offset = 0
    for (const c of this.chunks) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  }
}

const littleEndian = (data: TensorProto["data"], dataType: TensorProto["dataType"]): Uint8Array => {
  if (dataType === "float32") {
    const f = data instanceof Float32Array ? data : Float32Array.from(data)
    return new Uint8Array(f.buffer, f.byteOffset, f.byteLength)
  }
  const b = new Uint8Array(data.length * 8)
  const view = new DataView(b.buffer)
  data.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true))
  return b
}

const writeTensor = (w: Writer, t: TensorProto): void => {
  for (const d of t.dims) w.int(1, d)
  w.int(2, DATA_TYPE[t.dataType])
  w.string(8, t.name)
  w.bytes(9, littleEndian(t.data, t.dataType))
}

const writeAttribute = (w: Writer, name: string, value: AttributeValue): void => {
  w.string(1, name)
  if (typeof value === "number") {
    w.int(3, value).int(20, ATTR_TYPE.int)
  } else if (typeof value === "string") {
    w.string(4, value).int(20, ATTR_TYPE.string)
  } else if (Array.isArray(value)) {
    for (const v of value as readonly number[]) w.int(8, v)
    w.int(20, ATTR_TYPE.ints)
  } else if ("float" in value) {
    w.float(2, value.float).int(20, ATTR_TYPE.float)
  } else if ("floats" in value) {
    for (const v of value.floats) w.float(7, v)
    w.int(20, ATTR_TYPE.floats)
  } else {
    w.message(5, (t) => writeTensor(t, value as TensorProto)).int(20, ATTR_TYPE.tensor)
  }
}

const writeNode = (w: Writer, node: NodeProto): void => {
  for (const i of node.inputs) w.string(1, i)
  for (const o of node.outputs) w.string(2, o)
  w.string(3, node.name)
  w.string(4, node.opType)
  for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, (a) => writeAttribute(a, name, value))
}

const writeValueInfo = (w: Writer, v: ValueInfo): void => {
  w.string(1, v.name)
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DATA_TYPE.float32)
      tensor.message(2, (shape) => {
        for (const d of v.shape) shape.message(1, (dim) => (typeof d === "number" ? dim.int(1, d) : dim.string(2, d)))
      })
    }),
  )
}

/** Serialise a model to the bytes of a `.onnx` file. */
export const encodeModel = (model: ModelProto): Uint8Array => {
  const w = new Writer()
  w.int(1, IR_VERSION)
  w.string(2, model.producer)
  w.string(3, model.producerVersion)
  w.message(7, (g) => {
    for (const n of model.nodes) g.message(1, (x) => writeNode(x, n))
    g.string(2, model.graphName)
    for (const t of model.initializers) g.message(5, (x) => writeTensor(x, t))
    for (const i of model.inputs) g.message(11, (x) => writeValueInfo(x, i))
    for (const o of model.outputs) g.message(12, (x) => writeValueInfo(x, o))
  })
  w.message(8, (o) => o.string(1, "").int(2, model.opset))
  for (const [key, value] of Object.entries(model.metadata ?? {})) w.message(14, (m) => m.string(1, key).string(2, value))
  return w.finish()
}
