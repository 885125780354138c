/**
 * Every engine the tool knows, whether it works on this machine, and if not the one command that enables it:
 * what `pipe backends` prints. Native bindings are probed in a child process, so that a broken install (a
 * missing library, a wrong ABI, a crash on load) is reported instead of taking this process down, and so that
 * the CPU and GPU packages, which register the same backend name, never meet in one process.
 */
import { spawn } from "node:child_process"
import { NATIVE_SETUP_COMMAND } from "./choice.js"
import { initBackend, NATIVE_ENV_DEFAULTS, type InitBackendOptions } from "./select.js"
import { firstLine } from "./optional-module.js"
import { isResolvable, requireFromHere } from "./paths.js"

export interface EngineStatus {
  /** tensorflow (native, CPU), tensorflow-gpu (native, CUDA), webgpu, wasm, cpu, onnxruntime-cpu, onnxruntime-cuda. */
  readonly name: string
  readonly available: boolean
  /** The package or library version that would run. */
  readonly version: string | null
  /** What computes, e.g. "CPU (libtensorflow 2.21.0)". */
  readonly device: string | null
  /** Why it is unavailable, or what it is good for. */
  readonly reason: string
  /** The command that makes it available (null when it is, or when nothing in this project can). */
  readonly enable: string | null
}

const PROBE_SOURCE = `
const [core, pkg] = process.argv.slice(-2)
const tf = await import(core)
await import(pkg)
if (tf.findBackendFactory("tensorflow") == null) throw new Error("it registered its backend in another copy of @tensorflow/tfjs-core")
await tf.setBackend("tensorflow")
const b = tf.backend()
process.stdout.write(JSON.stringify({ gpu: b.isUsingGpuDevice === true, library: b.binding?.TF_Version ?? null }))
`

interface NativeProbe {
  readonly gpu: boolean
  readonly library: string | null
}

/** Loads a native binding in a child process: what it found, or why it failed. */
const probeNative = (pkg: string): Promise<NativeProbe | { problem: string }> =>
  new Promise((resolve) => {
    if (!isResolvable(pkg)) return resolve({ problem: "not installed" })
    const args = ["--input-type=module", "-e", PROBE_SOURCE, requireFromHere.resolve("@tensorflow/tfjs-core"), requireFromHere.resolve(pkg)]
    const child = spawn(process.execPath, args, {
      env: { ...NATIVE_ENV_DEFAULTS, ...process.env, TF_CPP_MIN_LOG_LEVEL: "3" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d: Buffer) => (stdout += d))
    child.stderr.on("data", (d: Buffer) => (stderr += d))
    child.on("error", (error) => resolve({ problem: firstLine(error) }))
    child.on("close", (code, signal) => {
      if (code === 0) {
        try {
          return resolve(JSON.parse(stdout) as NativeProbe)
        } catch {
          // fall through: report what it printed
        }
      }
      const why =
        stderr
          .split("\n")
          .find((l) => /Error|error:/.test(l))
          ?.trim() ??
        stderr.trim().split("\n").at(-1) ??
        ""
      resolve({ problem: `failed to load (${signal ? `killed by ${signal}` : `exit ${code}`})${why ? `: ${why.slice(0, 300)}` : ""}` })
    })
  })

const packageVersion = (pkg: string): string | null => {
  try {
    return (requireFromHere(`${pkg}/package.json`) as { version: string }).version
  } catch {
    return null
  }
}

const nativeStatus = async (): Promise<EngineStatus[]> => {
  const [cpu, gpu] = await Promise.all([probeNative("@tensorflow/tfjs-node"), probeNative("@tensorflow/tfjs-node-gpu")])
  const library = (p: NativeProbe) => `libtensorflow ${p.library ?? "?"}`
  return [
    "problem" in cpu
      ? {
          name: "tensorflow",
          available: false,
          version: null,
          device: null,
          reason: `@tensorflow/tfjs-node: ${cpu.problem}`,
          enable: NATIVE_SETUP_COMMAND,
        }
      : {
          name: "tensorflow",
          available: true,
          version: packageVersion("@tensorflow/tfjs-node"),
          device: `CPU (${library(cpu)})`,
          reason: "native TensorFlow kernels on the CPU",
          enable: null,
        },
    "problem" in gpu
      ? {
          name: "tensorflow-gpu",
          available: false,
          version: null,
          device: null,
          reason: `@tensorflow/tfjs-node-gpu: ${gpu.problem}`,
          enable: `${NATIVE_SETUP_COMMAND} -- --gpu`,
        }
      : gpu.gpu
        ? {
            name: "tensorflow-gpu",
            available: true,
            version: packageVersion("@tensorflow/tfjs-node-gpu"),
            device: `CUDA (${library(gpu)})`,
            reason: "native TensorFlow on an NVIDIA GPU (cuDNN)",
            enable: null,
          }
        : {
            name: "tensorflow-gpu",
            available: false,
            version: packageVersion("@tensorflow/tfjs-node-gpu"),
            device: `CPU (${library(gpu)})`,
            reason:
              "@tensorflow/tfjs-node-gpu loads but finds no CUDA device (it runs on the CPU): it needs an NVIDIA driver and TensorFlow's CUDA/cuDNN libraries on the loader path",
            enable: null,
          },
  ]
}

const webgpuEnable = (reason: string): string =>
  /optional packages/.test(reason)
    ? "npm install @tensorflow/tfjs-backend-webgpu@4.22.0 webgpu"
    : "apt-get install libvulkan1 mesa-vulkan-drivers  (and the GPU vendor's Vulkan driver)"

const tfjsStatus = async (name: "webgpu" | "wasm", options: InitBackendOptions): Promise<EngineStatus> => {
  try {
    const info = await initBackend(name, options)
    const software = info.softwareEmulation === true
    return {
      name,
      available: true,
      version: info.version,
      device: info.device,
      reason: software
        ? "software emulation: correct but slower than wasm"
        : name === "wasm"
          ? "XNNPACK in WebAssembly; always works"
          : "tfjs on a GPU through Dawn",
      enable: null,
    }
  } catch (error) {
    const reason = firstLine(error)
    return { name, available: false, version: null, device: null, reason, enable: name === "webgpu" ? webgpuEnable(reason) : null }
  }
}

const onnxStatus = async (): Promise<EngineStatus[]> => {
  const { cudaAddOnMissing, loadOrt } = await import("../../dirac/onnx/runtime.js")
  const install = "ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0"
  try {
    await loadOrt()
  } catch (error) {
    const reason = firstLine(error)
    return [
      { name: "onnxruntime-cpu", available: false, version: null, device: null, reason, enable: install },
      { name: "onnxruntime-cuda", available: false, version: null, device: null, reason, enable: install },
    ]
  }
  const version = packageVersion("onnxruntime-node")
  const cuda = cudaAddOnMissing()
  return [
    {
      name: "onnxruntime-cpu",
      available: true,
      version,
      device: "CPU",
      reason: "sampling (the `sample` node's engine) on ONNX Runtime",
      enable: null,
    },
    cuda === null
      ? {
          name: "onnxruntime-cuda",
          available: true,
          version,
          device: "CUDA",
          reason: "sampling on ONNX Runtime's CUDA provider",
          enable: null,
        }
      : {
          name: "onnxruntime-cuda",
          available: false,
          version,
          device: null,
          reason: cuda,
          enable: "npm rebuild onnxruntime-node (online: downloads the CUDA add-on)",
        },
  ]
}

/** The status of every engine; `threads` sizes wasm as a run would. */
export const surveyEngines = async (options: { readonly threads?: number } = {}): Promise<EngineStatus[]> => {
  const native = await nativeStatus()
  const webgpu = await tfjsStatus("webgpu", {})
  const wasm = await tfjsStatus("wasm", { threads: options.threads })
  const cpu: EngineStatus = {
    name: "cpu",
    available: true,
    version: wasm.version,
    device: "JS",
    reason: "the pure-JS reference backend (tests; about 50x slower than wasm)",
    enable: null,
  }
  return [...native, webgpu, wasm, cpu, ...(await onnxStatus())]
}
