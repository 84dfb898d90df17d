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

`num_scales` > 1 is pix2pixHD's multi-scale discriminator: copies of the PatchGAN (separate weights)
judge the input at full size, at 1/2, at 1/4 ... (3×3 average pooling, stride 2), so one network
looks at fine texture while another sees larger structure with the same patch size. The outputs are
stacked as channels, the coarser maps repeated (nearest) to the finest map's size, so any loss that
averages the logits weighs every scale equally, as pix2pixHD's sum of per-scale losses does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .attention import SelfAttention2d, parse_positions
from .base import ConfiguredModel
from .unet import make_norm


@dataclass
class PatchGANConfig:
    in_channels: int = 6  # condition (3) + image (3)
    base_channels: int = 64  # ndf in pix2pix
    n_layers: int = 3
    norm: str = "batch"  # "batch" | "instance" | "none"
    spectral_norm: bool = False  # wraps every conv; usually with norm="none"
    attention_layers: tuple[int, ...] = ()  # feature layers followed by SAGAN self-attention
    num_scales: int = 1  # pix2pixHD multi-scale: this many PatchGANs, each on a 2x smaller copy of the input

    def __post_init__(self):
        if self.num_scales < 1:
            raise ValueError(f"num_scales must be at least 1, got {self.num_scales}")
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


class PatchGANDiscriminator(ConfiguredModel, model_type="pix2pix-patchgan", config_class=PatchGANConfig):
    """(N, in_channels, H, W) -> (N, num_scales, H', W') logits, one per patch (and scale)."""

    def __init__(self, config: PatchGANConfig):
        super().__init__(config)
        self.net = self._build(config)  # full size (the only one when num_scales is 1)
        self.coarser = nn.ModuleList(self._build(config) for _ in range(config.num_scales - 1))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    @staticmethod
    def _build(config: PatchGANConfig) -> nn.Sequential:
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
        return nn.Sequential(*layers)

    def _nets_and_inputs(self, x: torch.Tensor):
        yield self.net, x
        for net in self.coarser:
            x = self.downsample(x)
            yield net, x

    def _stack(self, logits: list[torch.Tensor]) -> torch.Tensor:
        if len(logits) == 1:
            return logits[0]
        size = logits[0].shape[-2:]
        return torch.cat([logits[0]] + [nn.functional.interpolate(map_, size=size, mode="nearest")
                                        for map_ in logits[1:]], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._stack([net(scaled) for net, scaled in self._nets_and_inputs(x)])

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The activations after every LeakyReLU (and attention block) of every scale, then the logits
        (as `forward` returns them): what pix2pixHD's feature-matching loss compares between real and
        generated pairs."""
        outputs, logits = [], []
        for net, h in self._nets_and_inputs(x):
            for index, layer in enumerate(net):
                h = layer(h)
                following = net[index + 1] if index + 1 < len(net) else None
                if isinstance(layer, (nn.LeakyReLU, SelfAttention2d)) and not isinstance(following, SelfAttention2d):
                    outputs.append(h)
            logits.append(h)  # each net ends in a convolution: h is its logits
        return outputs + [self._stack(logits)]
