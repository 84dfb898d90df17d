"""A texture stage: a smooth picture in, the same picture with photographic detail (fur) out.

    picture (N, 3, H, W) in [-1, 1]  ->  the picture plus a learned correction (N, 3, H, W)

pix2pix trained for minutes on a CPU paints a cat's shape, shading, colour and eyes, but no fur: the
L1 loss rewards the average of all fur, which is smooth. This network is a second stage (as pix2pixHD's
enhancer or StackGAN's stage II) with a narrower job: keep the low frequencies of its input (trained
with a loss on 4× average-pooled pictures) and add high-frequency texture that a PatchGAN cannot tell
from real cat photos. Texture needs randomness where the input has none (a smooth coat), so a noise
plane is an input, as in StyleGAN; at inference it is a fixed pattern per picture size (`fixed_noise`),
so the same picture always gets the same fur (a drawing does not flicker stroke after stroke).

Layout, for speed at 256² on a CPU: the picture and the noise are pixel-unshuffled ×2 (a 128² grid of
16 channels), a 3×3 head, `num_blocks` residual blocks, a 3×3 convolution to 12 channels pixel-shuffled
back to RGB at full size: every convolution runs at a quarter of the pixels. The output is the input
plus that correction, whose last convolution starts at zero: an untrained model returns its input.

Trained by `python -m train.detail`; used by `pix2pix_demo.pipelines.Pix2PixPipeline` when the model
folder names a texture stage (`"detail": "edges2cats-fur"` in its config).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .base import ConfiguredModel


@dataclass
class DetailConfig:
    channels: int = 32
    num_blocks: int = 5
    noise_channels: int = 1  # noise planes at full size, input next to the picture (0: none)
    image_channels: int = 3
    noise_seed: int = 0  # the fixed inference noise

    def __post_init__(self):
        if self.channels < 1 or self.num_blocks < 0 or self.noise_channels < 0:
            raise ValueError(f"channels must be positive, num_blocks and noise_channels non-negative; got "
                             f"{self.channels}, {self.num_blocks}, {self.noise_channels}")

    @property
    def multiple(self) -> int:
        return 2  # the pixel-unshuffle: sides must be even

    @property
    def receptive_radius(self) -> int:
        """Full-size pixels around a pixel that can change it: head, two 3×3 per block, tail, each at half size."""
        return 2 * (1 + 2 * self.num_blocks + 1) + 1


class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = nn.LeakyReLU(0.2)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.act(self.conv1(x)))


class DetailGenerator(ConfiguredModel, model_type="detail", config_class=DetailConfig):
    def __init__(self, config: DetailConfig | None = None):
        super().__init__(config)
        config = self.config
        c = config.channels
        inputs = (config.image_channels + config.noise_channels) * 4
        self.unshuffle = nn.PixelUnshuffle(2)
        self.head = nn.Sequential(nn.Conv2d(inputs, c, 3, padding=1), nn.LeakyReLU(0.2))
        self.blocks = nn.Sequential(*[ResidualBlock(c) for _ in range(config.num_blocks)])
        self.tail = nn.Conv2d(c, config.image_channels * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        nn.init.zeros_(self.tail.weight)  # start as the identity
        nn.init.zeros_(self.tail.bias)
        self._noise_cache: dict = {}

    def fixed_noise(self, n: int, height: int, width: int, device, dtype) -> torch.Tensor:
        """The inference noise for an (n, ·, height, width) input: the same pattern every call (cached)."""
        key = (height, width, str(device), dtype)
        if key not in self._noise_cache:
            generator = torch.Generator().manual_seed(self.config.noise_seed)
            noise = torch.randn(1, self.config.noise_channels, height, width, generator=generator)
            self._noise_cache = {key: noise.to(device=device, dtype=dtype)}  # one size at a time: bounded memory
        return self._noise_cache[key].expand(n, -1, -1, -1)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        n, _, height, width = x.shape
        if height % 2 or width % 2:
            raise ValueError(f"the texture stage needs even sides, got {width}×{height}")
        if self.config.noise_channels:
            if noise is None:
                noise = (torch.randn(n, self.config.noise_channels, height, width, device=x.device, dtype=x.dtype)
                         if self.training else self.fixed_noise(n, height, width, x.device, x.dtype))
            inputs = torch.cat([x, noise], dim=1)
        else:
            inputs = x
        features = self.head(self.unshuffle(inputs))
        return x + self.shuffle(self.tail(self.blocks(features)))
