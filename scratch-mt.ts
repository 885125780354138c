import { initBackend } from "./src/runtime/backend/index.js"
const info = await initBackend("wasm", { threads: Number(process.env.T) })
const tf = info.tf
const x = tf.randomNormal([8, 64, 64, 64]) as any, w = tf.randomNormal([3, 3, 64, 64]) as any
for (let i = 0; i < 3; i++) tf.conv2d(x, w, 1, "same").dataSync()
const c0 = process.cpuUsage(), t0 = performance.now()
for (let i = 0; i < 20; i++) { const y = tf.conv2d(x, w, 1, "same"); y.dataSync(); y.dispose() }
const c = process.cpuUsage(c0), dt = performance.now() - t0
console.log(info.device, (dt / 20).toFixed(1), "ms/conv", "cpu/wall", ((c.user + c.system) / 1000 / dt).toFixed(2))
const be = tf.findBackend("wasm") as any
console.log("PThread running", be.wasm.PThread?.runningWorkers?.length, "unused", be.wasm.PThread?.unusedWorkers?.length)
process.exit(0)
