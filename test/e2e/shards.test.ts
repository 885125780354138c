/**
 * Sample and metric nodes split into shards, each cached on its own, give the artifacts of a run in one piece bit for
 * bit: in one process, and in shard-index mode (three processes, then a run that merges what they stored).
 */
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { writeTfjsModelFolder } from "../../src/dirac/metrics/perceptual/index.js"
import { loadTfjs } from "../../src/dirac/metrics/perceptual/tfjs-models.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { manifests, pipe, pipeAsync, workspace, type Workspace } from "./cli.js"

const checkpoint = new URL("../fixtures/torch/tiny16.ckpt", import.meta.url).pathname

/** A toy feature network for tfjs-model-fd: FD and KID come from the features of the shards. */
const writeFeatureModel = async (folder: string) => {
  await initBackend("cpu")
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
    ],
  })
  let artifacts: Parameters<typeof writeTfjsModelFolder>[1] | undefined
  await model.save(
    tfjs.io.withSaveHandler(async (a) => {
      artifacts = a
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } }
    }),
  )
  await writeTfjsModelFolder(folder, artifacts!, "layers-model")
  writeFileSync(join(folder, "metric.json"), JSON.stringify({ label: "toy", input: { size: [16, 16], range: [0, 1] }, output: "pool" }))
}

const pipeline = (features: string, recShards: string) => `version: 1
name: sharded
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 5, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  model: { use: import-checkpoint, with: { path: ${checkpoint}, arch: tiny-16 } }
  rec:
    use: sample
    in: { model: model, process: process.process, measurements: process.measurements, images: held }
    with: { dt: 0.25, engine: tfjs, perceptual: none, samples: 2, batch_size: 3${recShards} }
  score:
    use: metric
    in: { reconstructions: [rec], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr, ssim, eps_dc, tfjs-model-fd], weights: { tfjs-model-fd: ${features} } }
`

/** Node -> its cache key and every file's checksum (outputs and report), shard entries left out. */
const artifacts = (dir: string) =>
  Object.fromEntries(
    manifests(dir)
      .filter((m) => !m.node.includes("[shard"))
      .map((m) => [m.node, { key: m.key, files: m.files }]),
  )

const shardEntries = (dir: string) =>
  manifests(dir)
    .filter((m) => m.node.includes("[shard"))
    .map((m) => m.node)
    .sort()

const run = (ws: Workspace, args: string[]) => {
  const r = pipe(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", ...args])
  expect(r.code, r.stderr).toBe(0)
  return r
}

describe("shards", () => {
  let features: string
  let single: ReturnType<typeof artifacts>

  beforeAll(async () => {
    const ws = workspace()
    features = join(ws.dir, "features")
    await writeFeatureModel(features)
    ws.write("p.yaml", pipeline(features, ""))
    run(ws, [])
    single = artifacts(ws.dir)
  }, 240_000)

  it("sharded in one process (shard_size in the config, --shard-size for the rest) == in one piece, bit for bit; again: all cached", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline(features, ", shard_size: 2"))
    const first = run(ws, ["--shard-size", "3"])
    expect(first.stderr).toContain("rec: 3 shards of up to 2 images; 0 cached")
    expect(first.stderr).toContain("score: 2 shards of up to 3 images; 0 cached")
    expect(artifacts(ws.dir)).toEqual(single)
    expect(shardEntries(ws.dir)).toEqual(["rec[shard 1/3]", "rec[shard 2/3]", "rec[shard 3/3]", "score[shard 1/2]", "score[shard 2/2]"])
    const again = run(ws, ["--shard-size", "3"])
    expect(again.stderr).toContain("0 ran, 5 cached")
  }, 240_000)

  it("--shard-index I --shard-count 3 in three processes, then a run that merges: == one piece, no shard computed twice; gc keeps unmerged shards", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline(features, ", shard_size: 2"))
    const shardRun = (i: number) =>
      pipeAsync(ws, [
        "run",
        "p.yaml",
        "--backend",
        "cpu",
        "--ui",
        "lines",
        "--shard-size",
        "3",
        "--shard-index",
        `${i}`,
        "--shard-count",
        "3",
      ]).done
    const first = await shardRun(0)
    expect(first.code, first.stderr).toBe(0)
    const gc = pipe(ws, ["cache", "gc"])
    expect(gc.stdout, gc.stderr).toMatch(/^removed 0 artifacts/)
    expect(shardEntries(ws.dir)).toEqual(["rec[shard 1/3]"])
    const results = [first, ...(await Promise.all([shardRun(1), shardRun(2)]))]
    for (const r of results) expect(r.code, r.stderr).toBe(0)
    const computed = (stderr: string) => stderr.match(/\w+: shard \d+\/\d+ computed/g) ?? []
    const byProcess = results.map((r) => computed(r.stderr))
    expect(byProcess[0]).toContain("rec: shard 1/3 computed")
    expect(byProcess[1]).toContain("rec: shard 2/3 computed")
    expect(byProcess[2]).toContain("rec: shard 3/3 computed")
    const merge = run(ws, ["--shard-size", "3"])
    const all = [...byProcess.flat(), ...computed(merge.stderr)]
    expect(all.filter((line) => line.startsWith("rec"))).toHaveLength(3)
    expect(new Set(all).size).toBe(all.length)
    expect(artifacts(ws.dir)).toEqual(single)
    expect(pipe(ws, ["cache", "gc"]).stdout).toMatch(/^removed [1-9]\d* artifacts/)
    expect(shardEntries(ws.dir)).toEqual([])
    expect(artifacts(ws.dir)).toEqual(single)
    expect(run(ws, ["--shard-size", "3"]).stderr).toContain("0 ran, 5 cached")
  }, 300_000)

  it("shard-index options that do not fit: exit 2 with what to do", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline(features, ""))
    const alone = pipe(ws, ["run", "p.yaml", "--shard-index", "0"])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain("--shard-index and --shard-count go together")
    const beyond = pipe(ws, ["run", "p.yaml", "--shard-index", "3", "--shard-count", "3", "--shard-size", "2"])
    expect(beyond.code).toBe(2)
    expect(beyond.stderr).toContain("--shard-index must be below --shard-count (3), got 3")
    const sizeless = pipe(ws, ["run", "p.yaml", "--shard-index", "0", "--shard-count", "2"])
    expect(sizeless.code).toBe(2)
    expect(sizeless.stderr).toContain("--shard-index needs shards: give --shard-size N, or shard_size in the config")
  })
})
