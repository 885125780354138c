import * as tf from "@tensorflow/tfjs-core"
import type { Trainer } from "./trainer.js"

/**
 * The tensors of a training checkpoint, by name: `param.NAME`, `adam.m.NAME`, `adam.v.NAME` and `ema.NAME`
 * (official parameter names, tfjs layouts). They are the live variables: save them before the next step.
 */
export const trainerTensors = (trainer: Trainer): Record<string, tf.Tensor> => {
  const tensors: Record<string, tf.Tensor> = {}
  for (const [name, v] of Object.entries(trainer.net.params)) tensors[`param.${name}`] = v
  for (const [name, v] of Object.entries(trainer.adam.m)) tensors[`adam.m.${name}`] = v
  for (const [name, v] of Object.entries(trainer.adam.v)) tensors[`adam.v.${name}`] = v
  for (const [name, v] of Object.entries(trainer.ema?.shadow ?? {})) tensors[`ema.${name}`] = v
  return tensors
}

/** Puts saved tensors back into the trainer's variables; every variable must be present with its shape. */
export const restoreTrainerTensors = (trainer: Trainer, saved: Readonly<Record<string, tf.Tensor>>): void => {
  const targets = trainerTensors(trainer) as Record<string, tf.Variable>
  const missing = Object.keys(targets).filter((name) => !saved[name])
  if (missing.length > 0) throw new Error(`the checkpoint lacks ${missing.length} tensors (e.g. ${missing[0]}); it belongs to another configuration`)
  for (const [name, variable] of Object.entries(targets)) {
    const value = saved[name]
    if (value.shape.join("x") !== variable.shape.join("x")) throw new Error(`checkpoint tensor ${name} has shape [${value.shape}], the model needs [${variable.shape}]`)
    variable.assign(value)
  }
}
