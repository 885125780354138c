import * as tf from "@tensorflow/tfjs-core"
import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { OpenedCheckpoint, readTorchCheckpoint } from "../../src/dirac/io/torch-checkpoint.js"
import { TorchZip } from "../../src/dirac/io/torch-zip.js"
import { ForbiddenGlobal, Tuple, unpickle } from "../../src/dirac/io/unpickle.js"
import { writeSafetensors } from "../../src/dirac/io/safetensors.js"
import { forward, loadWeights, resolveUNetArgs } from "../../src/dirac/network/index.js"
import { importCheckpointNetwork } from "../../src/dirac/network/official-checkpoint.js"
import { initBackend } from "../../src/runtime/backend/select.js"

const fixtures = new URL("../fixtures/torch/", import.meta.url).pathname
const fixture = (name: string) => join(fixtures, name)
type Expected = Record<string, Record<string, { shape: number[]; values: number[] }>>
const expected = JSON.parse(readFileSync(fixture("expected.json"), "utf8")) as Expected

const close = (actual: ArrayLike<number>, values: number[], tol = 0) => {
  expect(actual.length).toBe(values.length)
  for (let i = 0; i < values.length; i++) {
    const want = Math.fround(values[i])
    if (tol === 0) expect(actual[i]).toBe(want)
    else expect(Math.abs(actual[i] - want)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(want)))
  }
}

let dir: string
beforeAll(async () => {
  await initBackend("cpu")
  dir = await mkdtemp(join(tmpdir(), "torch-ckpt-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe("zip reader", () => {
  it("lists torch's stored records with their sizes and reads one on demand", async () => {
    const zip = await TorchZip.open(fixture("lightning.ckpt"))
    try {
      expect(zip.entries.has("archive/data.pkl")).toBe(true)
      expect((await zip.read("archive/byteorder")).toString()).toBe("little")
      const e = zip.entry("archive/data/0")
      expect(e.method).toBe(0)
      expect(e.size).toBe(6 * 4)
      expect((await zip.dataStart("archive/data/0")) % 64).toBe(0)
    } finally {
      await zip.close()
    }
  })
})

describe("unpickler", () => {
  it("decodes protocol 2-4 scalars, containers and negative longs", () => {
    // pickle.dumps({'a': (1, -2**40, 2.5, 'é'), 3: [True, None]}, protocol=2)
    const fixed = Buffer.from(
      "80027d7100285801000000617101284b018a060000000000ff4740040000000000005802000000c3a971027471034b035d710428884e65752e",
      "hex",
    )
    const v = unpickle(fixed) as Map<unknown, unknown>
    const a = v.get("a") as Tuple
    expect(a).toBeInstanceOf(Tuple)
    expect([...a]).toEqual([1, -(2 ** 40), 2.5, "é"])
    expect(v.get(3)).toEqual([true, null])
  })

  it("refuses a global outside the allow-list and names it", () => {
    const evil = Buffer.concat([Buffer.from("\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85R.", "latin1")])
    expect(() => unpickle(evil, { source: "x.pkl" })).toThrow(ForbiddenGlobal)
    expect(() => unpickle(evil, { source: "x.pkl" })).toThrow(/'os\.system'.*nothing was executed/)
  })
})

describe("readTorchCheckpoint", () => {
  for (const file of ["proto2.pt", "proto4.pt"]) {
    it(`${file}: plain tensors, views (offset, slice, transpose) and a shared storage`, async () => {
      const { tensors, hyperParameters } = await readTorchCheckpoint(fixture(file), { keep: (k) => k !== "ints" })
      expect(hyperParameters).toBeUndefined()
      for (const [name, want] of Object.entries(expected.plain)) {
        if (name === "ints") continue
        expect(tensors[name].shape, name).toEqual(want.shape)
        close(tensors[name].data, want.values)
      }
      expect(tensors.mask.dtype).toBe("bool")
      expect(tensors.scalar.shape).toEqual([])
      const ckpt = await OpenedCheckpoint.open(fixture(file))
      try {
        const sd = ckpt.stateDict
        expect(sd.get("slice")!.storage).toBe(sd.get("base")!.storage) // one storage, several views
        expect(sd.get("t")!.stride).toEqual([1, 6])
        const nested = (ckpt.root as Map<string, unknown>).get("nested") as Map<string, unknown>
        expect(nested.get("list")).toEqual([1, -(2 ** 40), 3.25, "x", null, true])
        expect([...(nested.get("bytes") as Uint8Array)]).toEqual([97, 98])
      } finally {
        await ckpt.close()
      }
    })
  }

  it("says clearly when an int64 value does not fit", async () => {
    await expect(readTorchCheckpoint(fixture("proto2.pt"), { keep: (k) => k === "ints" })).rejects.toThrow(/ints:.*does not fit in int32/)
  })

  it("converts float16, bfloat16 and float64 to float32", async () => {
    const { tensors } = await readTorchCheckpoint(fixture("halfs.pt"))
    for (const [name, want] of Object.entries(expected.halfs)) {
      expect(tensors[name].dtype).toBe("float32")
      close(tensors[name].data, want.values)
    }
  })

  it("reads a Lightning dict: only the kept state_dict keys, and the hyper-parameters", async () => {
    const { tensors, hyperParameters } = await readTorchCheckpoint(fixture("lightning.ckpt"), { keep: (k) => k.startsWith("denoiser_fn.") })
    expect(Object.keys(tensors).sort()).toEqual(["denoiser_fn.lin.bias", "denoiser_fn.lin.weight"])
    for (const name of Object.keys(tensors)) close(tensors[name].data, expected.lightning[name].values)
    expect(hyperParameters).toMatchObject({
      dt: 0,
      loss_type: "l2",
      model_arch: "base",
      experiment_config_file: "configs/experiments/deblur_celeba256.yaml",
      operator_config: null,
    })
  })

  it("refuses a legacy (non-zip) file with a clear message", async () => {
    await expect(readTorchCheckpoint(fixture("legacy.pt"))).rejects.toThrow(/legacy \(pre-zip\) torch checkpoint.*not supported/)
  })

  it("refuses a forbidden global (os.system) and executes nothing", async () => {
    const marker = "/tmp/dirac-pipe-torch-fixture-pwned"
    await rm(marker, { force: true })
    await expect(readTorchCheckpoint(fixture("forbidden.pt"))).rejects.toThrow(/'posix\.system'|'os\.system'/)
    await expect(readTorchCheckpoint(fixture("forbidden.pt"))).rejects.toThrow(/nothing was executed/)
    expect(existsSync(marker)).toBe(false)
  })

  it("says when a file is not a checkpoint at all", async () => {
    await expect(readTorchCheckpoint(fixture("expected.json"))).rejects.toThrow(/not a torch checkpoint/)
  })
})

describe("import into the network (tiny-16 names and shapes)", () => {
  const sigma = [0.5, 2]
  const input = () => tf.tidy(() => tf.randomUniform<tf.Rank.R4>([2, 16, 16, 3], -1, 1, "float32", 7))

  it("loads denoiser_fn.* and gives the same output as the same values through safetensors", async () => {
    const imported = await importCheckpointNetwork(fixture("tiny16.ckpt"), "tiny-16")
    expect(imported.summary).toMatch(/model_arch="tiny-16"/)
    // the same values, written by hand as a plain safetensors state_dict and loaded the ordinary way
    const { tensors } = await readTorchCheckpoint(fixture("tiny16.ckpt"), { keep: (k) => k.startsWith("denoiser_fn.") })
    const out = join(dir, "tiny16.safetensors")
    await writeSafetensors(out, Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k.slice("denoiser_fn.".length), t])))
    const again = await loadWeights(out, { args: resolveUNetArgs("tiny-16") })
    const x = input()
    const s = tf.tensor1d(sigma)
    const a = forward(imported.net, x, s)
    const b = forward(again, x, s)
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBe(0)
    // spot-check one conv weight against the raw checkpoint values (PyTorch layout)
    const reread = (await (await import("../../src/dirac/network/index.js")).stateDict(again))["enc.16x16_conv.weight"]
    close(reread.data, Array.from(tensors["denoiser_fn.enc.16x16_conv.weight"].data))
    tf.dispose([x, s, a, b])
    imported.net.dispose()
    again.dispose()
  })

  it("loads the EMA list when asked", async () => {
    const raw = await importCheckpointNetwork(fixture("tiny16.ckpt"), "tiny-16", "raw")
    const ema = await importCheckpointNetwork(fixture("tiny16.ckpt"), "tiny-16", "ema")
    const name = "enc.16x16_conv.weight"
    const r = raw.net.params[name].dataSync()
    const e = ema.net.params[name].dataSync()
    for (let i = 0; i < r.length; i++) expect(Math.abs(e[i] - r[i] * 0.5)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(r[i])))
    raw.net.dispose()
    ema.net.dispose()
  })

  it("fails clearly on the wrong preset, naming the mismatching tensors", async () => {
    await expect(importCheckpointNetwork(fixture("tiny16.ckpt"), "base")).rejects.toThrow(/model_arch 'tiny-16', but arch is 'base'/)
    await expect(importCheckpointNetwork(fixture("tiny16.ckpt"), resolveUNetArgs("tiny-32"))).rejects.toThrow(
      /does not match the given architecture \(map_noise\.freqs is \[8\], expected \[16\]/,
    )
  })
})

describe("pipe convert", () => {
  it("writes safetensors that loadWeights opens", async () => {
    const bin = new URL("../../bin/pipe.js", import.meta.url).pathname
    const out = join(dir, "converted.safetensors")
    const r = spawnSync(process.execPath, [bin, "convert", fixture("tiny16.ckpt"), out], { encoding: "utf8", timeout: 120_000 })
    expect(r.stderr).toBe("")
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/loaded into tiny-16/)
    const net = await loadWeights(out)
    expect(net.args.img_resolution).toBe(16)
    net.dispose()
    const bad = spawnSync(process.execPath, [bin, "convert", fixture("forbidden.pt"), join(dir, "x.safetensors")], {
      encoding: "utf8",
      timeout: 120_000,
    })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toMatch(/nothing was executed/)
  })
})
