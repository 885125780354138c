import { Effect, Schema } from "effect"
import { openSource } from "../../dirac/data/source.js"
import type { ImageSource } from "../../dirac/data/types.js"
import { decodeMeta, encodeMeta, failure, type PortCodec } from "../kit/codec.js"

const SyntheticDescription = Schema.Struct({
  kind: Schema.Literal("synthetic"),
  seed: Schema.Number,
  count: Schema.Number,
  resolution: Schema.Number,
  offset: Schema.optionalKey(Schema.Number),
  version: Schema.String,
})

const FolderDescription = Schema.Struct({
  kind: Schema.Literal("folder"),
  root: Schema.String,
  layout: Schema.Literals(["plain", "ffhq", "celeba-hq", "imagenet"]),
  split: Schema.Literals(["all", "train", "val", "test"]),
  from: Schema.optionalKey(Schema.Number),
  to: Schema.optionalKey(Schema.Number),
  limit: Schema.optionalKey(Schema.Number),
  resolution: Schema.Number,
  onError: Schema.Literals(["skip", "fail"]),
  content: Schema.optionalKey(Schema.Boolean),
})

/** `images`: a handle to an image source (its JSON description); pixels are read on demand. */
const ImagesMeta = Schema.Struct({ source: Schema.Union([SyntheticDescription, FolderDescription]), count: Schema.Number })

const encode = encodeMeta(ImagesMeta)
const decode = decodeMeta("images", ImagesMeta)

export const imagesPort: PortCodec<ImageSource> = {
  kind: "images",
  encode: (source) => Effect.map(encode({ source: source.describe(), count: source.count }), (meta) => ({ meta, tensors: {} })),
  decode: (stored) =>
    Effect.flatMap(decode(stored.meta), (meta) => Effect.tryPromise({ try: () => openSource(meta.source), catch: failure })),
}
