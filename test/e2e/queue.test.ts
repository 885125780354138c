/**
 * `pipe run --queue` hands shards to `pipe worker` processes through BullMQ on a Redis server of the test's own
 * (127.0.0.1, a free port): the artifacts equal a run in one process bit for bit, a killed worker's shard is
 * retried by another, a re-run is fully cached, and an unreachable Redis stops the run before any work.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process"
import { createWriteStream, existsSync, readFileSync } from "node:fs"
import { createServer } from "node:net"
import { join } from "node:path"
import { Queue } from "bullmq"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { QUEUE_NAME } from "../../src/runtime/queue/shard-jobs.js"
import { manifests, pipe, pipeAsync, waitFor, workspace, type Workspace } from "./cli.js"

const hasRedis = spawnSync("redis-server", ["--version"]).status === 0
const checkpoint = new URL("../fixtures/torch/tiny16.ckpt", import.meta.url).pathname

const pipeline = `version: 1
name: queued
nodes:
  held: { use: load, with: { source: synthetic, seed: 2, count: 5, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  model: { use: import-checkpoint, with: { path: ${checkpoint}, arch: tiny-16 } }
  rec:
    use: sample
    in: { model: model, process: process.process, measurements: process.measurements, images: held }
    with: { dt: 0.25, engine: tfjs, perceptual: none, samples: 2, batch_size: 3 }
  score:
    use: metric
    in: { reconstructions: [rec], images: held, measurements: process.measurements, process: process.process }
    with: { metrics: [psnr, ssim, eps_dc] }
`

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })

const artifacts = (dir: string) =>
  Object.fromEntries(
    manifests(dir)
      .filter((m) => !m.node.includes("[shard"))
      .map((m) => [m.node, { key: m.key, files: m.files }]),
  )

interface Worker {
  readonly child: ChildProcess
  readonly log: () => string
}

const startWorker = (ws: Workspace, url: string): Worker => {
  const { child } = pipeAsync(ws, ["worker", "--queue", url, "--backend", "cpu", "--lock-seconds", "8"])
  const file = join(ws.dir, `worker-${child.pid}.log`)
  child.stderr!.pipe(createWriteStream(file))
  return { child, log: () => (existsSync(file) ? readFileSync(file, "utf8") : "") }
}

const stop = async (worker: Worker) => {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return
  const closed = new Promise((resolve) => worker.child.on("close", resolve))
  worker.child.kill("SIGTERM")
  await closed
}

describe.skipIf(!hasRedis)(
  `pipe run --queue and pipe worker${hasRedis ? "" : " (skipped: redis-server is not installed; .ci/run installs it)"}`,
  () => {
    let redis: ChildProcess
    let url: string
    let single: ReturnType<typeof artifacts>

    beforeAll(async () => {
      const port = await freePort()
      url = `redis://127.0.0.1:${port}`
      redis = spawn("redis-server", ["--port", `${port}`, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" })
      const ws = workspace()
      ws.write("p.yaml", pipeline)
      const r = pipe(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines"])
      expect(r.code, r.stderr).toBe(0)
      single = artifacts(ws.dir)
    }, 240_000)

    afterAll(() => {
      redis?.kill()
    })

    it("two workers: the artifacts of one process bit for bit; a re-run is fully cached", async () => {
      const ws = workspace()
      ws.write("p.yaml", pipeline)
      const workers = [startWorker(ws, url), startWorker(ws, url)]
      try {
        const r = pipe(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", "--queue", url, "--shard-size", "2"])
        expect(r.code, r.stderr).toBe(0)
        expect(artifacts(ws.dir)).toEqual(single)
        const done = () => workers.flatMap((w) => w.log().match(/\w+ shard \d\/\d done/g) ?? [])
        await waitFor(() => done().length === 6)
        expect(done().sort()).toEqual([
          "rec shard 1/3 done",
          "rec shard 2/3 done",
          "rec shard 3/3 done",
          "score shard 1/3 done",
          "score shard 2/3 done",
          "score shard 3/3 done",
        ])
        const again = pipe(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", "--queue", url, "--shard-size", "2"])
        expect(again.code, again.stderr).toBe(0)
        expect(again.stderr).toContain("0 ran, 5 cached")
      } finally {
        await Promise.all(workers.map(stop))
      }
    }, 300_000)

    it("a worker killed mid-shard: another takes the shard over once its lock expires, and the result is the same", async () => {
      const ws = workspace()
      ws.write("p.yaml", pipeline)
      const first = startWorker(ws, url)
      const coordinator = pipeAsync(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", "--queue", url, "--shard-size", "5"])
      let second: Worker | undefined
      try {
        await waitFor(() => first.log().includes("rec shard 1/1 started"), 180_000)
        first.child.kill("SIGKILL")
        second = startWorker(ws, url)
        const r = await coordinator.done
        expect(r.code, r.stderr).toBe(0)
        await waitFor(() => second!.log().includes("rec shard 1/1 done"))
        expect(artifacts(ws.dir)).toEqual(single)
      } finally {
        coordinator.child.kill("SIGTERM")
        await Promise.all([first, ...(second ? [second] : [])].map(stop))
      }
    }, 300_000)

    it("Ctrl-C on the coordinator removes its jobs that no worker has taken", async () => {
      const ws = workspace()
      ws.write("p.yaml", pipeline)
      const { port } = new URL(url)
      const queue = new Queue(QUEUE_NAME, { connection: { host: "127.0.0.1", port: Number(port) } })
      try {
        const coordinator = pipeAsync(ws, ["run", "p.yaml", "--backend", "cpu", "--ui", "lines", "--queue", url, "--shard-size", "2"])
        let waiting = 0
        await waitFor(() => {
          void queue.getWaitingCount().then((n) => (waiting = n))
          return waiting === 3
        }, 180_000)
        coordinator.child.kill("SIGINT")
        expect((await coordinator.done).code).toBe(130)
        expect(await queue.getWaitingCount()).toBe(0)
      } finally {
        await queue.close()
      }
    }, 300_000)

    it("Redis unreachable: exit 2 within seconds, before any work", () => {
      const ws = workspace()
      ws.write("p.yaml", pipeline)
      const started = Date.now()
      const r = pipe(ws, ["run", "p.yaml", "--queue", "redis://127.0.0.1:1", "--shard-size", "2"])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain("cannot reach Redis at redis://127.0.0.1:1")
      expect(Date.now() - started).toBeLessThan(30_000)
      expect(existsSync(join(ws.dir, ".pipe", "objects"))).toBe(false)
      const worker = pipe(ws, ["worker", "--queue", "redis://127.0.0.1:1"])
      expect(worker.code).toBe(2)
      expect(worker.stderr).toContain("cannot reach Redis")
    })
  },
)
