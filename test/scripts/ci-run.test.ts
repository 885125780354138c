import { readFileSync } from "node:fs"
import { describe, expect, it } from "vitest"

const ciRun = readFileSync(new URL("../../.ci/run", import.meta.url), "utf8")

describe(".ci/run", () => {
  it("names no package host: apt's configured sources give the archive", () => {
    expect(ciRun).not.toMatch(/[a-z]+:\/\/|\b[\w-]+\.(?:org|com|net|io)\b/)
    expect(ciRun).toContain("apt-get indextargets")
  })
})
