"""Keep a drawing's holes open: a learned guess of which enclosed regions are background seen through.

A drawing of a handbag encloses its handle hole; a shoe's drawing encloses the opening. In the photo
such a region is either white background seen through (a hole) or part of the object (filled), and the
drawing alone does not say which: in the 2,000 `edges2products` training pairs 15 % of the enclosed
regions are holes. The shipped products model follows the majority and paints most holes as surface
(docs/edges-to-image.md, sessions 13, 19 and 20).

The region finder (`enclosed_regions`): the lines are the pixels darker than 128, thickened by 1 px (a 3x3
dilation: a 1-px erosion of everything else, so lines that nearly touch close); the regions are the
4-connected components of the rest that touch no border, kept from MIN_PIXELS pixels on.

The guess (`hole_probabilities`): a logistic regression, or one with a small hidden layer (a tiny MLP),
on a few numbers per region from the drawing (`region_features`: size, how thin the band of drawing
between the region and the outside is, shape, place in the object, lines inside it; what the network
already painted there is available too). Its coefficients are fitted on the training pairs
(`python -m train.holes`) and stored in the model's config:

    "holes": {"features": [...], "mean": [...], "scale": [...], "weights": [...], "bias": b,
              "threshold": 0.6, "feather": 2}               # + "hidden_weights": HxF, "hidden_bias": H

`keep_holes_open` blends the regions guessed holes (probability >= threshold) to white, feathered over
`feather` px from the 1-px band beside the lines inwards, never over the lines. `Pix2PixPipeline`
reads the config (`HoleSettings.from_config`) and applies it after the colour is matched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .imaging import darkest_channel

LINE = 128  # a line pixel: darker than this (in every channel: the darkest channel is taken)
MIN_PIXELS = 150  # smaller enclosed regions (after the lines are thickened) are ignored
WHITE = 230  # a region (or pixel) is white when its darkest channel's mean is at least this
FAR = 64.0  # distances to the outside are capped here (in pixels of a 256-px picture)

# the numbers `region_features` gives for each region, in this order (lengths in pixels of a 256² picture)
FEATURES = (
    "log_area",          # log of the region's share of the picture
    "band_mean",         # log1p of the mean over its boundary of the distance to the outside
    "band_max",          # log1p of the largest such distance
    "band_near6",        # share of its boundary within 6 px of the outside
    "band_near12",       # ... within 12 px
    "depth_mean",        # log1p of the mean over its pixels of the distance to the outside
    "compactness",       # 4 pi area / boundary pixels², 1 for a disc, small for a sliver
    "log_aspect",        # log of its bounding box's width / height
    "extent",            # area / bounding-box area
    "rel_y",             # its centre's height in the object's bounding box (0 top, 1 bottom)
    "off_centre",        # |its centre's x in the object's box - 1/2|
    "inner_lines",       # share of what its outer outline encloses that is line (lines drawn inside it)
    "share_of_object",   # area / the object's area (all that is not outside)
    "regions",           # log1p of how many enclosed regions the drawing has
    "painted",           # share of its pixels the network painted white (darkest channel >= 230)
    "brightness",        # mean darkest channel of the network's picture over it, 0..1
)


def _components(drawing):
    """(lines, labels, count, stats, centroids): the thickened line mask and the 4-connected components of
    the rest (component 0 = the lines), with cv2's stats."""
    import cv2

    lines = (darkest_channel(drawing) < LINE).astype(np.uint8)
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(1 - lines, connectivity=4)
    return lines, labels, count, stats, centroids


def _enclosed(labels, count, stats, min_pixels):
    """(new labels, kept count, kept old ids, border ids)."""
    keep = stats[:, 4] >= min_pixels
    keep[0] = False  # the (thickened) lines
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    border = border[border > 0]
    keep[border] = False
    new = np.zeros(count, np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1)
    return new[labels], int(keep.sum()), np.nonzero(keep)[0], border


def enclosed_regions(drawing, min_pixels: int = MIN_PIXELS) -> tuple[np.ndarray, int]:
    """(labels, count): HxW int32, 0 on the lines and on what reaches the border, 1..count on each
    enclosed region of `drawing` (dark lines on white: HxW or HxWxC uint8, or a PIL image) of at least
    `min_pixels` pixels after the lines are thickened by 1 px."""
    _, labels, count, stats, _ = _components(drawing)
    new, kept, _, _ = _enclosed(labels, count, stats, min_pixels)
    return new, kept


def region_features(drawing, output=None, min_pixels: int = MIN_PIXELS) -> tuple[np.ndarray, int, np.ndarray]:
    """(labels, count, features): `enclosed_regions` and a (count, len(FEATURES)) float32 array of each
    region's numbers (see FEATURES). `output`: the network's picture (the same size), for "painted" and
    "brightness" (0 without it)."""
    import cv2

    lines, raw, count_all, stats, centroids = _components(drawing)
    labels, count, kept, border = _enclosed(raw, count_all, stats, min_pixels)
    features = np.zeros((count, len(FEATURES)), np.float32)
    if count == 0:
        return labels, 0, features
    height, width = labels.shape
    scale = math.sqrt(height * width) / 256.0  # lengths in pixels of a 256² picture
    is_border = np.zeros(count_all, bool)
    is_border[border] = True
    outside = is_border[raw]
    if outside.any():
        distance = cv2.distanceTransform((~outside).astype(np.uint8), cv2.DIST_L2, 5) / scale
        distance = np.minimum(distance, FAR)
    else:  # nothing reaches the border: everything is far from an outside
        distance = np.full(labels.shape, FAR, np.float32)
    where = np.flatnonzero(labels.ravel())  # the regions' pixels (the sums below skip the rest)
    flat = labels.ravel()[where]
    sizes = np.bincount(flat, minlength=count + 1)[1:].astype(np.float64)
    # boundary: region pixels with a 4-neighbour outside the region
    padded = np.pad(labels, 1, mode="edge")
    boundary = ((padded[:-2, 1:-1] != labels) | (padded[2:, 1:-1] != labels)
                | (padded[1:-1, :-2] != labels) | (padded[1:-1, 2:] != labels)) & (labels > 0)
    b_labels, b_dist = labels[boundary], distance[boundary].astype(np.float64)
    b_sizes = np.maximum(np.bincount(b_labels, minlength=count + 1)[1:], 1).astype(np.float64)
    b_mean = np.bincount(b_labels, weights=b_dist, minlength=count + 1)[1:] / b_sizes
    b_max = np.zeros(count + 1)
    np.maximum.at(b_max, b_labels, b_dist)
    near6 = np.bincount(b_labels, weights=(b_dist <= 6).astype(np.float64), minlength=count + 1)[1:] / b_sizes
    near12 = np.bincount(b_labels, weights=(b_dist <= 12).astype(np.float64), minlength=count + 1)[1:] / b_sizes
    depth = np.bincount(flat, weights=distance.ravel()[where].astype(np.float64), minlength=count + 1)[1:] / sizes
    # the object: all that is not outside; its bounding box
    ys, xs = np.nonzero(~outside)
    top, bottom = (ys.min(), ys.max() + 1) if ys.size else (0, height)
    left, right = (xs.min(), xs.max() + 1) if xs.size else (0, width)
    object_area = max(float((~outside).sum()), 1.0)
    box = stats[kept]  # left, top, width, height, area (the same components, renumbered 1..count)
    centre = centroids[kept]
    inner = np.zeros(count)
    for index in range(count):
        x0, y0, w, h = (int(v) for v in box[index, :4])
        mask = (labels[y0:y0 + h, x0:x0 + w] == index + 1).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        filled = np.zeros_like(mask)
        cv2.drawContours(filled, contours, -1, 1, thickness=-1)
        enclosed = (filled > 0) & (mask == 0)
        inner[index] = (enclosed & (lines[y0:y0 + h, x0:x0 + w] > 0)).sum() / max(float(filled.sum()), 1.0)
    features[:, 0] = np.log(sizes / (height * width))
    features[:, 1] = np.log1p(b_mean)
    features[:, 2] = np.log1p(b_max[1:])
    features[:, 3] = near6
    features[:, 4] = near12
    features[:, 5] = np.log1p(depth)
    features[:, 6] = np.minimum(4 * math.pi * sizes / b_sizes ** 2, 4.0)
    features[:, 7] = np.log(box[:, 2] / box[:, 3])
    features[:, 8] = sizes / (box[:, 2] * box[:, 3])
    features[:, 9] = (centre[:, 1] - top) / max(bottom - top, 1)
    features[:, 10] = np.abs((centre[:, 0] - left) / max(right - left, 1) - 0.5)
    features[:, 11] = inner
    features[:, 12] = sizes / object_area
    features[:, 13] = math.log1p(count)
    if output is not None:
        dark = darkest_channel(np.asarray(output)).ravel()[where]
        features[:, 14] = np.bincount(flat, weights=(dark >= WHITE).astype(np.float64), minlength=count + 1)[1:] / sizes
        features[:, 15] = np.bincount(flat, weights=dark.astype(np.float64), minlength=count + 1)[1:] / sizes / 255.0
    return labels, count, features


@dataclass(frozen=True)
class HoleSettings:
    """The guess, as a model's config.json stores it under "holes": the logistic regression's `features`
    (names of FEATURES), their `mean` and `scale` (standardisation), `weights` and `bias`; a region is
    whitened from `threshold` on, feathered inwards over `feather` px. With `hidden_weights` (H rows of
    len(features)) and `hidden_bias` (H), the standardised features first pass a tanh layer and `weights`
    has H numbers."""

    features: tuple = ()
    mean: tuple = ()
    scale: tuple = ()
    weights: tuple = ()
    bias: float = 0.0
    threshold: float = 0.5
    feather: float = 2.0
    hidden_weights: tuple = ()
    hidden_bias: tuple = ()
    note: str = field(default="", compare=False)

    @classmethod
    def from_config(cls, value) -> "HoleSettings | None":
        """A config's "holes" value -> settings; None when absent or false. ValueError naming the problem
        for anything else (a config is read at load time)."""
        if value is None or value is False:
            return None
        if not isinstance(value, dict):
            raise ValueError(f'config "holes" must be an object with features, mean, scale, weights, bias, '
                             f'threshold, got {value!r}')
        names = tuple(str(n) for n in value.get("features", ()))
        unknown = [n for n in names if n not in FEATURES]
        if unknown or not names:
            raise ValueError(f'config "holes" names unknown features {unknown} (known: {list(FEATURES)})'
                             if unknown else 'config "holes" has no "features"')
        vectors = {}
        try:
            hidden = tuple(tuple(float(v) for v in row) for row in value.get("hidden_weights") or ())
            vectors["hidden_bias"] = tuple(float(v) for v in value.get("hidden_bias") or ())
        except TypeError:
            raise ValueError('config "holes" "hidden_weights" must be rows of numbers') from None
        if any(len(row) != len(names) for row in hidden) or len(vectors["hidden_bias"]) != len(hidden):
            raise ValueError(f'config "holes" hidden layer: {len(hidden)} rows of {len(names)} numbers and as many '
                             f'"hidden_bias" expected')
        for key in ("mean", "scale", "weights"):
            vector = tuple(float(v) for v in value.get(key, ()))
            wanted = len(hidden) if key == "weights" and hidden else len(names)
            if len(vector) != wanted:
                raise ValueError(f'config "holes" "{key}" has {len(vector)} numbers for {wanted} '
                                 + ("hidden units" if key == "weights" and hidden else "features"))
            vectors[key] = vector
        if any(s <= 0 for s in vectors["scale"]):
            raise ValueError('config "holes" "scale" must be positive')
        settings = cls(features=names, hidden_weights=hidden, bias=float(value.get("bias", 0.0)),
                       threshold=float(value.get("threshold", 0.5)), feather=float(value.get("feather", 2.0)),
                       note=str(value.get("note", "")), **vectors)
        if not 0 < settings.threshold <= 1 or settings.feather < 0:
            raise ValueError(f'config "holes" out of range: threshold {settings.threshold}, feather {settings.feather}')
        return settings

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, len(FEATURES)) -> (n,) the probability that each region is a hole."""
        if len(features) == 0:
            return np.zeros(0)
        columns = [FEATURES.index(name) for name in self.features]
        z = (features[:, columns].astype(np.float64) - np.array(self.mean)) / np.array(self.scale)
        if self.hidden_weights:
            z = np.tanh(z @ np.array(self.hidden_weights).T + np.array(self.hidden_bias))
        logit = z @ np.array(self.weights) + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -50, 50)))


def config_holes(config: dict) -> HoleSettings | None:
    """The hole guess a model's config turns on ("holes"), or None: absent, off, or a bad value (which
    `HoleSettings.from_config` reports when the model is loaded). For what only describes a model (the
    registry's Draw-tab switch, the card) and must not fail on it."""
    try:
        return HoleSettings.from_config(config.get("holes"))
    except (AttributeError, TypeError, ValueError):
        return None


def hole_probabilities(drawing, output, settings: HoleSettings) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities): the enclosed regions of `drawing` and, for each (index 0 = region 1), the
    guessed probability that it is a hole, given the network's `output` (the same size)."""
    labels, count, features = region_features(drawing, output)
    return labels, settings.probabilities(features)


def keep_holes_open(output, drawing, settings: HoleSettings) -> np.ndarray:
    """uint8 HxWx3 `output` with the regions of `drawing` (any size: resized to the output's) guessed holes
    blended to white: a linear ramp from the 1-px band beside the lines (1 / (feather + 1) white) over the
    region's edge to full white `feather` px inside; the lines themselves (drawing darker than 128) are left
    as the network painted them."""
    import cv2

    output = np.asarray(output)
    height, width = output.shape[:2]
    drawing = np.asarray(drawing)
    if drawing.shape[:2] != (height, width):
        drawing = cv2.resize(drawing, (width, height), interpolation=cv2.INTER_AREA)
    uses_output = bool({"painted", "brightness"} & set(settings.features))
    labels, probabilities = hole_probabilities(drawing, output if uses_output else None, settings)
    chosen = np.concatenate([[False], probabilities >= settings.threshold])
    if not chosen.any():
        return output
    mask = chosen[labels].astype(np.uint8)
    steps = settings.feather + 1.0
    inside = cv2.distanceTransform(np.pad(mask, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]  # 1 on the region's edge
    alpha = np.clip(inside / steps, 0.0, 1.0) if settings.feather > 0 else mask.astype(np.float32)
    band = (cv2.dilate(mask, np.ones((3, 3), np.uint8)) > 0) & (mask == 0) & (darkest_channel(drawing) >= LINE)
    alpha[band] = 1.0 / steps if settings.feather > 0 else 0.0
    rows, cols = np.nonzero(alpha)
    result = output.copy()
    changed = output[rows, cols].astype(np.float32)
    weight = alpha[rows, cols][:, None]
    result[rows, cols] = np.clip(np.rint(changed + (255.0 - changed) * weight), 0, 255).astype(np.uint8)
    return result
