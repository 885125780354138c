"""A compact PyTorch SongUNet for bench/train.ts (reference timings only; not used by the pipeline or tests).

Written for this benchmark after EDM's `training/networks.py` as DiracDiffusion configures it (see
shared/reference/dirac-official-code.md section 5.2): Fourier noise embedding with the sin/cos swap, residual
encoder with fused-downsampling aux paths, standard decoder, [1,3,3,1] FIR resampling, UNetBlocks with
adaptive_scale=False, resample_proj=True, one attention head, skip_scale sqrt(1/2), GroupNorm eps 1e-6 with
min(32, C // 4) groups. Only the options the Dirac configs use exist here (no labels, no augment labels,
no 'skip' encoder/decoder, no positional embedding, no fused upsampling).

State-dict names and shapes are EDM's, so weights saved by the tfjs port (`saveWeights`) load with
`load_state_dict`; bench/reference/train_bench.py uses that to check both networks compute the same function.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def weight_init(shape, fan_in, fan_out):
    """EDM `weight_init(mode='xavier_uniform')`."""
    return math.sqrt(6 / (fan_in + fan_out)) * (torch.rand(*shape) * 2 - 1)


class Linear(nn.Module):
    def __init__(self, in_features, out_features, init_weight=1.0):
        super().__init__()
        self.weight = nn.Parameter(weight_init([out_features, in_features], in_features, out_features) * init_weight)
        self.bias = nn.Parameter(torch.zeros(out_features))

    def forward(self, x):
        return x @ self.weight.t() + self.bias


class Conv2d(nn.Module):
    """EDM Conv2d: optional FIR up/down resampling (first), then the kernel; `fused_resample` only for down."""

    def __init__(self, in_channels, out_channels, kernel, up=False, down=False, resample_filter=(1, 3, 3, 1), fused_resample=False, init_weight=1.0):
        super().__init__()
        assert not (up and down) and not (fused_resample and up)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.up, self.down, self.fused_resample = up, down, fused_resample
        if kernel:
            fan_in, fan_out = in_channels * kernel * kernel, out_channels * kernel * kernel
            self.weight = nn.Parameter(weight_init([out_channels, in_channels, kernel, kernel], fan_in, fan_out) * init_weight)
            self.bias = nn.Parameter(torch.zeros(out_channels))
        else:
            self.weight = None
            self.bias = None
        f = torch.as_tensor(resample_filter, dtype=torch.float32)
        f = f.ger(f).unsqueeze(0).unsqueeze(1) / f.sum().square()
        self.register_buffer("resample_filter", f if up or down else None)

    def forward(self, x):
        w, b, f = self.weight, self.bias, self.resample_filter
        w_pad = w.shape[-1] // 2 if w is not None else 0
        f_pad = (f.shape[-1] - 1) // 2 if f is not None else 0
        if self.fused_resample and self.down and w is not None:
            x = F.conv2d(x, w, padding=w_pad + f_pad)
            x = F.conv2d(x, f.tile([self.out_channels, 1, 1, 1]), groups=self.out_channels, stride=2)
        else:
            if self.up:
                x = F.conv_transpose2d(x, f.mul(4).tile([self.in_channels, 1, 1, 1]), groups=self.in_channels, stride=2, padding=f_pad)
            if self.down:
                x = F.conv2d(x, f.tile([self.in_channels, 1, 1, 1]), groups=self.in_channels, stride=2, padding=f_pad)
            if w is not None:
                x = F.conv2d(x, w, padding=w_pad)
        if b is not None:
            x = x + b.reshape(1, -1, 1, 1)
        return x


class GroupNorm(nn.Module):
    def __init__(self, num_channels, num_groups=32, min_channels_per_group=4, eps=1e-6):
        super().__init__()
        self.num_groups = min(num_groups, num_channels // min_channels_per_group)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x):
        return F.group_norm(x, num_groups=self.num_groups, weight=self.weight, bias=self.bias, eps=self.eps)


class UNetBlock(nn.Module):
    def __init__(self, in_channels, out_channels, emb_channels, up=False, down=False, attention=False, dropout=0.0, resample_filter=(1, 3, 3, 1)):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.dropout = dropout
        self.skip_scale = math.sqrt(0.5)
        self.norm0 = GroupNorm(in_channels)
        self.conv0 = Conv2d(in_channels, out_channels, 3, up=up, down=down, resample_filter=resample_filter)
        self.affine = Linear(emb_channels, out_channels)
        self.norm1 = GroupNorm(out_channels)
        self.conv1 = Conv2d(out_channels, out_channels, 3, init_weight=1e-5)
        self.skip = None
        if out_channels != in_channels or up or down:
            self.skip = Conv2d(in_channels, out_channels, 1, up=up, down=down, resample_filter=resample_filter)
        self.attention = attention
        if attention:
            self.norm2 = GroupNorm(out_channels)
            self.qkv = Conv2d(out_channels, out_channels * 3, 1, init_weight=math.sqrt(0.2))
            self.proj = Conv2d(out_channels, out_channels, 1, init_weight=1e-5)

    def forward(self, x, emb):
        orig = x
        x = self.conv0(F.silu(self.norm0(x)))
        x = F.silu(self.norm1(x + self.affine(emb).unsqueeze(2).unsqueeze(3)))
        x = self.conv1(F.dropout(x, p=self.dropout, training=self.training))
        x = (x + (self.skip(orig) if self.skip is not None else orig)) * self.skip_scale
        if self.attention:
            n, c = x.shape[0], x.shape[1]
            q, k, v = self.qkv(self.norm2(x)).reshape(n, c, 3, -1).unbind(2)  # channel-interleaved, as EDM
            w = torch.einsum("ncq,nck->nqk", q, k / np.sqrt(c)).softmax(dim=2)
            a = torch.einsum("nqk,nck->ncq", w, v)
            x = (self.proj(a.reshape(*x.shape)) + x) * self.skip_scale
        return x


class FourierEmbedding(nn.Module):
    def __init__(self, num_channels, scale=16):
        super().__init__()
        self.register_buffer("freqs", torch.randn(num_channels // 2) * scale)

    def forward(self, x):
        x = x.ger(2 * np.pi * self.freqs)
        return torch.cat([x.cos(), x.sin()], dim=1)


class SongUNet(nn.Module):
    """EDM SongUNet(embedding_type='fourier', encoder_type='residual', decoder_type='standard')."""

    def __init__(
        self,
        img_resolution,
        in_channels=3,
        out_channels=3,
        model_channels=128,
        channel_mult=(1, 2, 2, 2),
        channel_mult_emb=4,
        num_blocks=4,
        attn_resolutions=(16,),
        dropout=0.10,
        channel_mult_noise=2,
        resample_filter=(1, 3, 3, 1),
    ):
        super().__init__()
        emb_channels = model_channels * channel_mult_emb
        noise_channels = model_channels * channel_mult_noise
        blk = dict(emb_channels=emb_channels, dropout=dropout, resample_filter=resample_filter)

        self.map_noise = FourierEmbedding(noise_channels)
        self.map_layer0 = Linear(noise_channels, emb_channels)
        self.map_layer1 = Linear(emb_channels, emb_channels)

        self.enc = nn.ModuleDict()
        cout = in_channels
        caux = in_channels
        for level, mult in enumerate(channel_mult):
            res = img_resolution >> level
            if level == 0:
                cin = cout
                cout = model_channels
                self.enc[f"{res}x{res}_conv"] = Conv2d(cin, cout, 3)
            else:
                self.enc[f"{res}x{res}_down"] = UNetBlock(cout, cout, down=True, **blk)
                self.enc[f"{res}x{res}_aux_residual"] = Conv2d(caux, cout, 3, down=True, resample_filter=resample_filter, fused_resample=True)
                caux = cout
            for idx in range(num_blocks):
                cin = cout
                cout = model_channels * mult
                self.enc[f"{res}x{res}_block{idx}"] = UNetBlock(cin, cout, attention=(res in attn_resolutions), **blk)
        skips = [b.out_channels for name, b in self.enc.items() if "aux" not in name]

        self.dec = nn.ModuleDict()
        for level, mult in reversed(list(enumerate(channel_mult))):
            res = img_resolution >> level
            if level == len(channel_mult) - 1:
                self.dec[f"{res}x{res}_in0"] = UNetBlock(cout, cout, attention=True, **blk)
                self.dec[f"{res}x{res}_in1"] = UNetBlock(cout, cout, **blk)
            else:
                self.dec[f"{res}x{res}_up"] = UNetBlock(cout, cout, up=True, **blk)
            for idx in range(num_blocks + 1):
                cin = cout + skips.pop()
                cout = model_channels * mult
                attn = idx == num_blocks and res in attn_resolutions
                self.dec[f"{res}x{res}_block{idx}"] = UNetBlock(cin, cout, attention=attn, **blk)
            if level == 0:
                self.dec[f"{res}x{res}_aux_norm"] = GroupNorm(cout)
                self.dec[f"{res}x{res}_aux_conv"] = Conv2d(cout, out_channels, 3, init_weight=1e-5)

    def forward(self, x, noise_labels):
        emb = self.map_noise(noise_labels)
        emb = emb.reshape(emb.shape[0], 2, -1).flip(1).reshape(*emb.shape)  # [sin, cos]
        emb = F.silu(self.map_layer0(emb))
        emb = F.silu(self.map_layer1(emb))

        skips = []
        aux = x
        for name, block in self.enc.items():
            if "aux_residual" in name:
                x = skips[-1] = aux = (x + block(aux)) / np.sqrt(2)
            else:
                x = block(x, emb) if isinstance(block, UNetBlock) else block(x)
                skips.append(x)

        aux = None
        tmp = None
        for name, block in self.dec.items():
            if "aux_norm" in name:
                tmp = block(x)
            elif "aux_conv" in name:
                tmp = block(F.silu(tmp))
                aux = tmp if aux is None else tmp + aux
            else:
                if x.shape[1] != block.in_channels:
                    x = torch.cat([x, skips.pop()], dim=1)
                x = block(x, emb)
        return aux


# The tfjs preset `small-64` (src/dirac/network/config.ts).
SMALL_64 = dict(
    img_resolution=64,
    model_channels=32,
    channel_mult=(1, 1, 2, 2, 2),
    num_blocks=2,
    attn_resolutions=(16,),
    channel_mult_emb=4,
    channel_mult_noise=2,
    dropout=0.1,
    resample_filter=(1, 3, 3, 1),
)

# The tfjs preset `tiny-32`, the network of pipelines/quickstart-*.yaml.
TINY_32 = dict(SMALL_64, img_resolution=32, model_channels=16, channel_mult=(1, 2, 2, 2), num_blocks=1, attn_resolutions=(8,))

TINY_16 = dict(SMALL_64, img_resolution=16, model_channels=8, channel_mult=(1, 2), num_blocks=1, attn_resolutions=(8,))
PRESETS = {"small-64": SMALL_64, "tiny-32": TINY_32, "tiny-16": TINY_16}


def parameter_count(net):
    """Learned parameters (buffers such as `freqs` and `resample_filter` excluded), as `unetParameterCount`."""
    return sum(p.numel() for p in net.parameters())
