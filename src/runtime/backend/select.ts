/**
 * Tensor backend selection for Node.
 *
 * Everything here (and the optional backend packages, which `import
 * "@tensorflow/tfjs-core"` themselves) shares the one `@tensorflow/tfjs-core`
 * that Node resolves from this package, so `StartedBackend.tf` is the instance
 * the backends are registered in.
 */
import * as tf from "@tensorflow/tfjs-core"
import type { BackendInfo } from "../../nodes/contract.js"
import "@tensorflow/tfjs-backend-cpu"
import { getThreadsCount, setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm"
import { BackendUnavailable } from "./errors.js"
import { registerConvGradients } from "./conv-gradients.js"
import { registerWasmBatchNorm } from "./wasm-batch-norm.js"
import { ensureStockGradients } from "./stock-gradients.js"
import { initialisedBackend } from "./initialised.js"
import { firstLine, importOptional } from "./optional-module.js"
import { wasmBinaryDir } from "./paths.js"
import { NATIVE_PACKAGES, NATIVE_SETUP_COMMAND, type BackendChoice, type CpuPreference } from "./choice.js"
import { hardwareWebgpuAdapter, initWebgpu, webgpuDevice, webgpuFingerprint, type WebgpuAdapter } from "./webgpu.js"
import { MAX_WASM_THREADS, releaseWasmThreads, setWasmThreadsActive, withWasmThreadShim } from "./wasm-threads.js"

export { BackendUnavailable } from "./errors.js"

/**
 * A started backend: what it is (its `fingerprint` is backend / tfjs-core version / device class, e.g.
 * "wasm/4.22.0/simd"; the wasm thread count is not part of it, threaded and single-threaded results being
 * identical) and the tfjs-core instance it is registered in.
 */
export type StartedBackend = BackendInfo & { readonly tf: typeof tf }

export interface InitBackendOptions {
  /**
   * wasm only (also wasm reached through "auto"): number of threads. 1 (the
   * default) is the stock single-threaded SIMD build; N > 1 enables the
   * threaded build through the shim in wasm-threads.ts (capped at 8). The
   * pthread workers are unref'd so the process can still exit by itself, but
   * a CLI should end with `process.exit()` when `wasmThreadsActive()`.
   */
  readonly threads?: number
  /**
   * auto only: whether a hardware WebGPU adapter may be chosen (default true). The CLI passes false for
   * pipelines whose networks are small: those train faster on the CPU backends (see {@link selectAuto}).
   */
  readonly webgpu?: boolean
  /**
   * auto only: the CPU engine the pipeline at hand runs faster on, measured (see `autoPolicy` in the CLI), and
   * why; default native TensorFlow. A CUDA device is taken whatever this says.
   */
  readonly cpu?: CpuPreference
}

// Paths for the .wasm binaries, set once at load so that the wasm backend can
// never try to fetch anything (not even when tfjs initialises it implicitly).
setWasmPaths(wasmBinaryDir())
registerWasmBatchNorm()

const version = tf.version_core

const isModuleNotFound = (error: unknown): boolean => {
  const code = (error as { code?: string } | null)?.code
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND"
}

const TENSORFLOW_HOWTO =
  "The 'tensorflow' backend needs the native TensorFlow binding (@tensorflow/tfjs-node), an optional dependency " +
  `that npm ci does not build here. Run \`${NATIVE_SETUP_COMMAND}\` (builds it against the TensorFlow wheel from pip, ` +
  "no other download; `-- --gpu` for CUDA), or online `npm install @tensorflow/tfjs-node@4.22.0`. " +
  "Use --backend wasm (or auto) otherwise."

// ---------------------------------------------------------------- tensorflow

interface NativeAttempt {
  readonly pkg: string
  readonly problem: string
}

/**
 * Quiet logs, and oneDNN off unless asked for: on CPUs with AVX-512 VNNI/BF16, TensorFlow 2.21 turns it on and
 * announces it on stderr at load time, ignoring TF_CPP_MIN_LOG_LEVEL; it did not pay here (bench/results/train.md,
 * notes).
 */
export const NATIVE_ENV_DEFAULTS = { TF_CPP_MIN_LOG_LEVEL: "2", TF_ENABLE_ONEDNN_OPTS: "0" } as const

/**
 * libtensorflow reads its settings from the environment when it loads: the defaults above, and its thread pools
 * sized to `threads` (default: all cores). Settings the user made stand.
 */
const configureNativeEnvironment = (threads: number | undefined): void => {
  for (const [name, value] of Object.entries(NATIVE_ENV_DEFAULTS)) process.env[name] ??= value
  if (threads !== undefined) process.env.TF_NUM_INTRAOP_THREADS ??= String(threads)
}

/** Try the native bindings (GPU first); the reasons when none works. */
const tryNative = async (
  threads: number | undefined,
  packages: readonly string[] = NATIVE_PACKAGES,
): Promise<{ info: Omit<StartedBackend, "reason"> } | { attempts: NativeAttempt[] }> => {
  configureNativeEnvironment(threads)
  const attempts: NativeAttempt[] = []
  for (const pkg of packages) {
    let binding: { version?: Record<string, string> }
    try {
      binding = (await importOptional(pkg)) as typeof binding
    } catch (error) {
      attempts.push({ pkg, problem: isModuleNotFound(error) ? "not installed" : `failed to load: ${firstLine(error)}` })
      continue
    }
    if (tf.findBackendFactory("tensorflow") == null) {
      attempts.push({
        pkg,
        problem:
          "loaded, but it registered its backend in another copy of @tensorflow/tfjs-core " +
          `(install the version matching tfjs-core ${version})`,
      })
      continue
    }
    try {
      if (!(await tf.setBackend("tensorflow"))) throw new Error("tf.setBackend('tensorflow') returned false")
    } catch (error) {
      attempts.push({ pkg, problem: `backend failed to initialise: ${firstLine(error)}` })
      continue
    }
    const backend = tf.backend() as { isUsingGpuDevice?: boolean; binding?: { TF_Version?: string } }
    const gpu = backend.isUsingGpuDevice === true
    const library = `libtensorflow ${backend.binding?.TF_Version ?? "?"}`
    return {
      info: {
        name: "tensorflow",
        version,
        device: gpu ? `CUDA (${library})` : `CPU (${library})`,
        fingerprint: `tensorflow/${version}/${gpu ? "cuda" : "cpu"}`,
        tf,
      },
    }
  }
  return { attempts }
}

const attemptsText = (attempts: readonly NativeAttempt[]): string => attempts.map((a) => `${a.pkg}: ${a.problem}`).join("; ")

const initTensorflow = async (threads: number | undefined): Promise<StartedBackend> => {
  const result = await tryNative(threads)
  if ("info" in result) return { ...result.info, reason: "chosen with --backend tensorflow" }
  const details = result.attempts.map((a) => `  ${a.pkg}: ${a.problem}`).join("\n")
  throw new BackendUnavailable("tensorflow", `${TENSORFLOW_HOWTO}\nTried:\n${details}`)
}

// ---------------------------------------------------------------- webgpu

const webgpuInfo = (adapter: WebgpuAdapter, reason: string): StartedBackend => ({
  name: "webgpu",
  reason,
  version,
  device: webgpuDevice(adapter),
  softwareEmulation: adapter.software,
  fingerprint: webgpuFingerprint(adapter, version),
  tf,
})

// ---------------------------------------------------------------- wasm

const normaliseThreads = (threads: number | undefined): number => {
  if (threads === undefined) return 1
  if (!Number.isFinite(threads) || threads < 1) {
    throw new RangeError(`threads must be a positive integer, got ${threads}`)
  }
  return Math.min(MAX_WASM_THREADS, Math.floor(threads))
}

const initWasm = async (threads: number | undefined, reason: string): Promise<StartedBackend> => {
  const wanted = normaliseThreads(threads)
  if (initialisedBackend("wasm") != null) {
    const current = getThreadsCount()
    if (current !== wanted) {
      // Re-instantiate with the other build. Tensors held on the old wasm
      // backend become invalid (this is meant for start-up, not mid-run).
      const factory = tf.findBackendFactory("wasm")!
      tf.removeBackend("wasm") // disposes it, terminating its pthreads
      tf.registerBackend("wasm", factory, 2)
      setWasmThreadsActive(false)
    }
  }
  if (initialisedBackend("wasm") == null) {
    const init = async (): Promise<void> => {
      if (!(await tf.setBackend("wasm"))) throw new Error("tf.setBackend('wasm') returned false")
    }
    try {
      if (wanted > 1) {
        await withWasmThreadShim(wanted, init)
      } else {
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false)
        setThreadsCount(1)
        await init()
      }
    } catch (error) {
      throw new BackendUnavailable("wasm", `The wasm backend failed to initialise: ${firstLine(error)}`, { cause: error })
    }
  } else if (!(await tf.setBackend("wasm"))) {
    throw new BackendUnavailable("wasm", "tf.setBackend('wasm') returned false")
  }
  const actual = getThreadsCount()
  setWasmThreadsActive(actual > 1)
  if (actual > 1) releaseWasmThreads()
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true
  return {
    name: "wasm",
    version,
    device: `WASM ${simd ? "SIMD" : "(no SIMD)"}, ${actual} thread${actual === 1 ? "" : "s"}`,
    threads: actual,
    fingerprint: `wasm/${version}/${simd ? "simd" : "nosimd"}`,
    reason,
    tf,
  }
}

// ---------------------------------------------------------------- cpu

const initCpu = async (): Promise<StartedBackend> => {
  if (!(await tf.setBackend("cpu"))) throw new BackendUnavailable("cpu", "tf.setBackend('cpu') returned false")
  // Silence tfjs-backend-cpu's one-time "install tfjs-node" banner.
  const backend = tf.backend() as { firstUse?: boolean }
  if (typeof backend.firstUse === "boolean") backend.firstUse = false
  return { name: "cpu", version, device: "JS", fingerprint: `cpu/${version}/js`, reason: "chosen with --backend cpu", tf }
}

// ---------------------------------------------------------------- entry

/**
 * Initialise and select a tensor backend. Safe to call repeatedly: an already
 * initialised backend is re-selected (wasm is re-instantiated only when the
 * requested thread count differs).
 *
 * - "auto": see {@link selectAuto}; every failure on the way falls through silently.
 * - "tensorflow": the native binding; rejects with {@link BackendUnavailable} saying how to install it.
 * - "webgpu": tfjs-backend-webgpu on Dawn (`webgpu` package), on any adapter, software emulation
 *   included; rejects with {@link BackendUnavailable} when the packages or a Vulkan adapter are missing.
 * - "wasm": XNNPACK wasm, SIMD, `threads` threads.
 * - "cpu": the pure-JS backend (tests only; slow).
 *
 * Also registers tfjs-core's stock gradients and chained ops, which the
 * tfjs-core Node bundle lacks (stock-gradients.ts, ~0.3 s once), then the
 * fast Conv2D / depthwise gradients (conv-gradients.ts), which only take
 * effect on the wasm and cpu backends.
 */
export async function initBackend(choice: BackendChoice = "auto", options: InitBackendOptions = {}): Promise<StartedBackend> {
  await ensureStockGradients()
  try {
    return await select(choice, options)
  } finally {
    // After selection: importing tfjs-node(-gpu) pulls in @tensorflow/tfjs,
    // which re-registers the stock gradients over the override.
    registerConvGradients()
  }
}

const select = async (choice: BackendChoice, options: InitBackendOptions): Promise<StartedBackend> => {
  switch (choice) {
    case "auto":
      return selectAuto(options)
    case "tensorflow":
      return initTensorflow(options.threads)
    case "webgpu":
      return webgpuInfo(await initWebgpu(version), "chosen with --backend webgpu")
    case "wasm":
      return initWasm(options.threads, "chosen with --backend wasm")
    case "cpu":
      return initCpu()
    default: {
      const never: never = choice
      throw new TypeError(`unknown backend choice: ${String(never)}`)
    }
  }
}

/**
 * 1. tfjs-node-gpu on CUDA: cuDNN kernels and little overhead per kernel.
 * 2. WebGPU on a hardware adapter, the only other way onto a GPU (any vendor),
 *    unless `options.webgpu` is false. tfjs-backend-webgpu's kernels are slow
 *    and many (10,000-22,000 per training step), so on an H100 it trained
 *    tiny-32 11x and small-64 1.9x slower than wasm on 8 threads, but the
 *    paper's 67.7 M-parameter `base` at 256 px in 13.7 s per step, where a CPU
 *    backend needs minutes (bench/results/gpu-h100). The CLI therefore lets
 *    auto take WebGPU only for pipelines with a large network.
 *    Never a software adapter: lavapipe measured 17-24x slower than wasm.
 * 3. On the CPU, the engine `options.cpu` names (the CLI measures which one a pipeline's network trains faster
 *    on: libtensorflow's kernels win on large tensors, wasm's lower cost per kernel call on small ones), falling
 *    back to wasm, which always works.
 */
const selectAuto = async (options: InitBackendOptions): Promise<StartedBackend> => {
  const cpu = options.cpu ?? { engine: "tensorflow", why: "the default CPU engine" }
  // tfjs-node (CPU) is loaded only when it may be used; tfjs-node-gpu always, since it may find a CUDA device.
  const candidates = cpu.engine === "tensorflow" ? NATIVE_PACKAGES : NATIVE_PACKAGES.filter((p) => p.endsWith("-gpu"))
  const native = await tryNative(options.threads, candidates)
  if ("info" in native && native.info.device.startsWith("CUDA"))
    return { ...native.info, reason: "auto: a CUDA device through tfjs-node-gpu" }
  if (options.webgpu !== false && (await hardwareWebgpuAdapter()) !== null) {
    try {
      return webgpuInfo(await initWebgpu(version), "auto: a hardware GPU through WebGPU, for a network large enough to gain from it")
    } catch {
      // fall through to the CPU backends
    }
  }
  if (cpu.engine === "tensorflow") {
    if ("info" in native) {
      await tf.setBackend("tensorflow")
      return { ...native.info, reason: `auto: native TensorFlow on the CPU (${cpu.why})` }
    }
    const missing = attemptsText(native.attempts)
    return initWasm(
      options.threads,
      `auto: wasm, since native TensorFlow is unavailable (${missing}; \`${NATIVE_SETUP_COMMAND}\` enables it)`,
    )
  }
  return initWasm(options.threads, `auto: wasm on the CPU (${cpu.why})`)
}
