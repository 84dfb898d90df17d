"""Background change of a photo translator, whole picture against "only the cat" (issue 26): shared by
train.eval.cyclegan --only-cat and train.eval.coat_stargan.

Both outputs are compared with the working picture the network saw (its short side 128-144 px): the
whole-picture output as it is, the only-the-cat output (`translate.keep_on_cat`, made at the photo's own
size as the app makes it) shrunk back to the working size. Where the photo has a true mask (an Oxford-IIIT
Pet trimap in --trimaps: 1 cat, 2 background, 3 the fur's border band), the background is its 2s and the cat
its 1s; elsewhere the segmenter's mask stands in (background: p < 0.5 grown by 3 % of the long side; cat:
`coat.sure_core`), which favours the masked output, since the same segmenter made its mask: the two
are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pix2pix_demo.coat import sure_core
from pix2pix_demo.cutout import segment


@dataclass
class Regions:
    """Boolean HxW masks at the working size and where they came from ("true" or "segmenter")."""

    background: np.ndarray
    cat: np.ndarray
    source: str


def trimap_for(photo_path: Path, trimaps: Path | None) -> np.ndarray | None:
    """The photo's trimap (HxW uint8) from the folder `trimaps` (<stem>.png), or None."""
    if trimaps is None:
        return None
    path = Path(trimaps) / f"{Path(photo_path).stem}.png"
    if not path.is_file():
        return None
    return np.asarray(Image.open(path))


def regions(working: Image.Image, trimap: np.ndarray | None = None, segmenter=None,
            probability: np.ndarray | None = None) -> Regions | None:
    """Background and cat of the working picture: from the true trimap (resized, nearest) when there is one,
    else from the segmenter's probability (computed on `working` unless given); None without either or when
    the segmenter is sure of no cat."""
    size = working.size
    if trimap is not None:
        small = np.asarray(Image.fromarray(trimap.astype(np.uint8)).resize(size, Image.NEAREST))
        return Regions(background=small == 2, cat=small == 1, source="true")
    if probability is None:
        if segmenter is None:
            return None
        probability = segment(segmenter, working)
    core = sure_core(probability)
    if core is None:
        return None
    cat = (probability >= 0.5).astype(np.uint8)
    radius = max(1, round(0.03 * max(cat.shape)))
    grown = cv2.dilate(cat, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)) > 0
    return Regions(background=~grown, cat=core, source="segmenter")


def mean_change(before: Image.Image, after: Image.Image, where: np.ndarray) -> float | None:
    """Mean absolute difference (0..1, over pixels and channels) of two same-size pictures inside `where`."""
    if where.sum() < 16:
        return None
    difference = np.abs(np.asarray(after, np.float32) - np.asarray(before, np.float32))
    return float(difference[where].mean() / 255)


def at_working_size(image: Image.Image, working: Image.Image) -> Image.Image:
    return image if image.size == working.size else image.resize(working.size, Image.LANCZOS)


def summarise(rows: list[dict], key: str) -> dict:
    """Means of rows' `key` (a dict of variant -> value or None) per variant and per mask source."""
    out = {}
    for source in ("true", "segmenter"):
        chosen = [r for r in rows if r["source"] == source]
        if not chosen:
            continue
        variants = chosen[0][key].keys()
        out[source] = {"photos": len(chosen), **{
            variant: round(float(np.mean(values)), 4) if (values := [r[key][variant] for r in chosen
                                                                    if r[key][variant] is not None]) else None
            for variant in variants}}
    return out
