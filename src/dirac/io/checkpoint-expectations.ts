/**
 * What a DiracDiffusion checkpoint was trained for, read from its Lightning `hyper_parameters`, and the check
 * against what a pipeline expects of it. The official checkpoints carry the arguments of the official
 * NCSN_Module: `model_arch` (a key of configs/models/models.yaml), `experiment_config_file` (the operator and
 * noise config: configs/experiments/gaussian_blur.yaml, inpainting_gaussian.yaml or
 * inpainting_gaussian_imagenet.yaml), `operator_config` (None in the official files, else the operator's dict
 * with its `type`), `loss_type` and `dt`.
 */

export type Task = "blur" | "inpaint"

export interface CheckpointExpectations {
  /** The degradation the network was trained to undo. */
  readonly task?: Task
  /** The look-ahead dt of the loss L_IR(dt), as train's `dt`: 0 = loss through A_t, 1 = clean-image loss. */
  readonly dt?: number
}

export interface TrainedFor {
  readonly arch?: string
  readonly task?: Task
  /** Where `task` was read, for messages: `experiment_config_file 'configs/experiments/gaussian_blur.yaml'`. */
  readonly taskSource?: string
  readonly lossDt?: number
  /** Where `lossDt` was read: `loss_type 'weighted_mse_x_loss'`. */
  readonly lossSource?: string
}

const TASK_WORDS: Record<Task, string> = { blur: "deblurring", inpaint: "inpainting" }
const A_TASK: Record<Task, string> = { blur: "a deblurring", inpaint: "an inpainting" }
const OPERATOR_OF_TASK: Record<Task, string> = { blur: "gaussian-blur", inpaint: "inpaint-gaussian" }

const taskFromName = (name: string): Task | undefined => (/blur/i.test(name) ? "blur" : /inpaint/i.test(name) ? "inpaint" : undefined)

/** The official losses (NCSN_Module.get_losses), with or without the `weighted_` prefix, as look-ahead dt. */
const lossDtOf = (lossType: string, dt: unknown): number | undefined => {
  const plain = lossType.replace(/^weighted_/, "")
  if (plain === "mse_loss") return 0
  if (plain === "mse_x_loss") return 1
  if (plain === "inc_recon_loss" && typeof dt === "number") return dt
  return undefined
}

export const trainedFor = (hp: Readonly<Record<string, unknown>> | undefined): TrainedFor => {
  if (!hp) return {}
  const out: { -readonly [K in keyof TrainedFor]: TrainedFor[K] } = {}
  if (typeof hp.model_arch === "string") out.arch = hp.model_arch
  const operator = hp.operator_config as { type?: unknown } | null | undefined
  if (operator && typeof operator === "object" && typeof operator.type === "string" && taskFromName(operator.type)) {
    out.task = taskFromName(operator.type)
    out.taskSource = `operator_config type '${operator.type}'`
  } else if (typeof hp.experiment_config_file === "string" && taskFromName(hp.experiment_config_file.split("/").at(-1)!)) {
    out.task = taskFromName(hp.experiment_config_file.split("/").at(-1)!)
    out.taskSource = `experiment_config_file '${hp.experiment_config_file}'`
  }
  const lossDt = typeof hp.loss_type === "string" ? lossDtOf(hp.loss_type, hp.dt) : typeof hp.dt === "number" ? hp.dt : undefined
  if (lossDt !== undefined) {
    out.lossDt = lossDt
    out.lossSource =
      typeof hp.loss_type === "string"
        ? `loss_type '${hp.loss_type}'${/inc_recon/.test(hp.loss_type) ? ` with dt ${hp.dt}` : ""}`
        : `dt ${hp.dt}`
  }
  return out
}

/** "deblurring, loss L_IR(dt = 0)", or "" when the hyper-parameters say neither. */
export const describeTrainedFor = (t: TrainedFor): string =>
  [t.task && TASK_WORDS[t.task], t.lossDt !== undefined && `loss L_IR(dt = ${t.lossDt})`].filter(Boolean).join(", ")

/** Every way the checkpoint at `path` differs from `arch` and `expect`, each saying what to change. */
export const expectationProblems = (
  path: string,
  hp: Readonly<Record<string, unknown>> | undefined,
  arch: string | undefined,
  expect: CheckpointExpectations = {},
): string[] => {
  const found = trainedFor(hp)
  const problems: string[] = []
  if (arch !== undefined && found.arch !== undefined && found.arch !== arch) {
    problems.push(`${path} was trained with model_arch '${found.arch}', but arch is '${arch}': set arch: ${found.arch}`)
  }
  if ((expect.task !== undefined || expect.dt !== undefined) && !hp) {
    return [...problems, `${path} has no hyper_parameters to check expect against: remove expect to load it unchecked`]
  }
  if (expect.task !== undefined) {
    if (found.task === undefined) {
      problems.push(
        `${path} does not say what it was trained for (no experiment_config_file or operator_config naming blur or inpainting): remove expect.task to load it unchecked`,
      )
    } else if (found.task !== expect.task) {
      problems.push(
        `${path} was trained for ${TASK_WORDS[found.task]} (${found.taskSource}), but expect.task is ${expect.task}: ` +
          `point path at ${A_TASK[expect.task]} checkpoint, or, if the pipeline is meant for ${TASK_WORDS[found.task]}, set expect.task: ${found.task} and degrade with operator ${OPERATOR_OF_TASK[found.task]}`,
      )
    }
  }
  if (expect.dt !== undefined) {
    if (found.lossDt === undefined) {
      problems.push(
        `${path} does not say which loss it was trained with (loss_type ${JSON.stringify(hp?.loss_type ?? null)}, dt ${JSON.stringify(hp?.dt ?? null)}): remove expect.dt to load it unchecked`,
      )
    } else if (Math.abs(found.lossDt - expect.dt) > 1e-9) {
      problems.push(
        `${path} was trained with ${found.lossSource}, the loss L_IR(dt = ${found.lossDt}), but expect.dt is ${expect.dt}: ` +
          `point path at the checkpoint trained with dt = ${expect.dt}, or set expect.dt: ${found.lossDt}`,
      )
    }
  }
  return problems
}

/**
 * Why a model imported from a checkpoint cannot reconstruct through a process (a deblurring network given an
 * inpainting process, or the reverse), or undefined. `task` is the model's (from its checkpoint); `operator` the
 * process's (`gaussian-blur`, `inpaint-gaussian`, `inpaint-box`).
 */
export const modelProcessMismatch = (task: unknown, operator: string, modelFrom: string, processFrom: string): string | undefined => {
  if (task !== "blur" && task !== "inpaint") return undefined
  const processTask: Task = operator.startsWith("inpaint") ? "inpaint" : "blur"
  if (processTask === task) return undefined
  return (
    `the model from '${modelFrom}' was trained for ${TASK_WORDS[task]} (its checkpoint's hyper-parameters say so), but the process from ` +
    `'${processFrom}' is ${operator}: degrade with operator ${OPERATOR_OF_TASK[task]}, or import ${A_TASK[processTask]} checkpoint`
  )
}
