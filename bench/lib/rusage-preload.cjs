// Preloaded into benchmarked child processes (node --require): writes process.resourceUsage() (maxRSS in KiB,
// CPU times in microseconds) to BENCH_RUSAGE_FILE as the process exits, whichever way it exits.
const { writeFileSync } = require("node:fs")

process.on("exit", () => {
  const file = process.env.BENCH_RUSAGE_FILE
  if (file) writeFileSync(file, JSON.stringify(process.resourceUsage()))
})
