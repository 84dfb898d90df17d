"""SRGAN's generator (Ledig et al., CVPR 2017), small enough for a CPU: a photo -> the same photo ×4.

    low-res (N, 3, h, w) in [-1, 1]  ->  high-res (N, 3, 4h, 4w) in [-1, 1]

SRResNet layout: a 9×9 head convolution, `num_blocks` residual blocks (3×3 conv, PReLU, 3×3 conv,
plus the block's input) with one long skip around them, then one pixel-shuffle stage per factor 2
(a 3×3 conv to 4·C channels, PixelShuffle(2), PReLU) and a tail convolution to RGB. Any input size
works (every layer is a padded, stride-1 convolution), odd sides included.

Two changes from the paper, both for a model that trains in minutes on a CPU:
- no batch norm in the blocks (as EDSR, Lim et al. 2017): it costs time, brings a train/eval
  difference and, for super-resolution, no gain;
- `bicubic_skip`: the network predicts what to add to the bicubic up-sampling of its input (the
  global residual of VDSR), so an untrained model starts at bicubic quality instead of grey.

Trained by `python -m train.srgan` (L1 warm-up, then L1 + adversarial loss against a PatchGAN);
used by `pix2pix_demo.superres.enhance`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .base import ConfiguredModel


@dataclass
class SRGANConfig:
    channels: int = 32  # feature channels everywhere (64 in the paper)
    num_blocks: int = 8  # residual blocks (16 in the paper)
    scale: int = 4  # up-sampling factor: a power of two, one pixel-shuffle stage per factor 2
    image_channels: int = 3
    head_kernel: int = 9  # the paper's 9×9 first convolution
    tail_kernel: int = 3  # the last convolution runs at the output size: 3×3 keeps it cheap (paper: 9×9)
    bicubic_skip: bool = True  # predict a correction to the bicubic up-sampling

    def __post_init__(self):
        if self.scale < 2 or self.scale & (self.scale - 1):
            raise ValueError(f"scale must be a power of two (2, 4, 8), got {self.scale}")
        if self.channels < 1 or self.num_blocks < 0:
            raise ValueError(f"channels must be positive and num_blocks non-negative, got {self.channels}, "
                             f"{self.num_blocks}")
        if self.head_kernel % 2 == 0 or self.tail_kernel % 2 == 0:
            raise ValueError("head_kernel and tail_kernel must be odd (the output keeps the input's size)")

    @property
    def receptive_radius(self) -> int:
        """How many low-res pixels around a pixel can change it (tiling overlaps at least this much)."""
        stages = int(math.log2(self.scale))
        radius = self.head_kernel // 2 + 2 * self.num_blocks + 1  # head, blocks (two 3×3 each), body conv
        radius += sum(1 / 2 ** k for k in range(stages))  # one 3×3 per pixel-shuffle stage, at 1, 2, 4... × size
        radius += (self.tail_kernel // 2) / self.scale  # the tail runs at the output size
        return max(math.ceil(radius), 2)  # 2: the bicubic skip's own reach


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.PReLU(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class SRGANGenerator(ConfiguredModel, model_type="srgan", config_class=SRGANConfig):
    def __init__(self, config: SRGANConfig | None = None):
        super().__init__(config)
        config = self.config
        c = config.channels
        self.head = nn.Sequential(nn.Conv2d(config.image_channels, c, config.head_kernel,
                                            padding=config.head_kernel // 2), nn.PReLU(c))
        self.blocks = nn.Sequential(*[ResidualBlock(c) for _ in range(config.num_blocks)])
        self.body_end = nn.Conv2d(c, c, 3, padding=1)
        self.upsample = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(c, 4 * c, 3, padding=1), nn.PixelShuffle(2), nn.PReLU(c))
            for _ in range(int(math.log2(config.scale)))])
        self.tail = nn.Conv2d(c, config.image_channels, config.tail_kernel, padding=config.tail_kernel // 2)
        if config.bicubic_skip:  # start as "bicubic + nothing": the correction begins at zero
            nn.init.zeros_(self.tail.weight)
            nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.body_end(self.blocks(features))
        out = self.tail(self.upsample(features))
        if self.config.bicubic_skip:
            out = out + F.interpolate(x, scale_factor=self.config.scale, mode="bicubic", align_corners=False)
        return out
