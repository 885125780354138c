import { describe, expect, it } from "vitest"
import {
  buildArch,
  countParameters,
  stateDictShapes,
  stateDictSize,
  UNET_PRESETS,
  unetParameterCount,
  resolveUNetArgs,
} from "../../src/dirac/network/index.js"

describe("SongUNet architecture (symbolic, nothing allocated)", () => {
  it("has exactly the official parameter counts for base and large", () => {
    expect(unetParameterCount("base")).toBe(67_745_027)
    expect(unetParameterCount("large")).toBe(520_915_459)
  })

  it("small presets are in their intended size ranges", () => {
    expect(unetParameterCount("tiny-16")).toBeLessThan(100_000)
    expect(unetParameterCount("tiny-32")).toBeGreaterThan(300_000)
    expect(unetParameterCount("tiny-32")).toBeLessThan(700_000)
    expect(unetParameterCount("small-32")).toBeGreaterThan(1_000_000)
    expect(unetParameterCount("small-64")).toBeGreaterThan(2_000_000)
    expect(unetParameterCount("small-64")).toBeLessThan(5_000_000)
  })

  it("base: official names, PyTorch shapes and the 635-entry state_dict", () => {
    const arch = buildArch(UNET_PRESETS.base)
    const shapes = stateDictShapes(arch)
    expect(stateDictSize(arch)).toBe(635)
    const expected: Record<string, number[]> = {
      "map_noise.freqs": [128],
      "map_layer0.weight": [512, 256],
      "map_layer0.bias": [512],
      "map_layer1.weight": [512, 512],
      "enc.256x256_conv.weight": [128, 3, 3, 3],
      "enc.256x256_conv.bias": [128],
      "enc.256x256_block0.norm0.weight": [128],
      "enc.256x256_block0.conv0.weight": [128, 128, 3, 3],
      "enc.256x256_block0.affine.weight": [128, 512],
      "enc.256x256_block0.norm1.bias": [128],
      "enc.256x256_block0.conv1.weight": [128, 128, 3, 3],
      "enc.128x128_down.conv0.weight": [128, 128, 3, 3],
      "enc.128x128_down.conv0.resample_filter": [1, 1, 4, 4],
      "enc.128x128_down.skip.weight": [128, 128, 1, 1],
      "enc.128x128_aux_residual.weight": [128, 3, 3, 3],
      "enc.128x128_aux_residual.resample_filter": [1, 1, 4, 4],
      "enc.64x64_block0.skip.weight": [256, 128, 1, 1],
      "enc.64x64_aux_residual.weight": [128, 128, 3, 3],
      "enc.16x16_block0.norm2.weight": [256],
      "enc.16x16_block0.qkv.weight": [768, 256, 1, 1],
      "enc.16x16_block0.qkv.bias": [768],
      "enc.16x16_block0.proj.weight": [256, 256, 1, 1],
      "dec.4x4_in0.qkv.weight": [768, 256, 1, 1],
      "dec.4x4_in1.conv0.weight": [256, 256, 3, 3],
      "dec.4x4_block0.conv0.weight": [256, 512, 3, 3],
      "dec.4x4_block0.skip.weight": [256, 512, 1, 1],
      "dec.8x8_up.conv0.weight": [256, 256, 3, 3],
      "dec.8x8_up.skip.weight": [256, 256, 1, 1],
      "dec.8x8_up.skip.resample_filter": [1, 1, 4, 4],
      "dec.16x16_block2.qkv.weight": [768, 256, 1, 1],
      "dec.256x256_block0.conv0.weight": [128, 256, 3, 3],
      "dec.256x256_block2.conv1.weight": [128, 128, 3, 3],
      "dec.256x256_aux_norm.weight": [128],
      "dec.256x256_aux_conv.weight": [3, 128, 3, 3],
      "dec.256x256_aux_conv.bias": [3],
    }
    for (const [name, shape] of Object.entries(expected)) expect([name, shapes.get(name)]).toEqual([name, shape])
    // Blocks that keep their channel count and do not resample have no skip conv; attention only where configured.
    expect(shapes.has("enc.256x256_block0.skip.weight")).toBe(false)
    expect(shapes.has("enc.32x32_block0.qkv.weight")).toBe(false)
    expect(shapes.has("dec.16x16_block0.qkv.weight")).toBe(false)
    expect(shapes.has("dec.16x16_block1.qkv.weight")).toBe(false)
    expect(shapes.has("dec.4x4_in1.qkv.weight")).toBe(false)
    expect(shapes.has("enc.256x256_aux_residual.weight")).toBe(false)
  })

  it("base: attention blocks, 21 skips, module order and channels per resolution", () => {
    const arch = buildArch(UNET_PRESETS.base)
    expect(arch.attentionBlocks).toEqual(["enc.16x16_block0", "enc.16x16_block1", "dec.4x4_in0", "dec.16x16_block2"])
    expect(arch.numSkips).toBe(21)
    expect(arch.noiseChannels).toBe(256)
    expect(arch.embChannels).toBe(512)
    const encNames = arch.encoder.map((s) => (s.kind === "block" ? s.block.name : s.conv.name))
    expect(encNames.slice(0, 7)).toEqual([
      "enc.256x256_conv",
      "enc.256x256_block0",
      "enc.256x256_block1",
      "enc.128x128_down",
      "enc.128x128_aux_residual",
      "enc.128x128_block0",
      "enc.128x128_block1",
    ])
    const decNames = arch.decoder.map((s) => (s.kind === "block" ? s.block.name : s.kind === "aux_norm" ? s.norm.name : s.conv.name))
    expect(decNames.slice(0, 6)).toEqual(["dec.4x4_in0", "dec.4x4_in1", "dec.4x4_block0", "dec.4x4_block1", "dec.4x4_block2", "dec.8x8_up"])
    expect(decNames.slice(-3)).toEqual(["dec.256x256_block2", "dec.256x256_aux_norm", "dec.256x256_aux_conv"])
    const widths = new Map<string, number>()
    for (const s of arch.encoder)
      if (s.kind === "block" && s.block.name.endsWith("block1")) widths.set(s.block.name.split("_")[0], s.block.cout)
    expect([...widths.values()]).toEqual([128, 128, 256, 256, 256, 256, 256])
    const concat = arch.decoder.filter((s) => s.kind === "block" && s.concatSkip).length
    expect(concat).toBe(21)
  })

  it("large: attention at 32, 16, 8 and the official count", () => {
    const arch = buildArch(UNET_PRESETS.large)
    expect(countParameters(arch)).toBe(520_915_459)
    expect(arch.attentionBlocks).toContain("enc.32x32_block0")
    expect(arch.attentionBlocks).toContain("dec.8x8_in0")
    expect(arch.attentionBlocks).toContain("dec.32x32_block2")
    expect(stateDictShapes(arch).get("map_layer0.weight")).toEqual([1024, 512])
  })

  it("keeps two layouts: PyTorch for files, HWIO / [in, out] for tfjs", () => {
    const arch = buildArch(UNET_PRESETS["tiny-16"])
    const conv = arch.params.find((p) => p.name === "enc.16x16_conv.weight")!
    expect(conv.torchShape).toEqual([8, 3, 3, 3])
    expect(conv.shape).toEqual([3, 3, 3, 8])
    const lin = arch.params.find((p) => p.name === "map_layer0.weight")!
    expect(lin.torchShape).toEqual([32, 16])
    expect(lin.shape).toEqual([16, 32])
    expect(arch.params.find((p) => p.name === "map_noise.freqs")!.trainable).toBe(false)
  })

  it("rejects unsupported or inconsistent configs", () => {
    expect(() => resolveUNetArgs("nope" as never)).toThrow(/unknown network preset/)
    expect(() => resolveUNetArgs("base", { encoder_type: "skip" as never })).toThrow(/encoder_type/)
    expect(() => resolveUNetArgs("tiny-32", { img_resolution: 36 })).toThrow(/divisible/)
    expect(() => resolveUNetArgs("tiny-32", { resample_filter: [1, 2, 1] })).toThrow(/resample_filter/)
    expect(() => resolveUNetArgs("tiny-32", { dropout: 1 })).toThrow(/dropout/)
    expect(() => buildArch(resolveUNetArgs("tiny-32", { model_channels: 6 }))).toThrow(/GroupNorm/)
  })
})
