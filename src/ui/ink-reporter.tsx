import { render } from "ink"
import type { RunEvent } from "../runtime/events.js"
import { RunView } from "./ink/RunView.js"
import type { Reporter } from "./reporter.js"
import { initialRunState, reduceRun } from "./run-state.js"

export interface InkReporterOptions {
  /** A TTY stream, stderr in practice, so that stdout stays free for results. */
  readonly stream: NodeJS.WriteStream
}

const FRAME_MS = 100

/** Live terminal view. Events are folded into state at once; React re-renders at most every FRAME_MS. */
export const makeInkReporter = (options: InkReporterOptions): Reporter => {
  let state = initialRunState()
  let timer: NodeJS.Timeout | undefined
  let closed = false
  // A pseudo-terminal that reports no size (script, some CI runners) would make ink wrap every character.
  if (!options.stream.columns) Object.defineProperty(options.stream, "columns", { value: 100, configurable: true })
  // exitOnCtrlC false and no useInput: ink never puts stdin in raw mode, so SIGINT reaches the CLI.
  const view = () => <RunView state={state} columns={options.stream.columns} />
  const instance = render(view(), {
    stdout: options.stream,
    patchConsole: false,
    exitOnCtrlC: false,
    maxFps: 10,
  })
  const exited = instance.waitUntilExit()

  const flush = (): void => {
    timer = undefined
    instance.rerender(view())
  }

  const onEvent = (event: RunEvent): void => {
    if (closed) return
    state = reduceRun(state, event)
    if (timer === undefined) {
      timer = setTimeout(flush, FRAME_MS)
      timer.unref()
    }
  }

  const close = async (): Promise<void> => {
    if (closed) return exited.then(() => undefined)
    closed = true
    if (timer !== undefined) clearTimeout(timer)
    flush()
    instance.unmount()
    await exited
  }

  return { onEvent, close }
}
