/**
 * The smallest pipeline that trains: 16x16 synthetic images, a scheduled blur, two steps of tiny-16. The
 * per-engine end-to-end tests add their sampling and metric nodes to it.
 */
export const tinyPipeline = (name: string, moreNodes: string): string => `version: 1
name: ${name}
nodes:
  images: { use: load, with: { source: synthetic, seed: 1, count: 8, resolution: 16 } }
  held: { use: load, with: { source: synthetic, seed: 2, count: 2, resolution: 16 } }
  process: { use: degrade, in: { images: held }, with: { operator: gaussian-blur, std_max: 1.5 } }
  scheduled: { use: schedule, in: { process: process.process, images: images }, with: { candidates: 12, points: 3, images: 2 } }
  model:
    use: train
    in: { images: images, process: scheduled, validation: held }
    with: { preset: tiny-16, steps: 2, batch_size: 4, validation: { every: 2, images: 2 } }
${moreNodes}`
