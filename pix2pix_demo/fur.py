"""A fur finish: hair strokes drawn into a cat the network painted as smooth shading.

Small generators trained on this project's CPU paint a cat's colour and shading but not its hair
(docs/edges-to-image.md: sixteen sessions of recipes). This finish adds the hair the classical way,
by **line integral convolution** (Cabral & Leedom, SIGGRAPH 1993): white noise is averaged along a
flow field, so each pixel takes the mean of the noise on the short streamline through it and the
noise turns into strokes that follow the flow. Multiplied into the picture's lightness, those strokes
read as strands of fur.

    >>> from pix2pix_demo.fur import fur_finish
    >>> furry = fur_finish(rgb)             # uint8 H×W×3 in, the same out: a cat on a white page

Where the strands go: away from the cat's middle, along the gradient of the (smoothed) distance to
its outline, so the fur of a face radiates from the nose to the cheeks and ears and the fur of a
body lies outwards from its spine. Where the strands are not drawn: the white page (the cat is
what is not page white, holes such as a white chest inside the outline included) and the picture's
own features (eyes, nose, mouth, drawn lines: strong local contrast in the network's picture fades
the finish out), so the face the network drew stays as drawn.

The noise comes from a fixed seed and is tied to the pixel grid: the same drawing gets the same fur,
and a new stroke changes the fur only near the parts of the outline it moves (no flicker while
drawing). It costs ~25 ms at 256² on one CPU thread (OpenCV remaps). Not learned: there is nothing
to train, and a model opts in through its config (`"fur": {"amount": 0.2, ...}`, see
`FurSettings`), which `Pix2PixPipeline` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

# OpenCV is imported where it is used: the registry reads FurSettings while the app is built, which must not
# load cv2 (tests/test_startup.py)


@dataclass(frozen=True)
class FurSettings:
    """The finish's knobs, as a model's config.json stores them under "fur".

    amount: strand contrast (0 = off; the lightness is multiplied by 1 ± amount × the strand noise,
      whose standard deviation is 1). length: the strands' half-length in pixels at the model's
      resolution. protect: the local contrast (lightness units per pixel, after a 1-px blur) at which
      the finish has faded to 1/e: features sharper than that are kept as the network drew them.
    soften: the blur (pixels) that replaces the network's own fine pattern under the strands.
    page: the lightness above which a pixel of the page counts as white (not cat). seed: the noise."""

    amount: float = 0.2  # session 18: short, faint strands (0.2 / 4) read as fur; 0.4 / 8 as a hedgehog's spines
    length: int = 4
    protect: float = 0.08
    soften: float = 1.2
    page: float = 0.9
    seed: int = 0

    @classmethod
    def from_config(cls, value) -> "FurSettings | None":
        """A config's "fur" value -> settings; None for no finish (absent, false, or amount 0).

        Raises ValueError naming the key for anything else (a config is read at load time)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(f'config "fur" must be an object of {[f.name for f in fields(cls)]} or true, got {value!r}')
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f'config "fur" has unknown keys {unknown}; known: {sorted(known)}')
        settings = cls(**{key: type(getattr(cls, key))(val) for key, val in value.items()})
        if settings.amount < 0 or settings.length < 1 or settings.protect <= 0 or settings.soften < 0:
            raise ValueError(f'config "fur" out of range: {settings}')
        return settings if settings.amount > 0 else None


def config_fur(config: dict) -> FurSettings | None:
    """The fur finish a model's config turns on by default ("fur"), or None: absent, off, or a bad value (which
    `FurSettings.from_config` reports when the model is loaded). For what only describes a model (the
    registry's Draw-tab switch, the card) and must not fail on it."""
    try:
        return FurSettings.from_config(config.get("fur"))
    except (TypeError, ValueError):
        return None


def cat_mask(rgb: np.ndarray, page: float = 0.9) -> np.ndarray:
    """uint8 H×W×3 -> float32 H×W in {0, 1}: 1 where the picture is not the white page.

    A pixel is page when all its channels are at or above `page` (`coat.coat_mask`); specks smaller than 3×3 are dropped and
    page-white holes inside the cat (a white chest, the eyes' highlights) are filled: only page
    that touches the picture's border stays page."""
    import cv2

    from .coat import coat_mask

    ink = coat_mask(rgb, page).astype(np.uint8)
    ink = cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    height, width = ink.shape
    # the page is what a flood fill from the border reaches through non-ink pixels
    page_mask = np.pad(1 - ink, 1, constant_values=1)
    reached = np.zeros((height + 4, width + 4), np.uint8)
    cv2.floodFill(page_mask, reached, (0, 0), 2, flags=4)
    outside = page_mask[1:-1, 1:-1] == 2
    return (~outside).astype(np.float32)


def outward_flow(mask: np.ndarray, smooth: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """The unit direction away from the cat's middle at each pixel: minus the gradient of the
    smoothed distance to the outline or the picture's frame (zero-length gradients get an arbitrary
    but finite direction)."""
    import cv2

    # the picture's frame counts as outline too (a cat that fills the picture has no page around it)
    framed = np.pad((mask > 0.5).astype(np.uint8), 1)
    distance = cv2.distanceTransform(framed, cv2.DIST_L2, 5)[1:-1, 1:-1].astype(np.float32)
    distance = cv2.GaussianBlur(distance, (0, 0), smooth)
    grad_y, grad_x = np.gradient(distance)
    norm = np.sqrt(grad_x ** 2 + grad_y ** 2) + 1e-6
    return (-grad_x / norm).astype(np.float32), (-grad_y / norm).astype(np.float32)


def line_integral_convolution(noise: np.ndarray, flow_x: np.ndarray, flow_y: np.ndarray,
                              length: int) -> np.ndarray:
    """Each pixel's weighted mean of `noise` along the streamline of (flow_x, flow_y) through it,
    `length` unit steps each way (a raised-cosine window, so strands fade out at their ends)."""
    import cv2

    height, width = noise.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    total = noise.astype(np.float32).copy()
    weights = 1.0
    for sign in (1.0, -1.0):
        px, py = xs.copy(), ys.copy()
        for step in range(1, length + 1):
            vx = cv2.remap(flow_x, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            vy = cv2.remap(flow_y, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            px += sign * vx
            py += sign * vy
            weight = float(np.cos(0.5 * np.pi * step / (length + 1)) ** 2)
            total += weight * cv2.remap(noise, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            weights += weight
    return total / weights


def _grey(array: np.ndarray) -> np.ndarray:
    """H×W×3 float -> H×W: the channels' mean (summed by hand: numpy's mean over a last axis of 3 is slow)."""
    return (array[..., 0] + array[..., 1] + array[..., 2]) * np.float32(1 / 3)


def fur_finish(rgb: np.ndarray, settings: FurSettings | None = None) -> np.ndarray:
    """uint8 H×W×3 (a cat on a white page) -> uint8 H×W×3 with fur strands; the page is unchanged."""
    import cv2

    settings = settings or FurSettings()
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"fur_finish takes an H×W×3 RGB array, got shape {rgb.shape}")
    mask = cat_mask(rgb, settings.page)
    if mask.sum() < 16:  # nothing drawn: nothing to add fur to
        return rgb.copy()
    array = rgb.astype(np.float32) / 255.0
    flow_x, flow_y = outward_flow(mask)
    noise = np.random.default_rng(settings.seed).standard_normal(mask.shape).astype(np.float32)
    strands = line_integral_convolution(noise, flow_x, flow_y, settings.length)
    inside = mask > 0.5
    strands = (strands - strands[inside].mean()) / (strands[inside].std() + 1e-6)
    # fade out on the picture's own features (eyes, nose, lines) and at the outline
    lightness = cv2.GaussianBlur(_grey(array), (0, 0), 1.0)
    contrast = np.sqrt(cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3) ** 2
                       + cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3) ** 2)
    contrast = cv2.GaussianBlur(contrast, (0, 0), 2.0)
    keep = np.exp(-(contrast / settings.protect) ** 2)
    body = cv2.GaussianBlur(cv2.erode(mask, np.ones((3, 3), np.uint8)), (0, 0), 1.5) * mask
    strength = (body * keep)[..., None]
    soft = cv2.GaussianBlur(array, (0, 0), settings.soften) if settings.soften > 0 else array
    base = strength * soft + (1.0 - strength) * array
    # as much room to lighten as to darken: above mid-grey the modulation shrinks to the headroom left below
    # white, so a white or cream coat gets faint strands, not dark scratches (its light strands would clip)
    lightness = _grey(base)[..., None]
    headroom = np.clip((1.0 - lightness) / np.maximum(lightness, 1e-3), 0.0, 1.0)
    out = base * (1.0 + settings.amount * strands[..., None] * strength * headroom)
    out = np.where(inside[..., None], out, array)  # the page exactly as it was
    return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
