import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { pipe, pipeBin, workspace } from "./cli.js"

const good = `version: 1
name: demo
nodes:
  a: { use: make, with: { size: 4 } }
  b: { use: make, with: { size: 4 } }
  sum: { use: add, in: { a: a, b: b } }
`

describe("pipe validate", () => {
  it("accepts a valid pipeline", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    expect(pipe(ws, ["validate", "p.yaml"])).toMatchObject({ code: 0, stdout: "p.yaml: valid pipeline 'demo' with 3 nodes\n" })
  })

  it("reports every problem with file:line:col, exit code 2 and no stack trace", () => {
    const ws = workspace()
    ws.write(
      "bad.yaml",
      [
        "version: 1",
        "name: demo",
        "nodes:",
        "  a: { use: make, with: { size: 0 } }",
        "  b: { use: mkae }",
        "  c: { use: add, in: { a: a } }",
        "",
      ].join("\n"),
    )
    const r = pipe(ws, ["validate", "bad.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      [
        "bad.yaml:4:33 nodes.a.with.size: must be >= 1; got 0",
        "bad.yaml:5:13 nodes.b.use: unknown node kind 'mkae' (did you mean 'make'?) (run 'pipe nodes' for the list)",
        "2 problems; nothing was run",
        "",
      ].join("\n"),
    )
  })

  it("reports graph problems: missing inputs, cycles", () => {
    const ws = workspace()
    ws.write("cycle.yaml", "version: 1\nname: x\nnodes:\n  a: { use: add, in: { a: b, b: b } }\n  b: { use: add, in: { a: a, b: a } }\n")
    const r = pipe(ws, ["validate", "cycle.yaml"])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("cycle.yaml:4:22 nodes.a.in: cycle: a -> b -> a")
  })

  it("names the flag when an override is wrong, and the file when it is missing", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    const r = pipe(ws, ["validate", "p.yaml", "--set", "a.with.size=big"])
    expect(r).toMatchObject({ code: 2 })
    expect(r.stderr).toContain("--set a.with.size=big nodes.a.with.size: must be integer; got string 'big'")
    expect(pipe(ws, ["validate", "nope.yaml"]).stderr).toBe(
      "pipe validate: cannot read nope.yaml: no such file\nRun 'pipe validate --help' for usage.\n",
    )
    expect(pipe(ws, ["validate", "p.yaml", "--sett", "x=1"]).stderr).toContain("unknown option '--sett' (did you mean 'set'?)")
    expect(pipe(ws, ["valdate"]).stderr).toContain("unknown command 'valdate' (did you mean 'validate'?)")
  })

  it("refuses arguments it would ignore: a Hydra-style override suggests --set", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    const hydra = pipe(ws, ["plan", "p.yaml", "a.with.size=8"])
    expect(hydra).toMatchObject({ code: 2, stdout: "" })
    expect(hydra.stderr).toContain("pipe plan: unexpected argument 'a.with.size=8'; to override a value, write --set a.with.size=8")
    expect(pipe(ws, ["validate", "p.yaml", "other.yaml"]).stderr).toContain(
      "pipe validate: unexpected argument 'other.yaml' (usage: pipe validate FILE [--set PATH=VALUE]...)",
    )
  })
})

describe("pipe graph, nodes, schema, help", () => {
  it("prints Mermaid and dot", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    const mermaid = pipe(ws, ["graph", "p.yaml"]).stdout
    expect(mermaid).toContain("flowchart LR")
    expect(mermaid).toContain('a -- "out -> a<br/>4x4x1 images in [0, 1]" --> sum')
    const dot = pipe(ws, ["graph", "p.yaml", "--format", "dot"]).stdout
    expect(dot).toContain('"b" -> "sum" [label="out -> b\\n4x4x1 images in [0, 1]"];')
  })

  it("lists kinds and shows one with ports and defaults", () => {
    const ws = workspace()
    expect(pipe(ws, ["nodes"]).stdout).toMatch(/\ncount +Counts slowly, with checkpoints.\n/)
    const add = pipe(ws, ["nodes", "add"]).stdout
    expect(add).toContain("    b: images - second images")
    expect(add).toContain("    offset: number = 0")
    expect(pipe(ws, ["nodes", "ad"]).stderr).toContain("unknown node kind 'ad' (did you mean 'add'?)")
  })

  it("prints the pipeline schema with every kind's config", () => {
    const ws = workspace()
    const schema = JSON.parse(pipe(ws, ["schema"]).stdout)
    expect(schema.definitions.node.properties.use.enum).toEqual(expect.arrayContaining(["make", "add", "count", "collect"]))
    expect(JSON.parse(pipe(ws, ["schema", "make"]).stdout).properties.size.default).toBe(4)
  })

  it("documents every command", () => {
    const ws = workspace()
    for (const command of ["run", "validate", "plan", "graph", "nodes", "schema", "cache", "runs", "compare", "watch"]) {
      const r = pipe(ws, [command, "--help"])
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(new RegExp(`^Usage: pipe ${command}`))
    }
  }, 120_000)
})

describe("pipe watch and the terminal view", () => {
  it("replays a finished run from its event log", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    expect(pipe(ws, ["run", "p.yaml"]).code).toBe(0)
    const r = pipe(ws, ["watch"])
    expect(r.code).toBe(0)
    expect(r.stderr).toContain("[done] sum")
    expect(r.stderr).toMatch(/\[end\] succeeded: 3 ran/)
  })

  it("renders the Ink view in a real terminal", () => {
    const ws = workspace()
    ws.write("p.yaml", good)
    const env = { ...ws.env }
    delete env.CI
    const r = spawnSync("script", ["-qec", `${process.execPath} ${pipeBin} run p.yaml`, "/dev/null"], {
      cwd: ws.dir,
      env,
      encoding: "utf8",
      timeout: 60_000,
    })
    expect(r.status).toBe(0)
    const screen = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    expect(screen).toContain("demo")
    expect(screen).toMatch(/✓ sum \(add\) ran in \d+ms\r?\n/)
    expect(screen).toMatch(/✓ succeeded: 3 ran, 0 cached, 0 failed, 0 skipped in \d+(\.\d+)?m?s/)
    expect(screen).not.toContain("[done]")
    const runs = readFileSync(join(ws.dir, ".pipe", "records", "demo.json"), "utf8")
    expect(JSON.parse(runs).nodes.sum.key).toHaveLength(64)
  })
})

describe("sampling engines", () => {
  it("refuses guidance on ONNX Runtime before running anything", () => {
    const quickstart = new URL("../../pipelines/quickstart-blur.yaml", import.meta.url).pathname
    const r = pipe(workspace(), [
      "validate",
      quickstart,
      "--set",
      "validation_run.with.engine=onnxruntime",
      "--set",
      "validation_run.with.guidance.step=1",
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("nodes.validation_run.with.engine: guidance (with.guidance.step > 0) needs gradients through the network")
    expect(r.stderr).toContain("nothing was run")
  })
})

describe("pipe cache on a folder that is not a cache", () => {
  it("a file is an error with exit 2, a missing folder is said to hold nothing", () => {
    const ws = workspace()
    ws.write("not-a-folder", "x")
    for (const action of ["ls", "verify", "gc"]) {
      const onFile = pipe(ws, ["cache", action, "--cache-dir", "not-a-folder"])
      expect(onFile.code, action).toBe(2)
      expect(onFile.stderr).toMatch(/the cache folder .*not-a-folder is a file; name a folder with --cache-dir/)
      const missing = pipe(ws, ["cache", action, "--cache-dir", "nowhere"])
      expect(missing.code, action).toBe(0)
      expect(missing.stdout).toMatch(/nowhere: no cache here \(nothing to /)
    }
    expect(pipe(ws, ["cache", "tidy"]).stderr).toContain("unknown cache action 'tidy': use ls, verify or gc")
  })
})
