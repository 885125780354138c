"""PyTorch reference timings for bench/train.ts: the SongUNet training step and forward pass on the CPU.

    python3 bench/reference/train_bench.py                      # 2 threads, NCHW and channels_last, table on stdout
    python3 bench/reference/train_bench.py --threads 1,2
    python3 bench/reference/train_bench.py --preset tiny-32 --batch 2   # another preset of songunet.py
    python3 bench/reference/train_bench.py --json --check DIR   # what bench/train.ts runs (last stdout line: JSON)

Needs torch (`pip install torch`: a CPU build). The training step is the one of `Trainer.trainStep`
(src/dirac/train/trainer.ts) with the paper's blur process: per image t ~ U[0,1), blur std from the official
102-point table, sigma_t = 0.01 * 5^t; y = A_t(x) + sigma_t z; x0 = y + F(y, sigma_t);
L = mean_i w_i ||A_{t_i - dt}(x0 - x)_i||^2 with w_i = 1 / (sigma_i^2 + 1e-9) (dt = 0 by default, the train
node's default); backward; gradient norm; torch.optim.Adam(lr=1e-4). A_t is the separable Gaussian blur with
reflect padding (radius int(6 std + 0.5)), here as two depthwise 1-D convolutions over all B*3 planes.
`torch.set_num_threads(n)` for each `--threads` count in turn (one process).

Each timing: `--warmup` untimed steps, then the median (and min) of `--reps` timed steps. Input data: a fixed pool
of uniform-random images (the pixels do not change the cost).

`--check DIR` (written by bench/train.ts): loads the tfjs network's weights (safetensors, official names, PyTorch
layouts), runs the same eval forward pass on the same input and reports the largest difference of F(y, sigma).
"""

import argparse
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from songunet import PRESETS, SongUNet, parameter_count  # noqa: E402

# configs/schedules/blur_schedule.txt: std at t = i / 101, the table the TypeScript code uses
# (src/dirac/operators/official-blur-table.ts reads the same file).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "dirac", "operators", "official-blur-table.json")) as f:
    OFFICIAL_BLUR_STD = json.load(f)
BLUR_T = np.linspace(0.0, 1.0, len(OFFICIAL_BLUR_STD))
MAX_RADIUS = 30  # kernel_size 61


def blur_std(t):
    return float(np.interp(t, BLUR_T, OFFICIAL_BLUR_STD))


def noise_sigma(t):
    return 0.01 * 5.0 ** t


def blur(x, stds):
    """A_t per image: separable Gaussian (taps normalised over |k| <= int(6 std + 0.5)), reflect padding, on x's
    device (the radius stays below the image size, which reflect padding needs)."""
    b, c, h, w = x.shape
    radii = [min(int(6 * s + 0.5), MAX_RADIUS, h - 1, w - 1) for s in stds]
    r = max(radii)
    taps = torch.zeros(b, 2 * r + 1)
    for i, (s, ri) in enumerate(zip(stds, radii)):
        k = torch.arange(-ri, ri + 1, dtype=torch.float64)
        g = torch.exp(-(k * k) / (2 * s * s))
        taps[i, r - ri : r + ri + 1] = (g / g.sum()).float()
    taps = taps.to(x.device).repeat_interleave(c, 0)  # [B*C, 2r+1]; zero taps beyond r_i make the wider reflect pad exact
    planes = F.pad(x.reshape(1, b * c, h, w), (r, r, r, r), mode="reflect")
    planes = F.conv2d(planes, taps.view(b * c, 1, 2 * r + 1, 1), groups=b * c)
    planes = F.conv2d(planes, taps.view(b * c, 1, 1, 2 * r + 1), groups=b * c)
    return planes.reshape(b, c, h, w)


def train_step(net, opt, x, t, z, dt, memory_format):
    """One Trainer.trainStep: returns (loss, grad norm)."""
    stds = [blur_std(ti) for ti in t]
    sigmas = torch.tensor([noise_sigma(ti) for ti in t], dtype=torch.float32)
    y = (blur(x, stds) + z * sigmas.view(-1, 1, 1, 1)).contiguous(memory_format=memory_format)
    x0 = y + net(y, sigmas)
    error = x0 - x
    seen = error if dt >= 1 else blur(error, [blur_std(max(ti - dt, 0.0)) for ti in t])
    per_image = seen.square().sum(dim=(1, 2, 3))
    loss = (per_image / (sigmas * sigmas + 1e-9)).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    grad_norm = torch.sqrt(sum(p.grad.square().sum() for p in net.parameters() if p.grad is not None))
    lv = loss.item()
    opt.step()
    return lv, grad_norm.item()


def timed(f, warmup, reps):
    for _ in range(warmup):
        f()
    runs = []
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        runs.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    return {"seconds": sorted(runs)[len(runs) // 2], "min": min(runs), "cpuPerWall": cpu / (time.perf_counter() - wall0), "runs": runs}


def measure(layout, threads, args):
    torch.set_num_threads(threads)
    memory_format = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    torch.manual_seed(0)
    net = SongUNet(**PRESETS[args.preset]).to(memory_format=memory_format)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    res = PRESETS[args.preset]["img_resolution"]
    gen = torch.Generator().manual_seed(1)
    pool = torch.rand(64, 3, res, res, generator=gen).contiguous(memory_format=memory_format)
    state = {"pos": 0, "losses": []}

    def step():
        idx = [(state["pos"] + i) % pool.shape[0] for i in range(args.batch)]
        state["pos"] += args.batch
        x = pool[idx].contiguous(memory_format=memory_format)
        t = torch.rand(args.batch, generator=gen, dtype=torch.float64).tolist()
        z = torch.randn(x.shape, generator=gen).contiguous(memory_format=memory_format)
        loss, _ = train_step(net, opt, x, t, z, args.dt, memory_format)
        state["losses"].append(loss)

    net.train()
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    step()
    first = time.perf_counter() - t0
    train = timed(step, args.warmup, args.reps)

    net.eval()
    y = pool[: args.batch].clone().contiguous(memory_format=memory_format)
    sigma = torch.tensor([0.01 * 5 ** (i / max(1, args.batch - 1)) for i in range(args.batch)])

    def fwd():
        with torch.inference_mode():
            (y + net(y, sigma)).sum().item()

    forward = timed(fwd, args.warmup, args.reps)
    return {
        "layout": layout,
        "threads": torch.get_num_threads(),
        "step": train,
        "forward": forward,
        "firstStepSeconds": first,
        "load": [load0, os.getloadavg()[0]],
        "lossFirst": state["losses"][0],
        "lossLast": state["losses"][-1],
    }


def read_safetensors(path):
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        data = fh.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", (name, info["dtype"])
        a, b = info["data_offsets"]
        out[name] = torch.frombuffer(bytearray(data[a:b]), dtype=torch.float32).reshape(info["shape"])
    return out


def check_against_tfjs(directory, preset):
    """Same weights and input as the tfjs network: largest |F_torch - F_tfjs| relative to max |F_tfjs|."""
    with open(os.path.join(directory, "meta.json")) as fh:
        meta = json.load(fh)
    net = SongUNet(**PRESETS[preset])
    missing, unexpected = net.load_state_dict(read_safetensors(os.path.join(directory, "weights.safetensors")), strict=False)
    net.eval()

    def raw(name, shape):
        return torch.from_numpy(np.fromfile(os.path.join(directory, name), dtype="<f4").reshape(shape))

    y = raw("y.f32", meta["y"]).permute(0, 3, 1, 2).contiguous()  # NHWC -> NCHW
    sigma = raw("sigma.f32", meta["sigma"])
    expected = raw("f.f32", meta["f"]).permute(0, 3, 1, 2)
    with torch.no_grad():
        got = net(y, sigma)
    scale = expected.abs().max().item()
    return {
        "missing": list(missing),
        "unexpected": list(unexpected),
        "maxAbsDiff": (got - expected).abs().max().item(),
        "maxAbs": scale,
        "relDiff": (got - expected).abs().max().item() / scale,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--preset", default="small-64", choices=sorted(PRESETS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", default="2", help="comma-separated thread counts, e.g. 1,2")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--dt", type=float, default=0.0)
    p.add_argument("--layouts", default="nchw,channels_last")
    p.add_argument("--check", default=None, help="directory written by bench/train.ts (weights, input, tfjs output)")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of a table")
    args = p.parse_args()

    net = SongUNet(**PRESETS[args.preset])
    result = {
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "params": parameter_count(net),
        "runs": [measure(layout, int(n), args) for n in args.threads.split(",") for layout in args.layouts.split(",")],
    }
    result["maxRssMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if args.check:
        result["check"] = check_against_tfjs(args.check, args.preset)
    if args.json:
        print(json.dumps(result))
        return
    print(f"torch {result['torch']}, {result['params']:,} params, batch {args.batch}")
    for r in result["runs"]:
        s, f = r["step"], r["forward"]
        print(
            f"{r['threads']} thr {r['layout']:>14}: train {s['seconds']:.3f} s (min {s['min']:.3f}, cpu {s['cpuPerWall']:.2f}x) = {args.batch / s['seconds']:.1f} img/s; "
            f"forward {f['seconds']:.3f} s (min {f['min']:.3f}); loss {r['lossFirst']:.4f} -> {r['lossLast']:.4f}"
        )
    if "check" in result:
        print("check against tfjs:", result["check"])


if __name__ == "__main__":
    main()
