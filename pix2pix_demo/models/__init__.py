"""Model classes. Importing this package registers the pix2pix model types with `pix2pix_demo.hub`
(SinGAN registers itself when `pix2pix_demo.models.singan` is imported; the loader does that on demand)."""

from .autoencoder import AutoEncoderDiscriminator, AutoEncoderDiscriminatorConfig
from .patchgan import PatchGANConfig, PatchGANDiscriminator
from .unet import PRESETS, UNetConfig, UNetGenerator

__all__ = ["AutoEncoderDiscriminator", "AutoEncoderDiscriminatorConfig", "PatchGANConfig", "PatchGANDiscriminator",
           "PRESETS", "UNetConfig", "UNetGenerator"]
