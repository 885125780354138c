/** `--store s3://...`: runs against an S3-compatible server on loopback, as several machines sharing a bucket would. */
import { createServer } from "node:net"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeS3Client, s3Objects } from "../../src/runtime/store/s3-objects.js"
import { startS3Server, type S3Server } from "../fixtures/s3-server.js"
import { events, pipeAsync, workspace, type Workspace } from "./cli.js"

const pipeline = `version: 1
name: shared-bucket
nodes:
  a: { use: make, with: { size: 4, value: 0.25 } }
  b: { use: make, with: { size: 4 } }
  sum: { use: add, in: { a: a, b: b } }
  all: { use: collect, in: { items: [sum.total] }, with: { note: "# a note stored in the bucket" } }
`
const nodes = ["a", "all", "b", "sum"]

let server: S3Server
beforeAll(async () => {
  server = await startS3Server()
  Object.assign(process.env, server.env)
})
afterAll(() => server.close())

/** A machine of its own: an empty project folder and cache, the server's credentials and endpoint. */
const machine = (): Workspace => {
  const ws = workspace()
  Object.assign(ws.env, server.env)
  delete ws.env.PIPE_STORE
  ws.write("p.yaml", pipeline)
  return ws
}

/** The server runs in this process: the CLI must not block it, as spawnSync would. */
const pipe = (ws: Workspace, args: string[]) => pipeAsync(ws, args).done

const byType = (evs: Array<Record<string, any>>, type: string) => evs.filter((e) => e.type === type).map((e) => e.id as string)

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })

describe("an s3:// store", () => {
  it("runs a pipeline into the bucket; another machine with an empty cache finds all of it there", async () => {
    const store = `s3://${server.bucket}/runs-a`
    const first = machine()
    const ran = await pipe(first, ["run", "p.yaml", "--store", store, "--json"])
    expect(ran.code, ran.stderr).toBe(0)
    expect(byType(events(ran.stdout), "node-finished").sort()).toEqual(nodes)
    expect(existsSync(join(first.dir, ".pipe", "objects"))).toBe(false)
    expect(ran.stderr).not.toMatch(/warning/i)

    const second = machine()
    delete second.env.AWS_ENDPOINT_URL
    second.env.PIPE_STORE = store
    const endpoint = ["--s3-endpoint", server.endpoint]
    expect((await pipe(second, ["plan", "p.yaml", ...endpoint])).stdout.trim().split("\n")).toEqual([
      "a    cached",
      "b    cached",
      "sum  cached",
      "all  cached",
    ])
    const cached = await pipe(second, ["run", "p.yaml", "--ui", "lines", "--verbose", ...endpoint])
    expect(cached.code, cached.stderr).toBe(0)
    expect(cached.stdout).toMatch(new RegExp(`^sum: ${store}/objects/[0-9a-f]{64}$`, "m"))
    const runId = /^run (\S+) succeeded$/m.exec(cached.stdout)![1]!
    const log = events(readFileSync(join(second.dir, ".pipe", "runs", runId, "events.ndjson"), "utf8"))
    expect(byType(log, "node-started")).toEqual([])
    expect(byType(log, "node-cached").sort()).toEqual(nodes)
    const report = readFileSync(join(second.dir, ".pipe", "runs", runId, "report", "README.md"), "utf8")
    expect(report).toContain("# a note stored in the bucket")
    expect(readdirSync(join(second.dir, ".pipe", "read-cache")).length).toBeGreaterThan(0)

    const ls = await pipe(second, ["cache", "ls", ...endpoint])
    expect(
      ls.stdout
        .trim()
        .split("\n")
        .map((line) => line.split(/\s+/)[1]),
    ).toEqual(expect.arrayContaining(nodes.map((n) => `shared-bucket/${n}`)))
    const gc = await pipe(second, ["cache", "gc", ...endpoint])
    expect(gc.code, gc.stderr).toBe(0)
    expect(gc.stdout).toContain(`removed 0 artifacts`)
    expect(gc.stdout).toContain(`kept 4 (gc removes no entry from a shared ${store})`)
  }, 180_000)

  it("finds a file damaged in the bucket, recomputes that node, and cache verify removes damaged entries", async () => {
    const store = `s3://${server.bucket}/runs-b`
    const first = machine()
    expect((await pipe(first, ["run", "p.yaml", "--store", store])).code).toBe(0)
    const key = async (id: string) =>
      events((await pipe(first, ["plan", "p.yaml", "--store", store, "--json"])).stdout).find((p) => p.id === id)!.key
    const objects = s3Objects(makeS3Client({ endpoint: server.endpoint }), server.bucket)
    const damage = async (id: string) => {
      const blob = `runs-b/objects/${await key(id)}/out.safetensors`
      const bytes = (await objects.get(blob))!
      bytes[bytes.length - 1] ^= 1
      await objects.put(blob, bytes)
    }
    await damage("sum")
    const second = machine()
    const rerun = await pipe(second, ["run", "p.yaml", "--store", store, "--json"])
    expect(rerun.code, rerun.stderr).toBe(0)
    const evs = events(rerun.stdout)
    expect(byType(evs, "node-started")).toEqual(["sum"])
    expect(evs.find((e) => e.type === "node-log" && e.id === "sum")?.message).toMatch(
      /corrupted \(checksum mismatch in out.safetensors\): recomputing/,
    )
    expect((await pipe(second, ["cache", "verify", "--store", store])).stdout).toContain("4 of 4 artifacts intact")

    await damage("b")
    const verify = await pipe(machine(), ["cache", "verify", "--store", store])
    expect(verify.code).toBe(1)
    expect(verify.stdout).toContain("shared-bucket/b: artifact")
    expect(verify.stdout).toContain("3 of 4 artifacts intact")
    expect((await pipe(machine(), ["plan", "p.yaml", "--store", store])).stdout).toMatch(/^b +will run/m)
  }, 180_000)

  it("says what is wrong with a store before any work (exit 2)", async () => {
    const ws = machine()
    const unreachable = `http://127.0.0.1:${await freePort()}`
    const down = await pipe(ws, ["run", "p.yaml", "--store", `s3://${server.bucket}/x`, "--s3-endpoint", unreachable])
    expect(down.code).toBe(2)
    expect(down.stderr).toMatch(
      new RegExp(`the store s3://${server.bucket}/x: cannot be reached \\(.*--s3-endpoint or AWS_ENDPOINT_URL\\)`),
    )
    expect(existsSync(join(ws.dir, ".pipe", "runs"))).toBe(false)
    const noBucket = await pipe(ws, ["plan", "p.yaml", "--store", "s3://no-such-bucket/x"])
    expect([noBucket.code, noBucket.stderr]).toEqual([2, expect.stringContaining("the store s3://no-such-bucket/x: no such bucket")])
    const anonymous = machine()
    delete anonymous.env.AWS_ACCESS_KEY_ID
    delete anonymous.env.AWS_SECRET_ACCESS_KEY
    anonymous.env.AWS_CONFIG_FILE = anonymous.env.AWS_SHARED_CREDENTIALS_FILE = join(anonymous.dir, "none")
    const noCredentials = await pipe(anonymous, ["run", "p.yaml", "--store", `s3://${server.bucket}/x`])
    expect([noCredentials.code, noCredentials.stderr]).toEqual([2, expect.stringContaining("no credentials: set AWS_ACCESS_KEY_ID")])
    const cases: Array<[string[], string]> = [
      [["--store", "ftp://host/x"], "--store: 'ftp://host/x' names no store: use file:PATH or s3://BUCKET/PREFIX"],
      [["--store", "s3://A_b/x"], "--store: 'A_b' is not a bucket name"],
      [
        ["--store", "file:one", "--cache-dir", "two"],
        "--store file:one and --cache-dir two name two folders for one cache; give one of them",
      ],
      [["--store", "file:one", "--s3-endpoint", server.endpoint], "--s3-endpoint is for an s3:// store; this one is a folder"],
      [
        ["--store", `s3://${server.bucket}/x`, "--s3-endpoint", "localhost:9000"],
        "the S3 endpoint 'localhost:9000' is not an http:// or https:// address",
      ],
    ]
    for (const [flags, message] of cases) {
      const r = await pipe(ws, ["run", "p.yaml", ...flags])
      expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(message)])
    }
  }, 180_000)

  it("file:DIR is the local store in DIR, as --cache-dir DIR", async () => {
    const ws = machine()
    const r = await pipe(ws, ["run", "p.yaml", "--store", "file:elsewhere", "--json"])
    expect(r.code, r.stderr).toBe(0)
    expect(readdirSync(join(ws.dir, "elsewhere", "objects"))).toHaveLength(4)
    const again = events((await pipe(ws, ["run", "p.yaml", "--cache-dir", "elsewhere", "--json"])).stdout)
    expect(byType(again, "node-cached").sort()).toEqual(nodes)
    expect((await pipe(ws, ["cache", "ls", "--store", "file:elsewhere"])).stdout.trim().split("\n")).toHaveLength(4)
  }, 180_000)
})
