import officialBlurTable from "./official-blur-table.json" with { type: "json" }
import { uniformTableSchedule, type SeveritySchedule } from "./severity-schedule.js"

/**
 * `configs/schedules/blur_schedule.txt` of the official DiracDiffusion code:
 * Gaussian blur std at t_i = i / 101, i = 0..101 (7 significant digits of the
 * file's float32 values). Each value is 0.3 + 2.7 j / 1999 for a candidate
 * index j of the greedy scheduler (N = 2000 candidates, m = 100 points).
 * The default blur schedule of the paper's pipelines (CelebA-HQ, FFHQ, ImageNet). The values live in
 * official-blur-table.json, which the PyTorch benchmark reads too.
 */
export const OFFICIAL_BLUR_STD: readonly number[] = officialBlurTable

export const officialBlurSchedule = (): SeveritySchedule => uniformTableSchedule(OFFICIAL_BLUR_STD)
