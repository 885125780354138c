import { initBackend } from "/work/main/src/runtime/backend/select.js"
import { releaseWasmThreads, wasmThreadsActive } from "/work/main/src/runtime/backend/wasm-threads.js"
const t0 = Date.now()
const info = await initBackend("wasm", { threads: Number(process.env.THREADS ?? 2) })
const { tf } = info
console.log(info.device, info.fingerprint, info.threads, wasmThreadsActive(), Date.now() - t0, "ms")
const x = tf.randomNormal([2, 32, 32, 16], 0, 1, "float32", 1) as any
const w = tf.randomNormal([3, 3, 16, 16], 0, 1, "float32", 2) as any
const y = tf.conv2d(x, w, 1, "same")
console.log((await y.data()).slice(0, 4))
if (process.env.RELEASE) releaseWasmThreads()
console.log("done")
