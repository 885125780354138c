"""PyTorch reference timings for bench/sample.ts: the reverse process (Algorithm 1) on the CPU.

    python3 bench/reference/sample_bench.py                       # tiny-32, batch 4, dt 0.05, 1 and 2 threads
    python3 bench/reference/sample_bench.py --json --reps 1 --dt 0.25

Per step t -> t - dt, the work of `diracSample` (src/dirac/sample/sampler.ts) without guidance, look-ahead rule:

    x0 = y + F(y, sigma_t)                      one network evaluation of the batch (eval mode)
    y^ = A_t(x0);  R = A_{t-dt}(x0) - y^
    y  = y + R + (sigma_t^2 - sigma_{t-dt}^2) / sigma_t^2 (y^ - y) + sqrt(sigma_t^2 - sigma_{t-dt}^2) z
    eps_dc = mean((y~ - A_1(x0))^2) per image, read back (the sampler records it every step)

A_t is the Gaussian blur of train_bench.py (separable, reflect padding) with std linear in t from --std-min to
--std-max, sigma_t = 0.01 * 5^t: the quickstart's process (pipelines/quickstart-blur.yaml) up to its fitted
schedule, which changes the blur widths but not the work. The time grid is `timeGrid(dt, 0)`. One timed run is
a whole trajectory of one batch; NFE/s counts network evaluations per image: batch * steps / seconds.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from songunet import PRESETS, SongUNet, parameter_count  # noqa: E402
from train_bench import blur, timed  # noqa: E402


def time_grid(dt, stop_t=0.0, start_t=1.0):
    """src/dirac/sample/time-grid.ts: t_this = start - dt i (float32), t_next = t_this - dt, stop below stop_t."""
    f32 = np.float32
    steps = []
    for i in range(int(start_t / dt)):
        t_this = float(f32(start_t - dt * i))
        t_next = float(f32(f32(t_this) - f32(dt)))
        steps.append((t_this, max(t_next, 0.0)))
        if f32(stop_t) > t_next:
            break
    return steps


def sample(net, y_tilde, args, gen):
    """One trajectory; returns the per-step eps_dc lists (read back like the tfjs sampler does)."""
    n = y_tilde.shape[0]

    def std(t):
        return args.std_min + (args.std_max - args.std_min) * t

    def sigma(t):
        return 0.01 * 5.0 ** t

    def A(x, t):
        return blur(x, [std(t)] * n)

    y = y_tilde.clone()
    records = []
    for t_this, t_next in time_grid(args.dt):
        s_this, s_next = sigma(t_this), sigma(t_next)
        d_var = s_this * s_this - s_next * s_next
        x0 = y + net(y, torch.full((n,), s_this))
        noise = torch.randn(y.shape, generator=gen) * np.sqrt(max(d_var, 0.0))
        y_hat = A(x0, t_this)
        y = y + (A(x0, t_next) - y_hat) + (y_hat - y) * (d_var / (s_this * s_this)) + noise
        records.append((y_tilde - A(x0, 1.0)).square().mean(dim=(1, 2, 3)).tolist())
    return records


def measure(threads, args):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    preset = PRESETS[args.preset]
    net = SongUNet(**preset).eval()
    res = preset["img_resolution"]
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(args.batch, 3, res, res, generator=gen)
    y_tilde = blur(x, [args.std_max] * args.batch) + 0.05 * torch.randn(x.shape, generator=gen)
    steps = len(time_grid(args.dt))
    load0 = os.getloadavg()[0]
    with torch.inference_mode():
        run = timed(lambda: sample(net, y_tilde, args, gen), args.warmup, args.reps)
    return {
        "threads": torch.get_num_threads(),
        "run": run,
        "steps": steps,
        "nfePerSecond": args.batch * steps / run["seconds"],
        "load": [load0, os.getloadavg()[0]],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="tiny-32", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--dt", type=float, default=0.05)
    p.add_argument("--std-min", type=float, default=0.3)
    p.add_argument("--std-max", type=float, default=1.5)
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = p.parse_args()

    result = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "params": parameter_count(SongUNet(**PRESETS[args.preset])),
        "runs": [measure(int(n), args) for n in args.threads.split(",")],
        # ru_maxrss is in KiB on Linux
        "maxRssMiB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"torch {result['torch']}, {args.preset} ({result['params']:,} params), batch {args.batch}, dt {args.dt}")
    for r in result["runs"]:
        t = r["run"]
        print(f"{r['threads']} thr: {t['seconds']:.3f} s per trajectory of {r['steps']} steps (min {t['min']:.3f}) = {r['nfePerSecond']:.1f} NFE/s")


if __name__ == "__main__":
    main()
