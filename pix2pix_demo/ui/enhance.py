"""Enhance ×4 in the app: a generated picture -> the same picture four times larger, by the SRGAN model.

The model is the registry's model of kind "srgan" (`weights/srgan-x4`, trained by `python -m train.srgan`),
loaded on first use. Used by the Draw tab's 1024² download (`live.render_png`), the Photo tab's
"Enhance ×4" button (the /enhance endpoint below) and the SinGAN tab's Super-resolution (method SRGAN).
"""

from __future__ import annotations

from PIL import Image

from .. import registry
from ..imaging import ImageError, fitted_size, open_image, resize_to, to_rgb
from . import logic
from .common import gpu, output_file, uploaded_files, user_messages

DEFAULT_ENHANCER = "srgan-x4"


def enhancer_key() -> str | None:
    """The SRGAN model the app uses: `srgan-x4` when present, else the first one by name; None without any."""
    keys = sorted(registry.list_models("srgan"))
    return DEFAULT_ENHANCER if DEFAULT_ENHANCER in keys else (keys[0] if keys else None)


def enhancer():
    """The SRGAN generator (eval mode), or InputError saying why there is none."""
    key = enhancer_key()
    if key is None:
        raise logic.InputError("Enhance ×4 needs the SRGAN model (weights/srgan-x4, made by `python -m train.srgan`), "
                               "and this server has none.")
    try:
        return registry.load(key, device=logic.device())
    except registry.ModelUnavailable as error:
        raise logic.InputError(str(error)) from None


def enhance_image(image: Image.Image, max_side: int | None = None) -> Image.Image:
    """PIL in -> PIL RGB ×4 out. `max_side`: shrink larger inputs to this long side first (LANCZOS);
    without it, pictures over the library's limit get its message (pix2pix_demo.superres.MAX_INPUT_SIDE)."""
    from ..superres import enhance

    from ..imaging import check_aspect

    image = to_rgb(image)
    try:
        if max_side and max(image.size) > max_side:
            check_aspect(image)  # judged at the size the person sent, so the message names that size
            image = resize_to(image, fitted_size(*image.size, max_side))
        return enhance(enhancer(), image)
    except ImageError as error:
        raise logic.InputError(str(error)) from None


def enhance_generated(image: Image.Image, size: int = 256) -> Image.Image:
    """A generated pix2pix picture -> ×4 of it at the model's resolution: a picture larger than `size`
    (the Photo tab shows results resized) is first brought back to `size` on its long side, so the
    result is 4·size (1024 px) on its long side."""
    return enhance_image(image, max_side=size)


@gpu
@user_messages(empty_result=None)
def enhance_handler(image):
    """/enhance: a picture the app made (or any uploaded picture) -> the picture ×4 (at most 1024 px on the long side)."""
    if image is None:
        raise logic.EmptyInput("Nothing to enhance yet: generate a picture first.")
    try:
        picture = open_image(uploaded_files(image))
    except ImageError as error:
        raise logic.InputError(str(error)) from None
    return output_file(enhance_generated(picture), "png", "enhanced")
