import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { pipe, workspace } from "./cli.js"

const good = "version: 1\nname: demo\nnodes:\n  a: { use: make, with: { size: 4 } }\n"

/** Each is a user's mistake: exit 2, one located line, no stack trace and no 'internal error'. */
const expectMistake = (r: { code: number | null; stderr: string }, message: string) => {
  expect(r.stderr).toContain(message)
  expect(r.stderr).not.toMatch(/internal error|\n\s+at /)
  expect(r.code).toBe(2)
}

describe("hostile inputs are a user's mistakes", () => {
  it("refuses a pipeline file over the size limit without reading it", () => {
    const ws = workspace()
    writeFileSync(join(ws.dir, "big.yaml"), `${good}description: "${"x".repeat(2 * 1024 * 1024)}"\n`)
    expectMistake(pipe(ws, ["validate", "big.yaml"]), "big.yaml is 2.0 MiB; a pipeline file is at most 1 MiB")
  })

  it("refuses bytes that are not UTF-8, an alias bomb and values that are not finite", () => {
    const ws = workspace()
    writeFileSync(join(ws.dir, "latin1.yaml"), Buffer.concat([Buffer.from(`${good}description: caf`), Buffer.from([0xe9, 0x0a])]))
    expectMistake(pipe(ws, ["validate", "latin1.yaml"]), "latin1.yaml:5:17 the file is not valid UTF-8 here")
    const levels = ["x: &l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for (let i = 1; i < 9; i++)
      levels.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(", ")}]`,
      )
    ws.write("bomb.yaml", `${good}params:\n${levels.map((l) => `  ${l}\n`).join("")}`)
    expectMistake(pipe(ws, ["validate", "bomb.yaml"]), "bomb.yaml:7:12 expanding the YAML aliases")
    ws.write("good.yaml", `${good}params: { steps: 1 }\n`)
    expectMistake(
      pipe(ws, ["validate", "good.yaml", "--set", "a.with.size=.inf"]),
      "nodes.a.with.size: must be integer; got number Infinity",
    )
    expectMistake(pipe(ws, ["validate", "good.yaml", "--set", "params.steps={a: &a [*a]}"]), "this value contains itself")
  })

  it("refuses a cache folder that is a file before any work", () => {
    const ws = workspace()
    ws.write("good.yaml", good)
    ws.write("cache-file", "x")
    expectMistake(pipe(ws, ["run", "good.yaml", "--ui", "lines", "--cache-dir", "cache-file"]), "cache-file is a file, or inside one")
    expectMistake(
      pipe(ws, ["run", "good.yaml", "--ui", "lines", "--cache-dir", "cache-file/sub"]),
      "cache-file/sub is a file, or inside one",
    )
  })
})
