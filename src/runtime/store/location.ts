import type { S3Location } from "./s3-store.js"

/** Where artifacts are kept: a local folder (today's store) or a bucket of an S3-compatible service. */
export type StoreLocation = { readonly kind: "file"; readonly dir: string } | ({ readonly kind: "s3" } & S3Location)

/** `file:PATH` or `s3://BUCKET[/PREFIX]`; a string saying what is wrong otherwise. */
export const parseStoreLocation = (text: string): StoreLocation | string => {
  if (text.startsWith("file:")) {
    const dir = text.slice("file:".length).replace(/^\/\/(?=\/)/, "")
    return dir === "" ? "file: needs a folder, as in file:.pipe or file:/mnt/shared/pipe" : { kind: "file", dir }
  }
  const s3 = /^s3:\/\/([^/]+)((?:\/[^/]*)*)$/.exec(text)
  if (s3) {
    const bucket = s3[1]!
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      return `'${bucket}' is not a bucket name (3 to 63 lowercase letters, digits, dots and hyphens)`
    return { kind: "s3", bucket, prefix: s3[2]!.split("/").filter(Boolean).join("/") }
  }
  return `'${text}' names no store: use file:PATH or s3://BUCKET/PREFIX`
}
