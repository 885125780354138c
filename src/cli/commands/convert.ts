import { Effect } from "effect"
import { resolve } from "node:path"
import { existsSync, statSync } from "node:fs"
import { writeFile } from "node:fs/promises"
import { isUNetPresetName, saveWeights, UNET_PRESETS, type UNetPresetName } from "../../dirac/network/index.js"
import { exportNetworkOnnx } from "../../dirac/onnx/export-network.js"
import { openNetworkFile } from "../model-file.js"
import { initBackend } from "../../runtime/backend/index.js"
import { choiceFlag, flag, UsageError } from "../args.js"
import { exitCodes } from "../context.js"
import type { Command } from "./command.js"

export interface ConvertOptions {
  /** .ckpt only: the network preset (default: the checkpoint's model_arch, else base). */
  readonly arch?: UNetPresetName
  readonly weights?: "raw" | "ema"
  /** The input path as the metadata should record it (default: `input`). */
  readonly shownInput?: string
}

/**
 * What `pipe convert` does: opens the network of a checkpoint (reading only its denoiser_fn.* weights), of
 * weights or of a pipeline's model artifact, and writes it as safetensors under the official names, or, for an
 * output ending in .onnx, as an ONNX model of Phi(y, sigma) (inputs y NHWC and sigma, output x0). Returns the
 * one-line summary of what was loaded.
 */
export const convertCheckpoint = async (input: string, output: string, options: ConvertOptions = {}): Promise<string> => {
  const weights = options.weights ?? "raw"
  await initBackend("cpu")
  const opened = await openNetworkFile(input, { weights, ...(options.arch !== undefined ? { arch: options.arch } : {}) })
  try {
    const metadata = { "dirac.source": options.shownInput ?? input, ...opened.metadata }
    if (output.endsWith(".onnx")) await writeFile(output, await exportNetworkOnnx(opened.net, metadata))
    else await saveWeights(opened.net, output, metadata)
  } finally {
    opened.net.dispose()
  }
  return opened.summary
}

/** What is wrong with the two paths before anything is read: a missing input, an unknown output format, one file for both. */
const pathProblem = (input: string, output: string): string | undefined => {
  if (!existsSync(input)) return `cannot read ${input}: no such file`
  if (statSync(input).isDirectory()) return `${input} is a folder; expected a checkpoint or weights file`
  if (!/\.(safetensors|onnx)$/.test(output)) return `cannot tell what to write as ${output}: the output must end in .safetensors or .onnx`
  if (resolve(input) === resolve(output)) return `the output ${output} is the input; choose another path (the input is never overwritten)`
  return undefined
}

export const convert: Command = {
  name: "convert",
  summary: "convert a DiracDiffusion checkpoint (.ckpt) or a model to safetensors or ONNX, without Python",
  usage: "pipe convert IN.ckpt|IN.safetensors OUT.safetensors|OUT.onnx [--arch PRESET] [--weights raw|ema]",
  maxArguments: 2,
  flags: [
    { name: "arch", value: "PRESET", description: ".ckpt: the network preset (default: the checkpoint's model_arch, else base)" },
    {
      name: "weights",
      value: "raw|ema",
      description: "the raw weights (default) or the EMA ones (the checkpoint's EMA callback, a model's ema.*)",
    },
    { name: "help", description: "show this help" },
  ],
  details:
    "Reads only the denoiser_fn.* weights (optimizer state and the LPIPS network are skipped), checks them against the " +
    "architecture and writes them under the official names with the config in the metadata (dirac.unet_args), so " +
    "loadWeights and Python's safetensors open the file. The pickle is interpreted, never executed. IN may also be " +
    "weights written by pipe convert, or a pipeline's model artifact (.pipe/objects/KEY/model.safetensors, see pipe run's " +
    "output); OUT ending in .onnx writes an ONNX model of x0 = Phi(y, sigma) (y: [B, H, W, 3], sigma: [B]) instead.",
  run: (args) =>
    Effect.gen(function* () {
      const [input, output, ...extra] = args.positional
      if (!input || !output || extra.length > 0)
        return yield* Effect.fail(new UsageError("expects an input (.ckpt or .safetensors) and an output (.safetensors or .onnx) path"))
      const problem = pathProblem(input, output)
      if (problem !== undefined) return yield* Effect.fail(new UsageError(problem))
      const weights = yield* Effect.try({ try: () => choiceFlag(args, "weights", ["raw", "ema"] as const) ?? "raw", catch: (e) => e })
      const archFlag = flag(args, "arch")
      if (archFlag !== undefined && !isUNetPresetName(archFlag)) {
        return yield* Effect.fail(
          new UsageError(`option '--arch' must be one of ${Object.keys(UNET_PRESETS).join(", ")}; got '${archFlag}'`),
        )
      }
      const result = yield* Effect.tryPromise({
        try: () =>
          convertCheckpoint(resolve(input), resolve(output), {
            ...(archFlag !== undefined ? { arch: archFlag as UNetPresetName } : {}),
            weights,
            shownInput: input,
          }),
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
