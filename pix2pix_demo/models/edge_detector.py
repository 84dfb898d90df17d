"""A tiny fully convolutional soft-edge detector, trained to imitate HED edge maps.

    photo (1, 3, H, W) in [-1, 1]  ->  edge logits (1, 1, H, W)

Layout (3x3 convolutions, ReLU): a full-resolution stem, two stride-2 convolutions, a few
residual dilated convolutions at 1/4 resolution (a receptive field of ~150 px for little
compute: that is what lets it tell object outlines from texture), then bilinear upsampling
with 1x1 fusions of the 1/2- and full-resolution features so lines stay sharp (a tiny U-Net).
It replaces only HED's soft map; `pix2pix_demo.edges.hed_postprocess` makes the lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .base import ConfiguredModel


@dataclass
class EdgeDetectorConfig:
    stem_channels: int = 12  # full resolution
    mid_channels: int = 16  # 1/2 resolution
    context_channels: int = 24  # 1/4 resolution
    dilations: list[int] = field(default_factory=lambda: [1, 2, 4, 8])  # dilated 3x3 convs at 1/4 resolution

    def __post_init__(self):
        if min(self.stem_channels, self.mid_channels, self.context_channels) < 1 or not self.dilations:
            raise ValueError("channel counts must be >= 1 and dilations non-empty")
        if any(int(d) < 1 for d in self.dilations):
            raise ValueError(f"dilations must be >= 1, got {self.dilations}")
        self.dilations = [int(d) for d in self.dilations]


class EdgeDetector(ConfiguredModel, model_type="edge-detector", config_class=EdgeDetectorConfig):
    def __init__(self, config: EdgeDetectorConfig | None = None):
        super().__init__(config)
        config = self.config
        s, m, c = config.stem_channels, config.mid_channels, config.context_channels
        self.stem = nn.Conv2d(3, s, 3, padding=1)
        self.down1 = nn.Conv2d(s, m, 3, stride=2, padding=1)
        self.down2 = nn.Conv2d(m, c, 3, stride=2, padding=1)
        self.context = nn.ModuleList(nn.Conv2d(c, c, 3, padding=d, dilation=d) for d in config.dilations)
        self.fuse_mid = nn.Conv2d(m + c, m, 1)
        self.fuse_full = nn.Conv2d(s + m, s, 1)
        self.head = nn.Conv2d(s, 1, 3, padding=1)

    def forward(self, photo: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [-1, 1] -> (N, 1, H, W) edge logits (sigmoid -> probability)."""
        stem = F.relu(self.stem(photo))
        mid = F.relu(self.down1(stem))
        x = F.relu(self.down2(mid))
        for conv in self.context:
            x = x + F.relu(conv(x))  # residual: keeps the local evidence while adding context
        x = F.interpolate(x, size=mid.shape[-2:], mode="bilinear", align_corners=False)
        x = F.relu(self.fuse_mid(torch.cat([mid, x], dim=1)))
        x = F.interpolate(x, size=stem.shape[-2:], mode="bilinear", align_corners=False)
        x = F.relu(self.fuse_full(torch.cat([stem, x], dim=1)))
        return self.head(x)
    @torch.no_grad()
    def soft_map(self, rgb) -> "np.ndarray":  # noqa: F821
        """uint8 RGB HxWx3 numpy array -> float32 HxW edge probability in [0, 1]."""
        import numpy as np

        tensor = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)[None].float().div_(127.5).sub_(1)
        return torch.sigmoid(self(tensor))[0, 0].numpy()
