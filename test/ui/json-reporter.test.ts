import { describe, expect, it } from "vitest"
import { makeJsonReporter } from "../../src/ui/json-reporter.js"
import { sampleRun } from "./sample-events.js"

describe("makeJsonReporter", () => {
  it("writes one parseable JSON line per event and nothing else", async () => {
    const chunks: string[] = []
    const reporter = makeJsonReporter({ write: (c) => chunks.push(c) })
    const events = sampleRun()
    for (const event of events) reporter.onEvent(event)
    await reporter.close()
    expect(chunks).toHaveLength(events.length)
    for (const chunk of chunks) {
      expect(chunk.endsWith("\n")).toBe(true)
      expect(chunk.slice(0, -1)).not.toContain("\n")
    }
    expect(chunks.map((c) => JSON.parse(c))).toEqual(events)
  })

  it("escapes newlines inside messages", () => {
    const chunks: string[] = []
    makeJsonReporter({ write: (c) => chunks.push(c) }).onEvent({ type: "node-failed", at: 1, id: "x", error: "boom\n  at f()" })
    expect(chunks).toEqual(['{"type":"node-failed","at":1,"id":"x","error":"boom\\n  at f()"}\n'])
  })
})
