"""Enhance ×4: a picture in, the same picture four times larger out, by an SRGAN generator.

    from pix2pix_demo import load_model
    from pix2pix_demo.superres import enhance
    model = load_model("weights/srgan-x4")
    big = enhance(model, Image.open("cat-256.png"))     # PIL in (any mode, any size up to the limit), PIL RGB out

Inputs up to MAX_INPUT_SIDE on the long side (the result is then at most 4·MAX_INPUT_SIDE); larger ones
are refused with a message (shrink them first: enlarging a big photo four times takes long on a CPU
and makes a file too large to show). Pictures larger than `tile` px run in overlapping tiles, so
memory stays small; the overlap covers the network's receptive field, so the tiles' seams do not show
(the result equals the whole-image run up to float rounding).
"""

from __future__ import annotations

from PIL import Image

from .imaging import ImageError, check_aspect, image_to_tensor, tensor_to_image, to_rgb

MAX_INPUT_SIDE = 512  # px, the long side of an input (a 2048-px result at ×4)
TILE = 192  # px of input per tile


def _scale(model) -> int:
    return int(model.config.scale)


def check_size(image: Image.Image, max_side: int = MAX_INPUT_SIDE, scale: int = 4) -> Image.Image:
    """Return `image`, or raise ImageError (a message for a person) when it is too large or too thin."""
    width, height = image.size
    if max(width, height) > max_side:
        raise ImageError(f"The picture is {width}×{height} pixels; Enhance ×{scale} takes at most {max_side} px on "
                         f"the long side (the result would be {width * scale}×{height * scale}). Shrink it first.")
    return check_aspect(image)


def enhance(model, image: Image.Image, max_side: int = MAX_INPUT_SIDE, tile: int = TILE) -> Image.Image:
    """PIL image -> PIL RGB image `model.config.scale` (4) times larger, by the SRGAN generator `model`.

    Transparency is flattened onto white. Raises ImageError when the image is larger than `max_side`
    on its long side or thinner than 1:16."""
    import torch

    image = check_size(to_rgb(image), max_side, _scale(model))
    device = next(model.parameters()).device
    with torch.no_grad():
        return tensor_to_image(upscale_tensor(model, image_to_tensor(image).to(device), tile))


def upscale_tensor(model, low: "torch.Tensor", tile: int = TILE) -> "torch.Tensor":
    """(1, 3, h, w) in [-1, 1] -> (1, 3, s·h, s·w): whole when it fits in one tile, else tile by tile."""
    import torch

    scale = _scale(model)
    height, width = low.shape[-2:]
    if max(height, width) <= tile:
        return model(low).clamp(-1, 1)
    margin = model.config.receptive_radius + 1
    out = torch.empty(1, low.shape[1], height * scale, width * scale, device=low.device, dtype=low.dtype)
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            bottom, right = min(top + tile, height), min(left + tile, width)
            # the tile plus `margin` px of context on every side that has any (an image border pads as a
            # whole-image run would: with zeros in the convolutions)
            ctop, cleft = max(0, top - margin), max(0, left - margin)
            cbottom, cright = min(height, bottom + margin), min(width, right + margin)
            result = model(low[..., ctop:cbottom, cleft:cright]).clamp(-1, 1)
            y0, x0 = (top - ctop) * scale, (left - cleft) * scale
            out[..., top * scale:bottom * scale, left * scale:right * scale] = \
                result[..., y0:y0 + (bottom - top) * scale, x0:x0 + (right - left) * scale]
    return out


def bicubic(image: Image.Image, scale: int = 4) -> Image.Image:
    """The baseline: PIL's bicubic up-sampling by `scale`."""
    image = to_rgb(image)
    return image.resize((image.width * scale, image.height * scale), Image.BICUBIC)


def downscale(image: Image.Image, scale: int = 4) -> tuple[Image.Image, Image.Image]:
    """A photo -> (high-res crop whose sides are multiples of `scale`, its bicubic ×1/scale low-res
    version): the pairs the model is trained and measured on."""
    image = to_rgb(image)
    width, height = image.width // scale * scale, image.height // scale * scale
    if width == 0 or height == 0:
        raise ImageError(f"The picture is {image.width}×{image.height} pixels: too small to shrink ×{scale}.")
    high = image.crop((0, 0, width, height))
    return high, high.resize((width // scale, height // scale), Image.BICUBIC)
