/**
 * The webgpu backend against wasm (test/runtime/parity-suite.ts), plus what is WebGPU's own: the adapter's
 * description and asynchronous-only reads.
 *
 * Runs on any WebGPU adapter, lavapipe included (CI installs it); skipped,
 * naming what is missing, where there is none. PIPE_REQUIRE_WEBGPU=1 turns the
 * skip into a failure (CI sets it once lavapipe is installed).
 */
import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { initBackend, type StartedBackend } from "../../src/runtime/backend/index.js"
import { describeParityWithWasm } from "./parity-suite.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

const webgpu: { info: StartedBackend } | { missing: string } = await initBackend("webgpu").then(
  (info) => ({ info }),
  (error: unknown) => ({ missing: error instanceof Error ? error.message.split(/\n|\. /)[0]! : String(error) }),
)
await initBackend("wasm", { threads: 1 })
const missing = "missing" in webgpu ? webgpu.missing : undefined
const required = process.env.PIPE_REQUIRE_WEBGPU === "1"

it.runIf(required)("PIPE_REQUIRE_WEBGPU=1: a WebGPU adapter is available", () => {
  expect(missing).toBeUndefined()
})

describeParityWithWasm("webgpu", missing)

describe.skipIf(missing !== undefined)(`webgpu specifics${missing ? ` (skipped: ${missing})` : ""}`, () => {
  const info = "info" in webgpu ? webgpu.info : undefined

  it("reports its adapter, saying when it is software emulation", () => {
    expect(info!.name).toBe("webgpu")
    expect(info!.device).toMatch(/^WebGPU on .+/)
    expect(info!.fingerprint).toMatch(/^webgpu\/4\.22\.0\/[\w.-]+-[\w.-]+$/)
    if (/llvmpipe|lavapipe|swiftshader/i.test(info!.device)) expect(info!.device).toContain("software emulation")
  })

  it("in a child process: sync reads and WebGPU errors fail with a message, nothing reaches stderr, the process exits by itself", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "webgpu-child-"))
    try {
      const script = path.join(dir, "child.mts")
      fs.writeFileSync(script, CHILD_SOURCE(path.join(ROOT, "src/runtime/backend/index.ts")))
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 })
      expect(r.signal, "the process did not exit by itself").toBeNull()
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Record<string, string>
      expect(out.sum).toBe("64")
      expect(out.sync).toContain("use `await tensor.data()`")
      expect(out.invalid).toMatch(/^WebGPU error \(results are invalid\): /)
      // lavapipe's own limit warnings come from requesting the adapter; nothing else may appear.
      const stderr = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/artificially reduced/.test(l))
      expect(stderr).toEqual([])
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

const CHILD_SOURCE = (entry: string) => `
import { initBackend } from ${JSON.stringify(entry)}
const { tf } = await initBackend("webgpu")
const message = async (f) => { try { await f(); return "no error" } catch (e) { return e.message } }
const sum = String((await tf.sum(tf.ones([8, 8])).data())[0])
const sync = await message(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync())
// tfjs-backend-webgpu 4.22 writes invalid WGSL for a rank-6 pad (the reason zeroStuff2x uses rank 4)
const invalid = await message(() => tf.pad(tf.ones([2, 8, 1, 8, 1, 3]), [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]]).data())
console.log(JSON.stringify({ sum, sync, invalid }))
`
