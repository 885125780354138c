import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"
import { events, manifests, objectsDir, pipe, pipeAsync, waitFor, workspace, type Workspace } from "./cli.js"

const pipeline = (extra = "") => `version: 1
name: train-tiny
nodes:
  images: { use: load, with: { source: synthetic, seed: 1, count: 12, resolution: 16 } }
  held: { use: load, with: { source: synthetic, seed: 9, count: 4, resolution: 16 } }
  process: { use: degrade, with: { operator: gaussian-blur, std_max: 1.5 } }
  model:
    use: train
    in: { images: images, process: process, validation: held }
    with: { preset: tiny-16, steps: 12, batch_size: 4, lr: 0.001, checkpoint_every: 3, validation: { every: 6 }${extra} }
`

const modelWeights = async (ws: Workspace) => {
  const model = manifests(ws.dir).find((m) => m.node === "model")!
  return readSafetensors(join(objectsDir(ws.dir), model.key, "model.safetensors"))
}

describe("train through pipe run", () => {
  it("a killed run continues from its checkpoint and ends with the same weights as an uninterrupted one", async () => {
    const straight = workspace()
    straight.write("p.yaml", pipeline())
    expect(pipe(straight, ["run", "p.yaml", "--threads", "1"]).code).toBe(0)

    const killed = workspace()
    killed.write("p.yaml", pipeline())
    const { child, done } = pipeAsync(killed, ["run", "p.yaml", "--threads", "1"])
    const checkpoints = join(killed.dir, ".pipe", "checkpoints")
    await waitFor(
      () => existsSync(checkpoints) && readdirSync(checkpoints).some((k) => existsSync(join(checkpoints, k, "manifest.json"))),
      120_000,
    )
    child.kill("SIGKILL")
    await done
    const resumed = pipe(killed, ["run", "p.yaml", "--threads", "1", "--json"])
    expect(resumed.code).toBe(0)
    const log = events(resumed.stdout).find(
      (e) => e.type === "node-log" && e.id === "model" && /continuing from the checkpoint at step \d+/.test(e.message),
    )
    expect(log).toBeDefined()

    const a = await modelWeights(straight)
    const b = await modelWeights(killed)
    expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort())
    for (const name of Object.keys(a.tensors)) expect([...b.tensors[name].data], name).toEqual([...a.tensors[name].data])
    expect(a.tensors["enc.16x16_conv.weight"].shape).toEqual([8, 3, 3, 3])
    expect(JSON.parse(a.metadata["pipe.meta"])).toMatchObject({ preset: "tiny-16", steps: 12 })
  })

  it("stops on a non-finite loss, naming the step, and keeps the last checkpoint", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline().replace("checkpoint_every: 3", "checkpoint_every: 1").replace("lr: 0.001", "lr: 1.0e+30"))
    const r = pipe(ws, ["run", "p.yaml", "--threads", "1"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/\[fail\] model: the loss became (NaN|Infinity) at step \d+; the last checkpoint is kept/)
    expect(readdirSync(join(ws.dir, ".pipe", "checkpoints"))).toHaveLength(1)
  })
})
