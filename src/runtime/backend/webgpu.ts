/**
 * tfjs-backend-webgpu on Dawn (the `webgpu` package) in Node.
 *
 * One Dawn instance and one adapter probe per process, both cached: `auto`
 * and explicit `--backend webgpu` share them. The adapter is inspected before
 * tfjs sees it, so that `auto` can refuse software rasterisers (lavapipe,
 * SwiftShader), which are 17-24x slower than wasm for this network.
 */
import * as tf from "@tensorflow/tfjs-core"
import { BackendUnavailable } from "./errors.js"
import { firstLine, importOptional } from "./optional-module.js"
import { isResolvable } from "./paths.js"
import { hardwareVulkanLikely, surveyVulkan, type VulkanSurvey } from "./vulkan-survey.js"

/** The part of WebGPU's GPUAdapterInfo that is used here. */
export interface AdapterInfo {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
  readonly isFallbackAdapter?: boolean
}

interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<{ readonly info: AdapterInfo } | null>
}
interface Dawn {
  create(flags: string[]): Gpu
  globals: object
}

export interface WebgpuAdapter {
  readonly info: AdapterInfo
  readonly software: boolean
}

export const WEBGPU_HOWTO =
  "The 'webgpu' backend needs two optional packages that are not installed: " +
  "npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu  (needs internet at install time; " +
  "'webgpu' is Dawn for Node). On Linux it also needs a Vulkan driver: libvulkan1 plus the GPU vendor's " +
  "ICD (for CPU emulation, mesa-vulkan-drivers >= 25 / lavapipe). Use --backend wasm otherwise."

const PACKAGES = ["@tensorflow/tfjs-backend-webgpu", "webgpu"] as const

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|basic render driver/i

export const isSoftwareAdapter = (info: AdapterInfo): boolean =>
  info.isFallbackAdapter === true ||
  info.architecture === "software" ||
  SOFTWARE_ADAPTER.test([info.vendor, info.architecture, info.device, info.description].join(" "))

/** "WebGPU on NVIDIA H100 80GB HBM3", or "WebGPU on llvmpipe: Mesa 25.0.7 ..., software emulation on the CPU". */
export const webgpuDevice = (a: WebgpuAdapter): string => {
  const { vendor, architecture, device, description } = a.info
  const name = description || [vendor, architecture, device].filter(Boolean).join(" ") || "an unnamed adapter"
  return `WebGPU on ${name}${a.software ? ", software emulation on the CPU" : ""}`
}

export const webgpuFingerprint = (a: WebgpuAdapter, version: string): string =>
  `webgpu/${version}/${[a.info.vendor || "unknown", a.info.architecture || "unknown"].join("-")}`

let dawn: Promise<Gpu> | undefined
let adapter: Promise<WebgpuAdapter | null> | undefined

/** The process's Dawn instance, created once (Dawn creation itself costs < 1 ms; finding adapters costs more). */
const dawnGpu = (): Promise<Gpu> =>
  (dawn ??= importOptional("webgpu").then((m) => {
    const d = m as Dawn
    Object.assign(globalThis, d.globals) // GPUBufferUsage, GPUMapMode, ... which tfjs-backend-webgpu reads as globals
    return d.create([])
  }))

/** The adapter tfjs will get (it asks for "high-performance"), or null; asked once per process. */
const probeAdapter = (): Promise<WebgpuAdapter | null> =>
  (adapter ??= dawnGpu()
    .then((gpu) => gpu.requestAdapter({ powerPreference: "high-performance" }))
    .then((a) => (a === null ? null : { info: a.info, software: isSoftwareAdapter(a.info) })))

const missingPackages = (): string[] => PACKAGES.filter((p) => !isResolvable(p))

/**
 * For `auto`: a hardware adapter, or null, silently. Dawn is loaded only when
 * the packages are installed and (on Linux) the survey finds a GPU driver and
 * device; otherwise this costs a few file-system checks.
 */
export const hardwareWebgpuAdapter = async (): Promise<WebgpuAdapter | null> => {
  if (missingPackages().length > 0) return null
  if (process.platform === "linux" && !hardwareVulkanLikely(surveyVulkan())) return null
  const a = await probeAdapter().catch(() => null)
  return a !== null && !a.software ? a : null
}

const DRIVERS =
  "GPU: the vendor's Vulkan driver (NVIDIA: the driver's nvidia_icd.json and libGLX_nvidia; AMD/Intel: mesa-vulkan-drivers). " +
  "CPU emulation (slow, for tests): mesa-vulkan-drivers >= 25 (lavapipe; Debian 12: from bookworm-backports)."

const noAdapterMessage = (s: VulkanSurvey | undefined): string => {
  if (s !== undefined && !s.loader) {
    return (
      "No usable WebGPU adapter: the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1), nor is a Vulkan driver. " +
      DRIVERS
    )
  }
  if (s !== undefined && s.drivers.length === 0) return "No usable WebGPU adapter: no Vulkan driver (ICD) is installed. " + DRIVERS
  return "No usable WebGPU adapter (Dawn found no Vulkan device). Check `vulkaninfo --summary`. " + DRIVERS
}
/** Explicit `--backend webgpu`: any adapter Dawn gives, software included (its device string says so). */
export const initWebgpu = async (version: string): Promise<WebgpuAdapter> => {
  const missing = missingPackages()
  if (missing.length > 0) throw new BackendUnavailable("webgpu", `${WEBGPU_HOWTO}\nMissing: ${missing.join(", ")}`)
  const survey = process.platform === "linux" ? surveyVulkan() : undefined
  // Without a loader or a driver Dawn can only fail, and says so on stderr.
  if (survey !== undefined && (!survey.loader || survey.drivers.length === 0))
    throw new BackendUnavailable("webgpu", noAdapterMessage(survey))
  let found: WebgpuAdapter | null
  try {
    found = await probeAdapter()
  } catch (error) {
    throw new BackendUnavailable("webgpu", `${WEBGPU_HOWTO}\nLoading Dawn failed: ${firstLine(error)}`, { cause: error })
  }
  if (found === null) throw new BackendUnavailable("webgpu", noAdapterMessage(survey))
  await registerTfjsWebgpu(version)
  try {
    if (!(await tf.setBackend("webgpu"))) throw new Error("tf.setBackend('webgpu') returned false")
  } catch (error) {
    throw new BackendUnavailable("webgpu", `The WebGPU adapter (${webgpuDevice(found)}) could not be used: ${firstLine(error)}`, {
      cause: error,
    })
  }
  guardBackend(tf.backend() as unknown as GuardedBackend)
  return found
}

/** tfjs-backend-webgpu registers itself at import time, and only when `navigator.gpu` exists. */
const registerTfjsWebgpu = async (version: string): Promise<void> => {
  if (tf.findBackendFactory("webgpu") != null) return
  const gpu = await dawnGpu()
  const g = globalThis as { navigator?: { gpu?: unknown } }
  if (g.navigator == null) Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true, writable: true })
  if (g.navigator!.gpu == null) Object.defineProperty(g.navigator!, "gpu", { value: gpu, configurable: true })
  try {
    await importOptional("@tensorflow/tfjs-backend-webgpu")
  } catch (error) {
    throw new BackendUnavailable("webgpu", `${WEBGPU_HOWTO}\nLoading failed: ${firstLine(error)}`, { cause: error })
  }
  if (tf.findBackendFactory("webgpu") == null) {
    throw new BackendUnavailable(
      "webgpu",
      `@tensorflow/tfjs-backend-webgpu loaded but did not register the 'webgpu' backend in this @tensorflow/tfjs-core (${version}); ` +
        `install @tensorflow/tfjs-backend-webgpu@${version}.`,
    )
  }
}

interface GuardedBackend {
  device: {
    addEventListener(type: "uncapturederror", listener: (event: { error: { message: string }; preventDefault(): void }) => void): void
  }
  read(dataId: object): Promise<unknown>
  readSync(dataId: object): unknown
  hasReadSyncWarned?: boolean
  [GUARDED]?: true
}
const GUARDED = Symbol.for("dirac-pipe/runtime/backend/webgpu/guarded")

/**
 * WebGPU reports a failed shader or pipeline only through the device's
 * `uncapturederror` event (Dawn prints it unless prevented) and then
 * computes garbage; this turns the first such error into a failure of the next
 * read. Synchronous reads need OffscreenCanvas, which Node lacks: they fail
 * with a message instead of a ReferenceError.
 */
const guardBackend = (backend: GuardedBackend): void => {
  if (backend[GUARDED]) return
  backend[GUARDED] = true
  let failure: string | undefined
  backend.device.addEventListener("uncapturederror", (event) => {
    event.preventDefault() // Dawn prints it otherwise
    failure ??= event.error.message.split("\n").find((line) => line.trim().length > 0)
  })
  const read = backend.read.bind(backend)
  backend.read = async (dataId) => {
    const values = await read(dataId)
    if (failure !== undefined) throw new Error(`WebGPU error (results are invalid): ${failure}`)
    return values
  }
  const readSync = backend.readSync.bind(backend)
  backend.hasReadSyncWarned = true // its "poor performance" warning would precede the failure below
  backend.readSync = (dataId) => {
    try {
      return readSync(dataId)
    } catch (error) {
      if (!(error instanceof ReferenceError)) throw error
      throw new Error("dataSync()/arraySync() cannot read a GPU tensor on the webgpu backend in Node; use `await tensor.data()`")
    }
  }
}
