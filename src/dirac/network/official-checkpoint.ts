/**
 * Reading an official DiracDiffusion Lightning checkpoint into a SongUNet: the checks made before any tensor is
 * read (file, hyper-parameters, names and shapes), then the raw or EMA denoiser weights.
 */
import { createHash } from "node:crypto"
import { createReadStream, existsSync } from "node:fs"
import { stat } from "node:fs/promises"
import { resolve } from "node:path"
import { buildArch, loadStateDict, resolveUNetArgs, SongUNet, type UNetArgs, type UNetPresetName } from "./index.js"
import { describeTrainedFor, expectationProblems, trainedFor, type CheckpointExpectations } from "../io/checkpoint-expectations.js"
import type { RawTensor } from "../io/safetensors.js"
import { OpenedCheckpoint } from "../io/torch-checkpoint.js"
import type { TensorRef } from "../io/unpickle.js"

export const DENOISER_PREFIX = "denoiser_fn."

/** The hyper-parameters worth showing, when the checkpoint has them. */
const SHOWN = ["model_arch", "dt", "loss_type", "experiment_config_file", "experiment"] as const

export interface ImportedNetwork {
  readonly net: SongUNet
  readonly hyperParameters?: Record<string, unknown>
  /** One line for a log: what was found and loaded. */
  readonly summary: string
}

const describeArch = (arch: UNetPresetName | UNetArgs) => (typeof arch === "string" ? `the '${arch}' network` : "the given architecture")

/**
 * Checks an opened checkpoint before any tensor is read: its hyper-parameters against `arch` and `expect`, and
 * the names and shapes of its `denoiser_fn.*` tensors against the architecture. Returns those tensors.
 */
const checkOpened = (
  ckpt: OpenedCheckpoint,
  path: string,
  arch: UNetPresetName | UNetArgs,
  expect?: CheckpointExpectations,
): Array<[string, TensorRef]> => {
  const problems = expectationProblems(path, ckpt.hyperParameters, typeof arch === "string" ? arch : undefined, expect)
  if (problems.length > 0) throw new Error(problems.join("; and "))
  const sd = [...ckpt.stateDict].filter(([k]) => k.startsWith(DENOISER_PREFIX))
  if (sd.length === 0) {
    const some = [...ckpt.stateDict.keys()].slice(0, 5)
    throw new Error(
      `${path} has no '${DENOISER_PREFIX}*' weights, so it is not a DiracDiffusion checkpoint${some.length ? ` (its state_dict starts with ${some.join(", ")})` : ""}`,
    )
  }
  const a = buildArch(resolveUNetArgs(arch))
  const expected = new Map<string, readonly number[]>([
    ...a.params.map((p) => [p.name, p.torchShape] as const),
    ...a.buffers.map((b) => [b.name, b.torchShape] as const),
  ])
  const bad: string[] = []
  for (const [k, ref] of sd) {
    const name = k.slice(DENOISER_PREFIX.length)
    const shape = expected.get(name)
    if (!shape) bad.push(`${name} is not in ${describeArch(arch)}`)
    else if (shape.length !== ref.shape.length || shape.some((s, i) => s !== ref.shape[i]))
      bad.push(`${name} is [${ref.shape.join(", ")}], expected [${shape.join(", ")}]`)
    if (bad.length >= 5) break
  }
  if (bad.length > 0)
    throw new Error(`${path} does not match ${describeArch(arch)} (${bad.join("; ")}); is it a checkpoint of another preset?`)
  return sd
}

/**
 * What the node checks before any node of the pipeline runs (no tensor data is read): the file exists, is a
 * DiracDiffusion checkpoint of `arch`, and was trained for what `expect` says.
 */
export const checkCheckpoint = async (path: string, arch: UNetPresetName | UNetArgs, expect?: CheckpointExpectations): Promise<void> => {
  const full = resolve(path)
  if (!existsSync(full)) {
    throw new Error(
      `the checkpoint ${path} does not exist${full !== path ? ` (looked for ${full})` : ""}: download it (the official DiracDiffusion ` +
        `checkpoints are linked from the README of github.com/z-fabian/dirac-diffusion) or point with.path at your copy`,
    )
  }
  const ckpt = await OpenedCheckpoint.open(full)
  try {
    checkOpened(ckpt, path, arch, expect)
  } finally {
    await ckpt.close()
  }
}

/**
 * Builds the SongUNet of `arch` and loads a DiracDiffusion checkpoint's `denoiser_fn.*` weights into it (raw, or
 * the EMA callback's list), reading nothing else. Fails with a message naming the mismatch when the checkpoint
 * was trained with another architecture or for something other than `expect` says.
 */
export const importCheckpointNetwork = async (
  path: string,
  arch: UNetPresetName | UNetArgs,
  weights: "raw" | "ema" = "raw",
  expect?: CheckpointExpectations,
): Promise<ImportedNetwork> => {
  const args = resolveUNetArgs(arch)
  const ckpt = await OpenedCheckpoint.open(path)
  try {
    const hp = ckpt.hyperParameters
    const sd = checkOpened(ckpt, path, arch, expect)
    const tensors: Record<string, RawTensor> = {}
    for (const [k, ref] of sd) tensors[k] = await ckpt.readTensor(ref, k)
    let source = "state_dict"
    if (weights === "ema") {
      const ema = ckpt.emaList
      if (!ema) throw new Error(`${path} has no EMA weights (optimizer_states[0].ema); use weights: raw`)
      // The EMA callback keeps the module's parameters in order: the denoiser's come first (buffers excluded).
      const params = sd.filter(([k]) => !k.endsWith(".resample_filter"))
      if (ema.length < params.length)
        throw new Error(`${path}: the EMA list has ${ema.length} tensors, the denoiser ${params.length} parameters`)
      for (let i = 0; i < params.length; i++) {
        const [k, ref] = params[i]
        const e = ema[i]
        if (e.shape.length !== ref.shape.length || e.shape.some((s, j) => s !== ref.shape[j])) {
          throw new Error(
            `${path}: EMA tensor ${i} is [${e.shape.join(", ")}] but ${k} is [${ref.shape.join(", ")}]; the EMA list is not in state_dict order`,
          )
        }
        tensors[k] = await ckpt.readTensor(e, `ema[${i}]`)
      }
      source = "EMA weights"
    }
    const net = new SongUNet(args, (spec) => new Float32Array(spec.shape.reduce((x, y) => x * y, 1)))
    try {
      loadStateDict(net, tensors, { prefix: DENOISER_PREFIX, source: path })
    } catch (error) {
      net.dispose()
      throw error
    }
    const shown = hp ? SHOWN.filter((k) => hp[k] !== undefined).map((k) => `${k}=${JSON.stringify(hp[k])}`) : []
    const derived = describeTrainedFor(trainedFor(hp))
    const summary =
      `${sd.length} tensors (${source}) loaded into ${typeof arch === "string" ? arch : "the given architecture"}` +
      (shown.length ? `; hyper-parameters: ${shown.join(", ")}${derived ? ` (${derived})` : ""}` : "; no hyper-parameters in the file")
    return hp ? { net, hyperParameters: hp, summary } : { net, summary }
  } finally {
    await ckpt.close()
  }
}

/** Identifies a file's version: path, size and mtime (stat), or the sha256 of its bytes (content). */
export const fileFingerprint = async (path: string, mode: "stat" | "content"): Promise<string> => {
  const full = resolve(path)
  const s = await stat(full)
  if (mode === "stat") return `${full}:${s.size}:${Math.round(s.mtimeMs)}`
  const hash = createHash("sha256")
  for await (const chunk of createReadStream(full)) hash.update(chunk as Buffer)
  return `sha256:${hash.digest("hex")}`
}
