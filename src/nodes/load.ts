import { Effect } from "effect"
import { resolve } from "node:path"
import { openFolder } from "../dirac/data/folder.js"
import { SyntheticSource, SYNTHETIC_GENERATOR_VERSION } from "../dirac/data/synthetic.js"
import type { FolderLayout, FolderSplit, ImageSource } from "../dirac/data/types.js"
import type { NodeKind } from "./contract.js"
import { configSchemaFile } from "./schema-file.js"
import { failure, imagesValue } from "./values.js"

export interface LoadArgs {
  readonly source: "synthetic" | "folder"
  readonly root?: string
  readonly layout: FolderLayout
  readonly split: FolderSplit
  readonly from?: number
  readonly to?: number
  readonly limit?: number
  readonly resolution: number
  readonly count: number
  readonly seed: number
  readonly offset: number
  readonly fingerprint: "stat" | "content"
  readonly on_error: "skip" | "fail"
}

const published: Partial<Record<FolderLayout, string>> = {
  ffhq: "Expected: 70 subfolders 00000..00069 of PNGs (the first, 00000, is the test split). FFHQ is published by NVIDIA (NVlabs/ffhq-dataset on GitHub); any resolution works, images are resized",
  "celeba-hq":
    "Expected: the CelebA-HQ images (JPEG or PNG) in one folder. CelebA-HQ 256x256 is published with the progressive-GAN and SDEdit/DDRM data releases",
  imagenet: "Expected: train/<class>/*.JPEG and val/<class>/*.JPEG. ImageNet (ILSVRC2012) is published at image-net.org after registration",
}

export const openLoadSource = async (config: LoadArgs): Promise<ImageSource> => {
  if (config.source === "synthetic") {
    return new SyntheticSource({ seed: config.seed, resolution: config.resolution, ...syntheticRange(config) })
  }
  try {
    return await openFolder({
      root: resolve(config.root!),
      layout: config.layout,
      split: config.split,
      from: config.from,
      to: config.to,
      limit: config.limit,
      resolution: config.resolution,
      onError: config.on_error,
      content: config.fingerprint === "content",
    })
  } catch (error) {
    const hint = published[config.layout]
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}${hint ? `. ${hint}; nothing is downloaded: pass its folder with --set, e.g. --set params.data=/path/to/it` : ""}`,
    )
  }
}

/** from/to/limit over synthetic images: the same images as in the full set, by index. */
const syntheticRange = (config: LoadArgs) => {
  const from = config.from ?? 0
  const to = Math.min(config.to ?? config.count, config.count)
  const count = Math.max(0, Math.min(to - from, config.limit ?? Infinity))
  return { offset: config.offset + from, count }
}

export const load: NodeKind<LoadArgs> = {
  kind: "load",
  version: 1,
  summary: "Images in [0, 1]: built-in synthetic images, or a folder of PNG/JPEG (FFHQ, CelebA-HQ, ImageNet splits)",
  configSchema: configSchemaFile("load"),
  inputs: {},
  outputs: { images: { type: "images", description: "a handle to the images (streamed in batches by the nodes that read them)" } },
  typing: (config: LoadArgs, _inputs, given) => ({
    outputs: { images: { kind: "images", shape: { height: config.resolution, width: config.resolution, channels: 3 }, range: [0, 1] } },
    // A root without a source would silently load shapes instead of the user's images; an explicit
    // `source: synthetic` (e.g. `--set` to try a folder pipeline on built-in data) is a choice.
    ...(!given.has("source") && config.root !== undefined
      ? {
          errors: [
            {
              path: ["with", "root"],
              message: "root is read only by the folder source, but source is synthetic (the default): add source: folder, or remove root",
            },
          ],
        }
      : {}),
  }),
  externalFingerprint: async (config: LoadArgs) =>
    config.source === "synthetic" ? SYNTHETIC_GENERATOR_VERSION : (await openLoadSource(config)).fingerprint(),
  sharesBackend: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const source = yield* Effect.tryPromise({ try: () => openLoadSource(ctx.config), catch: failure })
      if (source.count === 0) return yield* Effect.fail(failure(new Error("the selection is empty: check from, to and limit")))
      yield* ctx.log(`${source.count} images at ${source.resolution}x${source.resolution} (${source.kind})`)
      return { images: imagesValue(source) }
    }),
}
