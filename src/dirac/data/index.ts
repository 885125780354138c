export * from "./types.js"
export { DataError, type DataErrorCode, MIN_RESOLUTION, MAX_RESOLUTION } from "./errors.js"
export {
  renderSynthetic,
  SYNTHETIC_GENERATOR_VERSION,
  SyntheticSource,
  syntheticSource,
  syntheticId,
  type SyntheticOptions,
} from "./synthetic.js"
export { FolderSource, openFolder, loadImageFile, fileId, selectRange, FOLDER_PREPROCESSING_VERSION, type FolderOptions } from "./folder.js"
export { splitFiles, LAYOUTS, SPLITS } from "./splits.js"
export { listImageFiles, compareCodePoints, IMAGE_EXTENSIONS, type ImageFile } from "./scan-folder.js"
export { openSource, parseSourceDescription } from "./source.js"
export { PythonRandom } from "./python-random.js"
export { cropAndResizeSquare, resizeBilinearPil, centerCropOffsets, type Rgb8 } from "./pil-resize.js"
export { decodeRgb8 } from "./decode.js"
export * from "./png.js"
export { officialImageName, officialNoiseSeed } from "./official-names.js"
