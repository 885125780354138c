/**
 * The fingerprint a backend choice will have, found without initialising it
 * (no tfjs import, no wasm instantiation), so that a fully cached run can be
 * planned and finished without ever starting a backend.
 */
import { isResolvable, requireFromHere } from "./paths.js"
import { NATIVE_PACKAGES, NATIVE_SETUP_COMMAND, type BackendChoice, type CpuPreference } from "./choice.js"
import { hardwareVulkanLikely, surveyVulkan } from "./vulkan-survey.js"

/** auto may pick WebGPU: its packages are installed and (on Linux) a GPU's Vulkan driver looks present. */
const webgpuPlausible = (): boolean =>
  ["@tensorflow/tfjs-backend-webgpu", "webgpu"].every(isResolvable) &&
  (process.platform !== "linux" || hardwareVulkanLikely(surveyVulkan()))

export interface PredictedBackend {
  readonly name: string
  readonly version: string
  readonly device: string
  /** Must equal `initBackend(choice).fingerprint`; the run checks it after initialising. */
  readonly fingerprint: string
  /** Why this backend (see `BackendInfo.reason`). */
  readonly reason: string
}

/** The same probe as tfjs-backend-wasm's `WASM_HAS_SIMD_SUPPORT` flag (a module using a v128 instruction). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11])

/** Node's WebAssembly global (the ES2023 lib this project compiles against does not declare it). */
const wasm = (globalThis as unknown as { WebAssembly: { validate: (bytes: Uint8Array) => boolean } }).WebAssembly

export const wasmHasSimd = (): boolean => {
  try {
    return wasm.validate(SIMD_PROBE)
  } catch {
    return false
  }
}

/** The installed tfjs-core's version (what `tf.version_core` will say). */
export const tfjsCoreVersion = (): string => (requireFromHere("@tensorflow/tfjs-core/package.json") as { version: string }).version

const predictWasm = (reason: string): PredictedBackend => {
  const simd = wasmHasSimd()
  const version = tfjsCoreVersion()
  return {
    name: "wasm",
    version,
    device: `WASM ${simd ? "SIMD" : "(no SIMD)"}`,
    fingerprint: `wasm/${version}/${simd ? "simd" : "nosimd"}`,
    reason,
  }
}

export interface PredictOptions {
  readonly webgpu?: boolean
  readonly cpu?: CpuPreference
}

const [GPU_PACKAGE, CPU_PACKAGE] = NATIVE_PACKAGES

/**
 * tfjs-node without tfjs-node-gpu can only run on the CPU. (Should it fail to load, the backend that starts
 * differs from this prediction and the run plans again.)
 */
const predictNativeCpu = (reason: string): PredictedBackend | undefined => {
  if (isResolvable(GPU_PACKAGE) || !isResolvable(CPU_PACKAGE)) return undefined
  const version = tfjsCoreVersion()
  return { name: "tensorflow", version, device: "CPU (libtensorflow)", fingerprint: `tensorflow/${version}/cpu`, reason }
}

/** What auto gives when it will start neither tfjs-node-gpu nor a GPU, and why. */
const predictAuto = (options: PredictOptions): PredictedBackend | undefined => {
  if (options.webgpu !== false && webgpuPlausible()) return undefined
  if (isResolvable(GPU_PACKAGE)) return undefined
  const cpu = options.cpu ?? { engine: "tensorflow", why: "the default CPU engine" }
  if (cpu.engine === "wasm") return predictWasm(`auto: wasm on the CPU (${cpu.why})`)
  if (isResolvable(CPU_PACKAGE)) return predictNativeCpu(`auto: native TensorFlow on the CPU (${cpu.why})`)
  return predictWasm(`auto: wasm, since native TensorFlow is not installed (\`${NATIVE_SETUP_COMMAND}\` enables it)`)
}

/**
 * The backend `initBackend(choice)` will give, or undefined when that cannot be known without initialising it:
 * tfjs-node-gpu (CUDA or CPU depends on the machine), webgpu (the fingerprint names the adapter's vendor), and
 * `auto` whenever it may take tfjs-node-gpu or a GPU may answer to WebGPU.
 */
export const predictBackend = (choice: BackendChoice, options: PredictOptions = {}): PredictedBackend | undefined => {
  switch (choice) {
    case "wasm":
      return predictWasm("chosen with --backend wasm")
    case "cpu": {
      const version = tfjsCoreVersion()
      return { name: "cpu", version, device: "JS", fingerprint: `cpu/${version}/js`, reason: "chosen with --backend cpu" }
    }
    case "auto":
      return predictAuto(options)
    case "tensorflow":
      return predictNativeCpu("chosen with --backend tensorflow")
    case "webgpu":
      return undefined
  }
}
