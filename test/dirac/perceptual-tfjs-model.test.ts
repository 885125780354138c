import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { Rng } from "../../src/dirac/random.js"
import { parseTfjsModelMetricConfig, setMetric, writeTfjsModelFolder } from "../../src/dirac/metrics/perceptual/index.js"
import { loadTfjs } from "../../src/dirac/metrics/perceptual/tfjs-models.js"

let dir: string

const randomImages = (seed: number, n: number, size: number): tf.Tensor4D => {
  const rng = Rng.fromSeed(seed)
  return tf.tensor4d(
    Float32Array.from({ length: n * size * size * 3 }, () => rng.uniform()),
    [n, size, size, 3],
  )
}

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
  dir = await mkdtemp(join(tmpdir(), "tfjs-model-fd-"))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("tfjs-model-fd: a user-supplied tfjs model folder + metric.json", () => {
  it("reads a layers model and taps the named layer", async () => {
    const tfjs = await loadTfjs()
    const model = tfjs.sequential({
      layers: [
        tfjs.layers.conv2d({
          inputShape: [16, 16, 3],
          filters: 4,
          kernelSize: 3,
          activation: "relu",
          name: "conv",
          kernelInitializer: tfjs.initializers.glorotNormal({ seed: 1 }),
        }),
        tfjs.layers.globalAveragePooling2d({ name: "pool" }),
        tfjs.layers.dense({ units: 2, name: "head" }),
      ],
    })
    let artifacts: Parameters<typeof writeTfjsModelFolder>[1] | undefined
    await model.save(
      tfjs.io.withSaveHandler(async (a) => {
        artifacts = a
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }
      }),
    )
    const folder = join(dir, "layers")
    await writeTfjsModelFolder(folder, artifacts!, "layers-model")
    await writeFile(join(folder, "metric.json"), JSON.stringify({ label: "toy", input: { size: [16, 16], range: [0, 1] }, output: "pool" }))
    const metric = await setMetric("tfjs-model-fd", { weights: folder })
    expect(metric.label).toBe("toy")
    expect(metric.official).toBe(false)
    await metric.load()
    expect(metric.dim).toBe(4)
    const x = randomImages(1, 3, 16)
    const features = await metric.features(x)
    const pooled = tfjs.model({ inputs: model.inputs, outputs: model.getLayer("pool").output as never }).predict(x) as tf.Tensor
    const expected = pooled.dataSync()
    features.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6))
    expect((await metric.fd(features, features)).distance).toBeLessThan(1e-9)
    // Other sizes are resized to the configured input (16 x 16).
    expect((await metric.features(randomImages(2, 2, 24))).count).toBe(2)
  })

  it("reads a graph model (converter format) and runs it to the named node", async () => {
    const folder = join(dir, "graph")
    const modelTopology = {
      node: [
        {
          name: "x",
          op: "Placeholder",
          attr: { dtype: { type: "DT_FLOAT" }, shape: { shape: { dim: [{ size: "-1" }, { size: "-1" }, { size: "-1" }, { size: "3" }] } } },
        },
        {
          name: "axes",
          op: "Const",
          attr: { value: { tensor: { dtype: "DT_INT32", tensorShape: { dim: [{ size: "2" }] } } }, dtype: { type: "DT_INT32" } },
        },
        {
          name: "pool",
          op: "Mean",
          input: ["x", "axes"],
          attr: { keep_dims: { b: false }, T: { type: "DT_FLOAT" }, Tidx: { type: "DT_INT32" } },
        },
      ],
      library: {},
      versions: { producer: 1 },
    }
    await writeTfjsModelFolder(
      folder,
      { modelTopology, weightSpecs: [{ name: "axes", shape: [2], dtype: "int32" }], weightData: new Int32Array([1, 2]).buffer },
      "graph-model",
    )
    await writeFile(
      join(folder, "metric.json"),
      JSON.stringify({ label: "mean colour", official: false, input: { size: null, range: [0, 255] }, output: "pool" }),
    )
    const metric = await setMetric("tfjs-model-fd", { weights: folder })
    await metric.load()
    const x = randomImages(3, 4, 8)
    const features = await metric.features(tf.add(x, 0.5) as tf.Tensor4D) // values above 1 are clipped first
    expect([features.count, features.dim]).toEqual([4, 3])
    const expected = tf.mean(tf.mul(tf.clipByValue(tf.add(x, 0.5), 0, 1), 255), [1, 2]).dataSync()
    features.data.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3))
    const report = await metric.evaluate(features, await metric.features(x))
    expect(report.fd).toBeGreaterThan(0)
    expect([report.countA, report.countB, report.dim]).toEqual([4, 4, 3])
  })

  it("validates metric.json and reports a missing one", async () => {
    expect(() => parseTfjsModelMetricConfig({})).toThrow(/needs "input"/)
    expect(() => parseTfjsModelMetricConfig({ input: { size: [299] } })).toThrow(/input.size/)
    expect(() => parseTfjsModelMetricConfig({ input: { size: null, range: "0-255" } })).toThrow(/input.range/)
    expect(parseTfjsModelMetricConfig({ input: { size: [299, 299], range: [0, 255] }, output: "pool_3" }).output).toBe("pool_3")
    const metric = setMetric("tfjs-model-fd", { weights: join(dir, "absent") })
    await expect(metric).rejects.toThrow(/cannot read .*metric\.json/)
  })
})
