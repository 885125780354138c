"""PyTorch side of bench/gpu: the same network, training step and sampler step as bench/gpu/bench-gpu.ts, on CUDA.

    python3 bench/gpu/torch_gpu.py --presets presets.json --configs tiny-32@32x8,base@256x4 [--device cuda]

presets.json comes from `bench-gpu --presets` (the project's own preset table, so both sides build the same
network from bench/reference/songunet.py). One JSON object per line, like bench-gpu.ts. Precisions: fp32 with
PyTorch's defaults (cuDNN may use TF32 for convolutions), strict fp32 (TF32 off: the arithmetic tfjs and ONNX
Runtime do), and bf16 autocast (what the official training used).
"""

import argparse
import json
import os
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "reference"))
from songunet import SongUNet, parameter_count  # noqa: E402
from train_bench import blur, blur_std, noise_sigma  # noqa: E402

KWARGS = ["img_resolution", "in_channels", "out_channels", "model_channels", "channel_mult", "channel_mult_emb",
          "num_blocks", "attn_resolutions", "dropout", "channel_mult_noise", "resample_filter"]


def timed(f, warmup, reps, sync):
    for _ in range(warmup):
        f()
    sync()
    runs = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        sync()
        runs.append(time.perf_counter() - t0)
    return sorted(runs)[len(runs) // 2], min(runs)


def run_config(preset_args, name, res, batch, device, precision, args):
    torch.backends.cudnn.allow_tf32 = precision != "fp32-strict"
    torch.backends.cuda.matmul.allow_tf32 = False
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16-autocast")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    torch.manual_seed(0)
    net = SongUNet(**{k: preset_args[k] for k in KWARGS}).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    gen = torch.Generator(device=device).manual_seed(1)
    pool = torch.rand(2 * batch, 3, res, res, generator=gen, device=device)
    state = {"pos": 0}

    def train_step():
        idx = [(state["pos"] + i) % pool.shape[0] for i in range(batch)]
        state["pos"] += batch
        x = pool[idx]
        t = torch.rand(batch, dtype=torch.float64).tolist()
        sigmas = torch.tensor([noise_sigma(ti) for ti in t], dtype=torch.float32, device=device)
        y = blur(x, [blur_std(ti) for ti in t]) + torch.randn(x.shape, generator=gen, device=device) * sigmas.view(-1, 1, 1, 1)
        with autocast:
            x0 = y + net(y, sigmas)
        error = (x0.float() - x)
        loss = ((error * error).sum(dim=(1, 2, 3)) / (sigmas * sigmas + 1e-9)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.sqrt(sum(p.grad.square().sum() for p in net.parameters() if p.grad is not None))
        opt.step()
        return loss.item()

    net.train()
    step, step_min = timed(train_step, args.warmup, args.reps, sync)
    common = {"engine": f"pytorch-{device}-{precision}", "device": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "preset": name, "resolution": res, "batch": batch, "params": parameter_count(net)}
    print(json.dumps({"kind": "train", **common, "stepSeconds": step, "minStepSeconds": step_min, "imagesPerSecond": batch / step}), flush=True)

    net.eval()
    steps = args.sampler_steps
    y0 = blur(pool[:batch], [blur_std(1.0)] * batch) + 0.05 * torch.randn(batch, 3, res, res, generator=gen, device=device)

    def sample():
        y = y0.clone()
        with torch.inference_mode(), autocast:
            for i in range(steps):
                t, tn = 1 - i / steps, max(1 - (i + 1) / steps, 0.0)
                s, sn = noise_sigma(t), noise_sigma(tn)
                x0 = (y + net(y, torch.full((batch,), s, device=device))).float()
                y_hat = blur(x0, [blur_std(t)] * batch)
                y_next = blur(x0, [blur_std(tn)] * batch)
                dvar = s * s - sn * sn
                y = y + (y_next - y_hat) + dvar / (s * s) * (y_hat - y) + dvar ** 0.5 * torch.randn(y.shape, generator=gen, device=device)
        return y

    total, total_min = timed(sample, 1, min(args.reps, 3), sync)
    per = total / steps
    print(json.dumps({"kind": "sample", **common, "stepSeconds": per, "minStepSeconds": total_min / steps,
                      "nfePerSecond": 1 / per, "imageNfePerSecond": batch / per}), flush=True)
    del net, opt
    if device == "cuda":
        torch.cuda.empty_cache()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--presets", required=True)
    p.add_argument("--configs", default="tiny-32@32x8,small-64@64x8")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--precisions", default="fp32,fp32-strict,bf16-autocast")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--sampler-steps", type=int, default=10)
    args = p.parse_args()
    presets = json.load(open(args.presets))
    print(json.dumps({"kind": "backend", "backend": "pytorch", "torch": torch.__version__,
                      "device": torch.cuda.get_device_name() if args.device == "cuda" else "cpu"}), flush=True)
    for config in args.configs.split(","):
        name, rest = config.split("@")
        res, batch = (int(v) for v in rest.split("x"))
        for precision in args.precisions.split(","):
            if args.device != "cuda" and precision != "fp32":
                continue
            try:
                run_config(presets[name], name, res, batch, args.device, precision, args)
            except Exception as error:  # one failed configuration must not lose the others' figures
                print(json.dumps({"kind": "failed", "engine": f"pytorch-{args.device}-{precision}", "preset": name, "reason": str(error)[:300]}), flush=True)


if __name__ == "__main__":
    main()
