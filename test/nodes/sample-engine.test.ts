import { describe, expect, it } from "vitest"
import { engineFingerprint, onnxProviders } from "../../src/nodes/sample-engine.js"

const backend = (name: string, device: string, softwareEmulation?: boolean) => ({
  name,
  device,
  version: "4.22.0",
  fingerprint: `${name}/4.22.0`,
  reason: "test",
  ...(softwareEmulation === undefined ? {} : { softwareEmulation }),
})
const auto = { engine: "auto" as const, guidance: { step: 0 } }
const cpuOrt = "onnxruntime-node@1.30.0/cpu"
const cudaOrt = "onnxruntime-node@1.30.0/cuda"

describe("where sample runs the network", () => {
  it("auto: ONNX Runtime's CPU provider under a CPU backend, its WebGPU provider under hardware WebGPU", () => {
    expect(onnxProviders(auto, backend("wasm", "WASM SIMD, 2 threads"), cpuOrt)).toEqual(["cpu"])
    expect(onnxProviders(auto, backend("webgpu", "WebGPU on NVIDIA", false), cpuOrt)).toEqual(["webgpu", "cpu"])
    expect(onnxProviders(auto, backend("webgpu", "WebGPU on llvmpipe, software emulation on the CPU", true), cpuOrt)).toBeNull()
    expect(onnxProviders(auto, backend("tensorflow", "CUDA"), cpuOrt)).toBeNull()
    expect(onnxProviders(auto, backend("tensorflow", "CUDA"), cudaOrt)).toEqual(["cuda", "cpu"])
  })

  it("auto keeps tfjs for guidance and when ONNX Runtime is absent; tfjs and onnxruntime are obeyed", () => {
    const wasm = backend("wasm", "WASM SIMD, 2 threads")
    expect(onnxProviders({ ...auto, guidance: { step: 1 } }, wasm, cpuOrt)).toBeNull()
    expect(onnxProviders(auto, wasm, null)).toBeNull()
    expect(onnxProviders({ ...auto, engine: "tfjs" }, wasm, cpuOrt)).toBeNull()
    expect(onnxProviders({ ...auto, engine: "onnxruntime" }, backend("tensorflow", "CUDA"), cpuOrt)).toEqual(["cpu"])
  })

  it("keys results by the ONNX Runtime that would run them, and by nothing of it for tfjs-only configs", () => {
    expect(engineFingerprint({ ...auto, engine: "tfjs" })).toBe("tfjs")
    expect(engineFingerprint({ ...auto, guidance: { step: 1 } })).toBe("tfjs")
    expect(engineFingerprint(auto)).toMatch(/^onnxruntime-node@\d+\.\d+\.\d+\/(cpu|cuda)$/)
  })
})
