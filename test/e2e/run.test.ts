import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { events, manifests, objectsDir, pipe, pipeAsync, waitFor, workspace } from "./cli.js"

const pipeline = (extra = "") => `version: 1
name: demo
params: { size: 4 }
nodes:
  a: { use: make, with: { size: "\${params.size}", value: 0.25 } }
  b: { use: make, with: { size: "\${params.size}" } }
  sum: { use: add, in: { a: a, b: b }, with: { offset: 1 } }
  counter: { use: count, in: { in: sum }, with: { steps: 3 } }
  other: { use: make, with: { size: 2 } }
  all: { use: collect, in: { items: [sum.total, counter] } }
${extra}`

const byType = (evs: Array<Record<string, any>>, type: string) => evs.filter((e) => e.type === type).map((e) => e.id)

describe("pipe run", () => {
  it("runs everything once, then finds everything cached; --json is valid NDJSON", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const first = pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"])
    expect(first.code).toBe(0)
    const e1 = events(first.stdout)
    expect(e1[0].type).toBe("run-started")
    expect(e1.at(-1)).toMatchObject({ type: "run-finished", status: "succeeded", counts: { ran: 6, cached: 0 } })
    expect(byType(e1, "node-finished").sort()).toEqual(["a", "all", "b", "counter", "other", "sum"])

    const second = pipe(ws, ["run", "p.yaml", "--json", "--threads", "1"])
    const e2 = events(second.stdout)
    expect(byType(e2, "node-started")).toEqual([])
    expect(byType(e2, "node-cached").sort()).toEqual(["a", "all", "b", "counter", "other", "sum"])
    const log = readFileSync(join(ws.dir, ".pipe", "runs", e2[0].runId, "events.ndjson"), "utf8")
    expect(events(log).map((e) => e.type)).toContain("run-finished")
  })

  it("starts the tensor backend only when a node has to run", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const args = ["run", "p.yaml", "--json", "--backend", "wasm", "--threads", "1"]
    const first = events(pipe(ws, args).stdout)
    expect(first.filter((e) => e.type === "backend-ready")).toMatchObject([
      { backend: { name: "wasm" }, fingerprint: expect.stringMatching(/^wasm\//) },
    ])
    const cached = events(pipe(ws, args).stdout)
    expect(cached.at(-1)).toMatchObject({ type: "run-finished", counts: { ran: 0, cached: 6 } })
    expect(cached.map((e) => e.type)).not.toContain("backend-ready")
    const lines = pipe(ws, ["run", "p.yaml", "--ui", "lines", "--backend", "wasm", "--threads", "1", "--force", "sum"]).stderr
    expect(lines).toMatch(/\[backend\] wasm WASM SIMD, 1 thread started in \d/)
  })

  it("re-runs exactly the changed node and its descendants, and plan says why", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    expect(pipe(ws, ["run", "p.yaml", "--threads", "1"]).code).toBe(0)
    const plan = pipe(ws, ["plan", "p.yaml", "--set", "sum.with.offset=2"])
    expect(plan.stdout.split("\n")).toEqual([
      "a        cached",
      "b        cached",
      "sum      will run because with.offset changed from 1 to 2",
      "counter  will run because input 'in' changed ('sum' will run)",
      "other    cached",
      "all      will run because input 'items' changed ('sum' will run, 'counter' will run)",
      "",
    ])
    const rerun = events(pipe(ws, ["run", "p.yaml", "--set", "sum.with.offset=2", "--json"]).stdout)
    expect(byType(rerun, "node-started")).toEqual(["sum", "counter", "all"])
    expect(byType(rerun, "node-cached").sort()).toEqual(["a", "b", "other"])
  })

  it("--to runs what a node needs, --only refuses uncached inputs, --force recomputes", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const only = pipe(ws, ["run", "p.yaml", "--only", "sum"])
    expect(only.code).toBe(2)
    expect(only.stderr).toContain("--only sum: its input 'a' comes from 'a', which is not cached; use --to sum to run what it needs")
    const to = events(pipe(ws, ["run", "p.yaml", "--to", "sum", "--json"]).stdout)
    // a and b are independent and may run at once (--jobs 2): either may finish first; sum needs both.
    const finished = byType(to, "node-finished")
    expect(finished.slice(0, 2).sort()).toEqual(["a", "b"])
    expect(finished.slice(2)).toEqual(["sum"])
    const forced = events(pipe(ws, ["run", "p.yaml", "--only", "sum", "--force", "sum", "--json"]).stdout)
    expect(byType(forced, "node-finished")).toEqual(["sum"])
    expect(forced.find((e) => e.type === "node-planned")).toMatchObject({ id: "sum", reason: "forced (--force)" })
  })

  it("records in every artifact's manifest the backend and the device that computed it", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const run = pipe(ws, ["run", "p.yaml", "--json", "--backend", "cpu"])
    const started = events(run.stdout).find((e) => e.type === "run-started")!
    expect(started.backend.name).toBe("cpu")
    // The backend starts when the first node has to run; the event says what started.
    expect(events(run.stdout).find((e) => e.type === "backend-ready")!.backend).toMatchObject({ name: "cpu", device: "JS" })
    const artifacts = manifests(ws.dir)
    expect(artifacts.length).toBeGreaterThan(2)
    for (const m of artifacts) expect(m, m.node).toMatchObject({ backend: `cpu/${started.backend.version}/js`, device: "JS" })
  })

  it("detects a corrupted artifact and recomputes it", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    expect(pipe(ws, ["run", "p.yaml", "--json"]).code).toBe(0)
    const sum = manifests(ws.dir).find((m) => m.node === "sum")!
    const file = join(objectsDir(ws.dir), sum.key, "out.safetensors")
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(file, bytes)
    const second = events(pipe(ws, ["run", "p.yaml", "--json"]).stdout)
    expect(second.find((e) => e.type === "node-log" && e.id === "sum")?.message).toMatch(
      /corrupted \(checksum mismatch in out\.safetensors\): recomputing/,
    )
    expect(byType(second, "node-started")).toEqual(["sum"])
    expect(pipe(ws, ["cache", "verify"]).code).toBe(0)
  })

  it("a failing node fails the run with its message and skips its descendants only", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline())
    const r = pipe(ws, ["run", "p.yaml", "--set", "counter.with.fail_at=1"])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain("[fail] counter: deliberate failure at step 1")
    expect(r.stderr).toContain("[skip] all: upstream 'counter' did not complete")
    expect(r.stderr).toContain("[done] other")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it("continues a killed run from the node's last checkpoint", async () => {
    const ws = workspace()
    const trace = join(ws.dir, "trace.txt")
    ws.write(
      "p.yaml",
      `version: 1\nname: long\nnodes:\n  counter: { use: count, with: { steps: 30, every: 3, delay_ms: 60, trace: "${trace}" } }\n`,
    )
    const { child, done } = pipeAsync(ws, ["run", "p.yaml"])
    await waitFor(() => existsSync(trace) && readFileSync(trace, "utf8").split("\n").length > 10)
    child.kill("SIGKILL")
    await done
    const before = readFileSync(trace, "utf8").trim().split("\n").map(Number)
    const second = pipe(ws, ["run", "p.yaml", "--json"])
    expect(second.code).toBe(0)
    const started = events(second.stdout).find((e) => e.type === "node-started")
    expect(started).toMatchObject({ id: "counter", resumed: "checkpoint" })
    const after = readFileSync(trace, "utf8").trim().split("\n").map(Number).slice(before.length)
    const resumedAt = after[0] - 1
    expect(resumedAt % 3).toBe(0)
    expect(resumedAt).toBeGreaterThanOrEqual(before.at(-1)! - 3)
    expect(after.at(-1)).toBe(30)
    expect(existsSync(join(ws.dir, ".pipe", "checkpoints"))).toBe(true)
    expect(readdirSync(join(ws.dir, ".pipe", "checkpoints"))).toEqual([])
  })

  it("Ctrl-C interrupts cleanly: exit 130, checkpoint kept, nothing half-written", async () => {
    const ws = workspace()
    ws.write("p.yaml", `version: 1\nname: long\nnodes:\n  counter: { use: count, with: { steps: 100, every: 2, delay_ms: 50 } }\n`)
    const { child, done } = pipeAsync(ws, ["run", "p.yaml"])
    let checkpoints: string[] = []
    await waitFor(() => {
      checkpoints = existsSync(join(ws.dir, ".pipe", "checkpoints")) ? readdirSync(join(ws.dir, ".pipe", "checkpoints")) : []
      return checkpoints.length > 0
    })
    child.kill("SIGINT")
    const r = await done
    expect(r.code).toBe(130)
    expect(r.stderr).toContain("interrupted; finished nodes and checkpoints are kept")
    expect(readdirSync(join(ws.dir, ".pipe", "checkpoints"))).toHaveLength(1)
    expect(existsSync(join(ws.dir, ".pipe", "objects")) ? readdirSync(join(ws.dir, ".pipe", "objects")) : []).toEqual([])
  })

  it("runs independent nodes concurrently within --jobs", () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      "version: 1\nname: two\nnodes:\n  x: { use: count, with: { steps: 4, delay_ms: 100 } }\n  y: { use: count, with: { steps: 4, delay_ms: 100, every: 3 } }\n",
    )
    const together = events(pipe(ws, ["run", "p.yaml", "--json", "--jobs", "2"]).stdout).map((e) => `${e.type}:${e.id}`)
    expect(together.indexOf("node-started:y")).toBeLessThan(together.indexOf("node-finished:x"))
    const alone = events(pipe(ws, ["run", "p.yaml", "--json", "--jobs", "1", "--force", "*"]).stdout).map((e) => `${e.type}:${e.id}`)
    expect(alone.indexOf("node-started:y")).toBeGreaterThan(alone.indexOf("node-finished:x"))
  })

  it("pipe watch follows a live run to its end", async () => {
    const ws = workspace()
    ws.write("p.yaml", "version: 1\nname: live\nnodes:\n  counter: { use: count, with: { steps: 30, delay_ms: 50 } }\n")
    const run = pipeAsync(ws, ["run", "p.yaml"])
    await waitFor(() => existsSync(join(ws.dir, ".pipe", "runs")) && readdirSync(join(ws.dir, ".pipe", "runs")).length > 0)
    const watch = await pipeAsync(ws, ["watch"]).done
    expect((await run.done).code).toBe(0)
    expect(watch.code).toBe(0)
    expect(watch.stderr).toContain("[start] counter")
    expect(watch.stderr).toMatch(/\[end\] succeeded: 1 ran/)
  })

  it("pipe watch follows the running run rather than a later finished one; pipe runs lists both", async () => {
    const ws = workspace()
    ws.write("long.yaml", "version: 1\nname: long\nnodes:\n  counter: { use: count, with: { steps: 1000, delay_ms: 50 } }\n")
    ws.write("short.yaml", "version: 1\nname: short\nnodes:\n  one: { use: make }\n")
    const long = pipeAsync(ws, ["run", "long.yaml"])
    await waitFor(() => existsSync(join(ws.dir, ".pipe", "runs")) && readdirSync(join(ws.dir, ".pipe", "runs")).length > 0)
    expect(pipe(ws, ["run", "short.yaml"]).code).toBe(0)
    const listed = JSON.parse(pipe(ws, ["runs", "--json"]).stdout) as Array<{ pipeline: string; status: string }>
    expect(listed.map((r) => [r.pipeline, r.status])).toEqual([
      ["long", "running"],
      ["short", "succeeded"],
    ])
    expect(pipe(ws, ["runs"]).stdout).toMatch(
      /^RUN +PIPELINE +SWEEP +STATUS +STARTED +DURATION\n\S+ +long +- +running .*\n\S+ +short +- +succeeded /,
    )
    const watch = pipeAsync(ws, ["watch"])
    let seen = ""
    watch.child.stderr!.on("data", (d) => (seen += d))
    await waitFor(() => seen.includes("[start] counter"))
    long.child.kill("SIGINT")
    await long.done
    expect((await watch.done).stderr).not.toContain("one")
  })

  it("Ctrl-C on pipe watch stops watching and says the run goes on", async () => {
    const ws = workspace()
    ws.write("p.yaml", "version: 1\nname: long\nnodes:\n  counter: { use: count, with: { steps: 200, delay_ms: 50 } }\n")
    const run = pipeAsync(ws, ["run", "p.yaml"])
    await waitFor(() => existsSync(join(ws.dir, ".pipe", "runs")) && readdirSync(join(ws.dir, ".pipe", "runs")).length > 0)
    const watch = pipeAsync(ws, ["watch"])
    let seen = ""
    watch.child.stderr!.on("data", (d) => (seen += d))
    await waitFor(() => seen.includes("[start] counter"))
    watch.child.kill("SIGINT")
    const watched = await watch.done
    run.child.kill("SIGINT")
    await run.done
    expect(watched.code).toBe(130)
    expect(watched.stderr).toContain("stopped watching; the run itself goes on")
    expect(watched.stderr).not.toContain("run again")
  })

  it("--debug reports tensor memory growth of a node that leaks", () => {
    const ws = workspace()
    ws.write("p.yaml", "version: 1\nname: mem\nnodes:\n  tidy: { use: make }\n  leaky: { use: make, with: { leak: true } }\n")
    const r = pipe(ws, ["run", "p.yaml", "--debug", "--ui", "lines"])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain("[log] leaky: debug: tensor memory grew by 1 tensors (12 bytes)")
    expect(r.stderr).not.toContain("[log] tidy: debug: tensor memory")
    expect(pipe(ws, ["run", "p.yaml", "--ui", "lines", "--force", "*"]).stderr).not.toContain("tensor memory")
  })
})
