import { Effect } from "effect"
import { resolve } from "node:path"
import { OpenedCheckpoint } from "../../dirac/io/torch-checkpoint.js"
import { isUNetPresetName, saveWeights, UNET_PRESETS, type UNetPresetName } from "../../dirac/network/index.js"
import { importCheckpointNetwork } from "../../nodes/import-checkpoint.js"
import { initBackend } from "../../runtime/backend/index.js"
import { choiceFlag, flag, UsageError } from "../args.js"
import { exitCodes } from "../context.js"
import type { Command } from "./command.js"

export interface ConvertOptions {
  /** The network preset (default: the checkpoint's model_arch, else base). */
  readonly arch?: UNetPresetName
  readonly weights?: "raw" | "ema"
  /** The input path as the metadata should record it (default: `input`). */
  readonly shownInput?: string
}

/**
 * What `pipe convert` does: reads only the checkpoint's denoiser_fn.* weights into the network of its preset and
 * writes them as safetensors under the official names. Returns the one-line summary of what was loaded.
 */
export const convertCheckpoint = async (input: string, output: string, options: ConvertOptions = {}): Promise<string> => {
  let arch: UNetPresetName = options.arch ?? "base"
  if (options.arch === undefined) {
    const ckpt = await OpenedCheckpoint.open(input)
    let declared: unknown
    try {
      declared = ckpt.hyperParameters?.model_arch
    } finally {
      await ckpt.close()
    }
    if (typeof declared === "string" && isUNetPresetName(declared)) arch = declared
  }
  const weights = options.weights ?? "raw"
  await initBackend("cpu")
  const imported = await importCheckpointNetwork(input, arch, weights)
  try {
    const metadata: Record<string, string> = { "dirac.source_checkpoint": options.shownInput ?? input, "dirac.weights": weights, "dirac.preset": arch }
    if (imported.hyperParameters) metadata["dirac.hyper_parameters"] = JSON.stringify(imported.hyperParameters)
    await saveWeights(imported.net, output, metadata)
  } finally {
    imported.net.dispose()
  }
  return imported.summary
}

export const convert: Command = {
  name: "convert",
  summary: "convert a DiracDiffusion PyTorch checkpoint (.ckpt) to safetensors, without Python",
  usage: "pipe convert IN.ckpt OUT.safetensors [--arch base|large] [--weights raw|ema]",
  flags: [
    { name: "arch", value: "PRESET", description: "the network preset (default: the checkpoint's model_arch, else base)" },
    { name: "weights", value: "raw|ema", description: "the state_dict's weights (raw, default) or the EMA callback's" },
    { name: "help", description: "show this help" },
  ],
  details:
    "Reads only the denoiser_fn.* weights (optimizer state and the LPIPS network are skipped), checks them against the " +
    "architecture and writes them under the official names with the config in the metadata (dirac.unet_args), so " +
    "loadWeights and Python's safetensors open the file. The pickle is interpreted, never executed.",
  run: (args) =>
    Effect.gen(function* () {
      const [input, output, ...extra] = args.positional
      if (!input || !output || extra.length > 0) return yield* Effect.fail(new UsageError("expects an input .ckpt and an output .safetensors path"))
      const weights = yield* Effect.try({ try: () => choiceFlag(args, "weights", ["raw", "ema"] as const) ?? "raw", catch: (e) => e })
      const archFlag = flag(args, "arch")
      if (archFlag !== undefined && !isUNetPresetName(archFlag)) {
        return yield* Effect.fail(new UsageError(`option '--arch' must be one of ${Object.keys(UNET_PRESETS).join(", ")}; got '${archFlag}'`))
      }
      const result = yield* Effect.tryPromise({
        try: () => convertCheckpoint(resolve(input), resolve(output), { ...(archFlag !== undefined ? { arch: archFlag as UNetPresetName } : {}), weights, shownInput: input }),
        catch: (e) => e,
      }).pipe(Effect.result)
      if (result._tag === "Failure") {
        process.stderr.write(`pipe convert: ${(result.failure as Error)?.message ?? String(result.failure)}\n`)
        return exitCodes.failed
      }
      process.stdout.write(`${input}: ${result.success}\nwrote ${output}\n`)
      return exitCodes.ok
    }),
}
