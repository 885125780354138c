/**
 * Geometric noise schedule of the stochastic degradation process (official `NoiseScheduler`):
 *
 *   sigma_t = sigma_min (sigma_max / sigma_min)^t,   sigma_t = 0 when sigma_min = sigma_max = 0,
 *
 * in [0, 1] image units; the paper's default is 0.01 -> 0.05 (sigma_1 = 0.05 is the measurement noise).
 */
import { checkTime } from "./severity-schedule.js"

export interface NoiseLevels {
  readonly sigmaMin: number
  readonly sigmaMax: number
}

export const PAPER_NOISE: NoiseLevels = { sigmaMin: 0.01, sigmaMax: 0.05 }

export const checkNoiseLevels = (noise: NoiseLevels): void => {
  const { sigmaMin, sigmaMax } = noise
  const noiseless = sigmaMin === 0 && sigmaMax === 0
  if (!noiseless && !(sigmaMin > 0 && sigmaMax >= sigmaMin && Number.isFinite(sigmaMax))) {
    throw new RangeError(`noise needs 0 < sigmaMin <= sigmaMax (or both 0), got ${sigmaMin} .. ${sigmaMax}`)
  }
}

export const sigmaAt = (noise: NoiseLevels, t: number): number => {
  checkTime(t)
  if (noise.sigmaMin === 0 && noise.sigmaMax === 0) return 0
  return noise.sigmaMin * (noise.sigmaMax / noise.sigmaMin) ** t
}
