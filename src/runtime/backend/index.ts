/**
 * Tensor backend runtime (plain TypeScript; the pipeline wraps it in an
 * Effect service). Entry point: {@link initBackend}.
 */
export { BackendUnavailable, type BackendName } from "./errors.js"
export { predictBackend, wasmHasSimd, type PredictedBackend } from "./predict.js"
export type { BackendChoice } from "./choice.js"
export { initBackend, type StartedBackend, type InitBackendOptions } from "./select.js"
export { ensureStockGradients } from "./stock-gradients.js"
export {
  FAST_GRADIENT_BACKENDS,
  registerConvGradients,
  unregisterConvGradients,
  convGradientsRegistered,
  conv2dInputGrad,
  conv2dFilterGrad,
  depthwiseInputGrad,
  depthwiseFilterGrad,
} from "./conv-gradients.js"
export { MAX_WASM_THREADS, defaultWasmThreads, wasmThreadsActive, activeWasmThreads, releaseWasmThreads } from "./wasm-threads.js"
