"""Enclosed regions of a line drawing, and whether a picture paints them white (issue 26's "holes").

A drawing of a handbag encloses its handle hole; a shoe's drawing encloses the opening. In the photo
such a region is either white background seen through (a hole) or part of the object (filled). The
region finder (`enclosed_regions`): the lines are the pixels darker than 128, thickened by 1 px (a 3x3
dilation: a 1-px erosion of everything else, so lines that nearly touch close); the regions are the
4-connected components of the rest that touch no border, kept from MIN_PIXELS pixels on. A region is
white in a picture when the mean over its pixels of the darkest channel is at least WHITE (230).

On `edges2products` these rules give 2,028 enclosed regions in the 400 val pairs (215 white in the
photo) and 6,180 in the 2,000 training pairs (938 white, in 763 pictures), the counts of session 16's
scratch measurement. Used by `train.eval.pix2pix --holes` (what share of each class a model paints
white) and `train.pix2pix --lambda-holes` (the L1 weighted more on the white ones).
"""

from __future__ import annotations

import cv2
import numpy as np

from pix2pix_demo.imaging import darkest_channel

LINE = 128  # a line pixel: darker than this (in every channel: the darkest channel is taken)
MIN_PIXELS = 150  # smaller enclosed regions (after the lines are thickened) are ignored
WHITE = 230  # a region (or pixel) is white when its darkest channel's mean is at least this


def enclosed_regions(drawing, min_pixels: int = MIN_PIXELS) -> tuple[np.ndarray, int]:
    """(labels, count): HxW int32, 0 on the lines and on what reaches the border, 1..count on each
    enclosed region of `drawing` (dark lines on white: HxW or HxWxC uint8, or a PIL image) of at least
    `min_pixels` pixels after the lines are thickened by 1 px."""
    lines = (darkest_channel(drawing) < LINE).astype(np.uint8)
    lines = cv2.dilate(lines, np.ones((3, 3), np.uint8))
    count, labels = cv2.connectedComponents(1 - lines, connectivity=4)
    sizes = np.bincount(labels.ravel(), minlength=count)
    keep = sizes >= min_pixels
    keep[0] = False  # the (thickened) lines
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep[border] = False
    new = np.zeros(count, np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1)
    return new[labels], int(keep.sum())


def region_whiteness(labels: np.ndarray, count: int, picture) -> np.ndarray:
    """(count,) float: the mean of the darkest channel of `picture` (0..255) over each region 1..count."""
    if count == 0:
        return np.zeros(0)
    flat = labels.ravel()
    sums = np.bincount(flat, weights=darkest_channel(picture).ravel().astype(np.float64), minlength=count + 1)
    sizes = np.bincount(flat, minlength=count + 1)
    return sums[1:] / np.maximum(sizes[1:], 1)


def white_holes(drawing, photo) -> np.ndarray:
    """HxW bool: the enclosed regions of `drawing` that are white in `photo` (the same size)."""
    labels, count = enclosed_regions(drawing)
    white = np.concatenate([[False], region_whiteness(labels, count, photo) >= WHITE])
    return white[labels]


def hole_scores(drawing, photo, output) -> list[dict]:
    """One dict per enclosed region of `drawing`: its size, whether it is white in `photo` ("white") and
    the share of its pixels `output` paints white (darkest channel >= WHITE, "painted")."""
    labels, count = enclosed_regions(drawing)
    if count == 0:
        return []
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count + 1)[1:]
    white = region_whiteness(labels, count, photo) >= WHITE
    painted = np.bincount(flat, weights=(darkest_channel(output).ravel() >= WHITE).astype(np.float64),
                          minlength=count + 1)[1:] / sizes
    return [{"pixels": int(s), "white": bool(w), "painted": float(p)} for s, w, p in zip(sizes, white, painted)]


def summarize(scores: list[dict]) -> dict:
    """The hole measure over many pictures' `hole_scores`, for the regions white in the photo and for the
    filled ones: how many there are ("regions"), the mean over them of the share of their pixels painted
    white ("painted_white": each region counts once, as session 16 measured), the same pooled over their
    pixels (big regions weigh more), the median region's share and how many are mostly (> half) painted
    white."""
    result = {}
    for name, white in (("white", True), ("filled", False)):
        chosen = [s for s in scores if s["white"] == white]
        shares = [s["painted"] for s in chosen]
        pixels = sum(s["pixels"] for s in chosen)
        result[name] = {
            "regions": len(chosen),
            "painted_white": round(float(np.mean(shares)), 4) if chosen else None,
            "pixels_painted_white": round(sum(s["painted"] * s["pixels"] for s in chosen) / pixels, 4) if pixels else None,
            "median_painted": round(float(np.median(shares)), 4) if chosen else None,
            "mostly_white": sum(p > 0.5 for p in shares),
        }
    return result
