"""SinGAN's applications: random samples at any size, editing, harmonization, paint-to-image,
super-resolution and animation (PIL in / PIL out).

All applications are deterministic for a given seed (noise comes from a seeded CPU generator),
accept images of any size (resized to the model's scale and back) and raise ValueError with a
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..hub import atomic_write_bytes
from ..imaging import check_aspect, image_to_tensor, open_image, tensor_to_image, to_gray, to_rgb
from ..models.singan import SinGAN, upsample
from ..singan_options import MAX_FRAMES, MAX_INPUT_SIDE, MAX_OUTPUT_PIXELS, MAX_SUPER_RESOLVE_SIDE, default_injection_scale
from .finish import _kept_photo, finish_from_photo
from .layout import layout_scale, warped_layout

LAYOUT_SEED_OFFSET = 1_000_033  # the warp's random stream in `sample`: apart from the seed's noise stream


def _seeded_noise(model: SinGAN, shapes, scales, seed: int) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(int(seed))
    return [torch.randn(1, model.config.image_channels, *shapes[n], generator=generator).to(model.device)
            for n in scales]


def _check_scale(model: SinGAN, scale, name: str) -> int:
    if scale is None:
        return None
    scale = int(scale)
    if not 0 <= scale < model.num_scales:
        raise ValueError(f"{name} must be between 0 and {model.num_scales - 1} for this model "
                         f"({model.num_scales} scales), got {scale}.")
    return scale


def _output_shapes(model: SinGAN, width: int, height: int) -> list[tuple[int, int]]:
    """Per-scale shapes for an input of width x height: long side fitted to the model's finest
    scale, aspect kept."""
    train_h, train_w = model.config.shapes[-1]
    fit = max(train_h, train_w) / max(width, height)
    out_w, out_h = max(1, round(width * fit)), max(1, round(height * fit))
    ratio = [(h / train_h, w / train_w) for h, w in model.config.shapes]
    return [(max(2, round(out_h * rh)), max(2, round(out_w * rw))) for rh, rw in ratio]


@torch.no_grad()
def sample(model: SinGAN, seed: int = 0, width_factor: float = 1.0, height_factor: float = 1.0,
           start_scale: int = 0, size: tuple[int, int] | None = None, finish: bool = False) -> Image.Image:
    """A random image from the model. width_factor/height_factor (0.25..4) or size=(width, height)
    set the output size relative to / instead of the training size; start_scale 0 draws a new layout (from
    noise, or for a model with the "warp" layout its reconstruction warped at random: `layout`; a wider output
    shows more of the picture, mirrored beyond its edges), start_scale > 0 keeps the
    training image's layout up to that scale (the reconstruction) and adds new detail above.
    finish=True rebuilds the fine texture from the training photo's patches (finish_from_photo;
    a few seconds on a CPU; the model must keep its photo)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before sampling
    start_scale = _check_scale(model, start_scale, "start_scale")
    train_h, train_w = model.config.shapes[-1]
    if size is not None:
        width, height = int(size[0]), int(size[1])
    else:
        for name, value in (("width_factor", width_factor), ("height_factor", height_factor)):
            if not 0.25 <= float(value) <= 4.0:
                raise ValueError(f"{name} must be between 0.25 and 4, got {value}.")
        width, height = round(train_w * float(width_factor)), round(train_h * float(height_factor))
    if width < 8 or height < 8 or width * height > MAX_OUTPUT_PIXELS:
        raise ValueError(f"Output size {width}×{height} is outside the allowed range "
                         f"(8 px to {MAX_OUTPUT_PIXELS / 1e6:.0f} megapixels).")
    shapes = model.scale_shapes(height, width)
    noises = _seeded_noise(model, shapes, range(model.num_scales), seed)
    warp_scale = layout_scale(model)
    if start_scale == 0 and warp_scale is not None:  # the reconstruction through warp_scale, warped at random
        layout, _ = warped_layout(model, torch.Generator().manual_seed(int(seed) + LAYOUT_SEED_OFFSET), shapes)
        out = model.forward(noises[warp_scale + 1:], start=layout, start_scale=warp_scale + 1, shapes=shapes)
    elif start_scale == 0:
        out = model.forward(noises, shapes=shapes)
    else:
        layout = upsample(model.reconstruct(end_scale=start_scale - 1), shapes[start_scale - 1])
        out = model.forward(noises[start_scale:], start=layout, start_scale=start_scale, shapes=shapes)
    picture = tensor_to_image(out)
    return finish_from_photo(model, picture) if finish else picture


def _as_rgb(image, what: str, max_side: int | None = None) -> Image.Image:
    """An input image -> RGB (16-bit, palette, alpha converted), shrunk to `max_side` on its long side."""
    if image is None:
        raise ValueError(f"Please provide {what}.")
    image = to_rgb(check_aspect(open_image(image)))
    if max_side and max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    return image


def _working_input(image, mask, what: str) -> tuple[Image.Image, Image.Image | None]:
    """(image, mask) for edit / harmonize: the image shrunk to MAX_INPUT_SIDE, the mask with it (when it
    has the image's original size; another size is refused by prepare_mask)."""
    if image is None:
        raise ValueError(f"Please provide {what}.")
    original = open_image(image)
    working = _as_rgb(original, what, MAX_INPUT_SIDE)
    if mask is not None and working.size != original.size:
        mask = open_image(mask)
        if mask.size == original.size:
            mask = mask.resize(working.size, Image.NEAREST)
    return working, mask


def prepare_mask(mask, size: tuple[int, int], radius: float, blur: float = 5.0) -> np.ndarray:
    """A user mask (white = region to change) -> float32 (H, W) in [0, 1], dilated by `radius`
    and Gaussian-blurred (sigma `blur`) as in the SinGAN code; both in px of a 250-px image and
    scaled with the image. Raises ValueError for another size, grey (non-binary) or empty masks."""
    import cv2

    if mask is None:
        raise ValueError("Please provide a mask (white where the image should change).")
    mask = open_image(mask)
    if mask.size != tuple(size):
        raise ValueError(f"The mask is {mask.size[0]}×{mask.size[1]} px but the image is {size[0]}×{size[1]} px; "
                         "they must have the same size.")
    values = np.asarray(to_gray(mask))
    if mask.mode in ("RGBA", "LA", "PA") or "transparency" in mask.info:
        alpha = np.asarray(mask.convert("RGBA"))[:, :, 3]
        if values.min() == values.max() and alpha.min() != alpha.max():
            values = alpha  # a painted layer: colour is uniform, the stroke is the alpha
    grey = np.mean((values > 40) & (values < 215))
    if grey > 0.15:
        raise ValueError(f"The mask must be black and white (white = region to change), but {grey:.0%} of its "
                         "pixels are grey. Use a binary mask.")
    binary = (values >= 128).astype(np.uint8)
    if binary.sum() == 0:
        raise ValueError("The mask is empty: mark the region to change in white (or paint over it).")
    scale = max(size) / 250
    r = max(1, round(radius * scale))
    # dilation by a disk of radius r, in time linear in the pixels whatever r is (a kernel of
    # (2r+1)^2 makes cv2.dilate's time grow with r: minutes on a 4000-px mask)
    distance = cv2.distanceTransform((binary == 0).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    dilated = (distance <= r).astype(np.float32)
    sigma = max(0.5, blur * scale)
    return np.clip(cv2.GaussianBlur(dilated, (0, 0), sigma), 0, 1)


@torch.no_grad()
def _inject(model: SinGAN, image: Image.Image, injection_scale: int, seed: int) -> torch.Tensor:
    """Feed `image` (down-sampled to scale n-1, up-sampled to n) into scale n and run to the top."""
    shapes = _output_shapes(model, *image.size)
    n = injection_scale
    full = image_to_tensor(image)
    ref = F.interpolate(full, size=shapes[max(n - 1, 0)], mode="bicubic", antialias=True,
                        align_corners=False).clamp(-1, 1).to(model.device)
    noises = _seeded_noise(model, shapes, range(n, model.num_scales), seed)
    return model.forward(noises, start=ref, start_scale=n, shapes=shapes)


def _generated(model: SinGAN, image: Image.Image, injection_scale: int, seed: int, finish: bool) -> Image.Image:
    """`image` injected at `injection_scale` (at the model's scale), finished from the photo when asked."""
    picture = tensor_to_image(_inject(model, image, injection_scale, seed))
    return finish_from_photo(model, picture) if finish else picture


def _blend(generated: Image.Image, image: Image.Image, mask: np.ndarray) -> Image.Image:
    out = np.asarray(generated.resize(image.size, Image.LANCZOS), dtype=np.float32)
    base = np.asarray(image, dtype=np.float32)
    m = mask[:, :, None]
    return Image.fromarray(np.clip(m * out + (1 - m) * base, 0, 255).round().astype(np.uint8), "RGB")


def edit(model: SinGAN, image, mask, injection_scale: int | None = None, seed: int = 0,
         finish: bool = False) -> Image.Image:
    """Editing: `image` is the edited picture, `mask` marks the edited region (white). The region is
    re-generated from `injection_scale` up and blended back with a dilated, blurred mask.
    finish=True rebuilds the re-generated picture's fine texture from the training photo's patches
    before the blend (finish_from_photo; the model must keep its photo; outside the mask nothing changes).
    Returns an RGB image of the input's size (shrunk to MAX_INPUT_SIDE first when larger)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before any work
    image, mask = _working_input(image, mask, "an edited image")
    soft = prepare_mask(mask, image.size, radius=20)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "edit") if scale is None else scale
    return _blend(_generated(model, image, scale, seed, finish), image, soft)


def harmonize(model: SinGAN, image, mask, injection_scale: int | None = None, seed: int = 0) -> Image.Image:
    """Harmonization: `image` is a naive paste onto a picture in the model's style, `mask` marks the
    pasted object. Returns an RGB image of the input's size (shrunk to MAX_INPUT_SIDE first when larger).
    No finish from the photo here: it rebuilds the masked region out of the photo's patches, and tried on
    the CC0 cat and a Hubble deep-field model it replaced the pasted object with fur / empty sky."""
    image, mask = _working_input(image, mask, "a naive paste")
    soft = prepare_mask(mask, image.size, radius=7)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "harmonize") if scale is None else scale
    return _blend(_generated(model, image, scale, seed, False), image, soft)


def training_palette(model: SinGAN, num_colors: int = 5) -> np.ndarray:
    """k-means colours (num_colors x 3, uint8) of the model's reconstruction of its training image."""
    import cv2

    pixels = np.asarray(tensor_to_image(model.reconstruct()), dtype=np.float32).reshape(-1, 3)
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 0.5)
    _, _, centers = cv2.kmeans(pixels, num_colors, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    return np.clip(centers, 0, 255).round().astype(np.uint8)


def quantize_to_palette(image: Image.Image, palette: np.ndarray) -> Image.Image:
    """Replace every pixel by the nearest palette colour."""
    pixels = np.asarray(image, dtype=np.float32)
    distances = ((pixels[:, :, None, :] - palette[None, None].astype(np.float32)) ** 2).sum(-1)
    return Image.fromarray(palette[distances.argmin(-1)], "RGB")


def paint(model: SinGAN, painting, injection_scale: int | None = None, seed: int = 0,
          quantize: bool = False, num_colors: int = 5, finish: bool = False) -> Image.Image:
    """Paint-to-image: a rough painting (flat colours) becomes an image with the model's textures.
    quantize=True first maps the painting onto the training image's `num_colors` k-means colours.
    finish=True rebuilds the result's fine texture from the training photo's patches (finish_from_photo;
    the model must keep its photo).
    Returns an RGB image of the painting's size (shrunk to MAX_INPUT_SIDE first when larger)."""
    if finish:
        _kept_photo(model)  # a model without its photo: say so before any work
    painting = _as_rgb(painting, "a painting", MAX_INPUT_SIDE)
    scale = _check_scale(model, injection_scale, "injection_scale")
    scale = default_injection_scale(model.num_scales, "paint") if scale is None else scale
    if quantize:
        if not 2 <= int(num_colors) <= 16:
            raise ValueError(f"num_colors must be between 2 and 16, got {num_colors}.")
        painting = quantize_to_palette(painting, training_palette(model, int(num_colors)))
    return _generated(model, painting, scale, seed, finish).resize(painting.size, Image.LANCZOS)


@torch.no_grad()
def super_resolve(model: SinGAN, image, factor: int = 4, seed: int = 0) -> Image.Image:
    """Super-resolution as in SinGAN: up-sample by 1/scale_factor and refine with the finest
    generator (noise at its amplitude), repeatedly, until the image is `factor` (2 or 4) times
    larger. Best on the model's own training image or images like it. An input whose result would be
    longer than MAX_SUPER_RESOLVE_SIDE is shrunk first (to MAX_SUPER_RESOLVE_SIDE / factor)."""
    if factor not in (2, 4):
        raise ValueError(f"factor must be 2 or 4, got {factor}.")
    image = _as_rgb(image, "an image to enlarge", MAX_SUPER_RESOLVE_SIDE // factor)
    width, height = image.size
    step_ratio = 1 / model.config.scale_factor
    steps = max(1, math.ceil(math.log(factor) / math.log(step_ratio) - 1e-6))
    ratio = factor ** (1 / steps)
    generator = torch.Generator().manual_seed(int(seed))
    x = image_to_tensor(image).to(model.device)
    top = model.num_scales - 1
    for k in range(1, steps + 1):
        shape = (round(height * ratio ** k), round(width * ratio ** k))
        noise = torch.randn(1, model.config.image_channels, *shape, generator=generator).to(model.device)
        x = model.step(top, x, noise, shape=shape)
    return tensor_to_image(x).resize((width * factor, height * factor), Image.LANCZOS)


@torch.no_grad()
def animation_frames(model: SinGAN, num_frames: int = 30, alpha: float = 0.1, beta: float = 0.9,
                     start_scale: int = 0, seed: int = 0) -> list[Image.Image]:
    """Frames of a random walk in noise space around the reconstruction noise (SinGAN's GIFs):
    z_t = alpha * z* + (1 - alpha) * (z_{t-1} + beta * (z_{t-1} - z_{t-2}) + (1 - beta) * eps).
    alpha near 1 stays close to the training image, beta near 1 makes motion smoother."""
    if not 2 <= int(num_frames) <= MAX_FRAMES:
        raise ValueError(f"num_frames must be between 2 and {MAX_FRAMES}, got {num_frames}.")
    for name, value in (("alpha", alpha), ("beta", beta)):
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1, got {value}.")
    start_scale = _check_scale(model, start_scale, "start_scale")
    shapes = model.scale_shapes()
    generator = torch.Generator().manual_seed(int(seed))
    if start_scale == 0:
        anchor, start = model.reconstruction_noise, None
    else:
        anchor = torch.zeros(1, model.config.image_channels, *shapes[start_scale], device=model.device)
        start = model.reconstruct(end_scale=start_scale - 1)

    def eps():
        return torch.randn(anchor.shape, generator=generator).to(model.device)

    z_prev2 = anchor
    z_prev1 = 0.95 * anchor + 0.05 * eps()
    frames = []
    for _ in range(int(num_frames)):
        diff = beta * (z_prev1 - z_prev2) + (1 - beta) * eps()
        z = alpha * anchor + (1 - alpha) * (z_prev1 + diff)
        z_prev2, z_prev1 = z_prev1, z
        out = model.forward([z], start=start, start_scale=start_scale, shapes=shapes)
        frames.append(tensor_to_image(out))
    return frames


def animate(model: SinGAN, num_frames: int = 30, alpha: float = 0.1, beta: float = 0.9, start_scale: int = 0,
            seed: int = 0, fps: float = 10.0, path: str | Path | None = None) -> bytes:
    """An animated GIF (bytes; also written to `path` if given) of `animation_frames`."""
    if not 1 <= float(fps) <= 50:
        raise ValueError(f"fps must be between 1 and 50, got {fps}.")
    frames = animation_frames(model, num_frames, alpha, beta, start_scale, seed)
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=round(1000 / float(fps)), optimize=False)
    data = buffer.getvalue()
    if path is not None:
        atomic_write_bytes(Path(path), data)
    return data
