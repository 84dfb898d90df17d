"""Conditional auto-encoder discriminator for the energy-based losses, EBGAN and BEGAN.

EBGAN (Zhao et al. 2017) and BEGAN (Berthelot et al. 2017) replace the real/fake classifier by an
auto-encoder whose *energy* is its reconstruction error: low on real images, high on generated ones.
Here, as with the PatchGAN, the input is the condition and the image concatenated on channels
(N, in_channels, H, W); the network reconstructs the image part (the last `out_channels` channels)
from a narrow code, so it can use the condition (the label map) but must squeeze the photo through

    encoder: `num_downsamplings` 4×4 stride-2 convs (ELU; widths ndf, 2·ndf, ... capped at 8·ndf), then
             a 1×1 conv to `latent_channels` (the code: H/2^n × W/2^n × latent_channels numbers)
    decoder: 3×3 conv, (n − 1) × (nearest ×2 up-sampling, 3×3 conv, ELU), nearest ×2 up-sampling and
             a 3×3 conv to out_channels (linear output, as in BEGAN)

Nothing runs at full resolution but the last 3-channel convolution, so at 128² with ndf 32 it costs
about as much as the generator, not ten PatchGANs.

`forward` returns one energy per sample, (N,): the mean over pixels of |x − D(x)| (energy "l1",
BEGAN's η = 1) or of (x − D(x))² (energy "mse", EBGAN's). No normalisation layers: batch norm would
mix real and fake batches' statistics into each other's energies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .base import ConfiguredModel


@dataclass
class AutoEncoderDiscriminatorConfig:
    in_channels: int = 6  # condition (3) + image (3)
    out_channels: int = 3  # the image part it reconstructs
    base_channels: int = 64  # ndf
    num_downsamplings: int = 3
    latent_channels: int = 16  # channels of the code (its narrowness is what makes fakes costly)
    energy: str = "l1"  # "l1" (BEGAN) | "mse" (EBGAN)
    spectral_norm: bool = False

    def __post_init__(self):
        if self.energy not in ("l1", "mse"):
            raise ValueError(f"energy must be 'l1' or 'mse', got {self.energy!r}")
        if not 1 <= self.num_downsamplings <= 6:
            raise ValueError(f"num_downsamplings must be in 1..6, got {self.num_downsamplings}")
        if not 0 < self.out_channels < self.in_channels:
            raise ValueError(f"out_channels ({self.out_channels}) must be fewer than in_channels ({self.in_channels}): "
                             "the input is the condition plus the image")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this."""
        return 2 ** self.num_downsamplings


class AutoEncoderDiscriminator(ConfiguredModel, model_type="pix2pix-autoencoder-d",
                               config_class=AutoEncoderDiscriminatorConfig):
    """(N, in_channels, H, W) -> energies (N,); with return_features also the codes (N, latent·h·w)."""

    def __init__(self, config: AutoEncoderDiscriminatorConfig):
        super().__init__(config)
        wrap = spectral_norm if config.spectral_norm else (lambda module: module)
        ndf, cap = config.base_channels, config.base_channels * 8
        widths = [min(ndf * 2 ** i, cap) for i in range(config.num_downsamplings)]
        encoder, channels = [], config.in_channels
        for width in widths:
            encoder += [wrap(nn.Conv2d(channels, width, 4, 2, 1)), nn.ELU(True)]
            channels = width
        encoder.append(wrap(nn.Conv2d(channels, config.latent_channels, 1)))
        decoder = [wrap(nn.Conv2d(config.latent_channels, widths[-1], 3, 1, 1)), nn.ELU(True)]
        for i in reversed(range(config.num_downsamplings - 1)):
            decoder += [nn.Upsample(scale_factor=2, mode="nearest"),
                        wrap(nn.Conv2d(widths[i + 1], widths[i], 3, 1, 1)), nn.ELU(True)]
        decoder += [nn.Upsample(scale_factor=2, mode="nearest"),
                    wrap(nn.Conv2d(widths[0], config.out_channels, 3, 1, 1))]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def reconstruct(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction of the image part (N, out_channels, H, W), code (N, latent, h, w))."""
        multiple = self.config.multiple
        if x.shape[-1] % multiple or x.shape[-2] % multiple:
            raise ValueError(f"Input is {x.shape[-2]}×{x.shape[-1]}; this auto-encoder "
                             f"({self.config.num_downsamplings} down-samplings) needs sides divisible by {multiple}.")
        code = self.encoder(x)
        return self.decoder(code), code

    def forward(self, x: torch.Tensor, return_features: bool = False):
        reconstruction, code = self.reconstruct(x)
        image = x[:, -self.config.out_channels:]
        error = reconstruction.float() - image.float()
        error = error.abs() if self.config.energy == "l1" else error.square()
        energy = error.flatten(1).mean(1)
        return (energy, code.flatten(1)) if return_features else energy
