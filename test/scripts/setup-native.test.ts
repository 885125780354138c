/**
 * `npm run setup:native` (scripts/setup-native.mjs): its options, its fast path when the binding already works, and
 * a failed build leaving the previous install as it was. The full build runs in CI (.ci/run), where the native
 * tests then require the engine (PIPE_REQUIRE_NATIVE=1).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const ROOT = new URL("../..", import.meta.url).pathname
const SCRIPT = join(ROOT, "scripts/setup-native.mjs")
const scratch = mkdtempSync(join(tmpdir(), "setup-native-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const setup = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, PIPE_NATIVE_CACHE: join(scratch, "cache"), ...env },
  })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

describe("setup:native", () => {
  it("explains itself, the GPU route included, and refuses unknown options with exit 2", () => {
    const help = setup(["--help"])
    expect(help.code).toBe(0)
    expect(help.out).toContain("--gpu")
    expect(help.out).toMatch(/CUDA 12 and cuDNN 9/)
    const bad = setup(["--fast"])
    expect(bad.code).toBe(2)
    expect(bad.err).toMatch(/^Unknown option '--fast'.*usage: /)
  })

  const installed = existsSync(join(ROOT, "node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node"))
  it.runIf(installed || process.env.PIPE_REQUIRE_NATIVE === "1")("leaves a working install alone", () => {
    const r = setup([])
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/^already working: node_modules\/@tensorflow\/tfjs-node/m)
  })

  it("fails with a clear message when the wheel cannot be had, and keeps the previous package", () => {
    const project = join(scratch, "project")
    const scoped = join(project, "node_modules/@tensorflow")
    mkdirSync(scoped, { recursive: true })
    for (const p of ["tfjs", "tfjs-core"]) symlinkSync(join(ROOT, "node_modules/@tensorflow", p), join(scoped, p))
    mkdirSync(join(scoped, "tfjs-node"))
    writeFileSync(join(scoped, "tfjs-node/marker"), "the previous install\n")
    const r = setup(["--force", "--tf-version", "0.0.1", "--project", project])
    expect(r.code).toBe(1)
    expect(r.err).toMatch(/^setup-native: wheel not found: pip has no tensorflow-cpu==0\.0\.1/m)
    expect(r.err).not.toMatch(/\n\s+at /)
    expect(readFileSync(join(scoped, "tfjs-node/marker"), "utf8")).toBe("the previous install\n")
  })
})
