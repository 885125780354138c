/**
 * The network in a model file `pipe convert` reads: an official Lightning checkpoint (.ckpt, torch.save zip), weights written by
 * `pipe convert` or `saveWeights` (config under `dirac.unet_args`), or the model artifact of a pipeline's train or
 * import-checkpoint node (`.pipe/objects/KEY/model.safetensors`, config in `pipe.meta`).
 */
import { OpenedCheckpoint } from "../dirac/io/torch-checkpoint.js"
import { readSafetensors } from "../dirac/io/safetensors.js"
import {
  isUNetPresetName,
  networkFromModelTensors,
  unetArgsFromMetadata,
  type SongUNet,
  type UNetArgs,
  type UNetPresetName,
} from "../dirac/network/index.js"
import { importCheckpointNetwork } from "../dirac/network/official-checkpoint.js"

export interface OpenedNetwork {
  readonly net: SongUNet
  /** One line on what was loaded. */
  readonly summary: string
  /** What to record in a converted file's metadata. */
  readonly metadata: Record<string, string>
}

export interface OpenNetworkOptions {
  /** .ckpt only: the preset (default: the checkpoint's model_arch, else base). */
  readonly arch?: UNetPresetName
  readonly weights: "raw" | "ema"
}

const checkpointArch = async (path: string): Promise<UNetPresetName> => {
  const ckpt = await OpenedCheckpoint.open(path)
  try {
    const declared = ckpt.hyperParameters?.model_arch
    return typeof declared === "string" && isUNetPresetName(declared) ? declared : "base"
  } finally {
    await ckpt.close()
  }
}

const openCheckpoint = async (path: string, options: OpenNetworkOptions): Promise<OpenedNetwork> => {
  const arch = options.arch ?? (await checkpointArch(path))
  const imported = await importCheckpointNetwork(path, arch, options.weights)
  const metadata: Record<string, string> = { "dirac.weights": options.weights, "dirac.preset": arch }
  if (imported.hyperParameters) metadata["dirac.hyper_parameters"] = JSON.stringify(imported.hyperParameters)
  return { net: imported.net, summary: imported.summary, metadata }
}

const openSafetensors = async (path: string, options: OpenNetworkOptions): Promise<OpenedNetwork> => {
  const { metadata, tensors } = await readSafetensors(path)
  const artifact =
    metadata["pipe.meta"] === undefined ? undefined : (JSON.parse(metadata["pipe.meta"]) as { args?: UNetArgs; ema?: boolean } | null)
  const args = unetArgsFromMetadata(metadata, path) ?? artifact?.args ?? null
  if (args === null)
    throw new Error(`${path}: neither network weights (no dirac.unet_args) nor a model artifact of a pipeline (no args in pipe.meta)`)
  const ema = options.weights === "ema" && artifact?.ema === true
  if (options.weights === "ema" && !ema) throw new Error(`${path}: has no EMA weights; use --weights raw`)
  const net = networkFromModelTensors(args, tensors, ema, path)
  return {
    net,
    summary: `${net.numParameters.toLocaleString("en-US")} parameters (${options.weights} weights)`,
    metadata: { "dirac.weights": options.weights },
  }
}

/** .safetensors files by their name; anything else is read as a torch.save checkpoint (.ckpt, .pt, .pth). */
export const openNetworkFile = (path: string, options: OpenNetworkOptions): Promise<OpenedNetwork> =>
  path.endsWith(".safetensors") ? openSafetensors(path, options) : openCheckpoint(path, options)
