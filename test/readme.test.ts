import { execFileSync, spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { kindsMarkdown } from "../src/cli/commands/nodes.js"
import { builtinKinds } from "../src/nodes/index.js"

const root = new URL("..", import.meta.url).pathname
const readme = readFileSync(join(root, "README.md"), "utf8")
const env: NodeJS.ProcessEnv = { ...process.env, CI: "true" }
delete env.PIPE_PLUGINS
const pipe = (args: string[]) => spawnSync(process.execPath, [join(root, "bin/pipe.js"), ...args], { cwd: root, env, encoding: "utf8" })

const shipped = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? shipped(join(dir, e.name)) : e.name.endsWith(".yaml") ? [join(dir, e.name)] : [],
  )

describe("README.md", () => {
  it("has the node reference that the code generates (npm run docs)", () => {
    const section = /<!-- nodes:start -->\n([\s\S]*?)<!-- nodes:end -->/.exec(readme)?.[1]
    expect(section).toBe(`${kindsMarkdown(builtinKinds)}\n`)
  })

  it("documents only pipe commands and options that exist", () => {
    const options = new Map<string, Set<string>>()
    for (const [, name, rest] of readme.matchAll(/(?:^|`)(?:npx )?pipe ([a-z]+)((?: [^#\n|`]*)?)/gm)) {
      options.set(name, new Set([...(options.get(name) ?? []), ...(rest.match(/--[a-z-]+/g) ?? [])]))
    }
    expect(options.size).toBeGreaterThan(5)
    for (const [name, used] of options) {
      const help = pipe([name, "--help"])
      expect(help.status, `pipe ${name}`).toBe(0)
      for (const option of used) expect(help.stdout, `pipe ${name} ${option}`).toContain(option)
    }
  }, 240_000)

  it("runs the tool as npx pipe, which works after npm ci without pipe on PATH", () => {
    expect(readme.match(/(?:^|`)pipe [a-z]+/gm) ?? []).toEqual([])
  })

  it("names files that exist, and every shipped pipeline validates", () => {
    for (const file of shipped("pipelines")) {
      const r = pipe(["validate", file])
      expect(r.stderr, file).toBe("")
      expect(r.status, file).toBe(0)
    }
    for (const [, file] of readme.matchAll(/(pipelines\/[\w/.-]+\.yaml)/g)) expect(shipped("pipelines"), file).toContain(file)
  }, 240_000)

  it("gives the test command that .ci/run runs", () => {
    expect(readme).toContain("npm test")
    expect(readFileSync(join(root, ".ci/run"), "utf8")).toMatch(/^npm test$/m)
    expect(execFileSync("git", ["ls-files", "package-lock.json"], { cwd: root, encoding: "utf8" }).trim()).toBe("package-lock.json")
  })
})
