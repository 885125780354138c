import { Effect, Schema } from "effect"
import { resolve } from "node:path"
import { openFolder } from "../dirac/data/folder.js"
import { SyntheticSource, SYNTHETIC_GENERATOR_VERSION } from "../dirac/data/synthetic.js"
import type { FolderLayout, ImageSource } from "../dirac/data/types.js"
import { failure } from "./kit/codec.js"
import { withDefault } from "./kit/config.js"
import { defineKind } from "./kit/define.js"
import { imagesPort } from "./ports/images.js"

const index = (description: string) => Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({ description }))
const natural = (minimum: number, description: string, value: number) =>
  withDefault(Schema.Int.check(Schema.isGreaterThanOrEqualTo(minimum)).annotate({ description }), value)

const LoadConfig = Schema.Struct({
  source: withDefault(
    Schema.Literals(["synthetic", "folder"]).annotate({
      description: "synthetic: procedural images made from a seed (no data needed); folder: PNG/JPEG files under root",
    }),
    "synthetic",
  ),
  root: Schema.optionalKey(
    Schema.String.annotate({ description: "folder: the data set's root folder (relative paths are from the working directory)" }),
  ),
  layout: withDefault(
    Schema.Literals(["plain", "ffhq", "celeba-hq", "imagenet"]).annotate({
      description:
        "folder: how splits are defined (ffhq: 70 subfolders, 00000 = test; celeba-hq: seeded shuffle 80/10/10; imagenet: train/ and val/<class>/)",
    }),
    "plain",
  ),
  split: withDefault(
    Schema.Literals(["all", "train", "val", "test"]).annotate({ description: "folder: which split of the layout" }),
    "all",
  ),
  from: index("first image (index in the split's sorted list)"),
  to: index("end of the range (exclusive)"),
  limit: Schema.optionalKey(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1)).annotate({ description: "at most this many images" })),
  resolution: withDefault(
    Schema.Int.check(Schema.isBetween({ minimum: 8, maximum: 1024 })).annotate({
      description: "side of the square images, after centre crop and antialiased resize",
    }),
    64,
  ),
  count: natural(1, "synthetic: number of images", 64),
  seed: natural(0, "synthetic: generator seed", 0),
  offset: natural(0, "synthetic: index of the first image, so that disjoint sets can share a seed", 0),
  fingerprint: withDefault(
    Schema.Literals(["stat", "content"]).annotate({
      description: "folder: detect changed files by path, size and mtime (stat) or by hashing their bytes (content)",
    }),
    "stat",
  ),
  on_error: withDefault(Schema.Literals(["skip", "fail"]).annotate({ description: "folder: what an unreadable image does" }), "fail"),
})

export type LoadConfig = typeof LoadConfig.Type

const published: Partial<Record<FolderLayout, string>> = {
  ffhq: "Expected: 70 subfolders 00000..00069 of PNGs (the first, 00000, is the test split). FFHQ is published by NVIDIA (NVlabs/ffhq-dataset on GitHub); any resolution works, images are resized",
  "celeba-hq":
    "Expected: the CelebA-HQ images (JPEG or PNG) in one folder. CelebA-HQ 256x256 is published with the progressive-GAN and SDEdit/DDRM data releases",
  imagenet: "Expected: train/<class>/*.JPEG and val/<class>/*.JPEG. ImageNet (ILSVRC2012) is published at image-net.org after registration",
}

/** `setting(key)`: what to `--set` to change a config key, for the hint that says how to name the folder. */
export const openLoadSource = async (config: LoadConfig, setting: (key: string) => string): Promise<ImageSource> => {
  if (config.source === "synthetic") {
    return new SyntheticSource({ seed: config.seed, resolution: config.resolution, ...syntheticRange(config) })
  }
  const root = config.root
  if (root === undefined) throw new Error("the folder source needs root")
  try {
    return await openFolder({
      root: resolve(root),
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
      `${error instanceof Error ? error.message : String(error)}${hint ? `. ${hint}; nothing is downloaded: pass its folder with --set ${setting("root")}=/path/to/it` : ""}`,
    )
  }
}

/** from/to/limit over synthetic images: the same images as in the full set, by index. */
const syntheticRange = (config: LoadConfig) => {
  const from = config.from ?? 0
  const to = Math.min(config.to ?? config.count, config.count)
  const count = Math.max(0, Math.min(to - from, config.limit ?? Infinity))
  return { offset: config.offset + from, count }
}

export const load = defineKind({
  kind: "load",
  version: 1,
  summary: "Images in [0, 1]: built-in synthetic images, or a folder of PNG/JPEG (FFHQ, CelebA-HQ, ImageNet splits)",
  description: "Images in [0, 1], square, at one resolution: built-in synthetic images or a folder of PNG/JPEG files, streamed in batches.",
  config: LoadConfig,
  inputs: {},
  outputs: { images: { codec: imagesPort, description: "a handle to the images (streamed in batches by the nodes that read them)" } },
  typing: (config, _inputs, given) => ({
    outputs: { images: { kind: "images", shape: { height: config.resolution, width: config.resolution, channels: 3 }, range: [0, 1] } },
    errors: [
      // A root without a source would silently load shapes instead of the user's images; an explicit
      // `source: synthetic` (e.g. `--set` to try a folder pipeline on built-in data) is a choice.
      ...(!given.has("source") && config.root !== undefined
        ? [
            {
              path: ["with", "root"],
              message: "root is read only by the folder source, but source is synthetic (the default): add source: folder, or remove root",
            },
          ]
        : []),
      ...(config.source === "folder" && config.root === undefined
        ? [{ path: ["with"], message: "missing required key 'root' (the folder source reads it)" }]
        : []),
    ],
  }),
  externalFingerprint: async (config, setting) =>
    config.source === "synthetic" ? SYNTHETIC_GENERATOR_VERSION : (await openLoadSource(config, setting)).fingerprint(),
  sharesBackend: true,
  run: (ctx) =>
    Effect.gen(function* () {
      const source = yield* Effect.tryPromise({ try: () => openLoadSource(ctx.config, (key) => `${ctx.id}.with.${key}`), catch: failure })
      if (source.count === 0) return yield* Effect.fail(failure(new Error("the selection is empty: check from, to and limit")))
      yield* ctx.log(`${source.count} images at ${source.resolution}x${source.resolution} (${source.kind})`)
      return { images: source }
    }),
})
