/**
 * The zip64 path of the checkpoint reader, with small files: one re-packed by Python's zipfile with every record
 * and the end of the central directory in zip64 form (test/fixtures/torch/make_zip64_fixture.py), and archives
 * written by the benchmark's streaming writer (bench/lib), one with a 5 GiB hole before the storages, so that
 * their offsets and the central directory lie past 4 GiB while the file occupies a few KB on disk. bench/checkpoint-zip64.ts does the same with real data.
 */
import { readFileSync } from "node:fs"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { readTorchCheckpoint } from "../../src/dirac/io/torch-checkpoint.js"
import { TorchZip } from "../../src/dirac/io/torch-zip.js"
import { buildArch, resolveUNetArgs, stateDict } from "../../src/dirac/network/index.js"
import { firFilter2d } from "../../src/dirac/network/layers.js"
import { importCheckpointNetwork } from "../../src/dirac/network/official-checkpoint.js"
import { initBackend } from "../../src/runtime/backend/select.js"
import { writeTorchCheckpoint } from "../../bench/lib/torch-archive.js"
import { PyFloat, PyOrderedDict, StorageSpec, TensorSpec, type PyValue } from "../../bench/lib/torch-pickle.js"

const fixture = (name: string) => new URL(`../fixtures/torch/${name}`, import.meta.url).pathname
const FOUR_GIB = 2 ** 32

let dir: string
beforeAll(async () => {
  await initBackend("cpu")
  dir = await mkdtemp(join(tmpdir(), "torch-zip64-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The classic end record's count, directory size and offset: placeholders send a reader to the zip64 record. */
const endRecordFields = (path: string) => {
  const end = readFileSync(path).subarray(-22)
  expect(end.readUInt32LE(0)).toBe(0x06054b50)
  return [end.readUInt16LE(10), end.readUInt32LE(12), end.readUInt32LE(16)]
}

describe("zip64 checkpoints", () => {
  it("reads a file whose records and end of directory are all zip64 (Python's zipfile)", async () => {
    expect(endRecordFields(fixture("zip64.ckpt"))).toEqual([0xffff, 0xffffffff, 0xffffffff])
    const plain = await readTorchCheckpoint(fixture("lightning.ckpt"))
    const zip64 = await readTorchCheckpoint(fixture("zip64.ckpt"))
    expect(Object.keys(zip64.tensors)).toEqual(Object.keys(plain.tensors))
    for (const [name, t] of Object.entries(plain.tensors)) expect([...zip64.tensors[name].data], name).toEqual([...t.data])
    expect(zip64.hyperParameters).toEqual(plain.hyperParameters)
  })

  it("reads the benchmark writer's forced-zip64 archive", async () => {
    const path = join(dir, "forced.ckpt")
    const storage = new StorageSpec(6)
    const root = {
      state_dict: new PyOrderedDict([
        ["w", new TensorSpec(storage, [2, 3])],
        ["t", new TensorSpec(storage, [3, 2], 0, [1, 3])],
      ]),
    }
    await writeTorchCheckpoint(path, root, { forceZip64: true, data: () => [new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer)] })
    expect(endRecordFields(path)).toEqual([0xffff, 0xffffffff, 0xffffffff])
    const { tensors } = await readTorchCheckpoint(path)
    expect([...tensors.w.data]).toEqual([1, 2, 3, 4, 5, 6])
    expect([...tensors.t.data]).toEqual([1, 4, 2, 5, 3, 6])
  })

  it("imports a network whose weight records, central directory and zip64 end record lie past 4 GiB", async () => {
    const args = resolveUNetArgs("tiny-16")
    const arch = buildArch(args)
    const value = (k: number, j: number) => Math.fround(Math.sin(k * 7.1 + j * 0.37) / 8)
    const storages = new Map<StorageSpec, Float32Array>()
    const tensor = (shape: readonly number[], data: (j: number) => number) => {
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, j) => data(j))
      const s = new StorageSpec(values.length)
      storages.set(s, values)
      return new TensorSpec(s, shape)
    }
    const filter = firFilter2d(args.resample_filter)
    const entries: Array<[string, PyValue]> = [
      ...arch.params.map((p, k): [string, PyValue] => [`denoiser_fn.${p.name}`, tensor(p.torchShape, (j) => value(k, j))]),
      ...arch.buffers.map((b): [string, PyValue] => [`denoiser_fn.${b.name}`, tensor(b.torchShape, (j) => filter[j])]),
    ]
    const path = join(dir, "past-4-gib.ckpt")
    await writeTorchCheckpoint(
      path,
      { state_dict: new PyOrderedDict(entries), hyper_parameters: { model_arch: "tiny-16", dt: new PyFloat(0), loss_type: "mse_loss" } },
      {
        holeBeforeStorages: 5 * 2 ** 30,
        data: (s) => [new Uint8Array(storages.get(s)!.buffer)],
      },
    )
    const zip = await TorchZip.open(path)
    await zip.close()
    expect(zip.size).toBeGreaterThan(5 * 2 ** 30)
    const storageOffsets = [...zip.entries.values()].filter((e) => e.name.startsWith("archive/data/")).map((e) => e.localHeaderOffset)
    expect(storageOffsets.length).toBe(arch.params.length + arch.buffers.length)
    expect(Math.min(...storageOffsets)).toBeGreaterThan(FOUR_GIB)

    const imported = await importCheckpointNetwork(path, "tiny-16")
    try {
      const loaded = await stateDict(imported.net)
      arch.params.forEach((p, k) => {
        const got = loaded[p.name].data
        for (let j = 0; j < got.length; j++)
          if (got[j] !== value(k, j)) expect(`${p.name}[${j}] = ${got[j]}`).toBe(`${p.name}[${j}] = ${value(k, j)}`)
      })
      expect(imported.hyperParameters).toEqual({ model_arch: "tiny-16", dt: 0, loss_type: "mse_loss" })
    } finally {
      imported.net.dispose()
    }
  })
})
