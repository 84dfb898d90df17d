"""SinGAN (Shaham et al., ICCV 2019): a pyramid of small fully convolutional generators
learnt from ONE image.

Scale 0 is the coarsest. Generator n refines the up-sampled output of scale n-1 plus noise:

    x_0 = G_0(z_0)                                  z_0 ~ N(0, 1)           (noise_amp[0] = 1)
    x_n = x_up + G_n(x_up + noise_amp[n] * z_n)     x_up = upsample(x_{n-1}) to shapes[n]

Everything a sample needs is in the config (shapes, channels) or the state_dict
(per-scale weights, `noise_amp`, the fixed reconstruction noise `reconstruction_noise`
that maps to the training image), so `hub.save_model` / `hub.load_model` round-trip
exactly. The discriminators are training-only and live in `train`/`pix2pix_demo.singan`.
No normalisation layers: eval and train modes compute the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..model_types import register_model_type
from ..singan_options import LAYOUTS, PADDING_MODES, padding_at


@dataclass
class SinGANConfig:
    shapes: list = field(default_factory=lambda: [[25, 25], [50, 50]])  # [height, width] per scale, coarse -> fine
    channels: list = field(default_factory=lambda: [32, 32])  # conv width per scale (nfc in SinGAN)
    num_layers: int = 5  # 3x3 conv layers per generator (receptive field 2*num_layers+1)
    image_channels: int = 3
    scale_factor: float = 0.75  # nominal ratio between consecutive scales (r in the paper)
    padding_mode: str = "zeros"  # of every 3x3 conv: "zeros" (models before session 7), "reflect" or "replicate"
    fine_padding_mode: str | None = None  # if set, the padding of scales fine_padding_from.. (None: padding_mode
    # everywhere, as every model saved before session 8): zeros at the coarse scales tell the generators where
    # the border is (the layout), reflect at the fine ones leaves no frame along it
    fine_padding_from: int = 0
    keeps_photo: bool = False  # the state_dict holds the training photo at the finest shape (buffer `photo`,
    # uint8): the patches `pix2pix_demo.singan.finish_from_photo` rebuilds samples' fine texture from
    layout: str = "noise"  # where a random sample's layout comes from: "noise" (SinGAN: scale 0 from noise; every
    # model saved before session 14) or "warp" (the reconstruction through layout_scale, warped at random:
    # pix2pix_demo.singan.layout)
    layout_scale: int = 1
    layout_shift: float = 0.25
    layout_stretch: float = 0.3
    layout_height: float = 0.1
    layout_edge: float | None = None  # how far (picture widths) the warp's window may read past the picture's
    # left or right edge, where it sees the picture mirrored (None: as far as its shift takes it, every model saved
    # before session 17; pix2pix_demo.singan.layout.warp_grid)
    layout_gap: float = 0.0  # random samples: past the left or right edge, the warp's window first sees the edge
    # column repeated for this many picture widths, then the picture mirrored: an object near an edge and its
    # mirror image stand at least this far apart (0: the mirror right at the edge, every model saved before
    # session 18; training always uses 0)

    def __post_init__(self):
        self.shapes = [[int(h), int(w)] for h, w in self.shapes]
        self.channels = [int(c) for c in self.channels]
        if not self.shapes:
            raise ValueError("a SinGAN needs at least one scale")
        if len(self.channels) != len(self.shapes):
            raise ValueError(f"channels has {len(self.channels)} entries but there are {len(self.shapes)} scales")
        if self.num_layers < 3:
            raise ValueError("num_layers must be at least 3 (head, body, tail)")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {', '.join(PADDING_MODES)}, got {self.padding_mode!r}")
        if self.fine_padding_mode is not None and self.fine_padding_mode not in PADDING_MODES:
            raise ValueError(f"fine_padding_mode must be None or one of {', '.join(PADDING_MODES)}, "
                             f"got {self.fine_padding_mode!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.layout_scale < 0:
            raise ValueError(f"layout_scale must be a scale index (0 or more), got {self.layout_scale}")
        if self.layout_edge is not None and self.layout_edge < 0:
            raise ValueError(f"layout_edge must be None or 0 or more (picture widths), got {self.layout_edge}")
        if self.layout_gap < 0:
            raise ValueError(f"layout_gap must be 0 or more (picture widths), got {self.layout_gap}")
        if self.fine_padding_from < 0:
            raise ValueError(f"fine_padding_from must be a scale index (0 or more), got {self.fine_padding_from}")

    @property
    def num_scales(self) -> int:
        return len(self.shapes)

    def padding_at(self, scale: int) -> str:
        """The padding of scale `scale`'s convs (generator and, in training, critic)."""
        return padding_at(scale, self.padding_mode, self.fine_padding_mode, self.fine_padding_from)


def conv_block(in_channels: int, out_channels: int, padding_mode: str = "zeros") -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode=padding_mode),
                         nn.LeakyReLU(0.2, inplace=True))


class ScaleGenerator(nn.Module):
    """head conv -> body convs -> tail conv + tanh; returns the residual to add to x_up."""

    def __init__(self, channels: int, num_layers: int, image_channels: int = 3, padding_mode: str = "zeros"):
        super().__init__()
        layers = [conv_block(image_channels, channels, padding_mode)]
        layers += [conv_block(channels, channels, padding_mode) for _ in range(num_layers - 2)]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(channels, image_channels, 3, padding=1, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.tail(self.body(x)))


class ScaleDiscriminator(nn.Module):
    """Markovian critic with the same layout as the generator (receptive field 2*num_layers+1).

    rows=True: the critic also sees each pixel's height in the picture (one more input channel, -1 at the top
    row to 1 at the bottom one), so it judges a patch together with the row it sits in (training only: the
    critic is not part of a saved model)."""

    def __init__(self, channels: int, num_layers: int, image_channels: int = 3, padding_mode: str = "zeros",
                 rows: bool = False):
        super().__init__()
        self.rows = rows
        layers = [conv_block(image_channels + (1 if rows else 0), channels, padding_mode)]
        layers += [conv_block(channels, channels, padding_mode) for _ in range(num_layers - 2)]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(channels, 1, 3, padding=1, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rows:
            b, _, h, w = x.shape
            height = torch.linspace(-1.0, 1.0, h, device=x.device, dtype=x.dtype).view(1, 1, h, 1)
            x = torch.cat([x, height.expand(b, 1, h, w)], dim=1)
        return self.tail(self.body(x))


def upsample(x: torch.Tensor, shape) -> torch.Tensor:
    """Resize a batch to (height, width) = shape; bilinear for both directions between scales."""
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    return F.interpolate(x, size=tuple(int(s) for s in shape), mode="bilinear", align_corners=False)


@register_model_type
class SinGAN(nn.Module):
    model_type = "singan"
    config_class = SinGANConfig

    def __init__(self, config: SinGANConfig):
        super().__init__()
        self.config = config
        self.generators = nn.ModuleList(
            ScaleGenerator(c, config.num_layers, config.image_channels, config.padding_at(n))
            for n, c in enumerate(config.channels))
        # sigma_n: std of the noise added at each scale (1 at the coarsest, RMSE-based above)
        self.register_buffer("noise_amp", torch.ones(config.num_scales))
        h0, w0 = config.shapes[0]
        # z* in the paper: the fixed coarsest noise that reconstructs the training image
        self.register_buffer("reconstruction_noise", torch.zeros(1, config.image_channels, h0, w0))
        if config.keeps_photo:
            self.register_buffer("photo", torch.zeros(1, config.image_channels, *config.shapes[-1], dtype=torch.uint8))

    @property
    def num_scales(self) -> int:
        return self.config.num_scales

    @property
    def device(self) -> torch.device:
        return self.noise_amp.device

    def scale_shapes(self, height: int | None = None, width: int | None = None) -> list[tuple[int, int]]:
        """Per-scale shapes for an output of (height, width); the training shapes by default."""
        shapes = [tuple(s) for s in self.config.shapes]
        if height is None and width is None:
            return shapes
        train_h, train_w = shapes[-1]
        height = height or train_h
        width = width or train_w
        return [(max(1, round(h * height / train_h)), max(1, round(w * width / train_w))) for h, w in shapes]

    def step(self, scale: int, previous: torch.Tensor | None, noise: torch.Tensor | None = None,
             shape=None) -> torch.Tensor:
        """One scale: x_n = x_up + G_n(x_up + noise_amp[n] * z). `previous` None = zeros (scale 0)."""
        shape = tuple(shape or self.config.shapes[scale])
        if previous is None:
            x_up = torch.zeros(1, self.config.image_channels, *shape, device=self.device)
        else:
            x_up = upsample(previous, shape)
        if noise is None:
            return x_up + self.generators[scale](x_up)
        return x_up + self.generators[scale](x_up + self.noise_amp[scale] * noise)

    def forward(self, noises: list[torch.Tensor], start: torch.Tensor | None = None, start_scale: int = 0,
                end_scale: int | None = None, shapes=None) -> torch.Tensor:
        """Run scales start_scale..end_scale. `noises[i]` is the noise for scale start_scale+i
        (None = zeros); `start` is the image fed to start_scale (None at scale 0)."""
        end_scale = self.num_scales - 1 if end_scale is None else end_scale
        shapes = shapes or self.scale_shapes()
        x = start
        for offset, scale in enumerate(range(start_scale, end_scale + 1)):
            noise = noises[offset] if offset < len(noises) else None
            x = self.step(scale, x, noise, shape=shapes[scale])
        return x

    @torch.no_grad()
    def reconstruct(self, end_scale: int | None = None) -> torch.Tensor:
        """The fixed-noise reconstruction of the training image, (1, C, H, W) in [-1, 1]."""
        return self.forward([self.reconstruction_noise], end_scale=end_scale)
