"""A small cat/background segmenter: photo -> per-pixel "this is the cat" logits.

    photo (N, 3, H, W) in [-1, 1]  ->  logits (N, 1, H, W)      (sigmoid -> probability of "cat")

A compact U-Net (Ronneberger et al. 2015): at each encoder level two 3×3 conv + batch norm + ReLU,
then a stride-2 down-sampling; the decoder up-samples bilinearly, concatenates the encoder's
features of that level and applies two more 3×3 convs. Five levels at 192² reach a 6×6 bottleneck
whose receptive field covers the whole image, which is what "which blob is the cat" needs.
H and W must be divisible by 2**(len(channels) - 1); `pix2pix_demo.cutout.segment` pads for you.

Trained by `python -m train.segmenter` on the Oxford-IIIT Pet cats of `../shared/data/cats-masked`;
used to cut cats out of cluttered photos for the stock-style edges2cats training set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..hub import register_model_type


@dataclass
class SegmenterConfig:
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 96, 128])  # per level, full res first
    in_channels: int = 3

    def __post_init__(self):
        self.channels = [int(c) for c in self.channels]
        if len(self.channels) < 2 or min(self.channels) < 1:
            raise ValueError(f"channels needs at least two positive entries, got {self.channels}")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** (len(self.channels) - 1)


def double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
    )


@register_model_type
class CatSegmenter(nn.Module):
    model_type = "cat-segmenter"
    config_class = SegmenterConfig

    def __init__(self, config: SegmenterConfig | None = None):
        super().__init__()
        self.config = config = config or SegmenterConfig()
        chs = config.channels
        self.encoders = nn.ModuleList([double_conv(config.in_channels, chs[0])] +
                                      [double_conv(chs[i - 1], chs[i]) for i in range(1, len(chs))])
        self.decoders = nn.ModuleList(double_conv(chs[i + 1] + chs[i], chs[i]) for i in range(len(chs) - 1))
        self.head = nn.Conv2d(chs[0], 1, 1)

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        multiple = self.config.multiple
        if photo.shape[-1] % multiple or photo.shape[-2] % multiple:
            raise ValueError(f"Input is {photo.shape[-2]}×{photo.shape[-1]}; the segmenter needs sides divisible "
                             f"by {multiple}. Pad it first (pix2pix_demo.cutout.segment does).")
        skips = []
        x = photo
        for index, encoder in enumerate(self.encoders):
            if index:
                x = F.max_pool2d(x, 2)
            x = encoder(x)
            skips.append(x)
        for index in reversed(range(len(self.decoders))):
            skip = skips[index]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = self.decoders[index](torch.cat([x, skip], dim=1))
        return self.head(x)
