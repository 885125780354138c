import { join } from "node:path"
import { DataError } from "./errors.js"
import { PythonRandom } from "./python-random.js"
import { type ImageFile, listImageFiles, listSubfolders, noImagesError, requireFolder } from "./scan-folder.js"
import type { FolderLayout, FolderSplit } from "./types.js"

/**
 * The data set layouts of the official code (`data/image_data.py`) and the file list of each split, in order.
 * `all` is every image below the root, sorted, for any layout.
 */

const FFHQ_FOLDERS = 70
const ffhqExpected = (root: string): string =>
  `expected the FFHQ layout at ${root}: ${FFHQ_FOLDERS} subfolders named with five digits (00000 … 00069, or ` +
  `00000, 01000, … 69000), each holding PNG images; test = the first folder (00000), val = the next 7, train = the ` +
  `other 62. The test split needs only folder 00000.`

const ffhq = async (root: string, split: Exclude<FolderSplit, "all">): Promise<ImageFile[]> => {
  const folders = (await listSubfolders(root)).filter((n) => /^\d{5}$/.test(n))
  const complete = folders.length === FFHQ_FOLDERS
  if (split === "test" ? folders[0] !== "00000" : !complete) {
    const found =
      folders.length === 0
        ? "no five-digit subfolders"
        : `${folders.length} five-digit subfolders (${folders.slice(0, 3).join(", ")}${folders.length > 3 ? ", …" : ""})`
    throw new DataError("bad-layout", `${ffhqExpected(root)} Found ${found}.`, root)
  }
  const chosen = split === "test" ? folders.slice(0, 1) : split === "val" ? folders.slice(1, 8) : folders.slice(8)
  const files: ImageFile[] = []
  for (const folder of chosen) files.push(...(await listImageFiles(join(root, folder), root)))
  if (files.length === 0) throw noImagesError(chosen.map((f) => join(root, f)).join(", "))
  return files
}

/** `random.seed(0); random.shuffle(files)`, then `int(0.8 n)` train, up to `int(0.9 n)` val, the rest test. */
const celebaHq = async (root: string, split: Exclude<FolderSplit, "all">): Promise<ImageFile[]> => {
  const files = await listImageFiles(root)
  if (files.length === 0) throw noImagesError(root)
  new PythonRandom(0).shuffle(files)
  const a = Math.trunc(0.8 * files.length)
  const b = Math.trunc(0.9 * files.length)
  return split === "train" ? files.slice(0, a) : split === "val" ? files.slice(a, b) : files.slice(b)
}

const imagenetExpected = (root: string): string =>
  `expected the ImageNet layout at ${root}: train/<class>/*.JPEG and val/<class>/*.JPEG (validation images sorted ` +
  `into one subfolder per class); val = the first file of each class in val/, test = the last.`

/** train: everything in train/ (sorted). val/test: first/last sorted file of each val/<class>, then seeded shuffle. */
const imagenet = async (root: string, split: Exclude<FolderSplit, "all">): Promise<ImageFile[]> => {
  const dir = join(root, split === "train" ? "train" : "val")
  await requireFolder(dir, `ImageNet ${split === "train" ? "train" : "val"} folder (${imagenetExpected(root)})`)
  if (split === "train") {
    const files = await listImageFiles(dir, root)
    if (files.length === 0) throw noImagesError(dir)
    return files
  }
  const classes = await listSubfolders(dir)
  if (classes.length === 0) throw new DataError("bad-layout", `${imagenetExpected(root)} Found no class subfolders in ${dir}.`, dir)
  const picked: ImageFile[] = []
  for (const cls of classes) {
    const files = await listImageFiles(join(dir, cls), root)
    const file = split === "val" ? files[0] : files[files.length - 1]
    if (file) picked.push(file)
  }
  if (picked.length === 0) throw noImagesError(`the class folders of ${dir}`)
  return new PythonRandom(0).shuffle(picked)
}

export const LAYOUTS: readonly FolderLayout[] = ["plain", "ffhq", "celeba-hq", "imagenet"]
export const SPLITS: readonly FolderSplit[] = ["all", "train", "val", "test"]

/** The ordered files of one split of a data set folder. */
export const splitFiles = async (root: string, layout: FolderLayout, split: FolderSplit): Promise<ImageFile[]> => {
  await requireFolder(root)
  if (split === "all") {
    const files = await listImageFiles(root)
    if (files.length === 0) throw noImagesError(root)
    return files
  }
  switch (layout) {
    case "ffhq":
      return ffhq(root, split)
    case "celeba-hq":
      return celebaHq(root, split)
    case "imagenet":
      return imagenet(root, split)
    case "plain":
      throw new DataError(
        "bad-options",
        `a plain folder has only the split "all" (asked for "${split}"); name a layout (ffhq, celeba-hq, imagenet) for train/val/test`,
        root,
      )
  }
}
