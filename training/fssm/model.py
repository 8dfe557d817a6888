"""MambaIR-light, the lightweight super-resolution network, with a selectable scan.

FSSM changes nothing here but the discretisation inside the scan (``scan='foh'``), so the
parameter count is the same in every mode: 905,016 (x2), 913,131 (x3), 924,492 (x4).

Tensor legend: B batch, H x W the low-resolution image, L = H * W tokens, C = 60 channels,
K = 4 scan directions, D = 72 scanned channels per direction, N = d_state.
"""
import math
from dataclasses import asdict, dataclass
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .ops.hold import SCAN_MODES
from .ops.scan_chunked import selective_scan_chunked
from .scan import selective_scan

# Mean RGB of DIV2K, subtracted before the first convolution and added back at the end.
RGB_MEAN = (0.4488, 0.4371, 0.4040)


@dataclass(frozen=True)
class FSSMConfig:
    """Hyper-parameters of MambaIR-light; stored in every checkpoint and model card."""

    scale: int = 2
    scan: str = "foh"
    embed_dim: int = 60
    depths: Tuple[int, ...] = (6, 6, 6, 6)
    d_state: int = 10
    expand: float = 1.2
    cab_squeeze: int = 2  # CAB hidden width = embed_dim / cab_squeeze
    attention_squeeze: int = 30  # channel attention width = embed_dim / attention_squeeze
    drop_path_rate: float = 0.1

    @property
    def d_inner(self) -> int:
        return int(self.expand * self.embed_dim)

    @property
    def dt_rank(self) -> int:
        return math.ceil(self.embed_dim / 16)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(values: dict) -> "FSSMConfig":
        values = dict(values)
        values["depths"] = tuple(values["depths"])
        return FSSMConfig(**values)


class DropPath(nn.Module):
    """Stochastic depth: drops a residual branch per sample with probability ``drop_prob``."""

    def __init__(self, drop_prob: float):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.drop_prob == 0.0:
            return x
        keep = 1.0 - self.drop_prob
        mask_shape = [x.shape[0]] + [1] * (x.dim() - 1)
        mask = torch.empty(mask_shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep


class SS2D(nn.Module):
    """2D selective scan: four directional scans of the feature map, summed.

    Input and output are (B, H, W, C).
    """

    def __init__(self, config: FSSMConfig):
        super().__init__()
        C, D, N, R = config.embed_dim, config.d_inner, config.d_state, config.dt_rank
        K = 4
        self.scan_mode = config.scan
        self.d_inner = D
        self.d_state = N
        self.dt_rank = R

        self.in_proj = nn.Linear(C, 2 * D, bias=False)
        self.conv2d = nn.Conv2d(D, D, kernel_size=3, padding=1, groups=D, bias=True)
        self.x_proj_weight = nn.Parameter(torch.empty(K, R + 2 * N, D))  # per direction: D -> (dt, B, C)
        self.dt_projs_weight = nn.Parameter(torch.empty(K, D, R))
        self.dt_projs_bias = nn.Parameter(torch.empty(K, D))
        self.A_logs = nn.Parameter(torch.empty(K * D, N))
        self.Ds = nn.Parameter(torch.empty(K * D))
        self.out_norm = nn.LayerNorm(D)
        self.out_proj = nn.Linear(D, C, bias=False)
        self.reset_ssm_parameters()

    @torch.no_grad()
    def reset_ssm_parameters(self, dt_min: float = 1e-3, dt_max: float = 1e-1, dt_floor: float = 1e-4):
        """Initialise the SSM as Mamba does: A = -[1..N], D = 1, dt log-uniform in [dt_min, dt_max]."""
        nn.init.trunc_normal_(self.x_proj_weight, std=0.02)
        bound = self.dt_rank ** -0.5
        nn.init.uniform_(self.dt_projs_weight, -bound, bound)

        log_dt = torch.rand_like(self.dt_projs_bias) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        dt = log_dt.exp().clamp(min=dt_floor)
        self.dt_projs_bias.copy_(dt + torch.log(-torch.expm1(-dt)))  # softplus^-1(dt)

        A = torch.arange(1, self.d_state + 1, dtype=torch.float32).repeat(self.A_logs.shape[0], 1)
        self.A_logs.copy_(torch.log(A))
        self.Ds.fill_(1.0)

    def scan_directions(self, x: torch.Tensor) -> torch.Tensor:
        """Scan (B, D, H, W) features in 4 directions; return their sum as (B, D, L)."""
        batch, D, H, W = x.shape
        L = H * W
        K = 4

        row_major = x.reshape(batch, D, L)
        column_major = x.transpose(2, 3).reshape(batch, D, L)
        forward_pair = torch.stack([row_major, column_major], dim=1)  # (B, 2, D, L)
        xs = torch.cat([forward_pair, torch.flip(forward_pair, dims=[-1])], dim=1)  # (B, K, D, L)

        # Per-direction projections as matrix products broadcast over (B, K). They read xs in
        # place. einsum (torch 1.13) moved the direction axis first instead, with a transposed
        # copy in the forward and another in the backward.
        x_dbl = torch.matmul(self.x_proj_weight, xs)  # (B, K, R + 2N, L)
        dts, Bs, Cs = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=2)
        dts = torch.matmul(self.dt_projs_weight, dts)  # (B, K, D, L)

        u = xs.reshape(batch, K * D, L)
        delta = dts.reshape(batch, K * D, L)
        A = -torch.exp(self.A_logs.float())  # (K * D, N)
        delta_bias = self.dt_projs_bias.reshape(K * D)
        if torch.jit.is_scripting():
            y = selective_scan_chunked(u, delta, A, Bs, Cs, self.Ds, delta_bias, self.scan_mode, True)
        else:
            y = selective_scan(u, delta, A, Bs, Cs, self.Ds, delta_bias, self.scan_mode, True)
        y = y.reshape(batch, K, D, L)

        # Undo the flips and the transpose so every direction is back in row-major order.
        reversed_pair = torch.flip(y[:, 2:4], dims=[-1])
        y_row = y[:, 0] + reversed_pair[:, 0]
        y_column = y[:, 1] + reversed_pair[:, 1]
        y_column = y_column.reshape(batch, D, W, H).transpose(2, 3).reshape(batch, D, L)
        return y_row + y_column

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, H, W, _ = x.shape
        x, z = self.in_proj(x).chunk(2, dim=-1)  # (B, H, W, D) each
        x = F.silu(self.conv2d(x.permute(0, 3, 1, 2).contiguous()))  # (B, D, H, W)
        y = self.scan_directions(x).to(x.dtype)  # (B, D, L)
        y = y.transpose(1, 2).reshape(batch, H, W, self.d_inner)
        y = self.out_norm(y) * F.silu(z)
        return self.out_proj(y)


class DilatedDepthwiseConv2d(nn.Conv2d):
    """3x3 depthwise convolution with dilation 2, trained through an equivalent polyphase form.

    PyTorch's CPU backward of dilated depthwise convolutions is extremely slow (6.8 s for one
    batch of 8 x 72 x 48 x 48 in torch 1.13, against 0.11 s without dilation). A dilation-2
    convolution only mixes pixels of the same row and column parity, so the image is split
    into its four parity sub-images (pixel unshuffle). Each gets a plain 3x3 depthwise
    convolution with the same weights, and pixel shuffle puts them back. The weights and the
    result are those of the dilated convolution; the exported network uses the plain form.
    """

    def __init__(self, channels: int):
        super().__init__(channels, channels, 3, padding=2, dilation=2, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.jit.is_scripting():
            return F.conv2d(x, self.weight, self.bias, 1, 2, 2, self.groups)
        return self.polyphase_forward(x)

    def polyphase_forward(self, x: torch.Tensor) -> torch.Tensor:
        channels, H, W = x.shape[1], x.shape[2], x.shape[3]
        # Zero rows and columns up to even sizes: they are what zero padding reads anyway.
        x = F.pad(x, (0, W % 2, 0, H % 2))
        phases = F.pixel_unshuffle(x, 2)  # (B, 4C, H/2, W/2), channel c*4 + parity
        weight = self.weight.repeat_interleave(4, dim=0)
        bias = self.bias.repeat_interleave(4, dim=0)
        y = F.conv2d(phases, weight, bias, padding=1, groups=4 * channels)
        return F.pixel_shuffle(y, 2)[:, :, :H, :W]


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation: global average pool, bottleneck, sigmoid gate."""

    def __init__(self, channels: int, squeeze: int):
        super().__init__()
        # At least one hidden channel: with none, PyTorch leaves the second bias uninitialised.
        hidden = max(1, channels // squeeze)
        self.attention = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channels, hidden, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.attention(x)


class CAB(nn.Module):
    """Light channel attention block on (B, C, H, W) features."""

    def __init__(self, config: FSSMConfig):
        super().__init__()
        C = config.embed_dim
        hidden = C // config.cab_squeeze
        self.body = nn.Sequential(
            nn.Conv2d(C, hidden, 1),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
            nn.GELU(),
            nn.Conv2d(hidden, C, 1),
            DilatedDepthwiseConv2d(C),
            ChannelAttention(C, config.attention_squeeze),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class VSSBlock(nn.Module):
    """x1 = x * s1 + SS2D(LN(x)); out = x1 * s2 + CAB(LN(x1)), on (B, H, W, C) tokens."""

    def __init__(self, config: FSSMConfig, drop_path: float):
        super().__init__()
        C = config.embed_dim
        self.ln_1 = nn.LayerNorm(C)
        self.self_attention = SS2D(config)
        self.drop_path = DropPath(drop_path)
        self.skip_scale = nn.Parameter(torch.ones(C))
        self.ln_2 = nn.LayerNorm(C)
        self.conv_blk = CAB(config)
        self.skip_scale2 = nn.Parameter(torch.ones(C))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.skip_scale + self.drop_path(self.self_attention(self.ln_1(x)))
        cab = self.conv_blk(self.ln_2(x).permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)
        return x * self.skip_scale2 + cab


class ResidualGroup(nn.Module):
    """VSS blocks, then a 3x3 convolution on the image-shaped features, plus the group's input."""

    def __init__(self, config: FSSMConfig, drop_paths: List[float]):
        super().__init__()
        C = config.embed_dim
        self.blocks = nn.ModuleList([VSSBlock(config, rate) for rate in drop_paths])
        self.conv = nn.Conv2d(C, C, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        for block in self.blocks:
            x = block(x)
        x = self.conv(x.permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)
        return x + shortcut


class MambaIRLight(nn.Module):
    """RGB in [0, 1], (B, 3, H, W) -> (B, 3, scale * H, scale * W), unclamped."""

    def __init__(self, config: FSSMConfig):
        super().__init__()
        if config.scan not in SCAN_MODES:
            raise ValueError(f"unknown scan mode {config.scan!r}; expected one of {', '.join(SCAN_MODES)}")
        if config.scale not in (2, 3, 4):
            raise ValueError(f"scale must be 2, 3 or 4, got {config.scale}")
        self.config = config
        self.scale = config.scale
        self.scan = config.scan
        C = config.embed_dim
        self.register_buffer("mean", torch.tensor(RGB_MEAN).view(1, 3, 1, 1), persistent=False)

        self.conv_first = nn.Conv2d(3, C, 3, padding=1)
        self.embed_norm = nn.LayerNorm(C)
        rates = torch.linspace(0, config.drop_path_rate, sum(config.depths)).tolist()
        groups = []
        start = 0
        for depth in config.depths:
            groups.append(ResidualGroup(config, rates[start:start + depth]))
            start += depth
        self.layers = nn.ModuleList(groups)
        self.norm = nn.LayerNorm(C)
        self.conv_after_body = nn.Conv2d(C, C, 3, padding=1)
        self.upsample = nn.Sequential(
            nn.Conv2d(C, 3 * config.scale ** 2, 3, padding=1),
            nn.PixelShuffle(config.scale),
        )
        self.apply(_init_linear_and_norm)

    def check_input(self, x: torch.Tensor) -> None:
        if x.dim() != 4:
            raise ValueError("expected an image batch of shape (batch, 3, height, width), got " + str(x.dim()) + " dimensions")
        if x.shape[1] != 3:
            raise ValueError("expected 3 (RGB) channels, got " + str(x.shape[1]) + "; replicate grey images to RGB")
        if x.shape[2] < 1 or x.shape[3] < 1:
            raise ValueError("the image is empty")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("the input contains NaN or infinite values; replace them before upscaling")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = x - self.mean
        shallow = self.conv_first(x)  # (B, C, H, W)
        tokens = self.embed_norm(shallow.permute(0, 2, 3, 1))  # (B, H, W, C)
        for group in self.layers:
            tokens = group(tokens)
        deep = self.norm(tokens).permute(0, 3, 1, 2).contiguous()
        x = self.conv_after_body(deep) + shallow
        return self.upsample(x) + self.mean


def _init_linear_and_norm(module: nn.Module) -> None:
    if isinstance(module, nn.Linear):
        nn.init.trunc_normal_(module.weight, std=0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.LayerNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def build(scale: int, scan: str = "foh", **overrides) -> MambaIRLight:
    """Build MambaIR-light for ``scale`` (2, 3 or 4) with ``scan`` ('foh', 'foh1' or 'zoh')."""
    return MambaIRLight(FSSMConfig(scale=scale, scan=scan, **overrides))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
