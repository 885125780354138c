/** Why a data operation failed; `path` names the folder or file concerned when there is one. */
export type DataErrorCode =
  "missing-folder" | "no-images" | "bad-layout" | "unreadable-image" | "link-outside-root" | "bad-options" | "bad-description"

export class DataError extends Error {
  override readonly name = "DataError"
  constructor(
    readonly code: DataErrorCode,
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export const badOptions = (message: string): DataError => new DataError("bad-options", message)

/** Images are square; any side from 8 to 1024 pixels. */
export const MIN_RESOLUTION = 8
export const MAX_RESOLUTION = 1024

export const checkResolution = (resolution: number): void => {
  if (!Number.isInteger(resolution) || resolution < MIN_RESOLUTION || resolution > MAX_RESOLUTION) {
    throw badOptions(`resolution must be an integer in ${MIN_RESOLUTION}..${MAX_RESOLUTION}, got ${resolution}`)
  }
}
