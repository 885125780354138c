/**
 * Sample nodes compared with each other share their reverse-process noise (common random numbers): it depends on
 * the pipeline seed, the measurement and the sample index, not on the node's other settings.
 */
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"
import { manifests, objectsDir, pipe, workspace } from "./cli.js"

const checkpoint = new URL("../fixtures/torch/tiny16.ckpt", import.meta.url).pathname

const sampleWith = (extra: string) =>
  `{ use: sample, in: { model: model, process: process.process, measurements: process.measurements }, with: { dt: 0.25, engine: tfjs, perceptual: none${extra} } }`

const pipeline = `version: 1
name: paired
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 2, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  model: { use: import-checkpoint, with: { path: ${checkpoint}, arch: tiny-16 } }
  often: ${sampleWith(", checkpoint_seconds: 0")}
  rarely: ${sampleWith(", checkpoint_seconds: 600")}
`

const reconstructions = async (dir: string): Promise<Record<string, Float32Array>> => {
  const out: Record<string, Float32Array> = {}
  for (const m of manifests(dir).filter((m) => m.material.kind === "sample")) {
    const { tensors } = await readSafetensors(join(objectsDir(dir), m.key, "reconstructions.safetensors"))
    out[m.node] = tensors.x!.data as Float32Array
  }
  return out
}

describe("paired sampling", () => {
  it("two sample nodes that differ only in checkpointing give bit-identical reconstructions; another seed changes them", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const first = pipe(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines"])
    expect(first.code, first.stderr).toBe(0)
    const seed0 = await reconstructions(ws.dir)
    expect(Object.keys(seed0).sort()).toEqual(["often", "rarely"])
    expect(seed0.often!.length).toBe(2 * 16 * 16 * 3)
    expect(Buffer.from(seed0.often!.buffer).equals(Buffer.from(seed0.rarely!.buffer))).toBe(true)

    const other = workspace()
    other.write("p.yaml", pipeline)
    expect(pipe(other, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", "--set", "seed=5"]).code).toBe(0)
    const seed5 = await reconstructions(other.dir)
    expect(Buffer.from(seed5.often!.buffer).equals(Buffer.from(seed5.rarely!.buffer))).toBe(true)
    expect(Buffer.from(seed5.often!.buffer).equals(Buffer.from(seed0.often!.buffer))).toBe(false)
  }, 240_000)
})
