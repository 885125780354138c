import * as tf from "@tensorflow/tfjs-core"
import { beforeAll, describe, expect, it } from "vitest"
import { syntheticSource } from "../../src/dirac/data/synthetic.js"
import { batchToTensor4D } from "../../src/dirac/data/tensor.js"
import { createUNet } from "../../src/dirac/network/index.js"
import { paperDeblurProcess } from "../../src/dirac/operators/process.js"
import { Adam, defaultAdam } from "../../src/dirac/train/adam.js"
import { incrementalReconstructionLoss } from "../../src/dirac/train/loss.js"
import { Rng, seedFromString } from "../../src/dirac/random.js"
import { drawTime, epochOrder, Trainer, uniformTime } from "../../src/dirac/train/trainer.js"
import { initBackend } from "../../src/runtime/backend/select.js"

beforeAll(async () => {
  await initBackend("wasm", { threads: 1 })
})

describe("Adam", () => {
  it("takes the steps torch.optim.Adam takes", () => {
    // Two steps on f(p) = sum(p^2) from p = [1, -2] with lr 0.1, computed by hand from the PyTorch update rule.
    const p = tf.variable(tf.tensor1d([1, -2]))
    const adam = new Adam({ p }, { ...defaultAdam, lr: 0.1 })
    for (let k = 1; k <= 2; k++) adam.apply({ p: tf.mul(p, 2) }, k)
    // Step 1 moves each coordinate by lr * sign(g) = 0.1; step 2 by lr * m^/(sqrt(v^) + eps) with both corrections.
    const g1 = [2, -4]
    const after1 = [0.9, -1.9]
    const g2 = after1.map((v) => 2 * v)
    const expected = after1.map((v, i) => {
      const m = (0.1 * g1[i] * 0.9 + 0.1 * g2[i]) / (1 - 0.9 ** 2)
      const s = (0.001 * g1[i] ** 2 * 0.999 + 0.001 * g2[i] ** 2) / (1 - 0.999 ** 2)
      return v - (0.1 * m) / (Math.sqrt(s) + 1e-8)
    })
    const actual = Array.from(p.dataSync())
    expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 5))
  })

  it("updates every parameter of its flat state as it would alone, and hands its state over per parameter", () => {
    const grad = (v: tf.Variable) => tf.mul(tf.sin(v), 3)
    const alone = [tf.variable(tf.tensor2d([[0.5, -1.5, 2]])), tf.variable(tf.tensor1d([4]))]
    const solo = alone.map((v) => new Adam({ v }, { ...defaultAdam, lr: 0.05 }))
    const together = { a: tf.variable(tf.tensor2d([[0.5, -1.5, 2]])), b: tf.variable(tf.tensor1d([4])) }
    const joint = new Adam(together, { ...defaultAdam, lr: 0.05 })
    for (let k = 1; k <= 3; k++) {
      solo.forEach((adam, i) => adam.apply({ v: grad(alone[i]!) }, k))
      joint.apply({ a: grad(together.a), b: grad(together.b) }, k)
    }
    expect(Array.from(together.a.dataSync())).toEqual(Array.from(alone[0]!.dataSync()))
    expect(Array.from(together.b.dataSync())).toEqual(Array.from(alone[1]!.dataSync()))
    // A second optimiser given the first one's m and v takes the same next step.
    const { m, v } = joint.named()
    expect(m.a!.shape).toEqual([1, 3])
    const copy = { a: tf.variable(together.a.clone()), b: tf.variable(together.b.clone()) }
    const resumed = new Adam(copy, { ...defaultAdam, lr: 0.05 })
    resumed.load(m, v)
    joint.apply({ a: grad(together.a), b: grad(together.b) }, 4)
    resumed.apply({ a: grad(copy.a), b: grad(copy.b) }, 4)
    expect(Array.from(copy.a.dataSync())).toEqual(Array.from(together.a.dataSync()))
    expect(() => resumed.load({ a: m.a! }, v)).toThrow(/no tensor named b/)
  })
})

describe("drawTime", () => {
  const draws = (sampling: Parameters<typeof drawTime>[1], n = 20000) => {
    const rng = Rng.fromSeed(seedFromString("time-sampling"))
    return Array.from({ length: n }, () => drawTime(rng, sampling))
  }
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length

  it("draws the paper's t ~ U[0, 1) by default, from the same random stream as before", () => {
    const rng = Rng.fromSeed(seedFromString("time-sampling"))
    expect(draws(uniformTime, 100)).toEqual(Array.from({ length: 100 }, () => rng.uniform()))
  })

  it("gives density (p + 1) t^p for power p (mean (p + 1) / (p + 2)) and puts the measurement fraction at t = 1", () => {
    const power2 = draws({ power: 2, measurementFraction: 0 })
    expect(mean(power2)).toBeCloseTo(3 / 4, 2)
    expect(power2.filter((t) => t < 0.5).length / power2.length).toBeCloseTo(0.125, 2)
    const mixed = draws({ power: 0, measurementFraction: 0.3 })
    expect(mixed.filter((t) => t === 1).length / mixed.length).toBeCloseTo(0.3, 2)
    const rest = mixed.filter((t) => t < 1)
    expect(mean(rest)).toBeCloseTo(0.5, 2)
  })
})

describe("Trainer", () => {
  it("visits every image once per epoch in a seeded order", () => {
    expect(epochOrder(10, 3, 0)).toEqual(epochOrder(10, 3, 0))
    expect([...epochOrder(10, 3, 1)].sort((a, b) => a - b)).toEqual([...Array(10).keys()])
    expect(epochOrder(10, 3, 1)).not.toEqual(epochOrder(10, 3, 0))
  })

  it("lowers the validation loss of a tiny network by more than 20% in 150 steps on synthetic images (about 30% seen)", async () => {
    const net = createUNet("tiny-16", { seed: 1 })
    const process = paperDeblurProcess()
    const trainer = new Trainer(net, process, syntheticSource({ seed: 1, count: 64, resolution: 16 }), {
      batchSize: 8,
      dt: 0,
      adam: { ...defaultAdam, lr: 2e-3 },
      emaDecay: 0,
      seed: 1,
    })
    const held = await syntheticSource({ seed: 9, count: 8, resolution: 16 }).load([...Array(8).keys()])
    const x = batchToTensor4D(held)
    const before = await trainer.validationLoss(x, held.ids)
    for (let i = 0; i < 150; i++) await trainer.trainStep()
    const after = await trainer.validationLoss(x, held.ids)
    expect(after).toBeLessThan(0.8 * before)
    expect(trainer.step).toBe(150)
    x.dispose()
    trainer.dispose()
    net.dispose()
  }, 120_000)

  it("weighs each image by 1 / sigma_t^2, or uniformly", () => {
    const net = createUNet("tiny-16", { seed: 2 })
    const process = paperDeblurProcess()
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, "float32", 3) as tf.Tensor4D
    const z = tf.randomNormal([1, 16, 16, 3], 0, 1, "float32", 4) as tf.Tensor4D
    const batch = { x, t: [0.4], z }
    const loss = (weighting: "inverse-variance" | "uniform") =>
      incrementalReconstructionLoss(net, process, batch, { dt: 0.2, weighting, training: false }).dataSync()[0]!
    const sigma = process.sigma(0.4)
    expect(loss("inverse-variance") / loss("uniform")).toBeCloseTo(1 / (sigma * sigma + 1e-9), 0)
    tf.dispose([x, z])
    net.dispose()
  })

  it("trains the supervised baseline at t = 1 with the clean-image loss", async () => {
    const net = createUNet("tiny-16", { seed: 1 })
    const process = paperDeblurProcess()
    const args = { batchSize: 4, dt: 0, adam: defaultAdam, emaDecay: 0, seed: 1 }
    const trainer = new Trainer(net, process, syntheticSource({ seed: 1, count: 8, resolution: 16 }), { ...args, objective: "supervised" })
    const held = await syntheticSource({ seed: 9, count: 2, resolution: 16 }).load([0, 1])
    const x = batchToTensor4D(held)
    const z = tf.concat(
      held.ids.map((id) =>
        tf.tensor4d(Rng.fromSeed(seedFromString(`validation/${id}`)).fillNormal(new Float32Array(16 * 16 * 3)), [1, 16, 16, 3]),
      ),
    ) as tf.Tensor4D
    const direct = incrementalReconstructionLoss(net, process, { x, t: [1, 1], z }, { dt: 1, weighting: "uniform", training: false })
    expect(await trainer.validationLoss(x, held.ids)).toBeCloseTo(direct.dataSync()[0]!, 3)
    const { loss } = await trainer.trainStep()
    expect(Number.isFinite(loss)).toBe(true)
    tf.dispose([x, z, direct])
    trainer.dispose()
    net.dispose()
  })
})
