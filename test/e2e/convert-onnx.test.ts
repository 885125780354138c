/**
 * `pipe convert` to ONNX: the official-format parity checkpoint (tiny-16, written by PyTorch) becomes an ONNX model
 * that gives PyTorch's output on ONNX Runtime; a model written back as safetensors converts to the same model; a
 * pipeline's trained model (its EMA weights) exports to the network tfjs computes.
 */
import * as tf from "@tensorflow/tfjs-core"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { forward, loadWeights } from "../../src/dirac/network/index.js"
import { loadOrt } from "../../src/dirac/onnx/runtime.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { manifests, objectsDir, pipe, workspace } from "./cli.js"
import { maxAbsDiff } from "../numeric.js"

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
  const out = await session.run({
    y: new ort.Tensor("float32", nhwc, [n, h, w, c]),
    sigma: new ort.Tensor("float32", Float32Array.from(expected.sigma.values), [n]),
  })
  await session.release()
  const x0 = out.x0!.data
  return Float32Array.from({ length: x0.length }, (_, i) => {
    const [b, ch, y, x] = [Math.floor(i / (c * h * w)), Math.floor(i / (h * w)) % c, Math.floor(i / w) % h, i % w]
    return x0[((b * h + y) * w + x) * c + ch]!
  })
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

  it("exports the model a pipeline trained, with its EMA weights, as the network tfjs computes", async () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      `version: 1
name: train-export
nodes:
  images: { use: load, with: { source: synthetic, seed: 1, count: 8, resolution: 16 } }
  process: { use: degrade, with: { operator: gaussian-blur, std_max: 1.5 } }
  model: { use: train, in: { images: images, process: process }, with: { preset: tiny-16, steps: 4, batch_size: 4, lr: 0.001, ema: 0.5 } }
`,
    )
    expect(pipe(ws, ["run", "p.yaml", "--threads", "1"]).code).toBe(0)
    const model = manifests(ws.dir).find((m) => m.node === "model")!
    const artifact = join(objectsDir(ws.dir), model.key, "model.safetensors")
    expect(pipe(ws, ["convert", artifact, "ema.onnx", "--weights", "ema"]).code).toBe(0)
    expect(pipe(ws, ["convert", artifact, "ema.safetensors", "--weights", "ema"]).code).toBe(0)
    expect(pipe(ws, ["convert", artifact, "raw.onnx"]).code).toBe(0)

    await initBackend("wasm", { threads: 1 })
    const net = await loadWeights(join(ws.dir, "ema.safetensors"))
    const [n, c, h, w] = expected.y.shape as [number, number, number, number]
    const nchw = tf.tensor4d(expected.y.values, [n, c, h, w])
    const reference = tf.tidy(() =>
      tf
        .transpose(forward(net, tf.transpose(nchw, [0, 2, 3, 1]) as tf.Tensor4D, tf.tensor1d(expected.sigma.values)), [0, 3, 1, 2])
        .dataSync(),
    )
    net.dispose()
    nchw.dispose()
    const ema = await runOnnx(join(ws.dir, "ema.onnx"))
    expect(maxAbsDiff(ema, reference)).toBeLessThanOrEqual(1e-4)
    // The raw weights are another network: the EMA choice reached the file.
    expect(maxAbsDiff(await runOnnx(join(ws.dir, "raw.onnx")), ema)).toBeGreaterThan(1e-6)
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

describe("pipe convert refuses bad paths before reading anything (exit 2, no stack trace)", () => {
  const ws = workspace()
  const ckpt = join(fixtures, "tiny16.ckpt")
  const cases: Array<[string, string[], RegExp]> = [
    ["a missing input", ["missing.ckpt", "out.safetensors"], /cannot read missing\.ckpt: no such file/],
    ["an unknown output format", [ckpt, "out.pt"], /the output must end in \.safetensors or \.onnx/],
    ["the input as the output", [join(ws.dir, "w.safetensors"), "w.safetensors"], /is the input; choose another path/],
  ]
  ws.write("w.safetensors", "not really weights")
  for (const [what, args, message] of cases) {
    it(what, () => {
      const r = pipe(ws, ["convert", ...args])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toMatch(/\n\s+at /)
    })
  }
  it("left the input alone", () => expect(readFileSync(join(ws.dir, "w.safetensors"), "utf8")).toBe("not really weights"))
})
