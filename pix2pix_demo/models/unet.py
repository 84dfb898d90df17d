"""The pix2pix U-Net generator, built from a dataclass config.

Structure (Isola et al. 2017, appendix 6.1.1), recursively from the outside in:

    x ─ down₀ ─ down₁ ─ … ─ down_{n-1} (bottleneck) ─ up_{n-1} ─ … ─ up₁ ─ up₀ ─ tanh
          └──────skip──────┘ (each level's decoder sees [its encoder features, the level below])

Encoder level i has min(base_channels · 2^i, max_channels) channels. With `num_downsamplings`
= n, inputs must have sides divisible by 2^n (`pix2pix_demo.imaging.fit_and_pad` pads them);
n = 8 is the paper's "U-Net-256" (bottleneck 1×1 at 256²), n = 7 suits 128² inputs.

`attention_levels` adds SAGAN self-attention (models/attention.py) to decoder levels: level i
(1 ≤ i ≤ n-1, counted from the outside) works at 1/2^i of the input side, so at 128² level 2 is
32×32 and level n-1 is the one just above the bottleneck; the block sits after the level's
up-sampling, before the skip is concatenated.

`noise_levels` adds StyleGAN's per-pixel noise to decoder levels (same numbering): one Gaussian noise
plane, scaled by a learned weight per channel (starting at 0, so a model fine-tuned with noise begins
exactly as it was), is added after the level's up-sampling: randomness at the scale of fur and hair,
where pix2pix's dropout (only next to the bottleneck) gives none. In training every call draws new
noise; in eval mode the noise is a fixed pattern (seed 0 for every image size), so a drawing always
gives the same picture, stroke after stroke, and an exported model is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from .attention import SelfAttention2d, parse_positions
from .base import ConfiguredModel


UPSAMPLINGS = ("transpose", "resize", "bilinear")


@dataclass
class UNetConfig:
    in_channels: int = 3
    out_channels: int = 3
    base_channels: int = 64  # ngf in pix2pix
    num_downsamplings: int = 8  # 8 = U-Net-256
    max_channels: int = 512  # channel cap (ngf * 8 in the paper)
    norm: str = "batch"  # "batch" | "instance" | "none"
    dropout: float = 0.5  # in the decoder levels just above the bottleneck (the paper's noise)
    dropout_levels: int = 3  # how many decoder levels get dropout (3 in U-Net-256)
    separable: bool = False  # depthwise-separable convolutions in the inner levels (small, fast)
    # "transpose" (paper) | "resize" (nearest ×2 + 3×3 conv: no checkerboard) | "bilinear" (bilinear ×2,
    # align_corners=False, + 3×3 conv: the same parameters as "resize", without nearest's 2-px blocks)
    upsampling: str = "transpose"
    attention_levels: tuple[int, ...] = ()  # decoder levels with SAGAN self-attention (none in the paper)
    noise_levels: tuple[int, ...] = ()  # decoder levels with StyleGAN per-pixel noise (none in the paper)
    # A global condition (e.g. edges2cats' coat colour, RGB in [0, 1]) given to every decoder level as
    # constant planes, as BicycleGAN injects its latent code into every layer; 0 = none (the paper).
    condition_channels: int = 0
    condition_default: list = field(default_factory=list)  # used when forward() gets no condition

    def __post_init__(self):
        if self.norm not in ("batch", "instance", "none"):
            raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {self.norm!r}")
        if self.upsampling not in UPSAMPLINGS:
            raise ValueError(f"upsampling must be 'transpose', 'resize' or 'bilinear', got {self.upsampling!r}")
        if not 2 <= self.num_downsamplings <= 10:
            raise ValueError(f"num_downsamplings must be in 2..10, got {self.num_downsamplings}")
        self.attention_levels = parse_positions(self.attention_levels, "attention_levels")
        outside = [i for i in self.attention_levels if not 1 <= i < self.num_downsamplings]
        if outside:
            raise ValueError(f"attention_levels {outside} outside 1..{self.num_downsamplings - 1} "
                             f"(level i works at 1/2^i of the input side)")
        self.noise_levels = parse_positions(self.noise_levels, "noise_levels")
        outside = [i for i in self.noise_levels if not 1 <= i < self.num_downsamplings]
        if outside:
            raise ValueError(f"noise_levels {outside} outside 1..{self.num_downsamplings - 1} "
                             f"(level i works at 1/2^i of the input side)")
        if self.condition_channels and len(self.condition_default) != self.condition_channels:
            raise ValueError(f"condition_default needs {self.condition_channels} values, got {self.condition_default!r}")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** self.num_downsamplings


PRESETS: dict[str, UNetConfig] = {
    # The paper's generator: 54.4 M parameters, ~170 ms per 256² image on a 2-core CPU.
    "pix2pix-paper": UNetConfig(),
    "unet-128-paper": UNetConfig(num_downsamplings=7),
    # Small and fast presets for the demo (CPU, live drawing).
    "unet-256-ngf32": UNetConfig(base_channels=32, max_channels=256),
    "unet-256-ngf16": UNetConfig(base_channels=16, max_channels=128),
    "unet-256-ngf32-separable": UNetConfig(base_channels=32, max_channels=256, separable=True),
}


def make_norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels)  # affine=False, no running stats, as in pix2pix
    return nn.Identity()


def down_conv(in_ch: int, out_ch: int, bias: bool, separable: bool) -> nn.Module:
    """4×4 stride-2 convolution that halves the spatial size."""
    if separable:
        return nn.Sequential(
            nn.Conv2d(in_ch, in_ch, 4, 2, 1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=bias),
        )
    return nn.Conv2d(in_ch, out_ch, 4, 2, 1, bias=bias)


# Which 3x3 taps land on each tap of the equivalent 4x4 stride-2 transposed convolution, per axis:
# row k of this 4x3 matrix sums the 3x3 taps that the transposed kernel's tap k stands for.
_RESIZE_TAPS = torch.tensor([[0, 0, 1], [0, 1, 1], [1, 1, 0], [1, 0, 0]], dtype=torch.float32)


class NearestUpConv(nn.Sequential):
    """Nearest-neighbour ×2 up-sampling, then a 3×3 convolution (no checkerboard artefacts).

    Computed as the equivalent 4×4 stride-2 transposed convolution, whose kernel is sums of the 3×3
    taps: the same result (up to float rounding) at 16 instead of 36 multiply-adds per input pixel
    and channel pair, and no up-sampled copy of the input. Kept as Sequential(Upsample, Conv2d) so
    the parameters are named like the plain two-layer version. Outside training the 4×4 kernel is
    built once and reused until the weights change."""

    def __init__(self, in_ch: int, out_ch: int, bias: bool):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias))
        self._cache: tuple | None = None

    def transposed_kernel(self) -> torch.Tensor:
        weight = self[1].weight  # (out, in, 3, 3)
        taps = _RESIZE_TAPS.to(weight.device, weight.dtype)
        return torch.einsum("kr,oirc,lc->iokl", taps, weight, taps).contiguous()  # (in, out, 4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self[1].weight
        if self.training and torch.is_grad_enabled():
            kernel = self.transposed_kernel()
        else:
            key = (id(weight), weight.data_ptr(), weight._version, weight.device, weight.dtype)
            if self._cache is None or self._cache[0] != key:
                with torch.no_grad():
                    self._cache = (key, self.transposed_kernel())
            kernel = self._cache[1]
        return F.conv_transpose2d(x, kernel.to(x.dtype), self[1].bias, stride=2, padding=1)


def up_conv(in_ch: int, out_ch: int, bias: bool, separable: bool, upsampling: str) -> nn.Module:
    """Doubles the spatial size: a 4×4 stride-2 transposed conv, or nearest / bilinear resize then a 3×3 conv."""
    if upsampling == "bilinear":  # parameters named as in "resize", so either initialises the other
        resize = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        if separable:
            return nn.Sequential(resize, nn.Conv2d(in_ch, in_ch, 3, 1, 1, groups=in_ch, bias=False),
                                 nn.Conv2d(in_ch, out_ch, 1, bias=bias))
        return nn.Sequential(resize, nn.Conv2d(in_ch, out_ch, 3, 1, 1, bias=bias))
    if upsampling == "resize":
        if separable:
            return nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                nn.Conv2d(in_ch, in_ch, 3, 1, 1, groups=in_ch, bias=False),
                nn.Conv2d(in_ch, out_ch, 1, bias=bias),
            )
        return NearestUpConv(in_ch, out_ch, bias)
    if separable:
        return nn.Sequential(
            nn.ConvTranspose2d(in_ch, in_ch, 4, 2, 1, groups=in_ch, bias=False),
            nn.Conv2d(in_ch, out_ch, 1, bias=bias),
        )
    return nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1, bias=bias)


class NoiseInjection(nn.Module):
    """x + weight · noise: one (N, 1, H, W) Gaussian plane shared by the channels, a learned weight per
    channel (0 at first). Fresh noise in training; in eval mode the same pattern for a given size."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self._fixed: dict[tuple, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        if self.training:
            noise = torch.randn(n, 1, h, w, device=x.device, dtype=x.dtype)
        else:
            key = (h, w, x.device, x.dtype)
            if key not in self._fixed:
                generator = torch.Generator().manual_seed(0)
                self._fixed[key] = torch.randn(1, 1, h, w, generator=generator).to(x.device, x.dtype)
            noise = self._fixed[key].expand(n, -1, -1, -1)
        return x + self.weight.to(x.dtype) * noise


class UNetLevel(nn.Module):
    """One level of the U-Net: down-sample, run the inner levels, up-sample, concatenate the skip."""

    def __init__(self, outer_ch: int, inner_ch: int, config: UNetConfig, inner: nn.Module | None,
                 outermost: bool = False, in_ch: int | None = None, dropout: float = 0.0,
                 attention: bool = False, noise: bool = False):
        super().__init__()
        in_ch = outer_ch if in_ch is None else in_ch
        cond = config.condition_channels  # concatenated to the input of every up-sampling
        use_bias = config.norm != "batch"  # batch norm has its own shift
        # The outermost convolutions see 3-channel images or produce them: keep them full.
        separable = config.separable and not outermost
        self.outermost = outermost
        down = [down_conv(in_ch, inner_ch, use_bias, separable)]
        if outermost:
            up = [nn.ReLU(True), up_conv(inner_ch * 2 + cond, outer_ch, True, False, config.upsampling), nn.Tanh()]
        elif inner is None:  # bottleneck: no norm on its down path (1×1 at 256²)
            down = [nn.LeakyReLU(0.2, True)] + down
            up = [nn.ReLU(True), up_conv(inner_ch + cond, outer_ch, use_bias, separable, config.upsampling),
                  make_norm(config.norm, outer_ch)]
        else:
            down = [nn.LeakyReLU(0.2, True)] + down + [make_norm(config.norm, inner_ch)]
            up = [nn.ReLU(True), up_conv(inner_ch * 2 + cond, outer_ch, use_bias, separable, config.upsampling),
                  make_norm(config.norm, outer_ch)]
            if dropout > 0:
                up.append(nn.Dropout(dropout))
        self.down = nn.Sequential(*down)
        self.inner = inner if inner is not None else nn.Identity()
        self.up = nn.Sequential(*up)
        # Identity has no parameters: models without attention keep their state-dict keys
        self.attention = SelfAttention2d(outer_ch) if attention else nn.Identity()
        self.noise = NoiseInjection(outer_ch) if noise else nn.Identity()

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        h = self.down(x)
        h = self.inner(h, condition) if isinstance(self.inner, UNetLevel) else self.inner(h)
        if condition is not None:  # (N, C) -> constant (N, C, H, W) planes beside the features
            planes = condition[:, :, None, None].to(h.dtype).expand(-1, -1, h.shape[-2], h.shape[-1])
            h = torch.cat([h, planes], dim=1)
        y = self.noise(self.attention(self.up(h)))
        return y if self.outermost else torch.cat([x, y], dim=1)


class UNetGenerator(ConfiguredModel, model_type="pix2pix-unet", config_class=UNetConfig):
    """pix2pix generator: image (N, in_channels, H, W) in [-1, 1] -> (N, out_channels, H, W) in [-1, 1].

    With `config.condition_channels` = C > 0, `forward(x, condition)` also takes an (N, C) tensor (e.g.
    a coat colour in [0, 1]); without one it uses `config.condition_default`."""

    def __init__(self, config: UNetConfig):
        super().__init__(config)
        n = config.num_downsamplings
        channels = [min(config.base_channels * 2 ** i, config.max_channels) for i in range(n)]
        level: nn.Module | None = None
        for i in reversed(range(1, n)):  # build from the bottleneck outwards
            # dropout on the `dropout_levels` levels directly above the bottleneck (not on it)
            use_dropout = config.dropout if (n - 1 - config.dropout_levels) <= i < n - 1 else 0.0
            level = UNetLevel(channels[i - 1], channels[i], config, level, dropout=use_dropout,
                              attention=i in config.attention_levels, noise=i in config.noise_levels)
        self.net = UNetLevel(config.out_channels, channels[0], config, level, outermost=True,
                             in_ch=config.in_channels)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        multiple = self.config.multiple
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ValueError(
                f"Input is {x.shape[-2]}×{x.shape[-1]}, but this U-Net ({self.config.num_downsamplings} "
                f"down-samplings) needs sides divisible by {multiple}. Pad it first, e.g. with "
                "pix2pix_demo.imaging.fit_and_pad."
            )
        channels = self.config.condition_channels
        if channels:
            if condition is None:
                condition = torch.tensor(self.config.condition_default, dtype=x.dtype, device=x.device)
            condition = condition.to(x.device, x.dtype).reshape(-1, channels).expand(x.shape[0], -1)
        elif condition is not None:
            raise ValueError("This U-Net takes no condition (condition_channels is 0).")
        return self.net(x, condition)
