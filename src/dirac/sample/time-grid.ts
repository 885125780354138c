/**
 * The reverse process's time steps as the official sampler computes them: t_this = start_t - dt i in double
 * precision, stored as float32; t_next = t_this - dt in float32. It stops after the step whose t_next falls below
 * t_stop (a strict test: the step that lands exactly on t_stop does not stop), or after int(start_t / dt) steps.
 */
export interface TimeStep {
  readonly index: number
  readonly tThis: number
  readonly tNext: number
  readonly last: boolean
}

const f32 = Math.fround

export const timeGrid = (dt: number, stopT: number, startT = 1): TimeStep[] => {
  const numSteps = Math.trunc(startT / dt)
  const steps: TimeStep[] = []
  for (let i = 0; i < numSteps; i++) {
    const tThis = f32(startT - dt * i)
    const tNext = f32(tThis - f32(dt))
    const stop = f32(stopT) > tNext
    steps.push({ index: i, tThis, tNext: Math.max(tNext, 0), last: stop || i === numSteps - 1 })
    if (stop) break
  }
  return steps
}
