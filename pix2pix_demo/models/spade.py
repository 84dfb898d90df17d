"""A SPADE generator (Park et al. 2019, "Semantic Image Synthesis with Spatially-Adaptive
Normalization"), built from a dataclass config like the U-Net.

    label map (one-hot, N×num_classes×H×W) ─ resized to H/2ⁿ ─ conv ─ SPADEResBlock ─┐
         ┌──────────────────────────────────────────────────────────────────────────┘
         └─ n × [up ×2 ─ SPADEResBlock] ─ LeakyReLU ─ conv ─ tanh ─> image (N×3×H×W) in [-1, 1]

Every normalisation is a parameter-free instance norm whose scale and shift come from the label map
at that resolution (SPADE): γ(labels), β(labels) per pixel, so the labels are not washed out by
normalisation as in a U-Net that only sees them at the input. Like the paper's generator without
its image encoder, the first layer reads the down-sampled label map. For variation, a style vector
z (`z_channels` numbers, one per image) is broadcast over the image and read with the labels by
every SPADE layer (as OASIS does with its 3-D noise); z = 0 is the standard output.

Sides must be divisible by 2**num_upsamplings (`pix2pix_demo.facades` pads label maps with the
background class, centred, by the same fit-and-pad rule as pix2pix).

Two economies against the paper's block (a CPU demo): the label embedding (the paper's
`mlp_shared`) is computed once per residual block and shared by its two or three SPADE layers, and
each SPADE layer computes γ and β with one convolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.parametrizations import spectral_norm

from .base import ConfiguredModel


UPSAMPLING_MODES = ("nearest", "bilinear")


def upsample2(x: torch.Tensor, mode: str) -> torch.Tensor:
    """Features ×2 between SPADE blocks: "nearest" (2×2 copies) or "bilinear" (half-pixel centres)."""
    if mode == "nearest":
        return F.interpolate(x, scale_factor=2, mode="nearest")
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


@dataclass
class SPADEConfig:
    num_classes: int = 12  # label channels (one-hot)
    out_channels: int = 3
    base_channels: int = 16  # nf in SPADE: channels at full resolution
    max_channels: int = 256  # channel cap (16·nf in the paper)
    num_upsamplings: int = 5  # the first block works at H/2^n (8×8 at 256²)
    hidden_channels: int = 32  # label embedding width (nhidden = 128 in the paper)
    z_channels: int = 8  # style-vector size (0: no variation input)
    modulation_kernel: int = 3  # kernel of the γ/β convolutions: 3 as in the paper, 1 is ~9x cheaper
    spectral_norm: bool = True  # on the generator's convolutions, as in the paper
    # How each level sees the label map: "nearest" samples one pixel per cell (the paper's choice; a
    # 32×32 cell of a window grid then reads as whatever pixel it happens to hit), "area" averages the
    # one-hot map over the cell (class fractions: the coarse levels see how much window is there).
    label_resize: str = "nearest"
    # Padding of the 3×3 convolutions: "zeros" tells every layer where the image border is, from which
    # a generator can learn a layout by position alone; "replicate" hides it (works at any size).
    padding_mode: str = "zeros"
    # How the features go up ×2 between blocks: "nearest" copies each cell to 2×2 (the paper's choice; the
    # blocks' cells of an 8² start then meet at fixed seams every 32, 16, 8 ... px, which adversarial
    # training draws as a lattice of lines), "bilinear" interpolates (no seams; no weights, so a model
    # trained with one can be fine-tuned with the other).
    upsampling: str = "nearest"

    def __post_init__(self):
        if not 1 <= self.num_upsamplings <= 8:
            raise ValueError(f"num_upsamplings must be in 1..8, got {self.num_upsamplings}")
        if self.modulation_kernel not in (1, 3):
            raise ValueError(f"modulation_kernel must be 1 or 3, got {self.modulation_kernel}")
        if self.label_resize not in ("nearest", "area"):
            raise ValueError(f"label_resize must be 'nearest' or 'area', got {self.label_resize!r}")
        if self.padding_mode not in ("zeros", "replicate"):
            raise ValueError(f"padding_mode must be 'zeros' or 'replicate', got {self.padding_mode!r}")
        if self.upsampling not in UPSAMPLING_MODES:
            raise ValueError(f"upsampling must be one of {UPSAMPLING_MODES}, got {self.upsampling!r}")
        if self.num_classes < 1 or self.base_channels < 1 or self.hidden_channels < 1 or self.z_channels < 0:
            raise ValueError("num_classes, base_channels and hidden_channels must be positive, z_channels >= 0")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** self.num_upsamplings

    def channels(self, level: int) -> int:
        """Feature channels at `level` (0 = the coarsest, num_upsamplings = full resolution)."""
        return min(self.base_channels * 2 ** (self.num_upsamplings - level), self.max_channels)


def resize_labels(labels: torch.Tensor, size, mode: str) -> torch.Tensor:
    """One-hot labels (+ z planes) to a level's size: "nearest" (one pixel per cell) or "area" (the mean
    over each cell: class fractions). Sides are multiples of the level's, so "area" is an exact average."""
    if tuple(labels.shape[-2:]) == tuple(size):
        return labels
    return F.interpolate(labels, size=tuple(size), mode=mode)


class SPADE(nn.Module):
    """Instance norm, then per-pixel scale and shift from a label embedding: x̂·(1 + γ) + β."""

    def __init__(self, channels: int, hidden: int, kernel: int = 3, padding_mode: str = "zeros"):
        super().__init__()
        self.norm = nn.InstanceNorm2d(channels, affine=False)
        self.gamma_beta = nn.Conv2d(hidden, 2 * channels, kernel, padding=kernel // 2, padding_mode=padding_mode)

    def forward(self, x: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.gamma_beta(embedding).chunk(2, dim=1)
        return self.norm(x) * (1 + gamma) + beta


class SPADEResBlock(nn.Module):
    """SPADE → LReLU → conv → SPADE → LReLU → conv, plus a (SPADE → 1×1 conv) shortcut when the
    channel count changes; one label embedding for all its SPADE layers."""

    def __init__(self, in_ch: int, out_ch: int, config: SPADEConfig):
        super().__init__()
        wrap = spectral_norm if config.spectral_norm else (lambda module: module)
        middle = min(in_ch, out_ch)
        label_ch = config.num_classes + config.z_channels
        pad, kernel = config.padding_mode, config.modulation_kernel
        self.label_resize = config.label_resize
        self.embed = nn.Sequential(nn.Conv2d(label_ch, config.hidden_channels, 3, padding=1, padding_mode=pad),
                                   nn.ReLU(True))
        self.norm_0 = SPADE(in_ch, config.hidden_channels, kernel, pad)
        self.conv_0 = wrap(nn.Conv2d(in_ch, middle, 3, padding=1, padding_mode=pad))
        self.norm_1 = SPADE(middle, config.hidden_channels, kernel, pad)
        self.conv_1 = wrap(nn.Conv2d(middle, out_ch, 3, padding=1, padding_mode=pad))
        self.learned_shortcut = in_ch != out_ch
        if self.learned_shortcut:
            self.norm_s = SPADE(in_ch, config.hidden_channels, kernel, pad)
            self.conv_s = wrap(nn.Conv2d(in_ch, out_ch, 1, bias=False))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        labels = resize_labels(labels, x.shape[-2:], self.label_resize)
        embedding = self.embed(labels)
        shortcut = self.conv_s(self.norm_s(x, embedding)) if self.learned_shortcut else x
        y = self.conv_0(F.leaky_relu(self.norm_0(x, embedding), 0.2))
        y = self.conv_1(F.leaky_relu(self.norm_1(y, embedding), 0.2))
        return shortcut + y


class SPADEGenerator(ConfiguredModel, model_type="spade-generator", config_class=SPADEConfig):
    """(N, num_classes, H, W) one-hot labels [+ z (N, z_channels)] -> (N, out_channels, H, W) in [-1, 1]."""

    def __init__(self, config: SPADEConfig):
        super().__init__(config)
        n = config.num_upsamplings
        label_ch = config.num_classes + config.z_channels
        self.head = nn.Conv2d(label_ch, config.channels(0), 3, padding=1, padding_mode=config.padding_mode)
        self.blocks = nn.ModuleList([SPADEResBlock(config.channels(0), config.channels(0), config)])
        for level in range(1, n + 1):
            self.blocks.append(SPADEResBlock(config.channels(level - 1), config.channels(level), config))
        self.to_image = nn.Conv2d(config.channels(n), config.out_channels, 3, padding=1, padding_mode=config.padding_mode)

    def forward(self, labels: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        config = self.config
        if labels.dim() != 4 or labels.shape[1] != config.num_classes:
            raise ValueError(f"Expected one-hot labels of shape (N, {config.num_classes}, H, W), got "
                             f"{tuple(labels.shape)}; make them with pix2pix_demo.labels.one_hot_tensor.")
        height, width = labels.shape[-2:]
        if height % config.multiple or width % config.multiple:
            raise ValueError(f"Labels are {height}×{width}, but this SPADE generator ({config.num_upsamplings} "
                             f"up-samplings) needs sides divisible by {config.multiple}. Pad them first, e.g. "
                             "with pix2pix_demo.facades.fit_and_pad_labels.")
        if height * width == config.multiple ** 2:  # instance norm needs 2+ values at the coarsest level
            raise ValueError(f"Labels of {height}×{width} are too small for this SPADE generator: its coarsest "
                             f"level would be 1×1; give it at least {2 * config.multiple} pixels on one side.")
        if config.z_channels:
            if z is None:
                z = labels.new_zeros(labels.shape[0], config.z_channels)
            if z.shape != (labels.shape[0], config.z_channels):
                raise ValueError(f"z must have shape ({labels.shape[0]}, {config.z_channels}), got {tuple(z.shape)}")
            z_map = z[:, :, None, None].to(labels.dtype).expand(-1, -1, height, width)
            labels = torch.cat([labels, z_map], dim=1)
        elif z is not None:
            raise ValueError("This SPADE generator has no z input (z_channels = 0).")
        x = self.head(resize_labels(labels, (height // config.multiple, width // config.multiple), config.label_resize))
        x = self.blocks[0](x, labels)
        for block in self.blocks[1:]:
            x = block(upsample2(x, config.upsampling), labels)
        return torch.tanh(self.to_image(F.leaky_relu(x, 0.2)))
