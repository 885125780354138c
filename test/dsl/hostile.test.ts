import { describe, expect, it } from "vitest"
import { formatDiagnostic } from "../../src/dsl/diagnostics.js"
import { loadPipeline } from "../../src/dsl/load.js"
import { decodePipeline, maxPipelineBytes } from "../../src/dsl/source.js"
import { testKinds } from "../fixtures/kinds.js"

const messages = (text: string, overrides: string[] = []) =>
  loadPipeline("p.yaml", text, testKinds, overrides).diagnostics.map(formatDiagnostic)
const head = "version: 1\nname: x\n"
const node = "nodes:\n  a: { use: make, with: { size: 4 } }\n"

describe("hostile pipeline files", () => {
  it("refuses a file over the size limit before parsing it", () => {
    const result = decodePipeline("p.yaml", new Uint8Array(maxPipelineBytes + 1).fill(0x20))
    expect("diagnostic" in result && formatDiagnostic(result.diagnostic)).toBe("p.yaml is 1.0 MiB; a pipeline file is at most 1 MiB")
  })

  it("refuses bytes that are not UTF-8, at their line and column", () => {
    const bytes = Buffer.concat([Buffer.from(`${head}description: "ab`), Buffer.from([0xff, 0xfe]), Buffer.from(`"\n${node}`)])
    const result = decodePipeline("p.yaml", bytes)
    expect("diagnostic" in result && formatDiagnostic(result.diagnostic)).toBe(
      "p.yaml:3:17 the file is not valid UTF-8 here: save it as UTF-8",
    )
    expect(decodePipeline("p.yaml", Buffer.from(`${head}description: "é ✓"\n${node}`))).toEqual({
      text: `${head}description: "é ✓"\n${node}`,
    })
  })

  it("checks a mapping with many keys in linear time, still finding duplicates", () => {
    const keys = Array.from({ length: 40_000 }, (_, i) => `  k${i}: 1\n`).join("")
    const start = Date.now()
    expect(messages(`${head}params:\n${keys}  k7: 2\n${node}`)).toEqual(["p.yaml:40004:3 params.k7: duplicate key 'k7'"])
    expect(Date.now() - start).toBeLessThan(20_000)
  })

  it("reports an alias bomb at its first alias instead of expanding it", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for (let i = 1; i < 8; i++)
      levels.push(
        `l${i}: &l${i} [${Array(10)
          .fill(i === 1 ? "*a" : `*l${i - 1}`)
          .join(", ")}]`,
      )
    const text = `${head}params:\n${levels.map((l) => `  ${l}\n`).join("")}${node}`
    expect(messages(text)).toEqual(["p.yaml:5:12 expanding the YAML aliases (*name) here would exceed 100 copies"])
  })

  it("reports a value that contains itself, in the file or in a --set value", () => {
    expect(messages(`${head}params:\n  steps: &s [*s]\n${node}`)).toEqual([
      "p.yaml:4:14 params.steps.0: this value contains itself (an anchor &name used inside its own value): write the value out",
    ])
    expect(messages(`${head}params:\n  steps: 1\n${node}`, ["params.steps={a: &a [*a]}"])).toEqual([
      "--set params.steps={a: &a [*a]} params.steps.a.0: this value contains itself (an anchor &name used inside its own value): write the value out",
    ])
  })

  it("refuses infinite numbers and integers a double cannot hold exactly", () => {
    const sized = (size: string) => messages(`${head}nodes:\n  a: { use: make, with: { size: ${size} } }\n`)
    expect(sized(".inf")).toEqual(["p.yaml:4:33 nodes.a.with.size: must be integer; got number Infinity"])
    expect(sized("1e400")).toEqual(["p.yaml:4:33 nodes.a.with.size: must be integer; got number Infinity"])
    expect(sized("99999999999999999999")).toEqual(["p.yaml:4:33 nodes.a.with.size: must be <= 9007199254740991; got 100000000000000000000"])
    expect(messages(`${head}${node}`, ["a.with.value=-.inf"])).toEqual([
      "--set a.with.value=-.inf nodes.a.with.value: must be number; got number -Infinity",
    ])
  })
})
