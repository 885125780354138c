/**
 * `pipe convert` to ONNX: the official-format parity checkpoint (tiny-16, written by PyTorch) becomes an ONNX model
 * that gives PyTorch's output on ONNX Runtime; a model written back as safetensors converts to the same model.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { loadOrt } from "../../src/dirac/onnx/runtime.js"
import { pipe, workspace } from "./cli.js"

const fixtures = new URL("../fixtures/torch/", import.meta.url).pathname
const expected = JSON.parse(readFileSync(join(fixtures, "tiny16-parity-expected.json"), "utf8")) as {
  y: { shape: number[]; values: number[] }
  sigma: { values: number[] }
  x0: { values: number[] }
}

/** x0 of the ONNX file on the fixture's input, NCHW like the fixture. */
const runOnnx = async (file: string): Promise<Float32Array> => {
  const ort = await loadOrt()
  const session = await ort.InferenceSession.create(readFileSync(file), { executionProviders: ["cpu"] })
  const [n, c, h, w] = expected.y.shape as [number, number, number, number]
  const nhwc = new Float32Array(n * h * w * c)
  expected.y.values.forEach((v, i) => {
    const [b, ch, y, x] = [Math.floor(i / (c * h * w)), Math.floor(i / (h * w)) % c, Math.floor(i / w) % h, i % w]
    nhwc[((b * h + y) * w + x) * c + ch] = v
  })
  const out = await session.run({ y: new ort.Tensor("float32", nhwc, [n, h, w, c]), sigma: new ort.Tensor("float32", Float32Array.from(expected.sigma.values), [n]) })
  await session.release()
  const x0 = out.x0!.data
  return Float32Array.from({ length: x0.length }, (_, i) => {
    const [b, ch, y, x] = [Math.floor(i / (c * h * w)), Math.floor(i / (h * w)) % c, Math.floor(i / w) % h, i % w]
    return x0[((b * h + y) * w + x) * c + ch]!
  })
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe("pipe convert to ONNX", () => {
  it("turns a Lightning checkpoint into an ONNX model with PyTorch's output, and safetensors into the same", async () => {
    const ws = workspace()
    const ckpt = join(fixtures, "tiny16-parity.ckpt")
    const direct = pipe(ws, ["convert", ckpt, "model.onnx"])
    expect(direct.code, direct.stderr).toBe(0)
    expect(direct.stdout).toContain("wrote model.onnx")
    expect(maxAbsDiff(await runOnnx(join(ws.dir, "model.onnx")), expected.x0.values)).toBeLessThanOrEqual(1e-4)

    expect(pipe(ws, ["convert", ckpt, "weights.safetensors"]).code).toBe(0)
    const viaWeights = pipe(ws, ["convert", "weights.safetensors", "again.onnx"])
    expect(viaWeights.code, viaWeights.stderr).toBe(0)
    expect(maxAbsDiff(await runOnnx(join(ws.dir, "again.onnx")), expected.x0.values)).toBeLessThanOrEqual(1e-4)
  })

  it("says what it cannot read, without a stack trace", () => {
    const ws = workspace()
    ws.write("notes.txt", "hello")
    const r = pipe(ws, ["convert", "notes.txt", "out.onnx"])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain("notes.txt is not a torch checkpoint (expected a zip archive written by torch.save)")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
