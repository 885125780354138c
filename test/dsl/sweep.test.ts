import { describe, expect, it } from "vitest"
import { parseSweep, parseSweepFlag, sweepVariants, variantAssignments, type SweepAxis } from "../../src/dsl/sweep.js"

const values = (flag: string) => (parseSweepFlag(flag) as SweepAxis).values

describe("--sweep values", () => {
  it("reads comma-separated numbers and strings as --set values", () => {
    expect(parseSweepFlag("params.lr=1e-3, 2e-3")).toEqual({ path: "params.lr", values: ["1e-3", "2e-3"], flag: "params.lr=1e-3, 2e-3" })
    expect(values("train.with.rule=adam,sgd")).toEqual(["adam", "sgd"])
    expect(values("params.steps=400")).toEqual(["400"])
  })

  it("reads range(START,STOP[,STEP]) as Python does, stopping before STOP, without float noise", () => {
    expect(values("params.steps=range(100,500,100)")).toEqual(["100", "200", "300", "400"])
    expect(values("params.n=range(1,4)")).toEqual(["1", "2", "3"])
    expect(values("params.t=range(0.1, 0.5, 0.1)")).toEqual(["0.1", "0.2", "0.3", "0.4"])
    expect(values("params.t=range(1,0,-0.25)")).toEqual(["1", "0.75", "0.5", "0.25"])
  })

  it("says what is wrong with a flag", () => {
    expect(parseSweepFlag("params.lr")).toMatch(/expected PATH=VALUES/)
    expect(parseSweepFlag("=1,2")).toMatch(/expected PATH=VALUES/)
    expect(parseSweepFlag("params.lr=1,")).toMatch(/an empty value/)
    expect(parseSweepFlag("params.lr=1,1")).toMatch(/a value is given twice/)
    expect(parseSweepFlag("params.lr=range(1)")).toMatch(/range\(\) takes START,STOP or START,STOP,STEP/)
    expect(parseSweepFlag("params.lr=range(1,5,0)")).toMatch(/STEP other than 0/)
    expect(parseSweepFlag("params.lr=range(5,1)")).toMatch(/range\(5,1\) is empty/)
    expect(parseSweepFlag("params.lr=range(0,1e9)")).toMatch(/has 1000000000 values; at most 10000/)
  })

  it("refuses a path swept twice or also set, and too many variants", () => {
    expect(parseSweep(["params.a=1,2", "params.a=3"])).toMatch(/'params.a' is swept twice/)
    expect(parseSweep(["params.a=1,2"], ["params.a=3"])).toMatch(/'params.a' is also given by --set/)
    expect(parseSweep(["params.a=range(0,200)", "params.b=range(0,200)"])).toMatch(/40000 variants; at most 10000/)
  })
})

describe("sweep variants", () => {
  it("are the product of the axes, the last one varying fastest", () => {
    const axes = parseSweep(["params.lr=1e-3,2e-3", "params.steps=400,800"]) as SweepAxis[]
    expect(sweepVariants(axes).map(variantAssignments)).toEqual([
      ["params.lr=1e-3", "params.steps=400"],
      ["params.lr=1e-3", "params.steps=800"],
      ["params.lr=2e-3", "params.steps=400"],
      ["params.lr=2e-3", "params.steps=800"],
    ])
  })

  it("are one empty variant without axes", () => {
    expect(sweepVariants([])).toEqual([[]])
  })
})
