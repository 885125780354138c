import { createRequire } from "node:module"
import path from "node:path"

const require = createRequire(import.meta.url)

/** Root folder of the installed `@tensorflow/tfjs-backend-wasm` package. */
export const wasmPackageDir = (): string => path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"))

/**
 * The folder holding `tfjs-backend-wasm{,-simd,-threaded-simd}.wasm` (the
 * package's `dist/`), with a trailing separator as `setWasmPaths` expects.
 */
export const wasmBinaryDir = (): string => path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm")) + path.sep

/** Unbundled emscripten glue of the threaded SIMD build, loaded by each pthread worker. */
export const wasmThreadedGluePath = (): string => path.join(wasmPackageDir(), "wasm-out", "tfjs-backend-wasm-threaded-simd.js")

/** Module exporting the pthread worker bootstrap source (`wasmWorkerContents`). */
export const wasmWorkerContentsPath = (): string => path.join(wasmPackageDir(), "wasm-out", "tfjs-backend-wasm-threaded-simd.worker.js")

/** True when `specifier` resolves from this package (does not load it). */
export const isResolvable = (specifier: string): boolean => {
  for (const candidate of [specifier, `${specifier}/package.json`]) {
    try {
      require.resolve(candidate)
      return true
    } catch (error) {
      // Present, but its "exports" map has no `require` condition for this path.
      if ((error as { code?: string }).code === "ERR_PACKAGE_PATH_NOT_EXPORTED") return true
    }
  }
  return false
}

export const requireFromHere = require
