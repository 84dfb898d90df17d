"""Model classes. Importing this package registers the pix2pix model types in `pix2pix_demo.model_types`
(the other model modules register theirs when imported; the loader does that on demand)."""

from .autoencoder import AutoEncoderDiscriminator, AutoEncoderDiscriminatorConfig
from .patchgan import PatchGANConfig, PatchGANDiscriminator
from .unet import PRESETS, UNetConfig, UNetGenerator

__all__ = ["AutoEncoderDiscriminator", "AutoEncoderDiscriminatorConfig", "PatchGANConfig", "PatchGANDiscriminator",
           "PRESETS", "UNetConfig", "UNetGenerator"]
