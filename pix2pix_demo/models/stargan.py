"""StarGAN (Choi et al., CVPR 2018): one generator for several image domains, told the target domain.

    model = load_model("weights/cats-coat-stargan")     # config.json lists the domains
    model.config.domains                                 # ("black", "ginger", "grey-tabby", "white-cream")
    out = translate(model, x, "ginger")                  # (N, 3, H, W) in [-1, 1] -> the same shape
    photo = translate_image(model, Image.open("cat.jpg"), "black")   # PIL in, PIL out

Generator: the CycleGAN paper's ResNet generator (`pix2pix_demo.models.resnet.ResnetGenerator`) whose
input is the image plus one constant plane per domain, the target's one-hot code (the paper's
"spatially replicated" label), so `in_channels = 3 + len(domains)`. One change, without which the code
does nothing: the first convolution turns a constant plane into a constant per channel, and the
instance norm right after it subtracts every channel's mean, so the code is erased before the first
ReLU (G(x, c) was identical for every c, to 1e-6). The paper's code kept a trace of it only through the
zero padding at the borders; this generator pads by reflection, which keeps the planes constant. So
that constant (the first convolution's response to the code, from the same weights) is added back
after the norm: the code becomes a learned per-domain shift of the first layer's features, before the
ReLU, i.e. a conditional instance norm's bias. With `residual` (not in the paper) the network predicts a
change to the photo, starting at zero. With `conditional_norm` (not in the paper) every norm layer gets
such a per-domain scale and shift (`ConditionalNorm`), not only the first: the later instance norms
otherwise subtract what the first one's shift added (a 4-coat model gave the same picture for every
target after 200 steps). With `output="colour"` (not in the paper) the generator cannot paint at all: its
four output planes are a per-pixel lightness gain and offset, a chroma gain and an offset along the
warm (orange, YIQ +I) axis (`colour_change`), so it can darken, lighten, desaturate or warm each pixel
but never invent a hue: no violet (it never adds Q) and nothing bluer than the photo (I is never pushed
below min(I, 0)). Cat coats are all neutral-to-warm; a 4-coat model with a free RGB output turned grey
cats violet and white ones blue.

Discriminator (training only, `StarGANDiscriminator`): the PatchGAN trunk of
`pix2pix_demo.models.patchgan` (no normalisation, as in the paper: WGAN-GP's penalty is per sample)
with two heads, D_src (the PatchGAN's last convolution: one real/fake score per 70×70 patch) and D_cls
(a linear layer on the globally average-pooled trunk features: one logit per domain). Trained by
`python -m train.stargan`.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..coat import RGB_TO_YIQ, YIQ_TO_RGB
from .base import ConfiguredModel
from ..imaging import check_aspect, image_to_tensor, tensor_to_image, to_rgb
from .patchgan import PatchGANConfig, PatchGANDiscriminator
from .resnet import ResnetGenerator

OUTPUTS = ("image", "colour")
COLOUR_PLANES = 4  # lightness gain, lightness offset, chroma gain, warm offset

# held while a generator with conditional norms runs (they read the call's domain code from an attribute)
_CONDITIONAL_CALL = threading.Lock()


@dataclass
class StarGANConfig:
    domains: tuple[str, ...] = ("cat", "abyssinian", "bengal")  # the target codes, in this order
    # ResnetGenerator settings other than in_channels (which is image_channels + len(domains)); missing
    # ones take ResnetGenerator's defaults and are written out in full, so config.json rebuilds the model
    # even if those defaults change later.
    generator: dict = field(default_factory=dict)
    image_channels: int = 3
    # Not in the paper: the generator predicts a change to the photo, out = clamp(x + G(x, c), -1, 1), and its
    # last convolution starts at zero, so an untrained model returns the photo unchanged (as SRGAN's bicubic
    # skip here): a short CPU run spends its steps on the domain, not on learning to copy colours.
    residual: bool = False
    # Not in the paper: every normalisation layer of the generator also gets a per-domain scale and shift
    # (conditional instance norm, Dumoulin et al. 2017; StarGAN v2's AdaIN is its learned-style form), starting
    # at zero. With the code only at the input, each later instance norm can subtract what it added, and a
    # 4-domain coat model's translations into all four domains were the same picture after 200 steps.
    conditional_norm: bool = False
    # "image": G's three planes are the picture (or, with residual, a change to it); "colour": four planes of a
    # per-pixel colour change that cannot invent hues (`colour_change`), starting as the identity. Not in the paper.
    output: str = "image"

    def __post_init__(self):
        self.domains = tuple(str(name) for name in self.domains)
        if len(self.domains) < 2 or len(set(self.domains)) != len(self.domains) or not all(self.domains):
            raise ValueError(f"domains must be two or more different, non-empty names; got {list(self.domains)}")
        if "in_channels" in self.generator:
            raise ValueError("generator.in_channels is set by StarGAN (image channels + one plane per domain)")
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}; got {self.output!r}")
        if self.output == "colour":
            if self.image_channels != 3 or self.residual:
                raise ValueError("output 'colour' changes an RGB photo's colours (image_channels 3) and is its own "
                                 "residual form: residual must be False")
            if self.generator.get("out_channels", COLOUR_PLANES) != COLOUR_PLANES:
                raise ValueError(f"output 'colour' needs generator.out_channels {COLOUR_PLANES}")
            self.generator = {**self.generator, "out_channels": COLOUR_PLANES}
        resnet = ResnetGenerator.config_class(**{**self.generator, "in_channels": self.in_channels})
        self.generator = {k: v for k, v in dataclasses.asdict(resnet).items() if k != "in_channels"}

    @property
    def in_channels(self) -> int:
        return self.image_channels + len(self.domains)

    def resnet_config(self):
        return ResnetGenerator.config_class(**{**self.generator, "in_channels": self.in_channels})


class StarGANGenerator(ConfiguredModel, model_type="stargan", config_class=StarGANConfig):
    """(N, 3, H, W) image in [-1, 1] + target domains -> (N, 3, H, W) in [-1, 1]."""

    def __init__(self, config: StarGANConfig | None = None):
        super().__init__(config)
        config = self.config
        self.generator = ResnetGenerator(config.resnet_config())
        first = self.generator.net[1]
        if not (isinstance(first, nn.Conv2d) and first.in_channels == config.in_channels):  # the layout forward() needs
            raise TypeError("StarGANGenerator expects ResnetGenerator.net to start with a padding and the "
                            f"{config.in_channels}-channel input convolution")
        if config.residual or config.output == "colour":  # the change starts at zero (tanh(0) = 0): out = x
            last = [m for m in self.generator.net if isinstance(m, nn.Conv2d)][-1]
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        if config.conditional_norm:  # every norm layer becomes a ConditionalNorm around it
            replaced = 0
            for parent in list(self.generator.modules()):
                for name, child in list(parent.named_children()):
                    if isinstance(child, (nn.InstanceNorm2d, nn.BatchNorm2d)):
                        setattr(parent, name, ConditionalNorm(child, len(config.domains)))
                        replaced += 1
            if not replaced:
                raise ValueError("conditional_norm needs a generator with normalisation layers (norm instance or batch)")

    @property
    def multiple(self) -> int:
        """Input sides must be divisible by this (the ResNet generator's down-samplings)."""
        return self.generator.config.multiple

    def domain_code(self, target: torch.Tensor) -> torch.Tensor:
        """(N,) domain indices -> (N, D) one-hot; (N, D) codes pass through."""
        if target.dim() == 1:
            return F.one_hot(target.long(), len(self.config.domains)).float()
        if target.dim() != 2 or target.shape[1] != len(self.config.domains):
            raise ValueError(f"target must be (N,) indices or (N, {len(self.config.domains)}) codes, "
                             f"got {tuple(target.shape)}")
        return target.float()

    @property
    def conditional_norms(self) -> list["ConditionalNorm"]:
        return [m for m in self.modules() if isinstance(m, ConditionalNorm)]

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        code = self.domain_code(target).to(x.device, x.dtype)
        norms = self.conditional_norms
        if not norms:
            out = self._generate(x, code)
        else:
            # the norms read this call's code from an attribute: two threads calling the same model at once
            # would read each other's, so such calls take turns
            with _CONDITIONAL_CALL:
                for norm in norms:
                    norm.domain = code
                try:
                    out = self._generate(x, code)
                finally:
                    for norm in norms:
                        norm.domain = None
        if self.config.output == "colour":
            return colour_change(x, out)
        return (x + out).clamp(-1, 1) if self.config.residual else out

    def _generate(self, x: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        planes = code[:, :, None, None].expand(-1, -1, *x.shape[-2:])
        inputs = torch.cat([x, planes], 1)
        if self.config.generator.get("norm") != "instance":  # nothing subtracts the code: the paper's form
            return self.generator(inputs)
        check_size(x, self.multiple)
        net = self.generator.net  # [reflect pad, c7s1 conv, instance norm, ReLU, ...] (models/resnet.py)
        features = net[:3](inputs)  # the norm has just removed the code's constant response ...
        shift = torch.einsum("okij,nk->no", net[1].weight[:, self.config.image_channels:], code)
        return net[3:](features + shift[:, :, None, None])  # ... so it goes back in, before the ReLU


def colour_change(x: torch.Tensor, planes: torch.Tensor) -> torch.Tensor:
    """Apply G's four colour planes (N, 4, H, W) in [-1, 1] to the photo x (N, 3, H, W) in [-1, 1], in YIQ:
    lightness Y·exp(1.5·a) + 0.3·b, chroma (I, Q)·exp(2·s), then I + 0.3·w along the warm axis, I kept at or
    above min(I_in, 0), and into the RGB cube by shortening the chroma (not by clamping channels). Hue can only
    stay, fade to grey or turn warmer; all zeros give the photo back."""
    to_yiq = torch.as_tensor(RGB_TO_YIQ, dtype=x.dtype, device=x.device)
    to_rgb = torch.as_tensor(YIQ_TO_RGB, dtype=x.dtype, device=x.device)
    yiq = torch.einsum("cd,ndhw->nchw", to_yiq, (x + 1) / 2)
    y, i, q = yiq.unbind(1)
    a, b, s, w = planes.unbind(1)
    chroma = torch.exp(2 * s)
    y = y * torch.exp(1.5 * a) + 0.3 * b
    warm = i * chroma + 0.3 * w
    i = torch.maximum(warm, torch.minimum(i, torch.zeros_like(i)))  # never bluer than the photo, or than grey
    q = q * chroma
    # into the RGB cube without turning the hue (a per-channel clamp would: a warm, light pixel whose red
    # overflows turns pinker): lightness clamped, then the chroma shortened until every channel fits
    y = y.clamp(0, 1)[:, None]
    offset = torch.einsum("cd,ndhw->nchw", to_rgb[:, 1:], torch.stack([i, q], 1))  # the chroma's share per channel
    room = torch.where(offset > 0, (1 - y) / offset.clamp(min=1e-6), y / (-offset).clamp(min=1e-6))
    shorten = room.amin(1, keepdim=True).clamp(max=1)
    rgb = y + shorten * offset
    return (rgb * 2 - 1).clamp(-1, 1)  # only rounding is left to clamp


class ConditionalNorm(nn.Module):
    """A norm layer followed by a per-domain scale and shift per channel (conditional instance norm):
    out = norm(x) · (1 + scale(c)) + shift(c), both linear in the domain code c and zero at the start.
    `domain` (N, D) is set by StarGANGenerator.forward for the duration of a call."""

    def __init__(self, norm: nn.Module, num_domains: int):
        super().__init__()
        self.norm = norm
        self.code = nn.Linear(num_domains, 2 * norm.num_features, bias=False)
        nn.init.zeros_(self.code.weight)
        self.domain: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.domain is None:
            raise RuntimeError("ConditionalNorm runs inside StarGANGenerator.forward, which gives it the domain code")
        out = self.norm(x)
        scale, shift = self.code(self.domain.to(out.dtype)).chunk(2, dim=1)
        return out * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


def check_size(x: torch.Tensor, multiple: int) -> None:
    """The ResNet generator's rule: sides divisible by `multiple` and at least twice it."""
    height, width = x.shape[-2:]
    if height % multiple or width % multiple or min(height, width) < 2 * multiple:
        raise ValueError(f"Input is {height}×{width}, but this generator needs sides divisible by {multiple} and at "
                         f"least {2 * multiple}; pad it first (translate() does).")


def domain_index(model: StarGANGenerator, target: int | str) -> int:
    """A domain name (or index) -> its index; ValueError naming the model's domains otherwise."""
    domains = model.config.domains
    if isinstance(target, str) and target in domains:
        return domains.index(target)
    if isinstance(target, int) and not isinstance(target, bool) and 0 <= target < len(domains):
        return target
    raise ValueError(f"Unknown target domain {target!r}; this model knows {', '.join(domains)}.")


@torch.no_grad()
def translate(model: StarGANGenerator, image_tensor: torch.Tensor, target: int | str) -> torch.Tensor:
    """Translate (N, 3, H, W) images in [-1, 1] into domain `target` (a name or an index); any H, W:
    the input is padded (reflect, or replicate where the picture is too small to reflect) to sides that
    are multiples of `model.multiple`, at least two of them, and the output cropped back."""
    index = domain_index(model, target)
    height, width = image_tensor.shape[-2:]
    multiple = model.multiple
    pad_h = max(-(-height // multiple) * multiple, 2 * multiple) - height
    pad_w = max(-(-width // multiple) * multiple, 2 * multiple) - width
    x = image_tensor
    if pad_h or pad_w:
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    target_ids = torch.full((x.shape[0],), index, dtype=torch.long, device=x.device)
    return model(x, target_ids)[..., :height, :width].clamp(-1, 1)


def working_size(width: int, height: int, short_side: int, max_side: int) -> tuple[int, int]:
    """The size a photo is translated at: short side `short_side` (the scale the model was trained at),
    the long side at most `max_side`."""
    scale = min(short_side / min(width, height), max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def translate_image(model: StarGANGenerator, image: Image.Image, target: int | str,
                    short_side: int | None = None, max_side: int | None = None) -> Image.Image:
    """PIL in (any mode; transparency onto white), PIL RGB out: the photo at the scale the model was
    trained at (short side `short_side`, default the model's `inference_short_side`, else its training
    resolution), translated into `target`. Raises ValueError for an unknown domain and
    pix2pix_demo.imaging.ImageError for a picture thinner than 1:16."""
    metadata = getattr(model, "metadata", {}) or {}
    short_side = short_side or int(metadata.get("inference_short_side") or metadata.get("resolution") or 128)
    max_side = max_side or 3 * short_side
    image = check_aspect(to_rgb(image))
    size = working_size(*image.size, short_side, max_side)
    if size != image.size:
        image = image.resize(size, Image.BICUBIC if size[0] > image.width else Image.LANCZOS)
    device = next(model.parameters()).device
    return tensor_to_image(translate(model, image_to_tensor(image).to(device), target))


# ---------------------------------------------------------------- the discriminator (training only)


@dataclass
class StarGANDiscriminatorConfig:
    num_domains: int = 3
    base_channels: int = 32  # ndf
    n_layers: int = 3  # PatchGAN layers: 3 -> 70×70 patches
    norm: str = "none"  # the paper's D has none (and WGAN-GP wants none)
    spectral_norm: bool = False
    in_channels: int = 3

    def patchgan(self) -> PatchGANConfig:
        return PatchGANConfig(in_channels=self.in_channels, base_channels=self.base_channels,
                              n_layers=self.n_layers, norm=self.norm, spectral_norm=self.spectral_norm)


class StarGANDiscriminator(nn.Module):
    """(N, 3, H, W) -> (patch scores (N, 1, H', W'), domain logits (N, num_domains))."""

    def __init__(self, config: StarGANDiscriminatorConfig):
        super().__init__()
        if config.n_layers < 1:
            raise ValueError("the StarGAN discriminator needs a PatchGAN with n_layers >= 1")
        self.config = config
        patchgan = PatchGANDiscriminator(config.patchgan())
        self.trunk = patchgan.net[:-1]
        self.patch_head = patchgan.net[-1]  # D_src
        features = self.patch_head.in_channels
        self.class_head = nn.Linear(features, config.num_domains)  # D_cls, on pooled features
        if config.spectral_norm:
            self.class_head = nn.utils.parametrizations.spectral_norm(self.class_head)

    @property
    def receptive_field(self) -> int:
        return self.config.patchgan().receptive_field

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk(x)
        return self.patch_head(features), self.class_head(features.mean(dim=(2, 3)))
