import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readSafetensors } from "../../src/dirac/io/safetensors.js"
import { events, manifests, objectsDir, pipe, workspace } from "./cli.js"

const pipeline = (count = 4, batch = 16) => `version: 1
name: degradation
nodes:
  train_images: { use: load, with: { source: synthetic, seed: 1, count: 4, resolution: 32 } }
  test_images: { use: load, with: { source: synthetic, seed: 2, count: ${count}, resolution: 32 } }
  process:
    use: degrade
    in: { images: test_images }
    with: { operator: gaussian-blur, batch_size: ${batch} }
  scheduled:
    use: schedule
    in: { process: process, images: train_images }
    with: { candidates: 24, points: 4, images: 4 }
`

const measurementsOf = async (dir: string) => {
  const newest = manifests(dir)
    .filter((m) => m.node === "process")
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0]!
  const { tensors, metadata } = await readSafetensors(join(objectsDir(dir), newest.key, "measurements.safetensors"))
  return { y: tensors.y, meta: JSON.parse(metadata["pipe.meta"]) }
}

describe("load -> degrade -> schedule through pipe run", () => {
  it("runs, writes the schedule report, and is cached on the second run", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const first = events(pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"]).stdout)
    expect(first.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded", counts: { ran: 4 } })
    const report = join(first.at(-1)!.outputs, "scheduled")
    expect(readdirSync(report).sort()).toEqual(["schedule.csv", "schedule.png"])
    const rows = readFileSync(join(report, "schedule.csv"), "utf8").trim().split("\n")
    expect(rows).toHaveLength(1 + 6)
    const stds = rows.slice(1).map((r) => Number(r.split(",")[1]))
    expect(stds[0]).toBeCloseTo(0.3, 6)
    expect(stds.at(-1)).toBeCloseTo(3.0, 6)
    expect(stds.every((s, i) => i === 0 || s > stds[i - 1])).toBe(true)
    const second = events(pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"]).stdout)
    expect(second.filter((e) => e.type === "node-cached")).toHaveLength(4)

    const brief = pipe(ws, ["run", "p.yaml", "--ui", "lines"]).stdout.trim().split("\n")
    expect(brief).toEqual([
      expect.stringMatching(/^run \S+ succeeded$/),
      expect.stringMatching(/^report: /),
      expect.stringMatching(/^events: /),
    ])
    const verbose = pipe(ws, ["run", "p.yaml", "--ui", "lines", "--verbose"]).stdout
    expect(verbose).toMatch(/^scheduled: \.pipe\/objects\/[0-9a-f]{64}$/m)
  })

  it("measures each image with noise seeded by its id, whatever the batch or set", async () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline(4, 4))
    expect(pipe(ws, ["run", "p.yaml", "--to", "process"]).code).toBe(0)
    const small = await measurementsOf(ws.dir)
    ws.write("p.yaml", pipeline(6, 5))
    expect(pipe(ws, ["run", "p.yaml", "--to", "process"]).code).toBe(0)
    const large = await measurementsOf(ws.dir)
    expect(small.meta.ids).toEqual(large.meta.ids.slice(0, 4))
    expect(large.y.shape).toEqual([6, 32, 32, 3])
    const perImage = 32 * 32 * 3
    expect([...large.y.data.subarray(0, 4 * perImage)]).toEqual([...small.y.data])
    expect(small.meta.sigma).toBeCloseTo(0.05, 8)
  })

  it("stops before any work when the data folder is missing, saying what it expects", () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      "version: 1\nname: ffhq\nnodes:\n  test_images: { use: load, with: { source: folder, root: data/ffhq, layout: ffhq, split: test } }\n",
    )
    const r = pipe(ws, ["run", "p.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^pipe: node 'test_images': .*data\/ffhq.*FFHQ is published/s)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(join(ws.dir, ".pipe", "objects"))).toBe(false)
  })

  it("type-checks resolutions and optional outputs before running", () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      [
        "version: 1",
        "name: bad",
        "nodes:",
        "  images: { use: load }",
        "  process: { use: degrade, with: { operator: inpaint-gaussian, schedule: official } }",
        "  scheduled: { use: schedule, in: { process: process.measurements, images: images } }",
      ].join("\n"),
    )
    const r = pipe(ws, ["validate", "p.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("p.yaml:5:74 nodes.process.with.schedule: the official table is a gaussian-blur schedule")
    expect(r.stderr).toContain(
      "nodes.scheduled.in.process: input 'process' expects degradation process, got degraded, noisy measurements from 'process.measurements'",
    )
    expect(r.stderr).toContain("nodes.scheduled.in.process: 'process' produces no measurements: connect images to its 'images' input")
  })
})
