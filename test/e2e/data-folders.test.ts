import { describe, expect, it } from "vitest"
import { pipe, workspace } from "./cli.js"

const missingFolders = `version: 1
name: data
params: { data: /nowhere/ffhq, train_data: /nowhere/celeba }
nodes:
  test_images: { use: load, with: { source: folder, layout: ffhq, root: "\${params.data}", resolution: 32 } }
  train_images: { use: load, with: { source: folder, layout: celeba-hq, root: "\${params.train_data}", resolution: 32 } }
  val_images: { use: load, with: { source: folder, layout: celeba-hq, root: /nowhere/val, resolution: 32 } }
`

describe("missing data folders", () => {
  it("are all reported before any work, each with the setting that names it", () => {
    const ws = workspace()
    ws.write("p.yaml", missingFolders)
    const r = pipe(ws, ["run", "p.yaml", "--ui", "lines"])
    expect(r.code).toBe(2)
    const lines = r.stderr.trim().split("\n")
    expect(lines).toHaveLength(3)
    expect(lines[0]).toMatch(/^pipe: node 'test_images': data folder not found: \/nowhere\/ffhq .* --set params\.data=\/path\/to\/it$/)
    expect(lines[1]).toMatch(/^pipe: node 'train_images': .*CelebA-HQ.* --set params\.train_data=\/path\/to\/it$/)
    expect(lines[2]).toMatch(/^pipe: node 'val_images': .* --set val_images\.with\.root=\/path\/to\/it$/)
  })
})
