"""The finish from the photo: a SinGAN sample's fine texture rebuilt from the training photo's own patches.

Samples can be *finished from the photo* (`sample(..., finish=True)`, `finish_from_photo`): the
generators decide the layout, and from the level whose short side is 40 px up the picture is rebuilt
from the training photo's own 7x7 patches (GPNN's levels, `pix2pix_demo.gpnn.refine`), so the
texture is the photo's (sparks, windows, hairs) instead of the generators' soft strokes. The model
keeps the photo for that (`keep_photo`, the default). So can paintings and edits (`paint(..., finish=True)`,
`edit(..., finish=True)`: inside the mask only); harmonization is not finished, because the finish
"""

from __future__ import annotations

from PIL import Image

from ..models.singan import SinGAN


# gpnn.refine's settings for the finish (its own defaults: from the 40-px level, completeness alpha 0.5)
FINISH_OPTIONS: dict = {}


def photo(model: SinGAN) -> Image.Image | None:
    """The training photo the model keeps (at its finest scale's size), or None."""
    if not model.config.keeps_photo:
        return None
    return Image.fromarray(model.photo[0].permute(1, 2, 0).cpu().numpy())


def _kept_photo(model: SinGAN) -> Image.Image:
    image = photo(model)
    if image is None:
        raise ValueError("This model was saved without its training photo, so its samples cannot be finished "
                         "from the photo (train it again with the photo kept: the default).")
    return image


def finish_from_photo(model: SinGAN, picture: Image.Image, image: Image.Image | None = None,
                      **refine_options) -> Image.Image:
    """`picture` (a sample, at the model's scale: the training size or a multiple of it) with its fine
    texture rebuilt from the training photo's own patches from the 40-px level up (pix2pix_demo.gpnn.refine
    with its measured defaults); the layout above that stays the picture's. `image`: the photo at the
    model's finest size for a model saved without one (default: the photo the model keeps). refine_options:
    `gpnn.refine`'s keywords (from_side, alpha, ...) instead of FINISH_OPTIONS (experiments)."""
    from ..gpnn import MAX_OUTPUT_SIDE, refine

    image = _kept_photo(model) if image is None else image
    if max(picture.size) > MAX_OUTPUT_SIDE:
        raise ValueError(f"The finish from the photo works on pictures up to {MAX_OUTPUT_SIDE} px long; this one "
                         f"is {picture.width}×{picture.height}. Turn it off for larger samples.")
    return refine(picture, image, **{**FINISH_OPTIONS, **refine_options})
