/** A small builder for ONNX graphs: ops get unique output names, weights become initializers. */
import type { AttributeValue, NodeProto, TensorProto } from "./proto.js"

export class GraphBuilder {
  readonly nodes: NodeProto[] = []
  readonly initializers: TensorProto[] = []
  private readonly constants = new Map<string, string>()
  private count = 0

  /** Adds one node; returns its output name (scope names it, e.g. `enc.64x64_block0.conv0`). */
  op(opType: string, inputs: readonly string[], scope: string, attributes?: Readonly<Record<string, AttributeValue>>): string {
    return this.opN(opType, inputs, scope, 1, attributes)[0]
  }

  /** Adds one node with `outputs` outputs. */
  opN(
    opType: string,
    inputs: readonly string[],
    scope: string,
    outputs: number,
    attributes?: Readonly<Record<string, AttributeValue>>,
  ): string[] {
    const id = this.count++
    const names = Array.from({ length: outputs }, (_, i) => `${scope}/${opType}_${id}${outputs > 1 ? `:${i}` : ""}`)
    this.nodes.push({ opType, inputs, outputs: names, name: `${scope}/${opType}_${id}`, ...(attributes ? { attributes } : {}) })
    return names
  }

  /** A named float32 weight. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    const size = dims.reduce((a, b) => a * b, 1)
    if (data.length !== size)
      throw new RangeError(`ONNX export: '${name}' has ${data.length} values, shape [${dims.join(", ")}] needs ${size}`)
    this.initializers.push({ name, dims, dataType: "float32", data })
    return name
  }

  /** A shared constant (deduplicated by value): int64 for shapes and indices, float32 otherwise. */
  constant(dataType: "float32" | "int64", dims: readonly number[], values: readonly number[]): string {
    const key = `${dataType}:${dims.join("x")}:${values.join(",")}`
    const known = this.constants.get(key)
    if (known !== undefined) return known
    const name = `const_${this.constants.size}`
    this.constants.set(key, name)
    this.initializers.push({ name, dims, dataType, data: dataType === "float32" ? Float32Array.from(values) : values })
    return name
  }

  scalar(value: number): string {
    return this.constant("float32", [], [value])
  }

  ints(values: readonly number[]): string {
    return this.constant("int64", [values.length], values)
  }
}
