/**
 * Reading a DiracDiffusion checkpoint larger than 4 GiB (zip64) with bounded memory.
 *
 *   npx tsx bench/checkpoint-zip64.ts                    # base preset + a 4.5 GiB filler, in the OS temp folder
 *   FILLER_GIB=6 DIR=/big/disk npx tsx bench/checkpoint-zip64.ts
 *
 * 1. Streams a checkpoint in the torch.save zip format (bench/lib/torch-archive.ts: the records torch writes, in
 *    its order, 64-byte aligned, CRC32 in data descriptors, zip64 records where sizes or offsets reach 4 GiB) of
 *    a Lightning-style dict: `state_dict` with every `denoiser_fn.*` tensor of the PRESET network (default
 *    `base`, 67.7 M parameters), `hyper_parameters` as DiracDiffusion stores them, Adam's `optimizer_states`
 *    (exp_avg, exp_avg_sq, step per parameter) and one more optimizer entry holding a FILLER_GIB (default 4.5)
 *    storage. Storage records are sorted by key as torch sorts them (as strings), so most of the denoiser's
 *    records lie behind the filler, at offsets past 4 GiB. The weights follow a formula, so the output can be
 *    checked; the writer holds one 16 MiB chunk at a time.
 * 2. Converts it in a child process with `convertCheckpoint`, the function `pipe convert` runs (the reader that
 *    the import-checkpoint node uses, the SongUNet, the safetensors writer), and records its wall time, its peak
 *    RSS (VmHWM in /proc/self/status; resourceUsage().maxRSS where /proc is missing) and the bytes it read
 *    (rchar in /proc/self/io): a reader that touched the filler would read over 4 GiB.
 * 3. Checks every tensor of the safetensors output against the formula; when `python3 -c "import torch"` works
 *    (TORCH_CHECK=0 skips it), also has torch.load(mmap=True, weights_only=True) read the checkpoint and compare.
 * 4. Deletes both files (KEEP=1 keeps them), prints a markdown table and writes RESULTS (default
 *    bench/results/checkpoint-zip64.md; "-" for none).
 *
 * Needs free disk space for the file (about FILLER_GIB + 1.1 GiB for base) plus the output; checked first.
 * The file was just written, so the converter reads it from the page cache: the time is not a cold-disk time.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { mkdtemp, rm, statfs } from "node:fs/promises"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { OpenedCheckpoint } from "../src/dirac/io/torch-checkpoint.js"
import { TorchZip } from "../src/dirac/io/torch-zip.js"
import { readSafetensors } from "../src/dirac/io/safetensors.js"
import { buildArch, resolveUNetArgs, unetParameterCount, type UNetPresetName } from "../src/dirac/network/index.js"
import { firFilter2d } from "../src/dirac/network/layers.js"
import { markdownTable } from "./lib/harness.js"
import { describeMachine, machineLines } from "./lib/machine.js"
import { writeTorchCheckpoint } from "./lib/torch-archive.js"
import { PyFloat, PyOrderedDict, PyTuple, StorageSpec, TensorSpec, type PyValue } from "./lib/torch-pickle.js"

const here = dirname(fileURLToPath(import.meta.url))
const PRESET = (process.env.PRESET ?? "base") as UNetPresetName
const FILLER_GIB = Number(process.env.FILLER_GIB ?? 4.5)
const DIR = process.env.DIR ?? tmpdir()
const GiB = 2 ** 30
const MiB = 2 ** 20
const CHUNK_ELEMENTS = 4 * MiB // 16 MiB of float32

/** Element j of the k-th state_dict tensor: varied, reproducible in Python, exact in float32 (|v| < 0.032). */
const weightValue = (k: number, j: number): number => (((Math.imul(k + 1, 0x9e3779b1) ^ Math.imul(j, 0x85ebca6b)) >>> 16) - 32768) / 2 ** 20

function* formulaChunks(k: number, numel: number): Generator<Uint8Array> {
  for (let start = 0; start < numel; start += CHUNK_ELEMENTS) {
    const a = new Float32Array(Math.min(CHUNK_ELEMENTS, numel - start))
    for (let i = 0; i < a.length; i++) a[i] = weightValue(k, start + i)
    yield new Uint8Array(a.buffer)
  }
}

function* repeatedChunks(pattern: Float32Array, numel: number): Generator<Uint8Array> {
  const bytes = new Uint8Array(pattern.buffer)
  for (let start = 0; start < numel; start += pattern.length) yield bytes.subarray(0, Math.min(pattern.length, numel - start) * 4)
}

interface Layout {
  readonly root: PyValue
  /** state_dict keys in order. */
  readonly names: readonly string[]
  readonly data: (storage: StorageSpec) => Iterable<Uint8Array>
}

/** A Lightning checkpoint of the preset as DiracDiffusion's trainer saves it, plus the filler. */
const lightningCheckpoint = (preset: UNetPresetName, fillerElements: number): Layout => {
  const args = resolveUNetArgs(preset)
  const arch = buildArch(args)
  const filter = firFilter2d(args.resample_filter)
  const zeros = new Float32Array(CHUNK_ELEMENTS)
  const producers = new Map<StorageSpec, () => Iterable<Uint8Array>>()
  const tensor = (shape: readonly number[], produce: (numel: number) => Iterable<Uint8Array>) => {
    const numel = shape.reduce((a, b) => a * b, 1)
    const storage = new StorageSpec(numel)
    producers.set(storage, () => produce(numel))
    return new TensorSpec(storage, shape)
  }
  const entries: Array<[string, TensorSpec]> = []
  arch.params.forEach((p, k) => entries.push([`denoiser_fn.${p.name}`, tensor(p.torchShape, (n) => formulaChunks(k, n))]))
  for (const b of arch.buffers) entries.push([`denoiser_fn.${b.name}`, tensor(b.torchShape, () => [new Uint8Array(filter.slice().buffer)])])
  const adam = new Map<PyValue, PyValue>(
    arch.params.map((p, i) => [
      i,
      {
        step: tensor([], () => [new Uint8Array(new Float32Array([225000]).buffer)]),
        exp_avg: tensor(p.torchShape, (n) => repeatedChunks(zeros, n)),
        exp_avg_sq: tensor(p.torchShape, (n) => repeatedChunks(zeros, n)),
      },
    ]),
  )
  const pattern = Float32Array.from({ length: CHUNK_ELEMENTS }, (_, i) => (i % 1000) / 1000)
  const root: PyValue = {
    epoch: 299,
    global_step: 225000,
    "pytorch-lightning_version": "2.0.8",
    state_dict: new PyOrderedDict(entries),
    loops: { fit_loop: { epoch_progress: { total: { ready: 300, completed: 299 } } } },
    callbacks: {},
    optimizer_states: [
      {
        state: adam,
        param_groups: [
          {
            lr: new PyFloat(1e-4),
            betas: new PyTuple([new PyFloat(0.9), new PyFloat(0.999)]),
            eps: new PyFloat(1e-8),
            weight_decay: new PyFloat(0),
            amsgrad: false,
            params: arch.params.map((_, i) => i),
          },
        ],
      },
      { filler: tensor([fillerElements], (n) => repeatedChunks(pattern, n)) },
    ],
    lr_schedulers: [],
    hparams_name: "kwargs",
    hyper_parameters: {
      dt: new PyFloat(0.05),
      loss_type: "weighted_mse_loss",
      lr: new PyFloat(1e-4),
      experiment_config_file: "configs/experiments/gaussian_blur.yaml",
      operator_config: null,
      noise_config: null,
      model_arch: preset,
      residual_prediction: true,
      model_conditioning: "noise",
      weight_decay: new PyFloat(0),
    },
  }
  return { root, names: entries.map(([n]) => n), data: (s) => producers.get(s)!() }
}

// ------------------------------------------------------------------ the conversion, in a child process

interface Conversion {
  readonly seconds: number
  readonly summary: string
  readonly rssBeforeKiB: number
  readonly peakRssKiB: number
  readonly peakSource: string
  readonly bytesRead: number | null
}

const procField = (file: string, name: string): number | null => {
  try {
    const m = new RegExp(`^${name}:\\s*(\\d+)`, "m").exec(readFileSync(file, "utf8"))
    return m ? Number(m[1]) : null
  } catch {
    return null
  }
}

const convertHere = async (input: string, output: string): Promise<Conversion> => {
  const { convertCheckpoint } = await import("../src/cli/commands/convert.js")
  const { initBackend } = await import("../src/runtime/backend/index.js")
  await initBackend("cpu") // load the backend before measuring; convertCheckpoint's own call then only re-selects it
  const rssBeforeKiB = procField("/proc/self/status", "VmRSS") ?? Math.round(process.memoryUsage().rss / 1024)
  const read0 = procField("/proc/self/io", "rchar")
  const t0 = performance.now()
  const summary = await convertCheckpoint(input, output)
  const seconds = (performance.now() - t0) / 1000
  const read1 = procField("/proc/self/io", "rchar")
  const hwm = procField("/proc/self/status", "VmHWM")
  return {
    seconds,
    summary,
    rssBeforeKiB,
    peakRssKiB: hwm ?? process.resourceUsage().maxRSS,
    peakSource: hwm !== null ? "VmHWM" : "resourceUsage().maxRSS",
    bytesRead: read0 !== null && read1 !== null ? read1 - read0 : null,
  }
}

const convertInChild = (input: string, output: string): Conversion => {
  const r = spawnSync(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url)], {
    env: { ...process.env, CKPT_BENCH_CONVERT: JSON.stringify([input, output]) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  })
  if (r.status !== 0) throw new Error(`the conversion child failed: ${r.status ?? r.signal}`)
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Conversion
}

// ------------------------------------------------------------------ checks

/** Every weight of the safetensors output against the formula; every filter against the preset's. */
const verifyOutput = async (output: string, names: readonly string[]): Promise<number> => {
  const { tensors } = await readSafetensors(output)
  const filter = firFilter2d(resolveUNetArgs(PRESET).resample_filter)
  let checked = 0
  names.forEach((key, k) => {
    const name = key.slice("denoiser_fn.".length)
    const t = tensors[name]
    if (!t) throw new Error(`the output has no ${name}`)
    const bad = name.endsWith("resample_filter")
      ? t.data.findIndex((v, i) => v !== filter[i])
      : t.data.findIndex((v, j) => v !== weightValue(k, j))
    if (bad >= 0) throw new Error(`the output's ${name}[${bad}] is ${t.data[bad]}, expected ${weightValue(k, bad)}`)
    checked++
  })
  if (Object.keys(tensors).length !== names.length)
    throw new Error(`the output has ${Object.keys(tensors).length} tensors, the checkpoint ${names.length}`)
  return checked
}

interface ZipFacts {
  readonly records: number
  readonly zip64Records: number
  readonly largestRecord: number
  readonly denoiserPast4GiB: number
}

const zipFacts = async (path: string): Promise<ZipFacts> => {
  const ckpt = await OpenedCheckpoint.open(path)
  const keys = new Set([...ckpt.stateDict.values()].map((t) => t.storage.key))
  await ckpt.close()
  const zip = await TorchZip.open(path)
  await zip.close()
  const entries = [...zip.entries.values()]
  const past = (e: { localHeaderOffset: number }) => e.localHeaderOffset >= 2 ** 32
  return {
    records: entries.length,
    zip64Records: entries.filter((e) => past(e) || e.size >= 2 ** 32 - 1).length,
    largestRecord: Math.max(...entries.map((e) => e.size)),
    denoiserPast4GiB: entries.filter((e) => past(e) && keys.has(e.name.slice("archive/data/".length))).length,
  }
}

const TORCH_CHECK_PY = `
import json, sys, numpy as np, torch
ck = torch.load(sys.argv[1], mmap=True, weights_only=True)
sd = ck["state_dict"]
bad = []
for k, (name, t) in enumerate(sd.items()):
    if name.endswith("resample_filter"):
        continue
    j = np.arange(t.numel(), dtype=np.uint64)
    a = np.uint64(((k + 1) * 0x9E3779B1) & 0xFFFFFFFF)
    want = ((((j * np.uint64(0x85EBCA6B)) & np.uint64(0xFFFFFFFF)) ^ a) >> np.uint64(16)).astype(np.int64) - 32768
    if not np.array_equal(t.reshape(-1).numpy(), want.astype(np.float32) / np.float32(2 ** 20)):
        bad.append(name)
print(json.dumps({"torch": torch.__version__, "tensors": len(sd), "mismatched": bad[:5], "filler": ck["optimizer_states"][1]["filler"].numel()}))
`

const torchCheck = (path: string): string => {
  if (process.env.TORCH_CHECK === "0") return "skipped (TORCH_CHECK=0)"
  if (spawnSync("python3", ["-c", "import torch, numpy"], { stdio: "ignore" }).status !== 0)
    return "skipped (python3 with torch and numpy is not available)"
  const r = spawnSync("python3", ["-c", TORCH_CHECK_PY, path], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  if (r.status !== 0) throw new Error(`torch.load failed on the written checkpoint (exit ${r.status ?? r.signal})`)
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { torch: string; tensors: number; mismatched: string[]; filler: number }
  if (out.mismatched.length > 0) throw new Error(`torch.load gives other values for ${out.mismatched.join(", ")}`)
  return `torch ${out.torch} torch.load(mmap=True, weights_only=True) read it: all ${out.tensors} state_dict tensors equal the formula, the filler has ${out.filler.toLocaleString("en-US")} elements`
}

// ------------------------------------------------------------------ main

const mib = (kib: number) => `${Math.round(kib / 1024).toLocaleString("en-US")} MiB`
const size = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB (${(bytes / GiB).toFixed(2)} GiB)`

const main = async () => {
  const fillerElements = Math.floor((FILLER_GIB * GiB) / 4)
  const layout = lightningCheckpoint(PRESET, fillerElements)
  // every tensor the network stores as a parameter here (torch keeps map_noise.freqs as a buffer instead)
  const params = buildArch(resolveUNetArgs(PRESET)).params.reduce((s, p) => s + p.torchShape.reduce((a, b) => a * b, 1), 0)
  const expectedBytes = 4 * (3 * params + fillerElements)
  const fs = await statfs(DIR)
  const free = fs.bavail * fs.bsize
  const needed = expectedBytes + 4 * params + GiB
  if (free < needed) {
    console.error(`${DIR} has ${size(free)} free; this benchmark needs about ${size(needed)} (DIR=... picks another folder)`)
    process.exit(2)
  }
  const dir = await mkdtemp(join(DIR, "ckpt-zip64-"))
  const input = join(dir, `${PRESET}-zip64.ckpt`)
  const output = join(dir, `${PRESET}.safetensors`)
  try {
    console.log(`writing ${input} (about ${size(expectedBytes)}; ${size(free)} free in ${DIR})`)
    const w0 = performance.now()
    let next = GiB
    const written = await writeTorchCheckpoint(input, layout.root, {
      data: layout.data,
      onStorage: (_, bytes) => {
        if (bytes >= next) {
          console.log(`  ${(bytes / GiB).toFixed(1)} GiB of storages, ${((performance.now() - w0) / 1000).toFixed(0)} s`)
          next = (Math.floor(bytes / GiB) + 1) * GiB
        }
      },
    })
    const writeSeconds = (performance.now() - w0) / 1000
    const writerPeakKiB = procField("/proc/self/status", "VmHWM") ?? process.resourceUsage().maxRSS
    const facts = await zipFacts(input)
    console.log(
      `wrote ${size(written.bytes)} in ${writeSeconds.toFixed(1)} s: ${facts.records} records, ${facts.zip64Records} with zip64 sizes or offsets`,
    )

    console.log("converting in a child process (pipe convert's code) ...")
    const c = convertInChild(input, output)
    console.log(`  ${c.summary}`)
    const checked = await verifyOutput(output, layout.names)
    const torchLine = torchCheck(input)
    console.log(`output checked: ${checked} tensors equal the formula; ${torchLine}`)

    const buffers = buildArch(resolveUNetArgs(PRESET)).buffers.reduce((s, b) => s + b.torchShape.reduce((x, y) => x * y, 1), 0)
    const denoiserBytes = 4 * (params + buffers)
    const header = ["measurement", "value"]
    const rows = [
      [
        "checkpoint file",
        `${size(written.bytes)}; ${facts.records} zip records, ${facts.zip64Records} of them zip64 (size or offset past 4 GiB), the largest ${size(facts.largestRecord)}`,
      ],
      [
        "denoiser_fn.* weights",
        `${layout.names.length} tensors (${unetParameterCount(PRESET).toLocaleString("en-US")} parameters and the buffers), ${(denoiserBytes / 1e6).toFixed(1)} MB; ${facts.denoiserPast4GiB} of their records start past 4 GiB`,
      ],
      [
        "conversion wall time",
        `${c.seconds.toFixed(2)} s (open, parse the pickle, read the weights, load them into SongUNet '${PRESET}', write safetensors)`,
      ],
      [
        "bytes the converter read",
        c.bytesRead === null
          ? "n/a (/proc/self/io unreadable)"
          : `${(c.bytesRead / 1e6).toFixed(1)} MB (${((100 * c.bytesRead) / written.bytes).toFixed(1)}% of the file)`,
      ],
      [
        "converter peak RSS",
        `${mib(c.peakRssKiB)} (${c.peakSource}; ${mib(c.rssBeforeKiB)} before converting: Node, tfjs and pipe loaded)`,
      ],
      ["writing the file (streaming writer)", `${writeSeconds.toFixed(1)} s, writer peak RSS ${mib(writerPeakKiB)}`],
    ]
    const setup =
      `A Lightning-style checkpoint of the '${PRESET}' SongUNet (DiracDiffusion's state_dict, hyper_parameters and Adam optimizer_states) plus a ` +
      `${FILLER_GIB} GiB filler storage in optimizer_states, in the torch.save zip format with zip64 records, converted by the code of \`pipe convert\` in a child process. ` +
      `The output matched the written weights (${checked} tensors checked); ${torchLine}.`
    const machine = machineLines(describeMachine(), [
      `tfjs cpu backend; the file in ${DIR} (${size(free)} free before), read back from the page cache right after writing`,
    ])
    const table = markdownTable(header, rows)
    console.log(["", setup, "", ...machine, "", ...table].join("\n"))
    const out = process.env.RESULTS ?? join(here, "results", "checkpoint-zip64.md")
    if (out !== "-") {
      const md = [
        "# A checkpoint over 4 GiB (zip64), read with bounded memory",
        "",
        "Written by `npx tsx bench/checkpoint-zip64.ts` (see its header comment for what is measured).",
        "",
        setup,
        "",
        "Machine:",
        "",
        ...machine,
        "",
        ...table,
        "",
      ]
      mkdirSync(dirname(out), { recursive: true })
      writeFileSync(out, md.join("\n"))
      console.log(`wrote ${out}`)
    }
  } finally {
    if (process.env.KEEP === "1") console.log(`kept ${dir}`)
    else await rm(dir, { recursive: true, force: true })
    if (existsSync(input) && process.env.KEEP !== "1") console.error(`could not delete ${input}`)
  }
}

const childArgs = process.env.CKPT_BENCH_CONVERT
if (childArgs !== undefined) {
  const [input, output] = JSON.parse(childArgs) as [string, string]
  process.stdout.write(`${JSON.stringify(await convertHere(input, output))}\n`)
  process.exit(0)
} else {
  await main()
}
