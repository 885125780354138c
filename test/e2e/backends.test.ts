/**
 * `pipe backends` on this machine, and what a broken native install does to it, to auto and to an explicit
 * `--backend tensorflow`. The broken install is a sandbox: a copy of the CLI whose node_modules hold the real
 * packages (linked) except @tensorflow/tfjs-node, which fails to load as a binding without its library does.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import type { EngineStatus } from "../../src/runtime/backend/survey.js"
import { pipe, workspace } from "./cli.js"

const ROOT = new URL("../..", import.meta.url).pathname

type Engine = EngineStatus & { readonly auto?: string }

const engines = (stdout: string): Engine[] => JSON.parse(stdout) as Engine[]
const NAMES = ["tensorflow", "tensorflow-gpu", "webgpu", "wasm", "cpu", "onnxruntime-cpu", "onnxruntime-cuda"]

describe("pipe backends", () => {
  const ws = workspace()

  it("lists every engine with its status, and the command that enables each missing one", () => {
    const r = pipe(ws, ["backends", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const list = engines(r.stdout)
    expect(list.map((e) => e.name)).toEqual(NAMES)
    for (const e of list) {
      expect(Object.keys(e).sort()).toEqual(["available", "device", "enable", "name", "reason", "version"])
      if (!e.available) expect(e.reason.length, e.name).toBeGreaterThan(0)
    }
    expect(list.find((e) => e.name === "wasm")).toMatchObject({
      available: true,
      device: expect.stringMatching(/^WASM SIMD, \d+ threads?$/),
    })
    const native = list.find((e) => e.name === "tensorflow")!
    if (process.env.PIPE_REQUIRE_NATIVE === "1")
      expect(native, native.reason).toMatchObject({ available: true, device: expect.stringMatching(/^CPU \(libtensorflow \d+\.\d+/) })
    if (!native.available) expect(native.enable).toBe("npm run setup:native")
    const text = pipe(ws, ["backends"])
    expect(text.code).toBe(0)
    for (const name of NAMES) expect(text.stdout).toMatch(new RegExp(`^  ${name} +(yes|no) `, "m"))
  })

  it("with a pipeline, marks the engine auto takes for it and says why", () => {
    const quickstart = join(ROOT, "pipelines/quickstart-blur.yaml")
    const r = pipe(ws, ["backends", quickstart, "--json"])
    expect(r.code, r.stderr).toBe(0)
    const chosen = engines(r.stdout).filter((e) => e.auto !== undefined)
    expect(chosen).toHaveLength(1)
    expect(chosen[0]).toMatchObject({ name: "wasm", auto: expect.stringContaining("tiny-32, 0.46 M parameters at 32 px") })
    const text = pipe(ws, ["backends", quickstart])
    expect(text.stdout).toMatch(/^\* --backend auto for .*quickstart-blur\.yaml: wasm: auto: wasm on the CPU/m)
  })
})

describe("a broken native install", () => {
  const sandbox = mkdtempSync(join(tmpdir(), "pipe-broken-native-"))
  afterAll(() => rmSync(sandbox, { recursive: true, force: true }))
  cpSync(join(ROOT, "dist"), join(sandbox, "dist"), { recursive: true })
  cpSync(join(ROOT, "bin"), join(sandbox, "bin"), { recursive: true })
  cpSync(join(ROOT, "schemas"), join(sandbox, "schemas"), { recursive: true })
  cpSync(join(ROOT, "package.json"), join(sandbox, "package.json"))
  const modules = join(sandbox, "node_modules")
  mkdirSync(join(modules, "@tensorflow"), { recursive: true })
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry !== "@tensorflow" && entry !== ".bin") symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry))
  }
  for (const entry of readdirSync(join(ROOT, "node_modules/@tensorflow"))) {
    if (entry !== "tfjs-node" && entry !== "tfjs-node-gpu")
      symlinkSync(join(ROOT, "node_modules/@tensorflow", entry), join(modules, "@tensorflow", entry))
  }
  const fake = join(modules, "@tensorflow/tfjs-node")
  mkdirSync(fake)
  writeFileSync(join(fake, "package.json"), JSON.stringify({ name: "@tensorflow/tfjs-node", version: "4.22.0", main: "index.js" }))
  writeFileSync(
    join(fake, "index.js"),
    'throw new Error("libtensorflow.so.2: cannot open shared object file: No such file or directory")\n',
  )
  const brokenPipe = (args: string[]) => pipe(workspace(), args, 120_000, join(sandbox, "bin/pipe.js"))

  it("pipe backends says why and how to fix it", () => {
    const r = brokenPipe(["backends", "--json"])
    expect(r.code, r.stderr).toBe(0)
    const native = engines(r.stdout).find((e) => e.name === "tensorflow")!
    expect(native).toMatchObject({
      available: false,
      enable: "npm run setup:native",
      reason: expect.stringContaining("cannot open shared object file"),
    })
  })

  it("auto falls back to wasm and says why in its reason", () => {
    const r = brokenPipe(["backends", join(ROOT, "pipelines/ffhq-blur.yaml"), "--json"])
    expect(r.code, r.stderr).toBe(0)
    const chosen = engines(r.stdout).find((e) => e.auto !== undefined)!
    expect(chosen.name).toBe("wasm")
    expect(chosen.auto).toMatch(
      /^auto: wasm, since native TensorFlow is unavailable \(.*@tensorflow\/tfjs-node: failed to load: libtensorflow\.so\.2: cannot open shared object file.*`npm run setup:native` enables it\)$/,
    )
  })

  it("--backend tensorflow fails before any work with exit 2 and the command that fixes it", () => {
    const ws = workspace()
    ws.write(
      "p.yaml",
      "version: 1\nname: needs-tensors\nnodes:\n  a: { use: make, with: { size: 3 } }\n  scaled: { use: scale, in: { in: a } }\n",
    )
    const r = pipe(ws, ["run", "p.yaml", "--backend", "tensorflow", "--ui", "lines"], 120_000, join(sandbox, "bin/pipe.js"))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("npm run setup:native")
    expect(r.stderr).toContain("cannot open shared object file")
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})
