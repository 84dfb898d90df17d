"""Images in and out: one way to open, convert, resize and pad.

Every model in this package works on tensors of shape (N, C, H, W) with values in [-1, 1].
`image_to_tensor` / `tensor_to_image` are the only conversions between PIL and that range.

The resize/pad rule for any input size and aspect (`fit_and_pad`):
  1. scale the image so its LONG side equals `size` (the model's training resolution),
     keeping the aspect ratio;
  2. pad the short side (and the long side, if needed) up to a multiple of `multiple`
     (2**num_downsamplings for a U-Net) with a fill value, centred;
  3. after the model runs, `unpad` crops the padding off again, so the output has the
     input's aspect ratio (at the fitted resolution, or resized back to the input size).
"""

from __future__ import annotations

import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# torch is imported inside the tensor functions: opening and converting images (all the app needs to
# show its first page) must not pay for importing torch.

# Pillow refuses images above this many pixels (decompression bombs). 40 MP covers any
# real photo; a 20000x20000 PNG of a few KB is refused with a clear message.
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


class ImageError(ValueError):
    """An input that cannot be used as an image; the message is meant for the user."""


def open_image(source, max_pixels: int = MAX_IMAGE_PIXELS) -> Image.Image:
    """Open a path, bytes, numpy array or PIL image and return an upright PIL image.

    EXIF orientation is applied. Raises ImageError (with a message fit for a user) for
    files that are not images, truncated files and images above `max_pixels`.
    """
    try:
        if isinstance(source, Image.Image):
            image = source
        elif isinstance(source, np.ndarray):
            image = Image.fromarray(source)
        elif isinstance(source, (bytes, bytearray)):
            image = Image.open(io.BytesIO(source))
        elif isinstance(source, (str, os.PathLike)):
            image = Image.open(Path(source))
        else:
            raise ImageError(f"Expected an image, got {type(source).__name__}.")
        width, height = image.size
        if width * height > max_pixels:
            raise ImageError(
                f"The image is {width}×{height} pixels; the limit is {max_pixels / 1e6:.0f} megapixels. "
                "Please use a smaller image."
            )
        if width < 1 or height < 1:
            raise ImageError("The image is empty (0 pixels).")
        image.load()  # decode now, so truncated files fail here and not deep in a model
        return ImageOps.exif_transpose(image)
    except ImageError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageError(
            f"The image is too large to open safely (limit {max_pixels / 1e6:.0f} megapixels)."
        ) from error
    except Image.UnidentifiedImageError as error:
        raise ImageError("Could not read the image: this file is not an image format Pillow can open "
                         "(PNG, JPEG, WebP, GIF, BMP, TIFF, ...).") from error
    except (OSError, SyntaxError, ValueError) as error:
        text = str(error)
        if isinstance(source, (str, os.PathLike)):  # the message is for a user: no server paths in it
            text = text.replace(str(source), Path(source).name)
        raise ImageError(f"Could not read the image: {text}") from error


MAX_ASPECT = 16  # long side / short side; a 10000x10 strip holds no picture a model can use


def check_aspect(image: Image.Image, max_aspect: float = MAX_ASPECT) -> Image.Image:
    """Return `image`, or raise ImageError when it is too thin to work with (e.g. 10000x10 px)."""
    width, height = image.size
    if max(width, height) > max_aspect * min(width, height):
        raise ImageError(f"The image is {width}×{height} pixels: too thin to work with (the long side may be at "
                         f"most {max_aspect:g} times the short side). Crop it first.")
    return image


def darkest_channel(array) -> np.ndarray:
    """HxW: the darkest of the first three channels of an HxWxC array (an HxW one as it is), in its own dtype.
    Taken pairwise: numpy's min over a last axis of 3 is ~40x slower, and this runs per live picture."""
    array = np.asarray(array)
    if array.ndim == 2:
        return array
    return np.minimum(np.minimum(array[..., 0], array[..., 1]), array[..., 2])


def to_rgb(image: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """Any PIL mode -> RGB. Transparency is flattened onto `background`; 16-bit and float
    images are rescaled to 8 bit; CMYK, palette and grayscale are converted."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        array = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or array.max() > 255 else 255.0
        if image.mode == "F" and array.max() <= 1.0:
            top = 1.0
        image = Image.fromarray(np.clip(array / top * 255.0, 0, 255).astype(np.uint8), "L")
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "RGB" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, tuple(background) + (255,))
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image.convert("RGB")


def to_gray(image: Image.Image) -> Image.Image:
    """Any PIL mode -> L, transparency flattened onto white."""
    return to_rgb(image).convert("L")


def image_to_tensor(image: Image.Image, channels: int = 3) -> torch.Tensor:
    """PIL image -> float tensor (1, channels, H, W) in [-1, 1]. channels is 1 or 3."""
    import torch

    image = to_gray(image) if channels == 1 else to_rgb(image)
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[:, :, None]
    tensor = torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)
    return tensor / 127.5 - 1.0


def tensor_to_image(tensor: torch.Tensor) -> Image.Image:
    """Tensor (1, C, H, W) or (C, H, W) in [-1, 1] -> PIL image (RGB for C=3, L for C=1)."""
    if tensor.dim() == 4:
        if tensor.shape[0] != 1:
            raise ValueError(f"tensor_to_image takes one image, got a batch of {tensor.shape[0]}")
        tensor = tensor[0]
    array = ((tensor.detach().float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().byte()
    array = array.permute(1, 2, 0).numpy()
    if array.shape[2] == 1:
        return Image.fromarray(array[:, :, 0], "L")
    return Image.fromarray(array, "RGB")


@dataclass(frozen=True)
class PadBox:
    """Where the fitted image sits inside the padded tensor, and the original size."""

    left: int
    top: int
    width: int  # fitted width (before padding)
    height: int
    original_width: int
    original_height: int


def fitted_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Scale (width, height) so the long side is `size`, keeping the aspect ratio."""
    scale = size / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def fit_and_pad(image: Image.Image, size: int, multiple: int, fill: float = 1.0,
                channels: int = 3) -> tuple[torch.Tensor, PadBox]:
    """PIL image -> padded tensor (1, C, H', W') whose sides are multiples of `multiple`.

    The image is resized so its long side is `size`, then padded with `fill` (in [-1, 1];
    1.0 is white, right for line drawings) to the next multiple of `multiple`, centred.
    """
    import torch.nn.functional as F

    width, height = image.size
    fit_w, fit_h = fitted_size(width, height, size)
    resized = image if (fit_w, fit_h) == (width, height) else image.resize((fit_w, fit_h), Image.LANCZOS)
    tensor = image_to_tensor(resized, channels)
    pad_w = math.ceil(fit_w / multiple) * multiple - fit_w
    pad_h = math.ceil(fit_h / multiple) * multiple - fit_h
    left, top = pad_w // 2, pad_h // 2
    tensor = F.pad(tensor, (left, pad_w - left, top, pad_h - top), value=fill)
    return tensor, PadBox(left, top, fit_w, fit_h, width, height)


def unpad(tensor: torch.Tensor, box: PadBox) -> torch.Tensor:
    """Crop the padding added by `fit_and_pad` off a model output."""
    return tensor[..., box.top:box.top + box.height, box.left:box.left + box.width]


def resize_to(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize with a good filter (LANCZOS), skipping the work when the size already matches."""
    return image if image.size == tuple(size) else image.resize(tuple(size), Image.LANCZOS)
