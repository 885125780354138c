import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import type { NodeContext } from "../../src/nodes/contract.js"
import { earlyStop } from "../../src/nodes/early-stop.js"

describe("a stored value of the wrong shape", () => {
  it("names the output it came from, not only its type", async () => {
    const ctx = {
      id: "distortion_rule",
      config: { criterion: "distortion", output: "x0" },
      inputs: { trajectories: { meta: { not: "trajectories" }, tensors: {} } },
      sources: { trajectories: ["validation_run.trajectories"] },
    } as unknown as NodeContext<never>
    const exit = await Effect.runPromiseExit(earlyStop.run(ctx))
    expect(Exit.isFailure(exit)).toBe(true)
    expect(JSON.stringify(exit)).toContain("validation_run.trajectories: a stored trajectories value is malformed")
  })
})
