/**
 * Multi-threaded tfjs WASM in Node.
 *
 * tfjs-backend-wasm 4.22 hard-codes `WASM_HAS_MULTITHREAD_SUPPORT=false` under
 * Node (tfjs#3830): its emscripten glue hands `node:worker_threads` `blob:`
 * URLs for the pthread worker, which Node rejects, and the C++ caps the pool
 * at `min(threads, 8, os.cpus().length / 2)`. While the threaded module is
 * instantiated this shim, and only then:
 *
 * - replaces `URL.createObjectURL` so the pthread worker bootstrap is written
 *   to a temporary `.cjs` file whose path is returned instead of a blob URL;
 *   the bootstrap is the package's own (`wasm-out/...worker.js`) plus a
 *   postlude that makes the worker load the package's unbundled glue
 *   (`wasm-out/tfjs-backend-wasm-threaded-simd.js`) instead of a blob;
 * - makes `os.cpus()` report `2 * threads` entries so the C++ cap allows the
 *   requested count;
 * - sets the tfjs flag `WASM_HAS_MULTITHREAD_SUPPORT` and `setThreadsCount`.
 *
 * `Blob` itself is not patched: the worker source comes from the package file
 * rather than from the Blob tfjs builds. Every patched global is restored (and
 * the temp file removed) as soon as `tf.setBackend("wasm")` settles, success
 * or failure. Results are bitwise identical to single-threaded wasm in our
 * checks (XNNPACK splits work by output tiles).
 *
 * Exit: emscripten pre-spawns 8 pthread workers and keeps the ones running the
 * XNNPACK thread pool ref'd, so the Node event loop would never drain.
 * select.ts calls {@link releaseWasmThreads} right after initialisation to
 * unref them (all wasm work is synchronous on the main thread, so nothing
 * waits on those handles), and the process then exits by itself. That reaches
 * into emscripten internals, so a CLI should still end with `process.exit()`
 * whenever {@link wasmThreadsActive} is true.
 */
import fs from "node:fs"
import os from "node:os"
import path from "node:path"
import * as tf from "@tensorflow/tfjs-core"
import { setThreadsCount, getThreadsCount } from "@tensorflow/tfjs-backend-wasm"
import { initialisedBackend } from "./initialised.js"
import { requireFromHere, wasmThreadedGluePath, wasmWorkerContentsPath } from "./paths.js"

/** tfjs-backend-wasm never uses more than 8 threads (and pre-spawns 8 workers). */
export const MAX_WASM_THREADS = 8

/**
 * Suggested thread count for the CLI: the number of logical cores the process
 * may use, capped at {@link MAX_WASM_THREADS}. 1 on a single-core machine (the
 * shim is then not used: threads would only add overhead).
 */
export const defaultWasmThreads = (): number => {
  const cores = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length
  return Math.max(1, Math.min(MAX_WASM_THREADS, cores))
}

let threadsActive = false

/**
 * True once the wasm backend runs with a pthread pool (more than 1 thread).
 * A CLI should then end with `process.exit()`: the pthread workers are
 * unref'd by initBackend, but that relies on emscripten internals.
 */
export const wasmThreadsActive = (): boolean => threadsActive

/** Threads used by the initialised wasm backend (1 when single-threaded), or 0 before initialisation. */
export const activeWasmThreads = (): number => {
  try {
    return getThreadsCount()
  } catch {
    return 0
  }
}

/** @internal called by select.ts after (re)initialising wasm. */
export const setWasmThreadsActive = (active: boolean): void => {
  threadsActive = active
}

const workerPostlude = (gluePath: string): string => {
  const glue = JSON.stringify(gluePath)
  // Runs in each pthread worker after the stock bootstrap set up its globals:
  // whatever the main thread sends as the main script (a Blob), load the
  // package's unbundled glue from disk instead.
  return (
    `;(function(){var glue=${glue};var fs=require("fs");` +
    `var load=function(){(0,eval)(fs.readFileSync(glue,"utf8")+"\\n//# sourceURL="+glue)};` +
    `global.importScripts=load;` +
    `if(typeof URL!=="undefined"){URL.createObjectURL=function(){return glue};URL.revokeObjectURL=function(){}}` +
    `})();\n`
  )
}

const workerSource = (): string => {
  const { wasmWorkerContents } = requireFromHere(wasmWorkerContentsPath()) as { wasmWorkerContents: string }
  // Same escaping as tfjs does before putting it in a Blob: the source has raw
  // newlines inside string literals.
  return wasmWorkerContents.replace(/\n/g, "\\n") + "\n" + workerPostlude(wasmThreadedGluePath())
}

/**
 * Run `init` (which must call `tf.setBackend("wasm")` on a not yet
 * initialised wasm backend) with the thread shim in place, then restore every
 * patched global.
 */
export const withWasmThreadShim = async <T>(threads: number, init: () => Promise<T>): Promise<T> => {
  const n = Math.max(2, Math.min(MAX_WASM_THREADS, Math.floor(threads)))
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "tfjs-wasm-threads-"))
  const workerFile = path.join(tmpDir, "pthread-worker.cjs")
  let workerWritten = false

  const originalCreateObjectURL = URL.createObjectURL
  const originalCpus = os.cpus
  const hadCreateObjectURL = Object.prototype.hasOwnProperty.call(URL, "createObjectURL")

  const realCpus = originalCpus.call(os)
  const fakeCpus = Array.from({ length: 2 * n }, (_, i) => realCpus[i % Math.max(1, realCpus.length)]!)

  URL.createObjectURL = function createObjectURL(obj: unknown): string {
    if (typeof Blob !== "undefined" && obj instanceof Blob) {
      if (!workerWritten) {
        fs.writeFileSync(workerFile, workerSource())
        workerWritten = true
      }
      return workerFile
    }
    return originalCreateObjectURL.call(URL, obj as Blob)
  } as typeof URL.createObjectURL
  os.cpus = () => fakeCpus.slice()
  try {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true)
    setThreadsCount(n)
    return await init()
  } finally {
    if (hadCreateObjectURL) URL.createObjectURL = originalCreateObjectURL
    else delete (URL as { createObjectURL?: unknown }).createObjectURL
    os.cpus = originalCpus
    fs.rmSync(tmpDir, { recursive: true, force: true })
  }
}

interface NodeWorkerLike {
  unref?: () => void
  ref?: () => void
}
interface PThreadLike {
  runningWorkers?: NodeWorkerLike[]
  unusedWorkers?: NodeWorkerLike[]
}

/**
 * Unref the wasm pthread workers so that the event loop can drain and the
 * process exit by itself (initBackend already does this). Best effort: it
 * reaches into emscripten's `PThread`, so `process.exit()` stays the robust way
 * to end a CLI that used threads. The backend keeps working afterwards.
 * Returns the number of workers unref'd.
 */
export const releaseWasmThreads = (): number => {
  const backend = initialisedBackend("wasm") as { wasm?: { PThread?: PThreadLike } } | undefined
  const pthread = backend?.wasm?.PThread
  let n = 0
  for (const w of [...(pthread?.runningWorkers ?? []), ...(pthread?.unusedWorkers ?? [])]) {
    if (typeof w.unref === "function") {
      w.unref()
      n++
    }
  }
  return n
}
