/**
 * The native TensorFlow backend (tfjs-node on libtensorflow, installed by `npm run setup:native`) against wasm
 * (test/runtime/parity-suite.ts), plus what is its own: which convolution gradients it takes, and a convolution
 * with explicit padding trains.
 *
 * Skipped, naming what is missing, where the binding is not installed; PIPE_REQUIRE_NATIVE=1 turns the skip into
 * a failure (CI sets it after running setup:native).
 */
import * as tf from "@tensorflow/tfjs-core"
import { describe, expect, it } from "vitest"
import { initBackend, type StartedBackend } from "../../src/runtime/backend/index.js"
import { NATIVE_FILTER_REWRITE_MIN_WORK } from "../../src/runtime/backend/conv-gradients.js"
import { relativeError } from "../numeric.js"
import { describeParityWithWasm } from "./parity-suite.js"

const native: { info: StartedBackend } | { missing: string } = await initBackend("tensorflow").then(
  (info) => ({ info }),
  (error: unknown) => ({ missing: error instanceof Error ? error.message.split("\n")[0]! : String(error) }),
)
await initBackend("wasm", { threads: 1 })
const missing = "missing" in native ? native.missing : undefined

it.runIf(process.env.PIPE_REQUIRE_NATIVE === "1")("PIPE_REQUIRE_NATIVE=1: the native TensorFlow backend loads", () => {
  expect(missing).toBeUndefined()
})

describeParityWithWasm("tensorflow", missing)

interface Filled {
  readonly shape: readonly [number, number, number, number]
  readonly value: (index: number) => number
}

const filled = ({ shape, value }: Filled): tf.Tensor4D =>
  tf.tensor4d(
    Float32Array.from({ length: shape.reduce((a, b) => a * b) }, (_, i) => value(i)),
    [...shape],
  )

/** On backend `name`: the gradients of `loss` with respect to its input x and its filter w, as [dx, dw]. */
const convGradients = async (
  name: string,
  loss: (x: tf.Tensor4D, w: tf.Tensor4D) => tf.Tensor,
  xFill: Filled,
  wFill: Filled,
): Promise<Float32Array[]> => {
  await tf.setBackend(name)
  const [x, w] = [filled(xFill), filled(wFill)]
  // tf.grads passes back the tensors it was given, x and w.
  const [dx, dw] = tf.grads((a, b) => loss(a as tf.Tensor4D, b as tf.Tensor4D))([x, w])
  const out = [(await dx!.data()) as Float32Array, (await dw!.data()) as Float32Array]
  tf.dispose([x, w, dx!, dw!])
  return out
}

describe.skipIf(missing !== undefined)(`native TensorFlow specifics${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("describes itself", () => {
    const info = "info" in native ? native.info : undefined
    expect(info).toMatchObject({ name: "tensorflow", device: expect.stringMatching(/^CPU \(libtensorflow [\d.]+\)|^CUDA/) })
    expect(info!.fingerprint).toMatch(/^tensorflow\/4\.22\.0\/(cpu|cuda)$/)
  })

  // Below the threshold the filter gradient is TensorFlow's own kernel, from it on the forward-convolution rewrite.
  for (const [size, channels] of [
    [8, 8],
    [32, 64],
  ] as const) {
    it(`conv2d gradients at ${size}x${size}x${channels} (${size * size * channels * channels >= NATIVE_FILTER_REWRITE_MIN_WORK ? "rewritten" : "native"} filter gradient) match wasm`, async () => {
      const x = { shape: [2, size, size, channels], value: (i: number) => Math.sin(i * 0.7) } as const
      const w = { shape: [3, 3, channels, channels], value: (i: number) => Math.cos(i * 0.3) / channels } as const
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(a, b, [2, 2], "same")))
      const reference = await convGradients("wasm", loss, x, w)
      const other = await convGradients("tensorflow", loss, x, w)
      reference.forEach((r, i) => expect(relativeError(other[i]!, r), i === 0 ? "dx" : "dw").toBeLessThan(1e-4))
    })
  }

  it("trains through convolutions padded on every side (the gradient kernels take only 'valid' and 'same')", async () => {
    const x = { shape: [2, 9, 7, 3], value: Math.sin } as const
    const w = { shape: [5, 5, 3, 4], value: Math.cos } as const
    const padded = (a: tf.Tensor4D, b: tf.Tensor4D) =>
      tf.sum(
        tf.square(
          tf.conv2d(
            tf.pad(a, [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ]),
            b,
            1,
            "valid",
          ),
        ),
      )
    const reference = await convGradients("wasm", padded, x, w)
    const other = await convGradients("tensorflow", padded, x, w)
    reference.forEach((r, i) => expect(relativeError(other[i]!, r)).toBeLessThan(1e-4))
  })
})
