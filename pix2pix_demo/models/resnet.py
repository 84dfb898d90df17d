"""The CycleGAN paper's ResNet generator (Zhu et al. 2017, appendix 7.2; after Johnson et al. 2016).

    image (N, in_channels, H, W) in [-1, 1]  ->  image (N, out_channels, H, W) in [-1, 1]

In the paper's notation, with k = base_channels (ngf) and two down-samplings:

    c7s1-k, d2k, d4k, R4k × num_blocks, u2k, uk, c7s1-3, tanh

- c7s1-k: 7×7 stride-1 convolution (reflect padding 3), instance norm, ReLU;
- dk: 3×3 stride-2 convolution to k channels, instance norm, ReLU (halves each side);
- Rk: residual block, two 3×3 convolutions (reflect padding) with instance norm, ReLU between;
- uk: ×2 up-sampling to k channels (a 4×4 stride-2 transposed convolution in our "transpose",
  or nearest resize + 3×3 convolution in "resize", which cannot make checkerboard patterns),
  instance norm, ReLU.

Fully convolutional: any input whose sides are divisible by 2^num_downsamplings (4 by default)
and at least twice that works, any aspect ratio (`pix2pix_demo.imaging.fit_and_pad` pads others). The paper uses 9 blocks
at 256² and 6 at 128²; `in_channels` > 3 lets StarGAN feed the target domain as extra constant
planes beside the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ConfiguredModel
from .unet import make_norm, up_conv


@dataclass
class ResnetConfig:
    in_channels: int = 3  # 3 for CycleGAN; 3 + n_domains for StarGAN
    out_channels: int = 3
    base_channels: int = 64  # ngf in CycleGAN
    num_blocks: int = 9  # residual blocks at the bottleneck (paper: 9 at 256², 6 at 128²)
    num_downsamplings: int = 2
    norm: str = "instance"  # "instance" (paper) | "batch" | "none"
    upsampling: str = "transpose"  # "transpose" (paper) | "resize" (nearest + 3×3 conv)

    def __post_init__(self):
        if self.norm not in ("batch", "instance", "none"):
            raise ValueError(f"norm must be 'batch', 'instance' or 'none', got {self.norm!r}")
        if self.upsampling not in ("transpose", "resize"):
            raise ValueError(f"upsampling must be 'transpose' or 'resize', got {self.upsampling!r}")
        if self.in_channels < 1 or self.out_channels < 1 or self.base_channels < 1:
            raise ValueError("in_channels, out_channels and base_channels must be positive")
        if self.num_blocks < 0 or not 0 <= self.num_downsamplings <= 4:
            raise ValueError(f"num_blocks must be >= 0 and num_downsamplings in 0..4, got {self.num_blocks}, "
                             f"{self.num_downsamplings}")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** self.num_downsamplings


class ResidualBlock(nn.Module):
    """x + (reflect-pad, 3×3 conv, norm, ReLU, reflect-pad, 3×3 conv, norm)(x)."""

    def __init__(self, channels: int, norm: str):
        super().__init__()
        bias = norm != "batch"  # batch norm has its own shift
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(norm, channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), make_norm(norm, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResnetGenerator(ConfiguredModel, model_type="resnet-generator", config_class=ResnetConfig):
    """CycleGAN generator: (N, in_channels, H, W) -> (N, out_channels, H, W), both in [-1, 1]."""

    def __init__(self, config: ResnetConfig | None = None):
        super().__init__(config)
        config = self.config
        bias = config.norm != "batch"
        k = config.base_channels
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(config.in_channels, k, 7, bias=bias), make_norm(config.norm, k),
                  nn.ReLU(True)]
        channels = k
        for _ in range(config.num_downsamplings):  # dk
            layers += [nn.Conv2d(channels, channels * 2, 3, 2, 1, bias=bias), make_norm(config.norm, channels * 2),
                       nn.ReLU(True)]
            channels *= 2
        layers += [ResidualBlock(channels, config.norm) for _ in range(config.num_blocks)]  # Rk
        for _ in range(config.num_downsamplings):  # uk
            layers += [up_conv(channels, channels // 2, bias, False, config.upsampling),
                       make_norm(config.norm, channels // 2), nn.ReLU(True)]
            channels //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(channels, config.out_channels, 7), nn.Tanh()]  # c7s1-3
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        multiple = self.config.multiple
        if x.shape[1] != self.config.in_channels:
            raise ValueError(f"Input has {x.shape[1]} channels, this generator takes {self.config.in_channels}.")
        if x.shape[-1] % multiple or x.shape[-2] % multiple or min(x.shape[-2:]) < 2 * multiple:
            raise ValueError(
                f"Input is {x.shape[-2]}×{x.shape[-1]}, but this generator ({self.config.num_downsamplings} "
                f"down-samplings) needs sides divisible by {multiple} and at least {2 * multiple} (reflect "
                "padding). Pad it first, e.g. with pix2pix_demo.imaging.fit_and_pad.")
        return self.net(x)
