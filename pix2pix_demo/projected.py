"""Projected GAN discriminator (Sauer et al., NeurIPS 2021) over the frozen EfficientNet-Lite0, and
DiffAugment (Zhao et al. 2020). Training only: nothing here ships with a model.

    features = load_lite0(with_head=False)                       # pix2pix_demo.features: frozen, eval
    disc = ProjectedDiscriminator(FEATURE_CHANNELS, condition_channels=1)
    params = sample_augment(batch, size, generator)              # one draw per example...
    real = augment(target, params); fake = augment(output, params) # ...applied to both sides alike
    logits = disc(features(fake), condition=augment(edges, params, colour=False))

Each of the four feature depths (strides 4, 8, 16, 32) is mixed by a fixed random 1×1 projection
(the paper's cross-channel mixing: the heads cannot latch on to a few ImageNet channels), then judged
by its own small spectrally normed head down to an 8×8 map of logits. With `condition_channels`, the
condition (e.g. the edge map, averaged to the level's size: line density per cell) is concatenated
before each head, so the discriminator asks "a photo of *this* drawing?" and not only "a photo?".
Augmenting real and generated images with the same random translation, cutout and colour change
keeps a discriminator that sees few images from memorising them; translating by whole pixels also
moves the network's stride-2 sampling grid, so a generator cannot satisfy it with a fixed pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

AUGMENT_POLICIES = ("translation", "cutout", "colour", "resample", "blur")


@dataclass
class AugmentParams:
    shift: torch.Tensor  # (N, 2) whole-pixel shifts (y, x)
    cutout: torch.Tensor | None  # (N, 4) boxes y0, x0, y1, x1, or None
    brightness: torch.Tensor | None  # (N,) added
    saturation: torch.Tensor | None  # (N,) factor
    contrast: torch.Tensor | None  # (N,) factor
    resample: torch.Tensor | None = None  # (N, 3): scale, sub-pixel shift x, y (pixels), bilinear
    blur: torch.Tensor | None = None  # (N,) Gaussian sigma in pixels


def sample_augment(batch: int, height: int, width: int, policy=AUGMENT_POLICIES, generator=None,
                   translation: float = 0.125, cutout: float = 0.5) -> AugmentParams:
    """DiffAugment's random draws for a batch (one per example; apply them to real and fake alike)."""
    def uniform(*shape):
        return torch.rand(*shape, generator=generator)

    limit = torch.tensor([height * translation, width * translation])
    shift = ((uniform(batch, 2) * 2 - 1) * limit).round().long() if "translation" in policy else torch.zeros(batch, 2, dtype=torch.long)
    boxes = None
    if "cutout" in policy:
        ch, cw = int(height * cutout + 0.5), int(width * cutout + 0.5)
        y = (uniform(batch) * (height + 1 - ch % 2)).long() - ch // 2
        x = (uniform(batch) * (width + 1 - cw % 2)).long() - cw // 2
        boxes = torch.stack([y.clamp(0, height), x.clamp(0, width), (y + ch).clamp(0, height), (x + cw).clamp(0, width)], 1)
    colour = "colour" in policy or "color" in policy
    resample = None
    if "resample" in policy:  # scale 0.8-1.25 (log-uniform), shift by a fraction of a pixel
        resample = torch.stack([torch.exp((uniform(batch) * 2 - 1) * 0.223), uniform(batch) - 0.5, uniform(batch) - 0.5], 1)
    # a Gaussian blur, sigma 1-1.5 px: a 2-px period (pixel noise, streaks: what a frozen stride-2 network
    # can be fooled by) keeps < 1 % of its contrast, a 3-px period <= 11 %, an 8-px period >= 50 %
    blur = 1.0 + 0.5 * uniform(batch) if "blur" in policy else None
    return AugmentParams(shift, boxes, uniform(batch) - 0.5 if colour else None,
                         uniform(batch) * 2 if colour else None, uniform(batch) + 0.5 if colour else None, resample, blur)


def augment(images: torch.Tensor, params: AugmentParams, colour: bool = True, fill: float = 0.0) -> torch.Tensor:
    """Apply `params` to (N, C, H, W) images in [-1, 1]: translation (the uncovered border filled with
    `fill`), cutout (a box set to `fill`), and with `colour` DiffAugment's brightness, saturation and
    contrast. Differentiable w.r.t. `images`."""
    n, _, h, w = images.shape
    x = images
    if params.brightness is not None and colour:
        x = x + params.brightness.to(x)[:, None, None, None]
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * params.saturation.to(x)[:, None, None, None] + mean
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) * params.contrast.to(x)[:, None, None, None] + mean
    if params.resample is not None:
        # a random zoom and sub-pixel shift, bilinear: a pattern locked to the pixel grid (a period of
        # 2 or 4 px, what a stride-2 network can be fooled by) lands on a new phase and frequency each time
        scale, sx, sy = params.resample.to(x).unbind(1)
        theta = torch.zeros(n, 2, 3, dtype=x.dtype, device=x.device)
        theta[:, 0, 0], theta[:, 1, 1] = 1 / scale, 1 / scale
        theta[:, 0, 2], theta[:, 1, 2] = 2 * sx / w, 2 * sy / h
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + fill * (
            1 - F.grid_sample(torch.ones_like(x[:, :1]), grid, mode="bilinear", padding_mode="zeros", align_corners=False))
    if params.blur is not None:
        x = gaussian_blur(x, params.blur.to(x))
    if params.shift.abs().sum():
        pad = int(params.shift.abs().max())
        padded = F.pad(x, (pad, pad, pad, pad), value=fill)
        rows = [padded[i, :, pad - dy:pad - dy + h, pad - dx:pad - dx + w] for i, (dy, dx) in enumerate(params.shift.tolist())]
        x = torch.stack(rows)
    if params.cutout is not None:
        keep = torch.ones(n, 1, h, w, dtype=x.dtype, device=x.device)
        for i, (y0, x0, y1, x1) in enumerate(params.cutout.tolist()):
            keep[i, :, y0:y1, x0:x1] = 0
        x = x * keep + fill * (1 - keep)
    return x


def gaussian_blur(images: torch.Tensor, sigma: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """Each of the (N, C, H, W) images blurred by its own Gaussian `sigma` (N,) (separable, a
    (2·radius+1)-tap kernel normalised to sum 1, reflected borders). Differentiable."""
    n, c, h, w = images.shape
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (taps[None] / sigma[:, None]) ** 2)
    kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (N*C, taps)
    x = F.pad(images.reshape(1, n * c, h, w), (radius, radius, radius, radius), mode="reflect")
    x = F.conv2d(x, kernel[:, None, None, :], groups=n * c)
    x = F.conv2d(x, kernel[:, None, :, None], groups=n * c)
    return x.reshape(n, c, h, w)


class ProjectedHead(nn.Module):
    """One depth's discriminator: [projected features ‖ condition] -> stride-2 SN convs -> logit map."""

    def __init__(self, in_channels: int, channels: int, downsamplings: int):
        super().__init__()
        layers, ch = [], in_channels
        for _ in range(downsamplings):
            layers += [spectral_norm(nn.Conv2d(ch, channels, 4, 2, 1)), nn.LeakyReLU(0.2, inplace=True)]
            ch = channels
        layers += [spectral_norm(nn.Conv2d(ch, channels, 3, 1, 1)), nn.LeakyReLU(0.2, inplace=True),
                   spectral_norm(nn.Conv2d(channels, 1, 1))]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class ProjectedDiscriminator(nn.Module):
    """Heads over frozen feature maps. `feature_channels` per depth, `strides` of those depths, and the
    training size fix how many stride-2 convs bring each map to about 8×8 (any input size works)."""

    def __init__(self, feature_channels=(24, 40, 112, 320), strides=(4, 8, 16, 32), size: int = 256,
                 projection_channels: int = 64, head_channels: int = 64, condition_channels: int = 0,
                 seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.condition_channels = condition_channels
        self.heads = nn.ModuleList()
        for index, (channels, stride) in enumerate(zip(feature_channels, strides)):
            # fixed random 1×1 mixing (not trained): a buffer, saved with the checkpoint
            weight = torch.empty(projection_channels, channels)
            nn.init.kaiming_normal_(weight, generator=generator)
            self.register_buffer(f"projection{index}", weight / max(1.0, channels ** 0.5 / 4))
            side = max(1, size // stride)
            downsamplings = 0
            while side > 8:
                side //= 2
                downsamplings += 1
            self.heads.append(ProjectedHead(projection_channels + condition_channels, head_channels, downsamplings))

    def project(self, index: int, features: torch.Tensor) -> torch.Tensor:
        weight = getattr(self, f"projection{index}").to(features.dtype)
        return torch.einsum("oc,nchw->nohw", weight, features)

    def forward(self, features: list[torch.Tensor], condition: torch.Tensor | None = None) -> list[torch.Tensor]:
        logits = []
        for index, (head, feature) in enumerate(zip(self.heads, features)):
            x = self.project(index, feature)
            if self.condition_channels:
                if condition is None:
                    raise ValueError("this projected discriminator is conditional: pass condition=")
                x = torch.cat([x, F.adaptive_avg_pool2d(condition.to(x.dtype), x.shape[-2:])], dim=1)
            logits.append(head(x))
        return logits


def hinge_discriminator_loss(real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Sum over depths of the hinge loss: mean relu(1 - real) + mean relu(1 + fake)."""
    return sum(F.relu(1 - r).mean() + F.relu(1 + f).mean() for r, f in zip(real_logits, fake_logits))


def hinge_generator_loss(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    return sum(-f.mean() for f in fake_logits)


__all__ = ["AUGMENT_POLICIES", "AugmentParams", "ProjectedDiscriminator", "ProjectedHead", "augment",
           "hinge_discriminator_loss", "hinge_generator_loss", "sample_augment"]
