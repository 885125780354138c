import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Manifest } from "../../src/runtime/ArtifactStore.js"
import { testNodesPlugin } from "../fixtures/kinds.js"

export const pipeBin = new URL("../../bin/pipe.js", import.meta.url).pathname

export interface Workspace {
  readonly dir: string
  readonly env: NodeJS.ProcessEnv
  readonly write: (name: string, text: string) => string
}

/** A temporary project folder with its own cache, and the test node kinds plugged in. */
export const workspace = (): Workspace => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-e2e-"))
  writeFileSync(join(dir, "package.json"), "{}\n")
  const env: NodeJS.ProcessEnv = { ...process.env, PIPE_PLUGINS: testNodesPlugin, CI: "true" }
  delete env.PIPE_CACHE_DIR
  return {
    dir,
    env,
    write: (name, text) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    },
  }
}

/** The artifacts folder of the cache of the project in `dir`; each artifact is in the folder named by its key. */
export const objectsDir = (dir: string): string => join(dir, ".pipe", "objects")

/** The manifest of every artifact in the cache of the project in `dir`. */
export const manifests = (dir: string): Manifest[] =>
  readdirSync(objectsDir(dir)).map((key) => JSON.parse(readFileSync(join(objectsDir(dir), key, "manifest.json"), "utf8")) as Manifest)

export interface Result {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI (`bin`, default this checkout's) in the workspace. */
export const pipe = (ws: Workspace, args: string[], timeoutMs = 240_000, bin = pipeBin): Result => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: ws.dir, env: ws.env, encoding: "utf8", timeout: timeoutMs })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

export const pipeAsync = (ws: Workspace, args: string[]): { child: ChildProcess; done: Promise<Result> } => {
  const child = spawn(process.execPath, [pipeBin, ...args], { cwd: ws.dir, env: ws.env })
  let stdout = ""
  let stderr = ""
  child.stdout!.on("data", (d) => (stdout += d))
  child.stderr!.on("data", (d) => (stderr += d))
  const done = new Promise<Result>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })))
  return { child, done }
}

export const events = (stdout: string): Array<Record<string, any>> =>
  stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))

export const waitFor = async (check: () => boolean, timeoutMs = 30_000): Promise<void> => {
  const start = Date.now()
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out waiting")
    await new Promise((r) => setTimeout(r, 50))
  }
}
