"""pix2pix_demo: interactive image-to-image GANs (pix2pix and SinGAN), small enough to read.

    from pix2pix_demo import Pix2PixPipeline
    pipe = Pix2PixPipeline.from_pretrained("weights/edges2cats")   # or a Hub repo id
    photo = pipe(sketch)                                            # PIL in, PIL out
"""

from .hub import ModelLoadError, load_model, save_model
from .imaging import ImageError, open_image

__all__ = ["ImageError", "ModelLoadError", "Pix2PixPipeline", "load_model", "open_image", "save_model"]


def __getattr__(name):
    # Pix2PixPipeline imports torch: only when it is used (the app shows its first page without torch).
    if name == "Pix2PixPipeline":
        from .pipelines import Pix2PixPipeline

        return Pix2PixPipeline
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
