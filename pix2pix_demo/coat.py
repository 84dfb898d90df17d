"""Coat colours for edges→cats: the colour a drawn cat gets, as a condition of the generator.

A line drawing does not say what colour a cat is, so a pix2pix model trained with an L1 loss paints
the average of its training cats (ours were all brown: Abyssinians and Bengals). The edges2cats model
therefore takes a *coat colour* beside the drawing: the mean RGB of the cat's fur, in [0, 1], given to
every decoder level of the U-Net (`UNetConfig.condition_channels = 3`). The user picks one of
`COATS` (or the model's default); training reads it off each target photo.

Training sees more coats than the photos have: `recolour` turns a cut-out cat into a grey, black,
cream, ginger or paler/darker one (desaturation, a hue turn within the reds and yellows, a gamma
curve); every one of these leaves white white, so the background of a cut-out stays clean, and the
coat colour is then measured on the recoloured photo (`coat_colour`, over the pixels that are cat in
the original: `coat_mask`).
"""

from __future__ import annotations

import numpy as np

from .imaging import darkest_channel

# Named coats a person can pick: mean fur colours (RGB, 0..1) as `coat_colour` measures them. "brown" is
# the mean of the training cut-outs (Abyssinians and Bengals, the model's default); the others are
# cluster centres of 282 real cats/train photos measured by `python -m train.data.coat_palette` (a warm
# grey tabby is the commonest), pushed a little towards the colour the name promises (ginger, white).
COATS: dict[str, tuple[float, float, float]] = {
    "brown": (0.55, 0.45, 0.365),
    "tabby": (0.45, 0.41, 0.38),
    "ginger": (0.62, 0.42, 0.24),
    "cream": (0.70, 0.63, 0.54),
    "grey": (0.50, 0.49, 0.48),
    "black": (0.17, 0.16, 0.15),
    "white": (0.82, 0.81, 0.79),
}
DEFAULT_COAT = "brown"

# The four coat domains of the coat-colour StarGAN (`train.data.coat_domains`' rules) and the mean coat of each
# domain's labelled training photos (1301 photos of cats/train + cats-masked/images, held-out lists left
# out; 99 black, 107 ginger, 365 grey tabby, 42 white / cream), as `core_colour` measures it: the targets of
# the classical `recolour_coat`, so it aims at the same coats as the StarGAN.
COAT_DOMAINS: dict[str, tuple[float, float, float]] = {
    "black": (0.200, 0.167, 0.150),
    "ginger": (0.570, 0.400, 0.250),
    "grey-tabby": (0.451, 0.417, 0.389),
    "white-cream": (0.728, 0.678, 0.629),
}
COAT_DOMAIN_LABELS = {"black": "Black", "ginger": "Ginger", "grey-tabby": "Grey tabby", "white-cream": "White / cream"}

# The same for shoes and handbags (edges2products): cluster centres of the 2,000 edges2products/train
# photos' mean colours (k-means, k = 10), the commonest first after the default. The first is the default.
PRODUCT_COLOURS: dict[str, tuple[float, float, float]] = {
    "brown": (0.39, 0.35, 0.33),
    "dark brown": (0.28, 0.25, 0.24),
    "black": (0.18, 0.17, 0.17),
    "white": (0.84, 0.82, 0.80),
    "beige": (0.75, 0.70, 0.67),
    "blue": (0.46, 0.49, 0.52),
    "tan": (0.62, 0.48, 0.35),
    "khaki": (0.73, 0.64, 0.47),
    "red": (0.56, 0.28, 0.23),
    "pink": (0.82, 0.36, 0.45),
}

# The named colours a model trained with `train.pix2pix --coat --coat-palette NAME` offers (its config.json
# "coats"); the first of each is its default.
PALETTES: dict[str, dict[str, tuple[float, float, float]]] = {"cats": COATS, "products": PRODUCT_COLOURS}

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# YIQ chroma plane: a hue turn is a rotation of (I, Q) with Y fixed
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], dtype=np.float32)
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ).astype(np.float32)


def coat_mask(photo: np.ndarray, white: float = 0.90) -> np.ndarray:
    """HxW bool: the pixels of a cut-out (cat on white) that are not background white. `photo` is
    HxWx3 uint8 or float in [0, 1]."""
    return _as_float(darkest_channel(photo)) < white


def coat_colour(photo: np.ndarray, mask: np.ndarray | None = None,
                default: tuple[float, float, float] = COATS[DEFAULT_COAT]) -> np.ndarray:
    """The mean RGB (float32, 0..1) of `photo` over `mask` (default: `coat_mask(photo)`); `default`
    when the mask is (nearly) empty."""
    rgb = _as_float(photo)
    mask = coat_mask(rgb) if mask is None else mask
    if mask.sum() < 16:
        return np.asarray(default, dtype=np.float32)
    return rgb[mask].mean(axis=0).astype(np.float32)


def core_colour(photo: np.ndarray, probability: np.ndarray, sure: float = 0.8) -> np.ndarray | None:
    """The colour of the cat in an ordinary photo (not a cut-out): the mean RGB (0..1) over the pixels a
    segmenter is sure about (probability >= `sure`), eroded by 2 % of the side so the background does not
    leak in; None when that leaves under 2 % of the photo."""
    core = sure_core(probability, sure)
    return None if core is None else _as_float(photo)[core].mean(axis=0).astype(np.float32)


def sure_core(probability: np.ndarray, sure: float = 0.8) -> np.ndarray | None:
    """The pixels a segmenter is sure are cat (probability >= `sure`), eroded by 2 % of the side so the
    background does not leak in (HxW bool); None when that leaves under 2 % of the picture."""
    import cv2

    core = (np.asarray(probability) >= sure).astype(np.uint8)
    radius = max(1, round(0.02 * max(core.shape)))
    core = cv2.erode(core, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0
    return None if core.sum() < 0.02 * core.size else core


def on_white(photo: np.ndarray, share: float = 0.9) -> bool:
    """Does the photo stand on a white background (a product shot, a cut-out)? `share` of its border
    pixels are near white."""
    rgb = _as_float(photo)
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    return bool((border.min(axis=1) > 0.9).mean() >= share)


def recolour_photo(photo: np.ndarray, saturation: float = 1.0, hue_degrees: float = 0.0,
                   gamma: float = 1.0) -> np.ndarray:
    """Scale the saturation, turn the hue, then apply a gamma curve. White stays white (no chroma, and
    1 ** gamma = 1). HxWx3 uint8 in -> uint8 out (float in -> float out)."""
    rgb = _as_float(photo)
    yiq = rgb @ RGB_TO_YIQ.T
    angle = np.deg2rad(hue_degrees)
    cos, sin = np.cos(angle) * saturation, np.sin(angle) * saturation
    i, q = yiq[..., 1].copy(), yiq[..., 2].copy()
    yiq[..., 1], yiq[..., 2] = cos * i - sin * q, sin * i + cos * q
    out = np.clip(yiq @ YIQ_TO_RGB.T, 0.0, 1.0) ** np.float32(gamma)
    if photo.dtype == np.uint8:
        return np.round(out * 255).astype(np.uint8)
    return out.astype(np.float32)


def random_recolour(rng: np.random.Generator, keep: float = 0.3) -> dict:
    """Parameters for `recolour_photo`: the photo as it is with probability `keep`; else a coat from
    near-grey (a third of the time) to more saturated, its hue turned a little (within the cats' reds and
    yellows), and a gamma from 0.2 (pale, cream or white) to 2.5 (dark, black)."""
    if rng.random() < keep:
        return {"saturation": 1.0, "hue_degrees": 0.0, "gamma": 1.0}
    saturation = rng.uniform(0.0, 0.15) if rng.random() < 1 / 3 else rng.uniform(0.5, 1.35)
    return {"saturation": float(saturation), "hue_degrees": float(rng.uniform(-6.0, 8.0)),
            "gamma": float(np.exp(rng.uniform(np.log(0.2), np.log(2.5))))}


def match_chroma(image: np.ndarray, coat, white: float = 0.97, soft: float = 0.12,
                 weight: np.ndarray | None = None) -> np.ndarray:
    """Move the mean hue and saturation of the object in `image` (the pixels that are not white) to those
    of `coat` (RGB 0..1), keeping every pixel's lightness and the texture's own colour variation: the
    chroma (YIQ's I, Q) of each object pixel is shifted by the difference of the means, fading out
    towards white so the background stays clean. HxWx3 uint8 in, uint8 out.

    The generator learns a coat's lightness (black, grey, cream, white cats) far sooner than its hue: after
    95 CPU-minutes a "ginger" condition still came out brown. This final step makes the chosen colour
    visible; the shading, fur and shape are the network's.

    `weight` (HxW in 0..1, e.g. a segmenter's cat probability) says where the object is in an ordinary
    photo instead (no white background): its chroma moves by `weight` × the difference."""
    rgb = _as_float(image)
    masked = weight is not None
    if masked:
        weight = np.clip(np.asarray(weight, dtype=np.float32), 0.0, 1.0)
    else:
        weight = np.clip((white - rgb.min(axis=2)) / soft, 0.0, 1.0)  # 0 on white, 1 inside the object
    if weight.sum() < 16:
        return np.asarray(image).copy()
    yiq = rgb @ RGB_TO_YIQ.T
    target = np.asarray(coat, dtype=np.float32).reshape(3) @ RGB_TO_YIQ.T
    current = (yiq[..., 1:] * weight[..., None]).sum(axis=(0, 1)) / weight.sum()
    # a light pixel along the outline is mostly white paper: shift it only by its share of object (its
    # darkness relative to the object's mean), so a ginger cat gets no orange halo
    lightness = yiq[..., 0]
    mean_lightness = (lightness * weight).sum() / weight.sum()
    share = 1.0 if masked else np.clip(1.5 * (1.0 - lightness) / max(1.0 - mean_lightness, 0.05), 0.0, 1.0)
    yiq[..., 1:] += (weight * share)[..., None] * (target[1:] - current)
    out = np.round(np.clip(yiq @ YIQ_TO_RGB.T, 0.0, 1.0) * 255).astype(np.uint8)
    if masked:  # pixels outside the object keep their exact values (no rounding through YIQ)
        out[weight <= 0] = np.asarray(image)[weight <= 0]
    return out


def recolour_coat(photo: np.ndarray, coat, probability: np.ndarray, sure: float = 0.8) -> np.ndarray:
    """Classical recolour of the cat in an ordinary photo: the cat's lightness is scaled to `coat`'s
    (Y, I and Q together, weighted by the segmenter's cat `probability`, the ratio measured on the pixels
    it is sure about), then `match_chroma` on `probability` moves its hue and saturation to the coat's.
    What an image editor's "colourise the selection" does; the fur's shading and texture are the photo's
    own, and pixels with probability 0 keep their exact values. HxWx3 uint8 in, uint8 out."""
    rgb = _as_float(photo)
    weight = np.clip(np.asarray(probability, dtype=np.float32), 0.0, 1.0)
    yiq = rgb @ RGB_TO_YIQ.T
    core = weight >= sure
    if core.sum() >= 16:
        target = float(np.asarray(coat, np.float32).reshape(3) @ RGB_TO_YIQ[0])
        ratio = target / max(float(yiq[..., 0][core].mean()), 0.02)
        yiq *= (1 + weight * (ratio - 1))[..., None]  # the same colour, lighter or darker
    lit = np.round(np.clip(yiq @ YIQ_TO_RGB.T, 0, 1) * 255).astype(np.uint8)
    original = np.asarray(photo) if np.asarray(photo).dtype == np.uint8 else np.round(rgb * 255).astype(np.uint8)
    lit[weight <= 0] = original[weight <= 0]  # outside the cat: the photo's own pixels
    return match_chroma(lit, coat, weight=weight)


def parse_coat(value, coats: dict | None = None) -> np.ndarray:
    """A coat name (of `coats`, default COATS), "#rrggbb", or three numbers in 0..1 -> RGB float32.
    Raises ValueError with a message for anything else."""
    coats = COATS if coats is None else coats
    if isinstance(value, str):
        name = value.strip().lower()
        if name in coats:
            return np.asarray(coats[name], dtype=np.float32)
        if len(name) == 7 and name.startswith("#"):
            try:
                return np.asarray([int(name[k:k + 2], 16) / 255 for k in (1, 3, 5)], dtype=np.float32)
            except ValueError:
                pass
        raise ValueError(f"Unknown coat {value!r}: choose one of {', '.join(coats)} or a colour like #a0522d.")
    try:
        rgb = np.asarray(value, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        rgb = np.zeros(0)
    if rgb.shape != (3,) or not np.all(np.isfinite(rgb)) or rgb.min() < 0 or rgb.max() > 1:
        raise ValueError(f"A coat colour is a name, #rrggbb, or three numbers from 0 to 1; got {value!r}.")
    return rgb


def _as_float(photo: np.ndarray) -> np.ndarray:
    photo = np.asarray(photo)
    return photo.astype(np.float32) / 255.0 if photo.dtype == np.uint8 else photo.astype(np.float32)
