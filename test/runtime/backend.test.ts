import { spawnSync } from "node:child_process"
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { beforeAll, describe, expect, it } from "vitest"
import type * as TF from "@tensorflow/tfjs-core"
import { relativeError } from "../numeric.js"
import { pseudoRandom } from "./pseudo-random.js"
import {
  BackendUnavailable,
  convGradientsRegistered,
  initBackend,
  registerConvGradients,
  unregisterConvGradients,
  wasmThreadsActive,
  type StartedBackend,
} from "../../src/runtime/backend/index.js"
import { isResolvable } from "../../src/runtime/backend/paths.js"
import { hardwareVulkanLikely, surveyVulkan } from "../../src/runtime/backend/vulkan-survey.js"
import { isSoftwareAdapter, webgpuDevice, webgpuFingerprint } from "../../src/runtime/backend/webgpu.js"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

type Shape4 = [number, number, number, number]
type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]]

const size = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1)

let info: StartedBackend
let tf: typeof TF

/** Select a backend (silencing tfjs-backend-cpu's "install tfjs-node" banner) and run fn. */
const onBackend = async <T>(name: string, fn: () => T): Promise<T> => {
  await tf.setBackend(name)
  const b = tf.backend() as { firstUse?: boolean }
  if (typeof b.firstUse === "boolean") b.firstUse = false
  return fn()
}
const read = (t: TF.Tensor): Float32Array => {
  const v = t.dataSync() as Float32Array
  t.dispose()
  return Float32Array.from(v)
}

/** A convolution whose gradient, as registered for wasm, is checked against the cpu backend's backprop kernels. */
interface GradientCase {
  readonly xShape: Shape4
  readonly wShape: Shape4
  /** Of the data of x, w and the upstream gradient dy. */
  readonly seeds: readonly [number, number, number]
  readonly forward: (x: TF.Tensor4D, w: TF.Tensor4D) => TF.Tensor4D
  /** The cpu backend's kernels for the gradients with respect to the input and to the filter. */
  readonly kernels: { readonly input: string; readonly filter: string }
  readonly attrs: Readonly<Record<string, unknown>>
}

const expectGradientsMatchCpu = async (c: GradientCase): Promise<void> => {
  const xv = pseudoRandom(size(c.xShape), c.seeds[0])
  const wv = pseudoRandom(size(c.wShape), c.seeds[1])
  const yShape = tf.tidy(() => c.forward(tf.zeros(c.xShape), tf.zeros(c.wShape)).shape)
  const dyv = pseudoRandom(size(yShape), c.seeds[2])
  const tensors = () => [tf.tensor4d(xv, c.xShape), tf.tensor4d(wv, c.wShape), tf.tensor4d(dyv, yShape)] as const

  // Reference: the cpu backend's own backprop kernels.
  const [refDx, refDw] = await onBackend("cpu", () =>
    tf.tidy(() => {
      const [x, w, dy] = tensors()
      const dx = tf.engine().runKernel(c.kernels.input, { dy, filter: w }, { ...c.attrs, inputShape: c.xShape } as never) as TF.Tensor
      const dw = tf.engine().runKernel(c.kernels.filter, { x, dy }, { ...c.attrs, filterShape: c.wShape } as never) as TF.Tensor
      return [read(tf.keep(dx)), read(tf.keep(dw))]
    }),
  )

  // Under test: the registered gradient, through the tape, on wasm.
  const [dx, dw] = await onBackend("wasm", () => {
    const [x, w, dy] = tensors()
    // tf.grads passes back the tensors it was given, x and w.
    const f = (a: TF.Tensor, b: TF.Tensor) => tf.sum(tf.mul(c.forward(a as TF.Tensor4D, b as TF.Tensor4D), dy))
    const [gx, gw] = tf.grads(f)([x, w])
    tf.dispose([x, w, dy])
    return [read(gx!), read(gw!)]
  })
  expect(relativeError(dx!, refDx!)).toBeLessThan(1e-4)
  expect(relativeError(dw!, refDw!)).toBeLessThan(1e-4)
}

beforeAll(async () => {
  info = await initBackend("wasm")
  tf = info.tf
})

describe("initBackend", () => {
  it("initialises single-threaded SIMD wasm with the conv gradients installed", async () => {
    expect(info.name).toBe("wasm")
    expect(info.version).toBe(tf.version_core)
    expect(info.threads).toBe(1)
    expect(info.device).toBe("WASM SIMD, 1 thread")
    expect(info.fingerprint).toBe(`wasm/${tf.version_core}/simd`)
    expect(wasmThreadsActive()).toBe(false)
    expect(convGradientsRegistered()).toBe(true)
    // stock gradients and chained ops are available from tfjs-core alone
    expect(tf.getGradient("Relu")).toBeDefined()
    expect(typeof (tf.ones([1]) as unknown as { sum: unknown }).sum).toBe("function")
  })

  it("is safe to call repeatedly and can switch backends", async () => {
    const again = await initBackend("wasm", { threads: 1 })
    expect(again.name).toBe("wasm")
    expect(again.tf).toBe(tf)
    const cpu = await initBackend("cpu")
    expect(cpu).toMatchObject({ name: "cpu", device: "JS", fingerprint: `cpu/${tf.version_core}/js` })
    expect(tf.getBackend()).toBe("cpu")
    const back = await initBackend("wasm")
    expect(back.name).toBe("wasm")
    expect(tf.getBackend()).toBe("wasm")
  })

  const nativeInstalled = ["@tensorflow/tfjs-node", "@tensorflow/tfjs-node-gpu"].some(isResolvable)

  it.runIf(!nativeInstalled)("rejects 'tensorflow' with the command that installs it when tfjs-node is absent", async () => {
    const error = await initBackend("tensorflow").then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(BackendUnavailable)
    const e = error as BackendUnavailable
    expect(e._tag).toBe("BackendUnavailable")
    expect(e.backend).toBe("tensorflow")
    expect(e.message).toContain("npm run setup:native")
    expect(e.message).toContain("npm install @tensorflow/tfjs-node@4.22.0")
    expect(e.message).toContain("@tensorflow/tfjs-node: not installed")
    expect(tf.getBackend()).toBe("wasm")
  })

  it("'webgpu' uses whatever adapter this machine has, or says what is missing", async () => {
    const survey = surveyVulkan()
    const result = await initBackend("webgpu").catch((e: unknown) => e)
    if (process.platform === "linux" && !survey.loader) {
      expect((result as BackendUnavailable).message).toContain(
        "libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1)",
      )
    } else if (process.platform === "linux" && survey.drivers.length === 0) {
      expect((result as BackendUnavailable).message).toContain("no Vulkan driver (ICD) is installed")
    } else if (result instanceof Error) {
      // drivers but no device they can drive (e.g. Mesa's Intel/AMD drivers on a machine without that GPU)
      expect(result).toBeInstanceOf(BackendUnavailable)
      expect(result.message).toContain("No usable WebGPU adapter (Dawn found no Vulkan device)")
    } else {
      const gpu = result as StartedBackend
      expect(gpu.name).toBe("webgpu")
      expect(tf.getBackend()).toBe("webgpu")
      expect(gpu.fingerprint).toMatch(new RegExp(`^webgpu/${tf.version_core}/[\\w.-]+$`))
      const software = survey.drivers.every((d) => d.software)
      if (software) expect(gpu.device).toMatch(/^WebGPU on .*(llvmpipe|SwiftShader).*, software emulation on the CPU$/i)
      await tf.setBackend("wasm")
    }
    if (result instanceof Error) {
      expect((result as BackendUnavailable).backend).toBe("webgpu")
      expect(result.message).toContain("mesa-vulkan-drivers")
    }
  })

  it("'webgpu' without a Vulkan driver fails with a message and without Dawn's stderr noise (child process)", () => {
    const r = runChild(
      `
      import { initBackend } from ${JSON.stringify(ENTRY)}
      const e = await initBackend("webgpu").then(() => null, (e) => e)
      console.log(JSON.stringify({ tag: e?._tag, message: e?.message }))
    `,
      { VK_ICD_FILENAMES: "/nonexistent/icd.json", VK_DRIVER_FILES: "" },
    )
    expect(r.stderr).toBe("")
    const out = JSON.parse(r.stdout) as { tag: string; message: string }
    expect(out.tag).toBe("BackendUnavailable")
    expect(out.message).toMatch(/^No usable WebGPU adapter: (no Vulkan driver \(ICD\)|the Vulkan loader libvulkan\.so\.1 is not installed)/)
  })

  it("'auto' is silent; it loads Dawn only where a GPU is plausible, and never picks a software adapter (child process)", () => {
    const r = runChild(`
      import { initBackend } from ${JSON.stringify(ENTRY)}
      import { hardwareVulkanLikely, surveyVulkan } from ${JSON.stringify(path.join(ROOT, "src/runtime/backend/vulkan-survey.ts"))}
      const started = performance.now()
      const info = await initBackend("auto")
      const ms = performance.now() - started
      const dawnLoaded = typeof globalThis.GPUBufferUsage !== "undefined"
      console.log(JSON.stringify({ name: info.name, device: info.device, ms, dawnLoaded, plausible: hardwareVulkanLikely(surveyVulkan()) }))
    `)
    expect(r.stderr).toBe("")
    const out = JSON.parse(r.stdout) as { name: string; device: string; ms: number; dawnLoaded: boolean; plausible: boolean }
    expect(out.device).not.toContain("software emulation")
    if (process.platform === "linux" && !out.plausible) {
      // Without a pipeline to decide by, auto prefers native TensorFlow on the CPU when it is installed.
      expect(out).toMatchObject({ name: nativeInstalled ? "tensorflow" : "wasm", dawnLoaded: false })
    } else {
      expect(["tensorflow", "webgpu", "wasm"]).toContain(out.name)
    }
  })

  it.runIf(nativeInstalled)("'tensorflow' loads silently with oneDNN off; a user's TF_ENABLE_ONEDNN_OPTS stands (child process)", () => {
    const source = `
      import { createRequire } from "node:module"
      import { initBackend } from ${JSON.stringify(ENTRY)}
      const tf = createRequire(${JSON.stringify(ENTRY)})("@tensorflow/tfjs-core")
      const info = await initBackend("tensorflow")
      const y = tf.conv2d(tf.ones([1, 8, 8, 2]), tf.ones([3, 3, 2, 4]), 1, "same")
      console.log(JSON.stringify({ name: info.name, center: y.dataSync()[4 * (8 * 4 + 4)], onednn: process.env.TF_ENABLE_ONEDNN_OPTS }))
    `
    const unset = { TF_ENABLE_ONEDNN_OPTS: undefined, TF_CPP_MIN_LOG_LEVEL: undefined }
    const quiet = runChild(source, unset)
    expect(quiet.stderr).toBe("")
    expect(JSON.parse(quiet.stdout)).toEqual({ name: "tensorflow", center: 18, onednn: "0" })
    const asked = runChild(source, { ...unset, TF_ENABLE_ONEDNN_OPTS: "1" })
    expect(JSON.parse(asked.stdout)).toEqual({ name: "tensorflow", center: 18, onednn: "1" })
  })
})

describe("Vulkan survey and adapter classification", () => {
  const driver = (library: string) => ({
    manifest: `/usr/share/vulkan/icd.d/${library}.json`,
    library,
    software: /lvp|swiftshader/.test(library),
  })
  const lvp = driver("libvulkan_lvp.so")
  const intel = driver("libvulkan_intel.so")
  const nvidia = driver("libGLX_nvidia.so.0")

  it("expects hardware only with the loader, a device node and a driver for it", () => {
    expect(hardwareVulkanLikely({ loader: true, drivers: [nvidia], deviceNodes: ["/dev/nvidia0"] })).toBe(true)
    expect(hardwareVulkanLikely({ loader: false, drivers: [nvidia], deviceNodes: ["/dev/nvidia0"] })).toBe(false)
    // a CUDA container: the GPU is there, its Vulkan driver is not
    expect(hardwareVulkanLikely({ loader: true, drivers: [lvp, intel], deviceNodes: ["/dev/nvidia0"] })).toBe(false)
    expect(hardwareVulkanLikely({ loader: true, drivers: [lvp, intel], deviceNodes: [] })).toBe(false)
    expect(hardwareVulkanLikely({ loader: true, drivers: [lvp], deviceNodes: ["/dev/dri/renderD128"] })).toBe(false)
    expect(hardwareVulkanLikely({ loader: true, drivers: [lvp, intel], deviceNodes: ["/dev/dri/renderD128"] })).toBe(true)
  })

  it("reads the drivers the loader would read (VK_ICD_FILENAMES replaces the search)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "icd-"))
    const saved = { icd: process.env.VK_ICD_FILENAMES, driver: process.env.VK_DRIVER_FILES }
    try {
      fs.writeFileSync(
        path.join(dir, "a.json"),
        JSON.stringify({ file_format_version: "1.0.0", ICD: { library_path: "libvulkan_lvp.so", api_version: "1.3" } }),
      )
      fs.writeFileSync(path.join(dir, "b.json"), JSON.stringify({ ICD: { library_path: "/opt/libGLX_nvidia.so.0" } }))
      fs.writeFileSync(path.join(dir, "broken.json"), "{")
      process.env.VK_ICD_FILENAMES = dir
      delete process.env.VK_DRIVER_FILES
      expect(surveyVulkan().drivers.map((d) => [path.basename(d.manifest), d.library, d.software])).toEqual([
        ["a.json", "libvulkan_lvp.so", true],
        ["b.json", "/opt/libGLX_nvidia.so.0", false],
      ])
    } finally {
      for (const [k, v] of [
        ["VK_ICD_FILENAMES", saved.icd],
        ["VK_DRIVER_FILES", saved.driver],
      ] as const) {
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("tells software adapters from hardware ones", () => {
    const lavapipe = {
      vendor: "mesa",
      architecture: "software",
      device: "llvmpipe-llvm-15-0-6-256-bits-",
      description: "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1",
      isFallbackAdapter: true,
    }
    const swiftshader = { vendor: "google", architecture: "", device: "", description: "SwiftShader Device (Subzero)" }
    const h100 = { vendor: "nvidia", architecture: "hopper", device: "", description: "NVIDIA H100 80GB HBM3", isFallbackAdapter: false }
    expect([lavapipe, swiftshader, h100].map(isSoftwareAdapter)).toEqual([true, true, false])
    expect(webgpuDevice({ info: lavapipe, software: true })).toBe(
      "WebGPU on llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1, software emulation on the CPU",
    )
    expect(webgpuDevice({ info: h100, software: false })).toBe("WebGPU on NVIDIA H100 80GB HBM3")
    expect(webgpuFingerprint({ info: h100, software: false }, "4.22.0")).toBe("webgpu/4.22.0/nvidia-hopper")
  })
})

/** Runs an ES module in a fresh Node (with tsx); it must exit by itself within 45 s. */
const runChild = (source: string, env: Record<string, string | undefined> = {}): { stdout: string; stderr: string } => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backend-child-"))
  try {
    const script = path.join(dir, "child.mts")
    fs.writeFileSync(script, source)
    const r = spawnSync(process.execPath, ["--import", "tsx", script], {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 45_000,
      env: Object.fromEntries(Object.entries({ ...process.env, ...env }).filter(([, v]) => v !== undefined)),
    })
    expect(r.signal, "the child did not exit by itself").toBeNull()
    expect(r.status, r.stderr).toBe(0)
    return { stdout: r.stdout.trim().split("\n").at(-1)!, stderr: r.stderr }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
const ENTRY = path.join(ROOT, "src/runtime/backend/index.ts")

// ------------------------------------------------------------ Conv2D gradients

interface ConvCase {
  readonly k: number
  readonly stride: number
  readonly pad: Pad
  readonly hw: number
}
const convCases: ConvCase[] = [
  { k: 3, stride: 1, pad: "same", hw: 9 },
  { k: 3, stride: 1, pad: "valid", hw: 9 },
  { k: 3, stride: 2, pad: "same", hw: 9 },
  { k: 3, stride: 2, pad: "valid", hw: 9 },
  { k: 3, stride: 2, pad: "same", hw: 8 },
  { k: 1, stride: 1, pad: "same", hw: 7 },
  { k: 1, stride: 1, pad: "valid", hw: 7 },
  { k: 1, stride: 2, pad: "valid", hw: 7 },
  {
    k: 3,
    stride: 1,
    pad: [
      [0, 0],
      [2, 0],
      [1, 2],
      [0, 0],
    ],
    hw: 6,
  },
  {
    k: 3,
    stride: 2,
    pad: [
      [0, 0],
      [0, 1],
      [2, 1],
      [0, 0],
    ],
    hw: 7,
  },
]

describe("Conv2D gradient override (wasm vs cpu native kernels)", () => {
  for (const c of convCases) {
    it(`k=${c.k} stride=${c.stride} pad=${JSON.stringify(c.pad)} ${c.hw}x${c.hw}`, () =>
      expectGradientsMatchCpu({
        xShape: [2, c.hw, c.hw, 3],
        wShape: [c.k, c.k, 3, 4],
        seeds: [11, 12, 13],
        forward: (x, w) => tf.conv2d(x, w, c.stride, c.pad),
        kernels: { input: "Conv2DBackpropInput", filter: "Conv2DBackpropFilter" },
        attrs: { strides: c.stride, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined },
      }))
  }

  it("also applies on the cpu backend", async () => {
    const xShape: Shape4 = [2, 6, 6, 2]
    const wShape: Shape4 = [3, 3, 2, 3]
    const xv = pseudoRandom(size(xShape), 21)
    const wv = pseudoRandom(size(wShape), 22)
    const grad = (name: string) =>
      onBackend(name, () => {
        const x = tf.tensor4d(xv, xShape)
        const w = tf.tensor4d(wv, wShape)
        const [gx, gw] = tf.grads((a: TF.Tensor, b: TF.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as TF.Tensor4D, b as TF.Tensor4D, 2, "same"))),
        )([x, w])
        tf.dispose([x, w])
        return [read(gx!), read(gw!)]
      })
    const onCpu = await grad("cpu")
    const onWasm = await grad("wasm")
    expect(relativeError(onCpu[0]!, onWasm[0]!)).toBeLessThan(1e-4)
    expect(relativeError(onCpu[1]!, onWasm[1]!)).toBeLessThan(1e-4)
  })

  it("dispatches to the stock gradient on other backends", async () => {
    // A clone of the cpu backend under another name stands in for tensorflow/webgpu.
    const name = "stock-dispatch-check"
    const calls: string[] = []
    const cloned: string[] = []
    tf.registerBackend(name, tf.findBackendFactory("cpu")!, 0)
    for (const k of tf.getKernelsForBackend("cpu")) {
      const counted = k.kernelName.startsWith("Conv2DBackprop")
      tf.registerKernel({
        ...k,
        backendName: name,
        kernelFunc: counted
          ? (args) => {
              calls.push(k.kernelName)
              return k.kernelFunc(args)
            }
          : k.kernelFunc,
      })
      cloned.push(k.kernelName)
    }
    try {
      await onBackend(name, () => undefined)
      const x = tf.tensor4d(pseudoRandom(2 * 5 * 5 * 2, 61), [2, 5, 5, 2])
      const w = tf.tensor4d(pseudoRandom(3 * 3 * 2 * 2, 62), [3, 3, 2, 2])
      const [gx, gw] = tf.grads((a: TF.Tensor, b: TF.Tensor) => tf.sum(tf.conv2d(a as TF.Tensor4D, b as TF.Tensor4D, 1, "same")))([x, w])
      tf.dispose([x, w, gx!, gw!])
      expect(calls.sort()).toEqual(["Conv2DBackpropFilter", "Conv2DBackpropInput"])
      calls.length = 0
      await onBackend("cpu", () => undefined)
      const x2 = tf.tensor4d(pseudoRandom(2 * 5 * 5 * 2, 61), [2, 5, 5, 2])
      tf.dispose(tf.grad((a: TF.Tensor) => tf.sum(tf.conv2d(a as TF.Tensor4D, tf.ones([3, 3, 2, 2]) as TF.Tensor4D, 1, "same")))(x2))
      x2.dispose()
      expect(calls).toEqual([])
    } finally {
      await tf.setBackend("wasm")
      tf.removeBackend(name)
      for (const k of cloned) tf.unregisterKernel(k, name)
    }
  })

  it("without the override, wasm cannot compute dW (the missing kernel)", async () => {
    await tf.setBackend("wasm")
    unregisterConvGradients()
    try {
      expect(convGradientsRegistered()).toBe(false)
      const x = tf.ones([1, 4, 4, 1]) as TF.Tensor4D
      const w = tf.ones([3, 3, 1, 1]) as TF.Tensor4D
      expect(() => tf.grad((b: TF.Tensor) => tf.sum(tf.conv2d(x, b as TF.Tensor4D, 1, "same")))(w)).toThrow(/Conv2DBackpropFilter/)
      tf.dispose([x, w])
    } finally {
      registerConvGradients()
    }
    expect(convGradientsRegistered()).toBe(true)
  })
})

// -------------------------------------------------------- depthwise gradients

describe("DepthwiseConv2dNative gradient override (wasm vs cpu native kernels)", () => {
  const cases = [
    { k: 3, stride: 1, pad: "same" as Pad, mult: 1 },
    { k: 5, stride: 1, pad: "valid" as Pad, mult: 1 },
    { k: 3, stride: 2, pad: "same" as Pad, mult: 1 },
    { k: 3, stride: 1, pad: "same" as Pad, mult: 2 },
    { k: 3, stride: 2, pad: "valid" as Pad, mult: 2 },
  ]
  for (const c of cases) {
    it(`k=${c.k} stride=${c.stride} pad=${c.pad} multiplier=${c.mult}`, () =>
      expectGradientsMatchCpu({
        xShape: [2, 9, 9, 3],
        wShape: [c.k, c.k, 3, c.mult],
        seeds: [31, 32, 33],
        forward: (x, w) => tf.depthwiseConv2d(x, w, c.stride, c.pad),
        kernels: { input: "DepthwiseConv2dNativeBackpropInput", filter: "DepthwiseConv2dNativeBackpropFilter" },
        attrs: { strides: c.stride, pad: c.pad, dilations: 1, dimRoundingMode: undefined },
      }))
  }
})

// ------------------------------------------------------------- training loop

describe("training on wasm", () => {
  it("conv -> relu -> conv with Adam lowers the loss without leaking tensors", async () => {
    await tf.setBackend("wasm")
    const x = tf.tensor4d(pseudoRandom(2 * 8 * 8 * 3, 41), [2, 8, 8, 3])
    const target = tf.tensor4d(pseudoRandom(2 * 8 * 8 * 3, 42), [2, 8, 8, 3])
    const w1 = tf.variable(tf.mul(tf.tensor4d(pseudoRandom(3 * 3 * 3 * 8, 43), [3, 3, 3, 8]), 0.3))
    const w2 = tf.variable(tf.mul(tf.tensor4d(pseudoRandom(3 * 3 * 8 * 3, 44), [3, 3, 8, 3]), 0.3))
    const opt = tf.train.adam(0.02)
    const lossFn = () =>
      tf.mean(
        tf.squaredDifference(
          tf.conv2d(tf.relu(tf.conv2d(x, w1 as TF.Variable<TF.Rank.R4>, 1, "same")), w2 as TF.Variable<TF.Rank.R4>, 1, "same"),
          target,
        ),
      ) as TF.Scalar
    const losses: number[] = []
    let tensorsAfterFirst = 0
    for (let step = 0; step < 15; step++) {
      const loss = opt.minimize(lossFn, true)!
      losses.push(loss.dataSync()[0]!)
      loss.dispose()
      if (step === 0) tensorsAfterFirst = tf.memory().numTensors
    }
    expect(losses.every(Number.isFinite)).toBe(true)
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9)
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst)
    opt.dispose()
    tf.dispose([x, target, w1, w2])
  })
})

// ------------------------------------------------------- threaded wasm (child)

const CHILD_SOURCE = (entry: string, pseudoRandomModule: string) => `
import os from "node:os"
import { initBackend, wasmThreadsActive, activeWasmThreads } from ${JSON.stringify(entry)}
import { pseudoRandom } from ${JSON.stringify(pseudoRandomModule)}
const before = { createObjectURL: URL.createObjectURL, cpus: os.cpus, ncpu: os.cpus().length, Blob: globalThis.Blob }
const info = await initBackend("wasm", { threads: 2 })
const restored =
  URL.createObjectURL === before.createObjectURL && os.cpus === before.cpus &&
  os.cpus().length === before.ncpu && globalThis.Blob === before.Blob
const { tf } = info
const x = tf.tensor4d(pseudoRandom(2 * 16 * 16 * 8, 51), [2, 16, 16, 8])
const w = tf.tensor4d(pseudoRandom(3 * 3 * 8 * 16, 52), [3, 3, 8, 16])
const y = tf.conv2d(x, w, 1, "same")
const dw = tf.grad((b) => tf.sum(tf.square(tf.conv2d(x, b, 1, "same"))))(w)
console.log(JSON.stringify({
  device: info.device, fingerprint: info.fingerprint, threads: info.threads, active: wasmThreadsActive(),
  count: activeWasmThreads(), restored, y: Array.from(y.dataSync()), dw: Array.from(dw.dataSync()),
}))
// no process.exit(): the process must end by itself
`

describe("threaded wasm shim", () => {
  it("runs 2 threads in a child process, matches single-threaded results, restores globals and exits", async () => {
    await tf.setBackend("wasm")
    const x = tf.tensor4d(pseudoRandom(2 * 16 * 16 * 8, 51), [2, 16, 16, 8])
    const w = tf.tensor4d(pseudoRandom(3 * 3 * 8 * 16, 52), [3, 3, 8, 16])
    const y1 = read(tf.conv2d(x, w, 1, "same"))
    const dw1 = read(tf.grad((b: TF.Tensor) => tf.sum(tf.square(tf.conv2d(x, b as TF.Tensor4D, 1, "same"))))(w))
    tf.dispose([x, w])

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "backend-threads-test-"))
    try {
      const script = path.join(dir, "child.mts")
      fs.writeFileSync(
        script,
        CHILD_SOURCE(path.join(ROOT, "src/runtime/backend/index.ts"), path.join(ROOT, "test/runtime/pseudo-random.ts")),
      )
      const started = Date.now()
      const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8", timeout: 45_000 })
      const elapsed = Date.now() - started
      expect(r.error, r.stderr).toBeUndefined()
      expect(r.signal, `killed after ${elapsed} ms: the process did not exit by itself`).toBeNull()
      expect(r.status, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as {
        device: string
        fingerprint: string
        threads: number
        active: boolean
        count: number
        restored: boolean
        y: number[]
        dw: number[]
      }
      expect(out.threads).toBe(2)
      expect(out.count).toBe(2)
      expect(out.active).toBe(true)
      expect(out.device).toBe("WASM SIMD, 2 threads")
      expect(out.fingerprint).toBe(info.fingerprint)
      expect(out.restored).toBe(true)
      expect(Float32Array.from(out.y)).toEqual(y1)
      expect(Float32Array.from(out.dw)).toEqual(dw1)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
