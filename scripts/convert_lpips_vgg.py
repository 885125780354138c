#!/usr/bin/env python3
"""Write LPIPS-VGG (v0.1) weights as safetensors for dirac-pipe's `lpips-vgg` metric.

Run where torch, lpips and safetensors are installed (not by the tests):

    pip install torch torchvision lpips safetensors
    python scripts/convert_lpips_vgg.py lpips-vgg.safetensors

lpips.LPIPS(net='vgg') loads torchvision's ImageNet VGG16 and the v0.1 linear heads
(shipped inside the lpips wheel); torchvision may download the VGG16 weights once into
its cache. The file keeps the official state_dict names and PyTorch layouts:

    net.slice{1..5}.{i}.weight / .bias   VGG16 conv [out, in, 3, 3] / [out]
    lin{0..4}.model.1.weight             [1, C, 1, 1]
    scaling_layer.shift / .scale         [1, 3, 1, 1]

Then, in a pipeline or in code:  perceptualMetric("lpips-vgg", { weights: "lpips-vgg.safetensors" }).
With --check IMAGE_A IMAGE_B it also prints LPIPS for two images (any size, RGB) so the
number can be compared with dirac-pipe's.
"""
import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", help="safetensors file to write")
    parser.add_argument("--check", nargs=2, metavar=("IMAGE_A", "IMAGE_B"), help="print LPIPS of two images")
    args = parser.parse_args()

    import lpips
    import torch
    from safetensors.torch import save_file

    model = lpips.LPIPS(net="vgg", version="0.1", verbose=False).eval()
    state = model.state_dict()
    # LPIPS registers the heads twice (lin{k} and lins.{k}); safetensors refuses shared
    # tensors, so keep one name of each and copy every tensor.
    tensors = {
        name: value.detach().to(torch.float32).contiguous().clone()
        for name, value in state.items()
        if name.startswith(("net.", "lin", "scaling_layer.")) and not name.startswith("lins.")
    }
    expected = 13 * 2 + 5 + 2
    if len(tensors) != expected:
        print(f"unexpected state_dict: {len(tensors)} tensors, expected {expected}: {sorted(tensors)}", file=sys.stderr)
        return 1
    save_file(tensors, args.output, metadata={"lpips.net": "vgg", "lpips.version": "0.1", "lpips.package": lpips.__version__ if hasattr(lpips, "__version__") else "unknown"})
    print(f"wrote {args.output}: {len(tensors)} tensors, {sum(t.numel() for t in tensors.values())} values")

    if args.check:
        import numpy as np
        from PIL import Image

        def load(path):
            x = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
            return torch.from_numpy(x).permute(2, 0, 1)[None] * 2 - 1  # [0,1] -> [-1,1], as DiracDiffusion

        with torch.no_grad():
            print("LPIPS:", float(model(load(args.check[0]), load(args.check[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
