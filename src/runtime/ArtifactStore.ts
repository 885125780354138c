import { Context, Layer } from "effect"
import { makeFileStore } from "./store/file-store.js"
import type { StoreLocation } from "./store/location.js"
import { makeS3Client, s3Objects, type S3Settings } from "./store/s3-objects.js"
import { makeS3Store } from "./store/s3-store.js"
import type { ArtifactStoreShape } from "./store/shape.js"

export type { StoredValue } from "./stored-value.js"
export type { ArtifactStoreShape, Manifest } from "./store/shape.js"

/** The store `location` names, with `root` as the local folder (a file store's location is its local folder). */
export const makeArtifactStore = (location: StoreLocation, root: string, s3: S3Settings = {}): ArtifactStoreShape =>
  location.kind === "file" ? makeFileStore(root) : makeS3Store(location, s3Objects(makeS3Client(s3), location.bucket), root)

export class ArtifactStore extends Context.Service<ArtifactStore, ArtifactStoreShape>()("dirac-pipe/runtime/ArtifactStore") {
  /** The local store in `root`. */
  static readonly layer = (root: string) => Layer.succeed(ArtifactStore, makeFileStore(root))
  static readonly layerAt = (location: StoreLocation, root: string, s3?: S3Settings) =>
    Layer.succeed(ArtifactStore, makeArtifactStore(location, root, s3))
}
