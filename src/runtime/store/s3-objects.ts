import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type _Object,
} from "@aws-sdk/client-s3"
import { createWriteStream } from "node:fs"
import { pipeline } from "node:stream/promises"
import type { Readable } from "node:stream"

export interface S3Settings {
  /** `http://127.0.0.1:9000` for MinIO and the like; AWS's own endpoint when absent. */
  readonly endpoint?: string
}

export interface StoredObject {
  readonly key: string
  readonly bytes: number
  readonly modified: Date
}

/** Path-style addressing (what S3-compatible servers expect), credentials and region from the usual AWS settings. */
export const makeS3Client = ({ endpoint }: S3Settings): S3Client => {
  // The SDK warns on Node 20 about its support in future releases; pipe itself supports Node 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true"
  return new S3Client({
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: true,
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    // Checksums in trailers (the SDK's default) are not understood by every S3-compatible server; pipe checks sha256 itself.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: { connectionTimeout: 5_000 },
  })
}

const isNotFound = (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404

/** The few object operations a store needs, on one bucket. */
export const s3Objects = (client: S3Client, bucket: string) => ({
  checkBucket: async (): Promise<void> => {
    await client.send(new HeadBucketCommand({ Bucket: bucket }))
  },

  /** The object's bytes; undefined when there is no such object. */
  get: async (key: string): Promise<Uint8Array | undefined> => {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      return await object.Body!.transformToByteArray()
    } catch (e) {
      if (isNotFound(e)) return undefined
      throw e
    }
  },

  /** Streams the object into a file; false when there is no such object. */
  download: async (key: string, path: string): Promise<boolean> => {
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      await pipeline(object.Body as Readable, createWriteStream(path))
      return true
    } catch (e) {
      if (isNotFound(e)) return false
      throw e
    }
  },

  put: async (key: string, body: Uint8Array | string): Promise<void> => {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
  },

  /** Every object whose key starts with `prefix`. */
  list: async (prefix: string): Promise<StoredObject[]> => {
    const found: StoredObject[] = []
    let token: string | undefined
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }))
      for (const o of page.Contents ?? ([] as _Object[]))
        found.push({ key: o.Key!, bytes: o.Size ?? 0, modified: o.LastModified ?? new Date(0) })
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return found
  },

  remove: async (keys: ReadonlyArray<string>): Promise<void> => {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000).map((Key) => ({ Key }))
      const result = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }))
      const failed = result.Errors?.[0]
      if (failed) throw new Error(`cannot delete ${failed.Key}: ${failed.Message ?? failed.Code}`)
    }
  },
})

export type S3Objects = ReturnType<typeof s3Objects>
