import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, pipe, pipeAsync, waitFor, workspace } from "./cli.js"

const pipeline = `version: 1
name: baselines
params: { lambda: 0.01, iterations: 20 }
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 3, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  tikhonov:
    use: baseline
    in: { measurements: process.measurements, process: process.process }
    with: { method: tikhonov, lambda: "\${params.lambda}", iterations: "\${params.iterations}" }
  scores:
    use: metric
    in: { reconstructions: [tikhonov], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr, ssim] }
`

const sweep = ["--sweep", "params.lambda=0.01,0.1", "--sweep", "tikhonov.with.iterations=range(5,15,5)"]

describe("pipe run --sweep and pipe compare", () => {
  it("runs a 2x2 sweep with the shared nodes once, compare shows its four runs in every format, gc keeps them all", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const plan = pipe(ws, ["plan", "p.yaml", ...sweep])
    expect(plan.stdout.split("\n").slice(0, 12)).toEqual([
      "variant 1/4: params.lambda=0.01 tikhonov.with.iterations=5",
      "held      will run because never run",
      "process   will run because never run",
      "tikhonov  will run because never run",
      "scores    will run because never run",
      "",
      "variant 2/4: params.lambda=0.01 tikhonov.with.iterations=10",
      "held      computed by variant 1",
      "process   computed by variant 1",
      "tikhonov  will run because never run",
      "scores    will run because never run",
      "",
    ])
    const run = pipe(ws, ["run", "p.yaml", ...sweep, "--json", "--threads", "1"])
    expect(run.code, run.stderr).toBe(0)
    const all = events(run.stdout)
    const started = all.filter((e) => e.type === "run-started")
    expect(started.map((e) => [e.sweep.index, e.sweep.count, e.sweep.params])).toEqual([
      [0, 4, { "params.lambda": "0.01", "tikhonov.with.iterations": "5" }],
      [1, 4, { "params.lambda": "0.01", "tikhonov.with.iterations": "10" }],
      [2, 4, { "params.lambda": "0.1", "tikhonov.with.iterations": "5" }],
      [3, 4, { "params.lambda": "0.1", "tikhonov.with.iterations": "10" }],
    ])
    expect(new Set(started.map((e) => e.sweep.id)).size).toBe(1)
    const ran = all.filter((e) => e.type === "node-started").map((e) => e.id)
    expect(ran.filter((id) => id === "held" || id === "process")).toEqual(["held", "process"])
    expect(ran.filter((id) => id === "tikhonov")).toHaveLength(4)
    const finished = all.filter((e) => e.type === "run-finished")
    expect(finished.map((e) => e.counts)).toEqual([
      { ran: 4, cached: 0, failed: 0, skipped: 0 },
      { ran: 2, cached: 2, failed: 0, skipped: 0 },
      { ran: 2, cached: 2, failed: 0, skipped: 0 },
      { ran: 2, cached: 2, failed: 0, skipped: 0 },
    ])

    const runs = pipe(ws, ["runs"]).stdout.trim().split("\n")
    expect(runs).toHaveLength(5)
    expect(runs[4]).toMatch(new RegExp(`^\\S+ +baselines +${started[0].sweep.id} 4/4 +succeeded `))

    const text = pipe(ws, ["compare"]).stdout.trim().split("\n")
    expect(text[0]).toMatch(
      /^run +status +params\.lambda +tikhonov\.with\.iterations +measurement\.psnr +measurement\.ssim +tikhonov\.psnr +tikhonov\.ssim$/,
    )
    expect(text.slice(1).map((line) => line.split(/ +/).slice(1, 4))).toEqual([
      ["succeeded", "0.01", "5"],
      ["succeeded", "0.01", "10"],
      ["succeeded", "0.1", "5"],
      ["succeeded", "0.1", "10"],
    ])
    const json = JSON.parse(pipe(ws, ["compare", "--json"]).stdout)
    expect(json.params).toEqual(["params.lambda", "tikhonov.with.iterations"])
    expect(json.runs.map((r: { id: string }) => r.id)).toEqual(started.map((e) => e.runId))
    const psnr = json.runs.map((r: { metrics: Record<string, number> }) => r.metrics["tikhonov.psnr"])
    expect(new Set(psnr).size).toBe(4)
    const measurement = json.runs.map((r: { metrics: Record<string, number> }) => r.metrics["measurement.psnr"])
    expect(new Set(measurement).size).toBe(1)
    const csv = pipe(ws, ["compare", "--csv"]).stdout.trim().split("\n")
    expect(csv[0]).toBe("run,status,params.lambda,tikhonov.with.iterations,measurement.psnr,measurement.ssim,tikhonov.psnr,tikhonov.ssim")
    expect(csv[1].split(",").slice(0, 4)).toEqual([started[0].runId, "succeeded", "0.01", "5"])
    expect(Number(csv[1].split(",")[6])).toBe(psnr[0])
    const md = pipe(ws, ["compare", "--md"]).stdout.trim().split("\n")
    expect(md.slice(0, 2)).toEqual([
      "| run | status | params.lambda | tikhonov.with.iterations | measurement.psnr | measurement.ssim | tikhonov.psnr | tikhonov.ssim |",
      "|---|---|---|---|---|---|---|---|",
    ])
    expect(md).toHaveLength(6)

    const two = pipe(ws, ["compare", started[0].runId, started[2].runId, "--plot", "psnr", "--by", "params.lambda"])
    expect(two.code, two.stderr).toBe(0)
    expect(two.stdout.split("\n")[0]).toMatch(/^run +status +params\.lambda +measurement/)
    const plotted = /^plot: (.+\.png)$/m.exec(two.stdout)?.[1]
    expect(plotted).toMatch(/psnr-by-params\.lambda\.png$/)
    expect(existsSync(join(ws.dir, plotted!))).toBe(true)

    expect(pipe(ws, ["cache", "gc"]).stdout).toMatch(/^removed 0 artifacts/)
    const again = pipe(ws, ["plan", "p.yaml", ...sweep]).stdout.split("\n")
    expect(again.filter((line) => /^(held|process|tikhonov|scores) /.test(line)).every((line) => line.endsWith(" cached"))).toBe(true)
  }, 180_000)

  it("combines with --set, and refuses bad sweeps before anything runs (exit 2)", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const both = pipe(ws, ["plan", "p.yaml", "--set", "params.iterations=3", "--sweep", "params.lambda=0.5,1", "--json"])
    expect(both.code, both.stderr).toBe(0)
    expect(
      events(both.stdout)
        .filter((e) => e.id === "tikhonov")
        .map((e) => e.values),
    ).toEqual([{ "params.lambda": "0.5" }, { "params.lambda": "1" }])
    const refused = (args: string[], message: string) => {
      const r = pipe(ws, ["run", "p.yaml", ...args])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(message)
    }
    refused(["--sweep", "params.lambda"], "--sweep params.lambda: expected PATH=VALUES")
    refused(["--sweep", "params.lambda=1,,2"], "an empty value")
    refused(["--sweep", "params.lambda=range(1,0)"], "range(1,0) is empty")
    refused(["--sweep", "params.lambda=range(a,2)"], "range() takes numbers; got 'a'")
    refused(["--sweep", "params.lamda=1,2"], "--sweep params.lamda=1 no parameter 'lamda' in this pipeline (did you mean 'lambda'?)")
    refused(
      ["--sweep", "tikhonov.with.iterations=5,many"],
      "--sweep tikhonov.with.iterations=many nodes.tikhonov.with.iterations: must be integer; got string 'many'",
    )
    refused(["--sweep", "params.lambda=1,2", "--set", "params.lambda=3"], "'params.lambda' is also given by --set")
    expect(existsSync(join(ws.dir, ".pipe", "runs"))).toBe(false)
    const none = pipe(ws, ["compare"])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain("no sweep in")
  }, 180_000)

  it("pipe watch follows a sweep from its first variant to its last, one line per variant", async () => {
    const ws = workspace()
    ws.write("p.yaml", "version: 1\nname: slow\nnodes:\n  counter: { use: count, with: { steps: 6, delay_ms: 100 } }\n")
    const run = pipeAsync(ws, ["run", "p.yaml", "--sweep", "counter.with.delay_ms=100,101,102", "--threads", "1"])
    const runs = join(ws.dir, ".pipe", "runs")
    await waitFor(() => existsSync(runs) && readdirSync(runs).some((id) => existsSync(join(runs, id, "run.json"))))
    const watch = await pipeAsync(ws, ["watch", "--ui", "lines"]).done
    expect((await run.done).code).toBe(0)
    expect(watch.code, watch.stderr).toBe(0)
    expect(
      watch.stderr
        .split("\n")
        .filter((l) => l.startsWith("[variant"))
        .map((l) => l.replace(/: .*/, "")),
    ).toEqual([
      "[variant 1/3] counter.with.delay_ms=100",
      "[variant 1/3] counter.with.delay_ms=100",
      "[variant 2/3] counter.with.delay_ms=101",
      "[variant 2/3] counter.with.delay_ms=101",
      "[variant 3/3] counter.with.delay_ms=102",
      "[variant 3/3] counter.with.delay_ms=102",
    ])
    expect(watch.stderr).toMatch(/\[variant 3\/3\] counter.with.delay_ms=102: succeeded in /)
  })

  it("--force recomputes a shared node once per sweep, not once per variant", () => {
    const ws = workspace()
    ws.write("p.yaml", "version: 1\nname: f\nnodes:\n  a: { use: make }\n  b: { use: make }\n  sum: { use: add, in: { a: a, b: b } }\n")
    expect(pipe(ws, ["run", "p.yaml"]).code).toBe(0)
    const r = pipe(ws, ["run", "p.yaml", "--sweep", "sum.with.offset=1,2", "--force", "*", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const started = events(r.stdout)
      .filter((e) => e.type === "node-started")
      .map((e) => e.id)
    expect(started.sort()).toEqual(["a", "b", "sum", "sum"])
  })
})
