"""Facade label maps: the 12 CMP classes, colour <-> class index, one-hot tensors, random facades.

The facades data (CMP Facade Database, as the pix2pix paper used it) draws each class as one flat
colour. JPEG compression blurs those colours at class borders, and a person's painting may hold
colours that are no class at all (anti-aliased brush edges, an uploaded picture), so

    indices, report = snap_to_classes(image)  # PIL (any mode/size) -> (H, W) uint8 class indices
    image = classes_to_image(indices)         # -> PIL RGB in the exact class colours
    image = classes_to_image(indices, BRUSH_PALETTE)  # -> the same map in the app's brush colours
    one_hot = one_hot_tensor(indices)         # -> float tensor (1, 12, H, W) for SPADE
    indices = random_facade(seed, 256, 256)   # a plausible facade layout, drawn in code

`snap_to_classes` gives every pixel the class whose colour is nearest. A pixel far from every class
colour (a JPEG-blurred border, where blue and orange mix into a purple that happens to lie near a
third class) takes the class of the nearest confident pixel instead, within a few pixels; only
large areas of foreign colour (a picture that is no label map) are snapped colour by colour, and
the report says how much of the image that was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .imaging import to_rgb

# (name, RGB) in CMP's label order 1..12 (index 0..11 here). The colours are the flat colours of the
# facades label maps, measured as the medians of the interior pixels of 100 training maps.
CLASSES: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("background", (0, 0, 222)),
    ("facade", (0, 48, 255)),
    ("window", (0, 128, 255)),
    ("door", (0, 207, 255)),
    ("cornice", (32, 255, 224)),
    ("sill", (112, 255, 142)),
    ("balcony", (192, 255, 63)),
    ("blind", (255, 240, 0)),
    ("deco", (255, 159, 0)),
    ("molding", (255, 80, 0)),
    ("pillar", (255, 0, 0)),
    ("shop", (174, 0, 0)),
)
CLASS_NAMES = tuple(name for name, _ in CLASSES)
NUM_CLASSES = len(CLASSES)
PALETTE = np.array([colour for _, colour in CLASSES], dtype=np.uint8)  # (12, 3)
CLASS_INDEX = {name: index for index, name in enumerate(CLASS_NAMES)}
BACKGROUND = CLASS_INDEX["background"]

# The colours a person paints with in the app (the Facades tab's swatches). The data set's colours
# are a jet colour map in which background, facade, window and door are four near-identical blues
# (CIELAB ΔE 11 between background and facade); these are told apart at a glance (every pair
# ΔE >= 26) and mean something (sky-blue background, beige wall, dark window glass, brown door, white
# cornice, ...). Each is >= 90 (RGB distance) from every data-set colour of another class. A picture
# is snapped in the set of colours that explains more of its pixels (`snap_to_classes(...,
# palette="auto")`, what the app does: a data-set map snaps exactly as before, a brush painting in
# brush colours); the models only ever see class indices.
BRUSH_COLOURS: tuple[tuple[int, int, int], ...] = (
    (170, 210, 245),  # background: sky blue
    (225, 200, 160),  # facade: beige wall
    (20, 40, 140),    # window: dark blue glass
    (120, 70, 30),    # door: brown
    (250, 250, 250),  # cornice: white
    (150, 230, 150),  # sill: light green
    (30, 110, 50),    # balcony: dark green
    (130, 60, 180),   # blind: purple
    (240, 130, 200),  # deco: pink
    (0, 150, 150),    # molding: teal
    (220, 30, 90),    # pillar: red
    (90, 20, 60),     # shop: maroon
)
BRUSH_PALETTE = np.array(BRUSH_COLOURS, dtype=np.uint8)  # (12, 3), class order
SNAP_PALETTES = {"data": PALETTE, "brush": BRUSH_PALETTE}

# A pixel within this RGB distance of a class colour is that class for sure: JPEG noise inside a
# class region stays under 5 (99th percentile over 100 training maps); the closest two class
# colours (background, facade) are 56 apart. On code-drawn facades saved as JPEG (quality 75 and
# 90, 4:2:0 chroma) 40 gave the most pixels right (96 %; 99 % of those 2+ px from a border) of 24/40/60/90.
CONFIDENT_DISTANCE = 40.0
BORDER_PIXELS = 3  # unsure pixels this close to confident ones take their class (blurred borders)


def hex_colour(index: int, palette: np.ndarray = PALETTE) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in palette[index]))


@dataclass(frozen=True)
class SnapReport:
    """What `snap_to_classes` had to do: fractions of the image's pixels."""

    exact: float       # within CONFIDENT_DISTANCE of a class colour
    border: float      # unsure, given the class of a confident neighbour
    foreign: float     # far from every class and from confident pixels: snapped to the nearest colour
    classes: tuple[int, ...]  # the class indices present, sorted


def nearest_class(rgb: np.ndarray, palette: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """(..., 3) uint8/float RGB -> (class index uint8, distance to that class's colour). `palette`:
    "data" (the data set's colours) or "brush" (the app's brush colours)."""
    if palette not in SNAP_PALETTES:
        raise ValueError(f"palette must be one of {', '.join(SNAP_PALETTES)}, got {palette!r}")
    pixels = rgb.reshape(-1, 3).astype(np.float32)
    palette = SNAP_PALETTES[palette].astype(np.float32)
    # |p - c|^2 = |p|^2 - 2 p.c + |c|^2: one matrix product, no (N, 12, 3) temporary
    squared = (pixels ** 2).sum(1, keepdims=True) - 2 * pixels @ palette.T + (palette ** 2).sum(1)
    index = squared.argmin(1)
    distance = np.sqrt(np.maximum(squared[np.arange(len(index)), index], 0))
    return index.astype(np.uint8).reshape(rgb.shape[:-1]), distance.reshape(rgb.shape[:-1])


def _fill_from_neighbours(indices: np.ndarray, sure: np.ndarray, steps: int) -> np.ndarray:
    """Grow the sure pixels' classes into unsure ones, one ring per step (the most frequent class
    among a pixel's sure 8-neighbours wins); return the new `sure` mask. `indices` is updated."""
    height, width = indices.shape
    for _ in range(steps):
        unsure = ~sure
        if not unsure.any():
            break
        votes = np.zeros((NUM_CLASSES, height, width), np.uint8)
        padded_idx = np.pad(indices, 1)
        padded_sure = np.pad(sure, 1)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dy == dx == 0:
                    continue
                neighbour = padded_idx[1 + dy:1 + dy + height, 1 + dx:1 + dx + width]
                ok = padded_sure[1 + dy:1 + dy + height, 1 + dx:1 + dx + width] & unsure
                rows, cols = np.nonzero(ok)
                np.add.at(votes, (neighbour[rows, cols], rows, cols), 1)
        total = votes.sum(0)
        grown = unsure & (total > 0)
        indices[grown] = votes.argmax(0)[grown]
        sure = sure | grown
    return sure


def snap_to_classes(image, border_pixels: int = BORDER_PIXELS, palette: str = "data") -> tuple[np.ndarray, SnapReport]:
    """A label picture (PIL any mode, or an HxWx3 uint8 array) -> ((H, W) uint8 class indices, report).
    `palette`: which class colours the picture is in, "data" (the data set's), "brush" (the app's) or
    "auto": the one with more pixels within CONFIDENT_DISTANCE of its colours (ties: "data").

    Transparency is flattened onto the background class colour (an unpainted, transparent canvas
    is background)."""
    if isinstance(image, Image.Image):
        rgb = np.asarray(to_rgb(image, background=CLASSES[BACKGROUND][1]))
    else:
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"Expected an HxWx3 RGB array, got shape {rgb.shape}.")
    if palette == "auto":
        candidates = [nearest_class(rgb, name) for name in ("data", "brush")]
        indices, distance = max(candidates, key=lambda pair: int((pair[1] <= CONFIDENT_DISTANCE).sum()))
    else:
        indices, distance = nearest_class(rgb, palette)
    sure = distance <= CONFIDENT_DISTANCE
    exact = float(sure.mean())
    indices = indices.copy()
    grown = _fill_from_neighbours(indices, sure, border_pixels) if border_pixels > 0 else sure
    border = float(grown.mean()) - exact
    return indices, SnapReport(exact=exact, border=border, foreign=max(0.0, 1.0 - exact - border),
                               classes=tuple(int(c) for c in np.unique(indices)))


class LabelError(ValueError):
    """A label picture the models cannot use; str(error) is a message for the user."""


class EmptyLabels(LabelError):
    """Nothing painted yet: the picture is a single class."""


EMPTY_MESSAGE = ("The label map is a single class: paint a facade wall and some windows on it "
                 "(or click 'Random facade').")


def prepare_labels(image, palette: str = "data") -> tuple[np.ndarray, SnapReport]:
    """A label picture (PIL or HxWx3 uint8) -> (class indices, snapping report). Raises EmptyLabels
    when the picture holds one class only. `palette`: as in `snap_to_classes`."""
    indices, report = snap_to_classes(image, palette=palette)
    if len(report.classes) < 2:
        raise EmptyLabels(EMPTY_MESSAGE)
    return indices, report


def classes_to_image(indices: np.ndarray, palette: np.ndarray = PALETTE) -> Image.Image:
    """(H, W) class indices -> PIL RGB label map in the exact class colours (`palette`: the data set's,
    or BRUSH_PALETTE, the app's)."""
    indices = np.asarray(indices)
    if indices.size and int(indices.max()) >= NUM_CLASSES:
        raise ValueError(f"Class indices must be below {NUM_CLASSES}, got {int(indices.max())}.")
    return Image.fromarray(np.asarray(palette, np.uint8)[indices.astype(np.intp)], "RGB")


def one_hot_tensor(indices) -> "torch.Tensor":
    """(H, W) or (N, H, W) class indices (numpy or torch) -> float tensor (N, 12, H, W) of 0/1."""
    import torch

    tensor = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices).long()
    if tensor.dim() == 2:
        tensor = tensor[None]
    return torch.nn.functional.one_hot(tensor, NUM_CLASSES).permute(0, 3, 1, 2).float()


def label_colour_tensor(indices) -> "torch.Tensor":
    """(H, W) or (N, H, W) class indices -> the colour label map as (N, 3, H, W) in [-1, 1] (what the
    pix2pix U-Net reads, like the data set's right halves but without JPEG blur)."""
    import torch

    tensor = torch.as_tensor(np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices).long()
    if tensor.dim() == 2:
        tensor = tensor[None]
    palette = torch.from_numpy(PALETTE.astype(np.float32)) / 127.5 - 1.0
    return palette[tensor].permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------- random facades


def random_facade(seed: int = 0, width: int = 256, height: int = 256) -> np.ndarray:
    """A plausible facade layout drawn in code: (height, width) uint8 class indices.

    The structure follows what the CMP label maps show (no image of the data set is used): a facade
    wall, sometimes sky or a neighbour (background) at the top or a side; a cornice under the roof
    line; floors separated by moldings; a regular grid of windows with sills, and sometimes blinds
    beside them or balconies under them; on the ground floor either a shop front (shop band,
    shop windows between pillars) or a door with a deco canopy between windows."""
    rng = np.random.default_rng(seed)
    labels = np.full((height, width), CLASS_INDEX["facade"], np.uint8)

    def box(x0, y0, x1, y1, name):
        x0, x1 = (int(round(v)) for v in (max(0, x0), min(width, x1)))
        y0, y1 = (int(round(v)) for v in (max(0, y0), min(height, y1)))
        if x1 > x0 and y1 > y0:
            labels[y0:y1, x0:x1] = CLASS_INDEX[name]

    top = height * rng.uniform(0.0, 0.15) if rng.random() < 0.6 else 0.0  # sky above the roof line
    box(0, 0, width, top, "background")
    left, right = 0.0, float(width)
    if rng.random() < 0.3:  # a neighbouring building or sky at one side
        side = width * rng.uniform(0.08, 0.2)
        if rng.random() < 0.5:
            box(0, 0, side, height, "background")
            left = side
        else:
            box(width - side, 0, width, height, "background")
            right = width - side
    cornice = height * rng.uniform(0.02, 0.05)
    box(left, top, right, top + cornice, "cornice")
    shop = rng.random() < 0.45
    ground = height * rng.uniform(0.17, 0.24)
    floors_top = top + cornice
    floors = int(rng.integers(3, 6))
    floor_h = (height - ground - floors_top) / floors
    columns = int(rng.integers(3, 7))
    span = right - left
    margin = span * rng.uniform(0.04, 0.1)
    pitch = (span - 2 * margin) / columns
    window_w = pitch * rng.uniform(0.4, 0.6)
    window_h = floor_h * rng.uniform(0.5, 0.68)
    blinds = rng.random() < 0.35
    balcony_floors = {f for f in range(floors) if rng.random() < 0.25}
    molding_h = max(2.0, floor_h * 0.07)
    for floor in range(floors):
        y_floor = floors_top + floor * floor_h
        if floor > 0 and rng.random() < 0.7:
            box(left, y_floor - molding_h / 2, right, y_floor + molding_h / 2, "molding")
        y0 = y_floor + (floor_h - window_h) * 0.45
        for column in range(columns):
            cx = left + margin + pitch * (column + 0.5)
            x0, x1 = cx - window_w / 2, cx + window_w / 2
            box(x0, y0, x1, y0 + window_h, "window")
            if blinds:
                blind_w = window_w * 0.35
                box(x0 - blind_w, y0, x0, y0 + window_h, "blind")
                box(x1, y0, x1 + blind_w, y0 + window_h, "blind")
            if floor in balcony_floors:
                box(x0 - window_w * 0.15, y0 + window_h * 0.72, x1 + window_w * 0.15, y0 + window_h + 2, "balcony")
            else:
                box(x0 - 2, y0 + window_h, x1 + 2, y0 + window_h + max(2.0, floor_h * 0.05), "sill")
    y_ground = height - ground
    box(left, y_ground - molding_h, right, y_ground, "molding")
    if shop:
        box(left, y_ground, right, y_ground + ground * 0.18, "shop")
        pillars = columns + 1
        pillar_w = span * 0.03
        for p in range(pillars):
            x = left + margin / 2 + (span - margin) * p / columns
            box(x - pillar_w / 2, y_ground + ground * 0.18, x + pillar_w / 2, height, "pillar")
        for p in range(columns):
            x0 = left + margin / 2 + (span - margin) * p / columns + pillar_w
            x1 = left + margin / 2 + (span - margin) * (p + 1) / columns - pillar_w
            box(x0, y_ground + ground * 0.3, x1, height - ground * 0.05, "window")
    else:
        door_column = int(rng.integers(0, columns))
        for column in range(columns):
            cx = left + margin + pitch * (column + 0.5)
            if column == door_column:
                door_w = window_w * rng.uniform(0.9, 1.3)
                box(cx - door_w / 2 - 3, y_ground + ground * 0.08, cx + door_w / 2 + 3, y_ground + ground * 0.2, "deco")
                box(cx - door_w / 2, y_ground + ground * 0.2, cx + door_w / 2, height, "door")
            else:
                box(cx - window_w / 2, y_ground + ground * 0.25, cx + window_w / 2, y_ground + ground * 0.75, "window")
    return labels
