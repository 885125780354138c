/**
 * Turns the NDJSON of a bench/gpu/run.sh run into a Markdown table, every figure with its ratio to PyTorch fp32
 * (PyTorch's defaults) on the same card, same network, image size and batch.
 *
 *   npx tsx bench/gpu/summarise.ts bench/results/gpu-h100 > bench/results/gpu-h100/README.md.part
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

interface Row {
  readonly kind: string
  readonly engine: string
  readonly device?: string
  readonly preset: string
  readonly resolution: number
  readonly batch: number
  readonly params?: number
  readonly stepSeconds: number
  readonly reason?: string
}

const dir = process.argv[2]
if (!dir) throw new Error("usage: summarise.ts DIR (with *.ndjson from bench/gpu/run.sh)")
const rows: Row[] = readdirSync(dir)
  .filter((f) => f.endsWith(".ndjson"))
  .flatMap((f) =>
    readFileSync(join(dir, f), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Row),
  )

const configKey = (r: Row) => `${r.preset}@${r.resolution}x${r.batch}`
const configs = [...new Set(rows.filter((r) => r.preset).map(configKey))]
const reference = (kind: string, key: string) =>
  rows.find((r) => r.kind === kind && r.engine.endsWith("-fp32") && r.engine.startsWith("pytorch-cuda") && configKey(r) === key)

const fmt = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(1)} ms`)
const lines: string[] = []
for (const kind of ["train", "sample"] as const) {
  lines.push(
    `### ${kind === "train" ? "Training step (L_IR through the blur, backward, Adam)" : "Sampler step (Algorithm 1: network, A_t twice, update)"}`,
    "",
  )
  lines.push(
    `| network @ size x batch | engine | device | s/step | ${kind === "train" ? "images/s" : "network evals/s"} | vs PyTorch CUDA fp32 |`,
    "|---|---|---|---|---|---|",
  )
  for (const key of configs) {
    const ref = reference(kind, key)
    for (const r of rows.filter((x) => x.kind === kind && configKey(x) === key)) {
      const rate = kind === "train" ? r.batch / r.stepSeconds : 1 / r.stepSeconds
      const ratio = ref ? `${(r.stepSeconds / ref.stepSeconds).toFixed(2)}x the time` : "n/a"
      lines.push(`| ${key} | ${r.engine} | ${r.device ?? ""} | ${fmt(r.stepSeconds)} | ${rate.toFixed(1)} | ${ratio} |`)
    }
  }
  lines.push("")
}
const notRun = rows.filter((r) => r.kind === "unavailable" || r.kind === "failed" || r.kind === "skipped")
if (notRun.length > 0) {
  lines.push("### Not measured", "")
  for (const key of new Set(notRun.map((r) => `${r.engine ?? ""} ${r.kind}: ${r.reason ?? ""}`))) lines.push(`- ${key}`)
  lines.push("")
}
console.log(lines.join("\n"))
