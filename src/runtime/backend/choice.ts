/** What a run may ask for, shared by predicting a backend (predict.ts) and starting it (select.ts). */
export type BackendChoice = "auto" | "tensorflow" | "webgpu" | "wasm" | "cpu"

/** auto only: the CPU engine the pipeline at hand runs faster on, and why. */
export interface CpuPreference {
  readonly engine: "tensorflow" | "wasm"
  readonly why: string
}

/** Native bindings that `auto` tries before wasm, in order. */
export const NATIVE_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const

/** The one command that makes the native engine usable on this machine. */
export const NATIVE_SETUP_COMMAND = "npm run setup:native"
