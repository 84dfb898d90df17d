"""PatchGAN discriminator: classifies overlapping image patches as real or fake.

The input is the condition and the image concatenated on channels (a *conditional* GAN).
`n_layers` sets the receptive field of each output logit:

    n_layers = 0  ->   1×1  (PixelGAN)
    n_layers = 1  ->  16×16
    n_layers = 3  ->  70×70  (the paper's default)
    n_layers = 5  -> 286×286 (whole image at 256²)

`attention_layers` inserts SAGAN self-attention (models/attention.py) after feature layers: layer 0
is the first convolution (1/2 of the input side), layer n < n_layers works at 1/2^(n+1), layer
n_layers keeps the size of the one before. Each output then sees the whole image, not one patch
(`receptive_field` is the convolutional part's).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..hub import register_model_type
from .attention import SelfAttention2d, parse_positions
from .unet import make_norm


@dataclass
class PatchGANConfig:
    in_channels: int = 6  # condition (3) + image (3)
    base_channels: int = 64  # ndf in pix2pix
    n_layers: int = 3
    norm: str = "batch"  # "batch" | "instance" | "none"
    spectral_norm: bool = False  # wraps every conv; usually with norm="none"
    attention_layers: tuple[int, ...] = ()  # feature layers followed by SAGAN self-attention

    def __post_init__(self):
        self.attention_layers = parse_positions(self.attention_layers, "attention_layers")
        outside = [i for i in self.attention_layers if not 0 <= i <= self.n_layers]
        if outside or (self.attention_layers and self.n_layers == 0):
            raise ValueError(f"attention_layers {list(self.attention_layers)}: PatchGAN layers are 0..{self.n_layers} "
                             "(and a 1×1 PixelGAN, n_layers 0, takes none)")

    @property
    def receptive_field(self) -> int:
        if self.n_layers == 0:
            return 1
        field = 1
        for _ in range(2):  # the two stride-1 4×4 convs at the end
            field += 3
        for _ in range(self.n_layers):  # stride-2 4×4 convs, applied in reverse
            field = field * 2 + 2
        return field


@register_model_type
class PatchGANDiscriminator(nn.Module):
    """(N, in_channels, H, W) -> (N, 1, H', W') logits, one per patch."""

    model_type = "pix2pix-patchgan"
    config_class = PatchGANConfig

    def __init__(self, config: PatchGANConfig):
        super().__init__()
        self.config = config
        wrap = spectral_norm if config.spectral_norm else (lambda module: module)
        bias = config.norm != "batch"
        ndf = config.base_channels
        if config.n_layers == 0:  # PixelGAN: 1×1 convolutions only
            layers = [wrap(nn.Conv2d(config.in_channels, ndf, 1)), nn.LeakyReLU(0.2, True),
                      wrap(nn.Conv2d(ndf, ndf * 2, 1, bias=bias)), make_norm(config.norm, ndf * 2),
                      nn.LeakyReLU(0.2, True), wrap(nn.Conv2d(ndf * 2, 1, 1))]
        else:
            layers = [wrap(nn.Conv2d(config.in_channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            channels = ndf
            if 0 in config.attention_layers:
                layers.append(SelfAttention2d(channels, wrap=wrap))
            for n in range(1, config.n_layers + 1):
                stride = 2 if n < config.n_layers else 1  # the last feature layer keeps the size
                out = ndf * min(2 ** n, 8)
                layers += [wrap(nn.Conv2d(channels, out, 4, stride, 1, bias=bias)),
                           make_norm(config.norm, out), nn.LeakyReLU(0.2, True)]
                channels = out
                if n in config.attention_layers:
                    layers.append(SelfAttention2d(channels, wrap=wrap))
            layers.append(wrap(nn.Conv2d(channels, 1, 4, 1, 1)))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after every LeakyReLU (and attention block), then the logits: what
        pix2pixHD's feature-matching loss compares between real and generated pairs."""
        outputs = []
        for index, layer in enumerate(self.net):
            x = layer(x)
            following = self.net[index + 1] if index + 1 < len(self.net) else None
            if isinstance(layer, (nn.LeakyReLU, SelfAttention2d)) and not isinstance(following, SelfAttention2d):
                outputs.append(x)
        return outputs + [x]  # the net ends in a convolution: x is the logits
