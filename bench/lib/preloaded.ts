import type { ImageBatch, ImageSource } from "../../src/dirac/data/types.js"

/** The source with its images rendered once up front, so that a timed step excludes producing them. */
export const preloaded = async (source: ImageSource): Promise<ImageSource> => {
  const all = await source.load([...Array(source.count).keys()])
  const size = source.resolution * source.resolution * 3
  const load = (indices: readonly number[]): Promise<ImageBatch> => {
    const pixels = new Float32Array(indices.length * size)
    indices.forEach((i, k) => pixels.set(all.pixels.subarray(i * size, (i + 1) * size), k * size))
    return Promise.resolve({
      ids: indices.map((i) => all.ids[i]!),
      indices: [...indices],
      pixels,
      shape: [indices.length, source.resolution, source.resolution, 3],
    })
  }
  return Object.assign(Object.create(source) as ImageSource, { load })
}
