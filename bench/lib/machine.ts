/** The machine a benchmark ran on, for the head of every results file. */
import { readFileSync } from "node:fs"
import { availableParallelism, cpus, loadavg, totalmem } from "node:os"

export interface Machine {
  readonly cpu: string
  readonly avx512: boolean
  /** Logical CPUs this process may use. */
  readonly cores: number
  readonly memoryGiB: number
  readonly node: string
  /** ISO date and time (UTC, minutes). */
  readonly date: string
  /** 1-minute load average when described. */
  readonly load: number
}

const cpuinfo = (): string => {
  try {
    return readFileSync("/proc/cpuinfo", "utf8")
  } catch {
    return ""
  }
}

export const describeMachine = (): Machine => {
  const info = cpuinfo()
  const model = /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? cpus()[0]?.model ?? "unknown"
  return {
    cpu: model,
    avx512: /^flags\s*:.*\bavx512f\b/m.test(info),
    cores: availableParallelism(),
    memoryGiB: totalmem() / 2 ** 30,
    node: process.version,
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    load: loadavg()[0]!,
  }
}

/** Markdown bullets: the machine, then any lines the benchmark adds (backend, PyTorch version...). */
export const machineLines = (m: Machine, extra: readonly string[] = []): string[] => [
  `- date: ${m.date}`,
  `- CPU: ${m.cpu} (/proc/cpuinfo model name${m.avx512 ? ", AVX-512" : ""}), ${m.cores} logical cores`,
  `- memory: ${m.memoryGiB.toFixed(1)} GiB`,
  `- Node ${m.node}`,
  `- load average (1 min) at the start: ${m.load.toFixed(2)}`,
  ...extra.map((l) => `- ${l}`),
]

/** Peak resident memory of this process so far, in MiB. */
export const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024
