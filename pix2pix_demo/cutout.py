"""Cut a cat out of its photo and put it on white, the look of the stock photos edges2cats learned from.

    model = load_model("weights/cat-segmenter")
    probability = segment(model, photo)             # HxW float32, 1 = cat
    check = mask_quality(probability)                 # is the segmenter sure? (check.ok, check.reason)
    alpha = soft_alpha(probability >= 0.5)            # largest blob, a feathered border
    stock = cut_out(photo, alpha, size=256)           # square crop around the cat, on white
    alpha, check = segment_cat(model, photo)          # the three steps above: `segment`, `mask_quality`, `soft_alpha`

Shared by `train.segmenter` (evaluation), `train.data.edges --cutout` (the training set),
`train.eval.pix2pix` (the segmenter-cut held-out set) and the app's Photo tab (`ui.logic.photo_result`: a photo
is cut out the way edges2cats' training photos were), so every cut-out is made the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .imaging import fit_and_pad, to_rgb

SEGMENT_SIZE = 288  # long side the segmenter sees (lite0 segmenter: held-out IoU 0.854 at 192, 0.887 at 256, 0.895 at 288, 0.894 at 320)


@torch.no_grad()
def segment(model, photo: Image.Image, size: int = SEGMENT_SIZE, flip: bool = True) -> np.ndarray:
    """Probability that each pixel is cat, HxW float32 at the photo's own resolution.

    The photo's long side is resized to `size` and padded to the model's multiple; `flip` averages
    with the mirrored image (test-time augmentation: steadier borders for one more forward pass).
    A config's `"temperature"` T (default 1) scales the logits before the sigmoid: temperature scaling
    (Guo et al. 2017), fitted on training photos, so a model trained with a loss that leaves its
    probabilities unsure (the Lovász hinge) is as sure as the checks that read them expect
    (`mask_quality`'s unsure band, `coat.sure_core`); T does not move the 0.5 threshold."""
    temperature = float((getattr(model, "metadata", None) or {}).get("temperature", 1.0))
    if not temperature > 0:
        raise ValueError(f"the segmenter's temperature must be positive, got {temperature}")
    photo = to_rgb(photo)
    multiple = model.config.multiple
    x, box = fit_and_pad(photo, size, multiple, fill=0.0)  # grey bars, as in training
    if flip:
        x = torch.cat([x, x.flip(-1)])
    logits = model(x.to(next(model.parameters()).device)).float().cpu()
    probability = torch.sigmoid(logits * temperature)
    if flip:
        probability = (probability[:1] + probability[1:].flip(-1)) / 2
    probability = probability[..., box.top:box.top + box.height, box.left:box.left + box.width]
    probability = F.interpolate(probability, size=(photo.height, photo.width), mode="bilinear", align_corners=False)
    return probability[0, 0].numpy()


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected blob of a boolean mask (holes inside it filled)."""
    mask = np.asarray(mask, dtype=bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask)
    blob = labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    # fill holes: background pixels not connected to the border
    inverse = (~blob).astype(np.uint8)
    count, labels = cv2.connectedComponents(inverse, connectivity=4)
    border = set(np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))) - {0}
    holes = (labels > 0) & ~np.isin(labels, list(border))
    return blob | holes


@dataclass
class MaskQuality:
    """Why a segmentation is trusted or not (see `mask_quality`)."""

    area: float  # fraction of the image that is cat
    unsure: float  # fraction of the cat's neighbourhood with probability in (0.2, 0.8)
    main_blob: float  # share of the cat pixels in the largest blob
    border: float  # fraction of the image border that is cat (a cat cut off by the frame)
    ok: bool
    reason: str  # for people: every failed check, with its numbers
    failed: str = ""  # for counting: the first failed check ("no cat", "area", "uncertain", "blobs", "frame")
    # every failed check, "area" told apart as "too small" / "too large" (e.g. a close-up: only "too
    # large" and "frame" fail for a sure cat that fills the photo)
    failures: tuple[str, ...] = ()


def mask_quality(probability: np.ndarray, min_area: float = 0.05, max_area: float = 0.9,
                 max_unsure: float = 0.3, min_main_blob: float = 0.9, max_border: float = 0.2) -> MaskQuality:
    """Decide whether a segmentation is clean enough to train on.

    Unsure = the fraction of pixels in a band around the predicted cat (the cat dilated by 5 % of the
    image) whose probability lies between 0.2 and 0.8: a confident segmenter is near 0 or 1 there.
    Calibrated on the 80 held-out cats-masked photos with the shipped segmenter (IoU 0.76 on all):
    unsure correlates with IoU at -0.56, and unsure <= 0.3 keeps 35 of 80 with mean IoU 0.83.
    Also rejected: tiny or image-filling cats, several separate blobs (two cats, a cat and its
    reflection), and cats that fill much of the frame's border (cropped off: the cut-out has a
    straight edge that a drawing never has)."""
    mask = probability >= 0.5
    area = float(mask.mean())
    if not mask.any():
        return MaskQuality(0.0, 1.0, 0.0, 0.0, False, "no cat found", "no cat", ("no cat",))
    radius = max(1, int(0.05 * max(mask.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    near = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    unsure = float(((probability > 0.2) & (probability < 0.8) & near).sum() / max(1, near.sum()))
    blob = largest_component(mask)
    main_blob = float((blob & mask).sum() / mask.sum())
    edge = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    border = float(edge.mean())
    checks = [("area", not min_area <= area <= max_area, f"cat covers {area:.0%} of the photo"),
              ("uncertain", unsure > max_unsure, f"{unsure:.0%} of the outline is uncertain"),
              ("blobs", main_blob < min_main_blob, f"{1 - main_blob:.0%} of the cat lies outside its main blob"),
              ("frame", border > max_border, f"the cat touches {border:.0%} of the frame")]
    failed = [(key, text) for key, bad, text in checks if bad]
    failures = tuple(("too small" if area < min_area else "too large") if key == "area" else key for key, _ in failed)
    return MaskQuality(area, unsure, main_blob, border, not failed, "; ".join(t for _, t in failed) or "ok",
                       failed[0][0] if failed else "", failures)


def soft_alpha(mask: np.ndarray, feather: float = 0.006, erode: float = 0.003, keep_largest: bool = True) -> np.ndarray:
    """A boolean cat mask -> float alpha in [0, 1] with a soft border (sizes as fractions of the long side).

    The mask shrinks by `erode` first (segmentation borders carry a rim of background), then a
    Gaussian blur of sigma `feather` fades the fur into white instead of a hard cut."""
    mask = np.asarray(mask, dtype=bool)
    if keep_largest:
        mask = largest_component(mask)
    long_side = max(mask.shape)
    alpha = mask.astype(np.uint8)
    radius = int(round(erode * long_side))
    if radius > 0:
        alpha = cv2.erode(alpha, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    alpha = alpha.astype(np.float32)
    sigma = feather * long_side
    if sigma > 0.3:
        alpha = cv2.GaussianBlur(alpha, (0, 0), sigma)
    return np.clip(alpha, 0.0, 1.0)


def segment_cat(model, photo: Image.Image, max_border: float = 0.2,
                probability: np.ndarray | None = None) -> tuple[np.ndarray, MaskQuality]:
    """A photo -> (alpha, quality): how the segmenter-cut training photos were made
    (`train.data.edges --cutout --segmenter`): `segment`, `mask_quality` (`max_border`: 1.0 for a
    face crop, which cuts the body anyway), and the soft alpha of the largest blob of probability >= 0.5.
    Give it to `cut_out(photo, alpha, size, margin=0.08)` when `quality.ok`. `probability`: an already
    computed `segment(model, photo)`."""
    probability = segment(model, photo) if probability is None else probability
    quality = mask_quality(probability, max_border=max_border)
    return soft_alpha(probability >= 0.5), quality


def trimap_alpha(trimap: np.ndarray) -> np.ndarray:
    """Oxford-IIIT Pet trimap (1 cat, 2 background, 3 boundary) -> boolean cat mask (boundary = cat:
    the band is the fur's fringe, and leaving it out would shave every cat)."""
    trimap = np.asarray(trimap)
    return (trimap == 1) | (trimap == 3)


def composite_on_white(photo: Image.Image, alpha: np.ndarray) -> Image.Image:
    rgb = np.asarray(to_rgb(photo), dtype=np.float32)
    a = alpha[..., None]
    return Image.fromarray(np.clip(rgb * a + 255.0 * (1 - a), 0, 255).round().astype(np.uint8))


def square_box(mask: np.ndarray, margin: float = 0.08) -> tuple[int, int, int, int]:
    """A square (left, top, right, bottom) around the mask's bounding box, `margin` of its side on
    each side; it may extend past the image (`cut_out` fills that with white)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        height, width = mask.shape
        side = min(height, width)
        return (width - side) // 2, (height - side) // 2, (width + side) // 2, (height + side) // 2
    left, right, top, bottom = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = max(right - left, bottom - top) * (1 + 2 * margin)
    cx, cy = (left + right) / 2, (top + bottom) / 2
    half = side / 2
    return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))


def cut_out(photo: Image.Image, alpha: np.ndarray, size: int = 256, margin: float = 0.08,
            box: tuple[int, int, int, int] | None = None) -> Image.Image:
    """The cat on white, cropped to a `size`² square around it (or around `box`, e.g. a face crop)."""
    composite = composite_on_white(photo, alpha)
    box = box or square_box(alpha > 0.5, margin)
    canvas = Image.new("RGB", (box[2] - box[0], box[3] - box[1]), (255, 255, 255))
    canvas.paste(composite, (-box[0], -box[1]))
    return canvas.resize((size, size), Image.LANCZOS)


def iou(predicted: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two boolean masks, pixels in `ignore` not counted."""
    predicted, truth = np.asarray(predicted, bool), np.asarray(truth, bool)
    if ignore is not None:
        keep = ~np.asarray(ignore, bool)
        predicted, truth = predicted[keep], truth[keep]
    union = (predicted | truth).sum()
    return float((predicted & truth).sum() / union) if union else 1.0
