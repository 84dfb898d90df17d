"""Model classes. Importing this package registers every model type with `pix2pix_demo.hub`."""

from .patchgan import PatchGANConfig, PatchGANDiscriminator
from .unet import PRESETS, UNetConfig, UNetGenerator

__all__ = ["PatchGANConfig", "PatchGANDiscriminator", "PRESETS", "UNetConfig", "UNetGenerator"]

try:  # SinGAN is optional at import time so a broken/absent module never breaks pix2pix
    from .singan import SinGAN, SinGANConfig  # noqa: F401

    __all__ += ["SinGAN", "SinGANConfig"]
except ImportError:  # pragma: no cover
    pass
