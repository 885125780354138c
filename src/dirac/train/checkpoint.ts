import * as tf from "@tensorflow/tfjs-core"
import type { Trainer } from "./trainer.js"

/**
 * The tensors of a training checkpoint, by name: `param.NAME`, `adam.m.NAME`, `adam.v.NAME` and `ema.NAME`
 * (official parameter names, tfjs layouts). The parameters are the live variables, the optimiser's and the EMA's
 * tensors copies of its flat state: `dispose` releases the copies once they are saved.
 */
export const trainerTensors = (trainer: Trainer): { readonly tensors: Record<string, tf.Tensor>; readonly dispose: () => void } => {
  const { m, v } = trainer.adam.named()
  const ema = trainer.ema?.named() ?? {}
  const tensors: Record<string, tf.Tensor> = {}
  for (const [name, p] of Object.entries(trainer.net.params)) tensors[`param.${name}`] = p
  for (const [name, t] of Object.entries(m)) tensors[`adam.m.${name}`] = t
  for (const [name, t] of Object.entries(v)) tensors[`adam.v.${name}`] = t
  for (const [name, t] of Object.entries(ema)) tensors[`ema.${name}`] = t
  return { tensors, dispose: () => tf.dispose([...Object.values(m), ...Object.values(v), ...Object.values(ema)]) }
}

/** Puts saved tensors back into the trainer's variables and state; every tensor must be present with its shape. */
export const restoreTrainerTensors = (trainer: Trainer, saved: Readonly<Record<string, tf.Tensor>>): void => {
  const { tensors: expected, dispose } = trainerTensors(trainer)
  try {
    const missing = Object.keys(expected).filter((name) => !saved[name])
    if (missing.length > 0)
      throw new Error(`the checkpoint lacks ${missing.length} tensors (e.g. ${missing[0]}); it belongs to another configuration`)
    for (const [name, t] of Object.entries(expected)) {
      const value = saved[name]!
      if (value.shape.join("x") !== t.shape.join("x"))
        throw new Error(`checkpoint tensor ${name} has shape [${value.shape}], the model needs [${t.shape}]`)
    }
  } finally {
    dispose()
  }
  const group = (prefix: string) =>
    Object.fromEntries(
      Object.entries(saved)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, t]) => [name.slice(prefix.length), t]),
    )
  for (const [name, p] of Object.entries(trainer.net.params)) p.assign(saved[`param.${name}`]!)
  trainer.adam.load(group("adam.m."), group("adam.v."))
  trainer.ema?.load(group("ema."))
}
