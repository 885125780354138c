import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/select.js"
import { gaussianBlurFamily } from "../../src/dirac/operators/gaussian-blur.js"
import { inpaintBoxFamily } from "../../src/dirac/operators/inpaint-box.js"
import { inpaintGaussianFamily } from "../../src/dirac/operators/inpaint-gaussian.js"
import {
  degradationProcess,
  paperDeblurProcess,
  paperInpaintProcess,
  processFromDescription,
  type DegradationProcess,
  type ProcessDescription,
} from "../../src/dirac/operators/process.js"
import { tableSchedule } from "../../src/dirac/operators/severity-schedule.js"
import { dot, randomImages } from "./degradation-fixtures.js"
import { maxAbsDiff } from "../numeric.js"

beforeAll(async () => {
  await initBackend("cpu")
})

const processes = (): [string, DegradationProcess][] => [
  ["paper deblur", paperDeblurProcess()],
  ["paper inpaint celeba", paperInpaintProcess("celeba")],
  ["paper inpaint imagenet", paperInpaintProcess("imagenet")],
  ["linear blur", degradationProcess(gaussianBlurFamily({ stdMax: 2, kernelSize: 31 }), { noise: { sigmaMin: 0, sigmaMax: 0 } })],
  ["box", degradationProcess(inpaintBoxFamily({ boxSize: 12 }), { schedule: tableSchedule([0, 0.3, 1], [0, 2, 12]) })],
  ["untruncated mask", degradationProcess(inpaintGaussianFamily({ widthMax: 9, truncate: null }))],
]

const grid = Array.from({ length: 41 }, (_, i) => i / 40)

describe("degradation processes", () => {
  it.each(processes())("%s: JSON round trip rebuilds the same process", (_, process) => {
    const json = JSON.stringify(process.describe())
    const rebuilt = processFromDescription(JSON.parse(json) as ProcessDescription)
    expect(JSON.stringify(rebuilt.describe())).toBe(json)
    for (const t of grid) {
      expect(rebuilt.severity(t)).toBe(process.severity(t))
      expect(rebuilt.sigma(t)).toBe(process.sigma(t))
    }
    const x = randomImages([1, 16, 16, 3], 2)
    for (const t of [0, 0.4, 1]) expect(maxAbsDiff(rebuilt.A(x, t).dataSync(), process.A(x, t).dataSync())).toBe(0)
  })

  it.each(processes())("%s: severity and sigma are monotone in t; A_t^T is the adjoint", (_, process) => {
    for (let i = 1; i < grid.length; i++) {
      expect(process.severity(grid[i]!)).toBeGreaterThanOrEqual(process.severity(grid[i - 1]!))
      expect(process.sigma(grid[i]!)).toBeGreaterThanOrEqual(process.sigma(grid[i - 1]!))
    }
    const x = randomImages([2, 14, 15, 3], 3)
    const y = randomImages([2, 14, 15, 3], 4)
    for (const t of [0, 0.3, 1]) {
      const lhs = dot(process.A(x, t), y)
      expect(Math.abs(lhs - dot(x, process.AT(y, t))) / lhs).toBeLessThan(1e-6)
    }
  })

  it("keeps blur at t = 0 (A_0 is the std-0.3 blur, not the identity)", () => {
    const x = randomImages([1, 8, 8, 3], 6)
    expect(paperDeblurProcess().severity(0)).toBe(0.3)
    expect(maxAbsDiff(paperDeblurProcess().A(x, 0).dataSync(), x.dataSync())).toBeGreaterThan(1e-3)
    expect(maxAbsDiff(paperInpaintProcess().A(x, 0).dataSync(), x.dataSync())).toBe(0)
  })

  it("rejects t outside [0, 1] and unknown descriptions", () => {
    const x = randomImages([1, 4, 4, 3], 1)
    expect(() => paperDeblurProcess().A(x, 1.5)).toThrow(RangeError)
    expect(() => paperDeblurProcess().sigma(-0.1)).toThrow(RangeError)
    const description = paperDeblurProcess().describe()
    expect(() => processFromDescription({ ...description, family: { kind: "motion-blur" } } as unknown as ProcessDescription)).toThrow(
      /motion-blur/,
    )
    expect(() => processFromDescription({ ...description, schedule: { kind: "cosine" } } as unknown as ProcessDescription)).toThrow(
      /cosine/,
    )
    expect(() => gaussianBlurFamily({ kernelSize: 60 })).toThrow(RangeError)
    expect(() => inpaintBoxFamily({ boxSize: 0 })).toThrow(RangeError)
  })
})
