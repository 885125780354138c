/**
 * Every node kind as a pipeline on `--backend tensorflow` (native TensorFlow, `npm run setup:native`): load,
 * degrade, schedule, train, sample with and without guidance, early-stop, metric with a perceptual network, and
 * an official-format checkpoint through import-checkpoint. Skipped where the binding is not installed;
 * PIPE_REQUIRE_NATIVE=1 (CI) makes that a failure in test/runtime/native-parity.test.ts.
 */
import { describe, expect, it } from "vitest"
import { initBackend } from "../../src/runtime/backend/index.js"
import { events, manifests, pipe, workspace } from "./cli.js"
import { tinyPipeline } from "./tiny-pipeline.js"

const missing = await initBackend("tensorflow").then(
  () => undefined,
  (e: unknown) => (e instanceof Error ? e.message.split("\n")[0]! : String(e)),
)

const checkpoint = new URL("../fixtures/torch/tiny16.ckpt", import.meta.url).pathname

const pipeline = tinyPipeline(
  "native-tiny",
  `  run: { use: sample, in: { model: model, process: scheduled, measurements: process.measurements, images: held }, with: { dt: 0.5, engine: tfjs } }
  guided: { use: sample, in: { model: model, process: scheduled, measurements: process.measurements }, with: { dt: 0.5, guidance: { step: 0.5 } } }
  rule: { use: early-stop, in: { trajectories: run.trajectories }, with: { criterion: distortion } }
  stopped: { use: sample, in: { model: model, process: scheduled, measurements: process.measurements, stop: rule }, with: { dt: 0.5, engine: tfjs } }
  official: { use: import-checkpoint, with: { path: ${checkpoint}, arch: tiny-16 } }
  from_official: { use: sample, in: { model: official, process: scheduled, measurements: process.measurements }, with: { dt: 0.5, engine: tfjs } }
  scores:
    use: metric
    in: { reconstructions: [run, guided, stopped, from_official], images: held, measurements: process.measurements, process: scheduled }
    with: { metrics: [psnr, ssim, eps_dc, mobilenet-perceptual] }
`,
)

describe.skipIf(missing !== undefined)(`a pipeline on --backend tensorflow${missing ? ` (skipped: ${missing})` : ""}`, () => {
  it("every node kind runs; the engine, its device and why it was chosen are shown and recorded", () => {
    const ws = workspace()
    ws.write("p.yaml", pipeline)
    const r = pipe(ws, ["run", "p.yaml", "--backend", "tensorflow", "--ui", "lines"])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/^[IWE]\d{4} /m) // TensorFlow's own log lines stay quiet
    const device =
      /^\[backend\] tensorflow (CPU \(libtensorflow [\d.]+\)|CUDA \(libtensorflow [\d.]+\)) started in .*: chosen with --backend tensorflow$/m.exec(
        r.stderr,
      )?.[1]
    expect(device, r.stderr).toBeDefined()
    const artifacts = manifests(ws.dir)
    expect(artifacts.map((m) => m.node).sort()).toEqual([
      "from_official",
      "guided",
      "held",
      "images",
      "model",
      "official",
      "process",
      "rule",
      "run",
      "scheduled",
      "scores",
      "stopped",
    ])
    for (const m of artifacts)
      expect(m, m.node).toMatchObject({
        device,
        backend: expect.stringMatching(/^tensorflow\/4\.22\.0\/(cpu|cuda)$/),
        backendReason: "chosen with --backend tensorflow",
      })
    const cached = events(pipe(ws, ["run", "p.yaml", "--backend", "tensorflow", "--json"]).stdout)
    expect(cached.at(-1)).toMatchObject({ status: "succeeded", counts: { cached: 12 } })
  }, 300_000)
})
