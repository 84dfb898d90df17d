"""Photo -> line drawing, and canvas drawing -> the same line style. Shared by training and the app.

pix2pix's edges2shoes / edges2cats inputs were made with HED and this post-processing
(PostprocessHED.m in the pix2pix release):

    soft edge map -> triangle smoothing -> non-maximum suppression along the edge normal
    -> threshold -> thinning to 1-px lines -> drop components under 5 px -> black on white

No HED weights are available here, so `"hed-like"` replaces only the soft edge map: a colour
gradient magnitude (Lab) after bilateral smoothing, averaged over three Gaussian scales so that
edges which persist across scales (object outlines) win over fine texture (fur, carpet). The
post-processing is the HED one. `"hed-learned"` keeps the same post-processing but takes the
soft map from a tiny CNN (~28 k parameters, weights/edges-hed-learned, trained on real HED maps
of edges2products/train by `python -m train.edge_detector`). `"canny"` is the plain baseline.
All run at a fixed working
resolution (long side `working_size`, 256 like the training images), so line density does not
depend on the input size; the result is resized back and re-thinned to 1-px lines.

Also here:
    normalize_sketch  canvas / uploaded line art of any stroke, colour and background -> thin
                      dark lines on white, like the training edges
    is_blank          whether a drawing holds any ink
    augment_edges     training-time line width, dropped strokes, elastic jitter, gaps, so the
                      model tolerates hand-drawn input
    cat_face_crop_box head-and-shoulders square around the largest cat face (OpenCV Haar cascade)
    edge_match        precision / recall with a pixel tolerance (the HED-likeness measure)

numpy + OpenCV + PIL only: torch is imported only when `"hed-learned"` is first used, so data
workers and the app import this module cheaply.
Edge images are uint8 with 0 = line, 255 = background.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from .imaging import to_rgb


class _LazyCv2:
    """OpenCV, imported on first use: the app's first page needs no edge extraction, and importing cv2 is
    about a seventh of building the app (issue 28: start-up). `app.warm_up` imports it once the server answers."""

    def __getattr__(self, name):
        import cv2 as module

        globals()["cv2"] = module
        return getattr(module, name)


cv2 = _LazyCv2()

WORKING_SIZE = 256  # long side at which edges are computed (the model resolution)
LINE, BACKGROUND = 0, 255

# ---------------------------------------------------------------- small helpers


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    """Any PIL mode -> uint8 RGB array, by the package's one conversion rule (imaging.to_rgb)."""
    return np.asarray(to_rgb(image))


def _resize_long_side(array: np.ndarray, long_side: int) -> np.ndarray:
    height, width = array.shape[:2]
    scale = long_side / max(height, width)
    if abs(scale - 1) < 1e-6:
        return array
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(array, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


def _triangle_blur(array: np.ndarray, radius: int) -> np.ndarray:
    """convTri from Dollár's toolbox: separable triangle filter."""
    kernel = np.concatenate([np.arange(1, radius + 2), np.arange(radius, 0, -1)]).astype(np.float32)
    kernel /= kernel.sum()
    return cv2.sepFilter2D(array, -1, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def thin(mask: np.ndarray) -> np.ndarray:
    """Thin a boolean mask to 1-px, 8-connected lines (Guo-Hall, as MATLAB bwmorph 'thin', inf).

    Vectorised: each pass evaluates the deletion rule on all pixels at once with shifted views.
    """
    image = np.pad(mask.astype(bool), 1)
    while True:
        changed = False
        for odd_pass in (False, True):
            centre = image[1:-1, 1:-1]
            p2, p3, p4 = image[:-2, 1:-1], image[:-2, 2:], image[1:-1, 2:]  # N, NE, E
            p5, p6, p7 = image[2:, 2:], image[2:, 1:-1], image[2:, :-2]  # SE, S, SW
            p8, p9 = image[1:-1, :-2], image[:-2, :-2]  # W, NW
            crossings = ((~p2 & (p3 | p4)).astype(np.uint8) + (~p4 & (p5 | p6)) + (~p6 & (p7 | p8)) + (~p8 & (p9 | p2)))
            n1 = (p9 | p2).astype(np.uint8) + (p3 | p4) + (p5 | p6) + (p7 | p8)
            n2 = (p2 | p3).astype(np.uint8) + (p4 | p5) + (p6 | p7) + (p8 | p9)
            neighbours = np.minimum(n1, n2)
            side = ((p2 | p3 | ~p5) & p4) if odd_pass else ((p6 | p7 | ~p9) & p8)
            delete = centre & (crossings == 1) & (neighbours >= 2) & (neighbours <= 3) & ~side
            if delete.any():
                centre[delete] = False  # a view: writes into `image`
                changed = True
        if not changed:
            return image[1:-1, 1:-1].copy()


def remove_small_components(mask: np.ndarray, min_pixels: int) -> np.ndarray:
    """Drop 8-connected components of a boolean mask with fewer than `min_pixels` pixels."""
    if min_pixels <= 1 or not mask.any():
        return mask
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_pixels
    keep[0] = False
    return keep[labels]


def _lines_to_image(lines: np.ndarray, size: tuple[int, int]) -> Image.Image:
    """Boolean line mask at working resolution -> mode L image of `size` (w, h), lines 1 px."""
    height, width = lines.shape
    if (width, height) != tuple(size):
        # Coverage resize keeps thin lines alive when shrinking; re-thinning makes them 1 px when growing.
        shrinking = size[0] < width
        coverage = cv2.resize(lines.astype(np.float32), size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        lines = thin(coverage > (0.2 if shrinking else 0.35))
    return Image.fromarray(np.where(lines, LINE, BACKGROUND).astype(np.uint8), "L")


# ---------------------------------------------------------------- edge extractors


def hed_postprocess(soft: np.ndarray, threshold: float = 25 / 255, min_component: int = 5,
                    smoothing_radius: int = 4, border: int = 5, low_threshold: float | None = None) -> np.ndarray:
    """PostprocessHED.m: soft edge map float32 HxW in [0, 1] -> boolean 1-px line mask.

    Orientation comes from second derivatives of the triangle-smoothed map (as in Dollár's
    edgesNms); a pixel survives if it is not smaller than its two neighbours along the normal.
    `low_threshold` (an addition to the HED recipe) adds hysteresis: weaker lines are kept when
    they connect to a line above `threshold`.
    """
    soft = soft.astype(np.float32)
    smoothed = _triangle_blur(soft, smoothing_radius)
    grad_y, grad_x = np.gradient(smoothed)
    grad_xx = np.gradient(grad_x, axis=1)
    grad_xy, grad_yy = np.gradient(grad_y)
    orientation = np.mod(np.arctan(grad_yy * np.sign(-grad_xy) / (grad_xx + 1e-5)), np.pi)

    height, width = soft.shape
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    step_x, step_y = np.cos(orientation).astype(np.float32), np.sin(orientation).astype(np.float32)
    suppressed = soft.copy()
    for sign in (1, -1):
        neighbour = cv2.remap(soft, columns + sign * step_x, rows + sign * step_y, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        suppressed[soft * 1.01 < neighbour] = 0  # 1.01: edgesNms' conservative multiplier

    # edgesNms fades edges within `border` px of the image frame (frames are not edges).
    ramp_x = np.minimum(np.minimum(np.arange(width), np.arange(width)[::-1]) / border, 1)
    ramp_y = np.minimum(np.minimum(np.arange(height), np.arange(height)[::-1]) / border, 1)
    suppressed *= np.outer(ramp_y, ramp_x).astype(np.float32)

    lines = thin(suppressed >= max(min(threshold, low_threshold or threshold), 1e-6))
    if low_threshold is not None and low_threshold < threshold:
        count, labels = cv2.connectedComponents(lines.astype(np.uint8), connectivity=8)
        has_strong = np.zeros(count, bool)
        has_strong[labels[lines & (suppressed >= threshold)]] = True
        has_strong[0] = False
        lines = has_strong[labels]
    return remove_small_components(lines, min_component)


def soft_edges(rgb: np.ndarray, scales=(1.0, 2.0, 4.0), bilateral_passes: int = 1, bilateral_diameter: int = 7,
               bilateral_sigma_color: float = 30.0, bilateral_sigma_space: float = 4.0,
               normalise_quantile: float = 0.99) -> np.ndarray:
    """Offline stand-in for HED's soft map: uint8 RGB HxWx3 -> float32 HxW, roughly in [0, 1].

    Bilateral smoothing flattens texture but keeps outlines; the Lab colour gradient sees
    white-on-white and hue-only boundaries; averaging scale-normalised gradients over sigmas
    favours structures that persist across scales. Normalising by a high quantile makes the
    threshold contrast-independent.
    """
    smoothed = rgb
    for _ in range(bilateral_passes):
        smoothed = cv2.bilateralFilter(smoothed, d=bilateral_diameter, sigmaColor=bilateral_sigma_color, sigmaSpace=bilateral_sigma_space)
    lab = cv2.cvtColor(smoothed, cv2.COLOR_RGB2LAB).astype(np.float32)
    magnitude = np.zeros(rgb.shape[:2], np.float32)
    for sigma in scales:
        blurred = cv2.GaussianBlur(lab, (0, 0), sigma)
        grad_x = cv2.Sobel(blurred, cv2.CV_32F, 1, 0, ksize=3)
        grad_y = cv2.Sobel(blurred, cv2.CV_32F, 0, 1, ksize=3)
        # Sobel of a Gaussian-blurred step shrinks like 1/sigma; multiply it back (scale normalisation).
        magnitude += np.sqrt((grad_x ** 2 + grad_y ** 2).sum(axis=2)) * sigma
    magnitude /= len(scales)
    reference = np.quantile(magnitude, normalise_quantile)
    return np.clip(magnitude / max(reference, 1.0), 0, 1)


def hed_like_lines(rgb: np.ndarray, threshold: float = 0.3, low_threshold: float | None = 0.15,
                   min_component: int = 10, **soft_options) -> np.ndarray:
    """uint8 RGB (at working size) -> boolean line mask: `soft_edges` + `hed_postprocess`."""
    return hed_postprocess(soft_edges(rgb, **soft_options), threshold=threshold, low_threshold=low_threshold,
                           min_component=min_component)


def canny_lines(rgb: np.ndarray, sigma: float = 2.5, low_quantile: float = 0.75, high_quantile: float = 0.9,
                min_component: int = 5) -> np.ndarray:
    """uint8 RGB -> boolean line mask: Gaussian blur + Canny, thresholds at quantiles of the
    blurred gradient magnitude so they follow the image's contrast."""
    gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (0, 0), sigma)
    magnitude = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3))
    low, high = np.quantile(magnitude, [low_quantile, high_quantile])
    high = max(high, 8.0)  # a flat image has no edges, not noise edges
    lines = cv2.Canny(gray, min(low, high), high, L2gradient=True) > 0
    return remove_small_components(lines, min_component)


# The learned detector's folder; env PIX2PIX_EDGE_DETECTOR points elsewhere (e.g. a retrained one).
LEARNED_DETECTOR_ENV = "PIX2PIX_EDGE_DETECTOR"
LEARNED_DETECTOR_DIR = Path(__file__).resolve().parent.parent / "weights" / "edges-hed-learned"
_detector_lock = threading.Lock()


def learned_detector_folder() -> Path:
    return Path(os.environ.get(LEARNED_DETECTOR_ENV) or LEARNED_DETECTOR_DIR)


@lru_cache(maxsize=4)
def _load_detector(folder: str):
    from .hub import load_local  # torch is imported here, on first use only

    return load_local(folder, device="cpu")


def learned_detector(folder=None):
    """The `"hed-learned"` soft-edge CNN (pix2pix_demo.models.edge_detector), loaded once per folder.

    Thread-safe: the lock makes concurrent first calls wait for one load instead of loading twice.
    Raises hub.ModelLoadError (a RuntimeError) naming the folder and how to rebuild it.
    """
    folder = str(Path(folder or learned_detector_folder()).resolve())
    with _detector_lock:
        try:
            return _load_detector(folder)
        except RuntimeError as error:
            raise type(error)(f"{error} The 'hed-learned' edge method needs it: rebuild it with `python -m "
                              f"train.edge_detector --data DIR_OF_PHOTO_HED_PAIRS --out {folder}` or choose "
                              "method 'hed-like'.") from None


def hed_learned_soft(rgb: np.ndarray, folder=None) -> np.ndarray:
    """uint8 RGB HxWx3 -> float32 HxW soft edge probability from the learned detector."""
    return learned_detector(folder).soft_map(rgb)


def hed_learned_lines(rgb: np.ndarray, threshold: float | None = None, low_threshold: float | None = -1.0,
                      min_component: int | None = None, folder=None) -> np.ndarray:
    """uint8 RGB (at working size) -> boolean line mask: learned soft map + `hed_postprocess`.

    The thresholds default to those stored in the detector's config.json ("postprocess", chosen
    on held-out training pairs); pass them to override (low_threshold=None: no hysteresis).
    """
    detector = learned_detector(folder)
    chosen = detector.metadata.get("postprocess", {})
    options = dict(threshold=chosen.get("threshold", 0.5) if threshold is None else threshold,
                   low_threshold=chosen.get("low_threshold") if low_threshold == -1.0 else low_threshold,
                   min_component=chosen.get("min_component", 10) if min_component is None else min_component)
    return hed_postprocess(detector.soft_map(rgb), **options)


EDGE_METHODS = {"hed-like": hed_like_lines, "hed-learned": hed_learned_lines, "canny": canny_lines}
DEFAULT_EDGE_METHOD = "hed-like"


def extract_edges(image: Image.Image, method: str = DEFAULT_EDGE_METHOD, working_size: int = WORKING_SIZE,
                  **options) -> Image.Image:
    """Photo (any PIL mode) -> mode L line drawing of the same size: black 1-px lines on white.

    The photo is resized so its long side is `working_size`, `EDGE_METHODS[method]` draws the
    lines (`options` go to it, e.g. threshold=0.3), and the lines are resized back.
    """
    if method not in EDGE_METHODS:
        raise ValueError(f"Unknown edge method {method!r}; choose one of {sorted(EDGE_METHODS)}.")
    rgb = _to_rgb_array(image)
    lines = EDGE_METHODS[method](_resize_long_side(rgb, working_size), **options)
    return _lines_to_image(lines, image.size)


# ---------------------------------------------------------------- sketches from the canvas


def _ink_mask(image: Image.Image) -> np.ndarray:
    """Boolean HxW: where the drawing has ink, whatever the stroke and background colours.

    Transparent canvases: ink is opacity. Otherwise ink is whatever differs in colour from the
    background, taken as the median colour (strokes cover a minority of a drawing); the cut is
    Otsu on that colour distance, never below 40 levels so JPEG noise and paper grain are not ink.
    """
    if image.mode in ("RGBA", "LA", "PA", "P"):
        alpha = np.asarray(image.convert("RGBA"))[..., 3]
        if alpha.min() < 250 and (alpha > 127).mean() < 0.5:
            return alpha > 127
    rgb = _to_rgb_array(image).astype(np.int16)
    background = np.median(rgb.reshape(-1, 3)[:: max(1, rgb.size // 3 // 65536)], axis=0)
    distance = np.abs(rgb - background).max(axis=2).astype(np.uint8)
    if distance.max() < 40:
        return np.zeros(distance.shape, bool)
    otsu, _ = cv2.threshold(distance, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return distance > max(otsu, 40)


def is_blank(image: Image.Image, min_ink_pixels: int = 8) -> bool:
    """True if a drawing (any PIL mode) holds fewer than `min_ink_pixels` pixels of ink."""
    return int(_ink_mask(image).sum()) < min_ink_pixels


def normalize_sketch(image: Image.Image, size: int | None = None, line_width: int = 1) -> Image.Image:
    """Canvas drawing or uploaded line art -> mode L, 1-px dark lines on white (training style).

    Works for any stroke width and colour, on white, black, transparent or coloured paper.
    `size`: long side of the output in pixels (aspect kept, the app's fit rule); None keeps the
    input size. `line_width` > 1 re-dilates the skeleton. A blank drawing gives all white.
    """
    ink = _ink_mask(image)
    height, width = ink.shape
    target = (width, height) if size is None else (max(1, round(width * size / max(width, height))),
                                                    max(1, round(height * size / max(width, height))))
    if target != (width, height):
        scale = width / target[0]
        if scale > 1:  # fatten hairlines first so that every stroke still covers >= 1 px after shrinking
            radius = int(np.ceil(scale / 2))
            ink = cv2.dilate(ink.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)) > 0
        ink = cv2.resize(ink.astype(np.float32), target, interpolation=cv2.INTER_AREA if scale > 1 else cv2.INTER_LINEAR) > 0.5
    lines = remove_small_components(thin(ink), 3)
    if line_width > 1:
        lines = cv2.dilate(lines.astype(np.uint8), np.ones((line_width, line_width), np.uint8)) > 0
    return Image.fromarray(np.where(lines, LINE, BACKGROUND).astype(np.uint8), "L")


# ---------------------------------------------------------------- training augmentation


def augment_edges(edges: np.ndarray, rng: np.random.Generator, drop_probability: float = 0.15,
                  max_jitter: float = 3.0, gap_count: int = 6) -> np.ndarray:
    """Make detected edges look hand-drawn: uint8 HxW (0 line, 255 background) -> same shape.

    Randomly drops whole strokes (connected components), cuts a few small gaps, bends the
    drawing with a smooth low-frequency displacement field (up to `max_jitter` px, which also
    offsets it a little) and varies the line width (1-3 px). Deterministic given `rng`.
    """
    lines = edges < 128
    height, width = lines.shape

    count, labels = cv2.connectedComponents(lines.astype(np.uint8), connectivity=8)
    if count > 2:  # never drop the only stroke
        keep = rng.random(count) >= drop_probability * rng.random()
        keep[0] = False
        lines = keep[labels]

    points = np.argwhere(lines)
    if len(points) and gap_count:
        for row, column in points[rng.integers(0, len(points), rng.integers(0, gap_count + 1))]:
            radius = int(rng.integers(1, 3))
            lines[max(0, row - radius):row + radius + 1, max(0, column - radius):column + radius + 1] = False

    # Low-frequency field: random displacements on a coarse grid, upsampled smoothly.
    amplitude = max_jitter * rng.random()
    grid = rng.normal(0.0, amplitude / 2, (2, 5, 5)).astype(np.float32)
    shift_x, shift_y = (cv2.resize(g, (width, height), interpolation=cv2.INTER_CUBIC) for g in grid)
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    warped = cv2.remap(lines.astype(np.float32), columns + shift_x, rows + shift_y, cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    lines = warped > 0.3  # low cut keeps warped 1-px lines connected

    width_choice = rng.choice(3, p=[0.5, 0.35, 0.15])  # thin (as is), 2 px, 3 px
    if width_choice:
        lines = cv2.dilate(lines.astype(np.uint8), np.ones((width_choice + 1,) * 2, np.uint8)) > 0
    return np.where(lines, LINE, BACKGROUND).astype(np.uint8)


DRAWING_STYLES = ("as-extracted", "sparse", "silhouette", "head-only", "close-up")
# close-ups are off unless asked for (`train.pix2pix --close-ups P`): with 0 the other styles are drawn
# exactly as before they existed (the same uniform number picks the same style)
DRAWING_STYLE_PROBABILITIES = (0.55, 0.2, 0.15, 0.1, 0.0)


def drawing_style_probabilities(close_ups: float = 0.0) -> tuple[float, ...]:
    """The styles' probabilities with a share `close_ups` of close-ups, the others scaled to the rest."""
    if not 0.0 <= close_ups < 1.0:
        raise ValueError(f"close_ups must be in [0, 1), got {close_ups}")
    others = DRAWING_STYLE_PROBABILITIES[:-1]
    return tuple(p * (1 - close_ups) / sum(others) for p in others) + (close_ups,)


def _object_mask(photo: np.ndarray) -> np.ndarray:
    """The largest non-white blob of a cut-out (object on white), holes filled."""
    from .cutout import largest_component

    return largest_component(np.asarray(photo).min(axis=2) < 230)


def _cut_by_frame(mask: np.ndarray, share: float = 0.25) -> bool:
    """Does the object run into the picture's frame (a close-up) over `share` of some side? Cut-outs
    keep a white margin all round."""
    sides = (mask[0], mask[-1], mask[:, 0], mask[:, -1])
    return any(float(side.mean()) > share for side in sides)


def vary_drawing(edges: np.ndarray, photo: np.ndarray, rng: np.random.Generator,
                 probabilities=DRAWING_STYLE_PROBABILITIES) -> tuple[np.ndarray, np.ndarray, str]:
    """Training pairs that look like what people draw, from an extracted (edges, cut-out photo) pair:
    uint8 HxW edges (0 line, 255 background) and HxWx3 photo -> (edges, photo, style name).

    - "as-extracted": unchanged;
    - "sparse": most strokes dropped and many gaps cut (a quick drawing, or a photo's broken edges);
    - "silhouette": only the object's outline, no inner line (the model must invent eyes and fur);
    - "head-only": the top of the object (an ellipse around where a sitting cat's head is) kept in both
      edges and photo, the rest turned white, its outline closed: no lines below, so no body below;
    - "close-up": a photo where the cat fills the frame and is cut by it (a face close-up, what people
      often upload): a square window around the head, 45-80 % of the object's size, enlarged to the
      pair's size, its edges extracted from the enlarged photo the way the Photo tab extracts them
      (`close_up`).
    The photo is changed by "head-only" and "close-up". Deterministic given `rng`."""
    style = DRAWING_STYLES[int(rng.choice(len(DRAWING_STYLES), p=np.asarray(probabilities) / sum(probabilities)))]
    if style == "as-extracted":
        return edges, photo, style
    if style == "sparse":
        return augment_edges(edges, rng, drop_probability=0.7, max_jitter=0.0, gap_count=20), photo, style
    mask = _object_mask(photo)
    if mask.sum() < 64:
        return edges, photo, "as-extracted"
    if style in ("silhouette", "head-only") and _cut_by_frame(mask):
        # already a close-up pair (`train.data.edges --crop close-up`): its outline is the frame's, and
        # its head fills the picture; a person uploads it as it is
        return edges, photo, "as-extracted"
    if style == "close-up":
        return (*close_up(photo, mask, rng), style)
    thickness = int(rng.integers(1, 3))
    if style == "silhouette":
        contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        outline = np.full(edges.shape, BACKGROUND, np.uint8)
        cv2.drawContours(outline, contours, -1, int(LINE), thickness)
        return outline, photo, style
    rows, columns = np.nonzero(mask)
    top, height = rows.min(), rows.max() - rows.min() + 1
    band = rows < top + 0.15 * height  # the ears: the head is under the top of the object
    centre_x, width = columns[band].mean(), columns.max() - columns.min() + 1
    half_height = height * rng.uniform(0.25, 0.35)
    ellipse = np.zeros(mask.shape, np.uint8)
    axes = (max(4, int(min(half_height * 1.2, width / 2))), max(4, int(half_height)))
    cv2.ellipse(ellipse, (int(centre_x), int(top + axes[1] * 0.9)), axes, 0, 0, 360, 1, -1)
    head = mask & (ellipse > 0)
    if head.sum() < 64:
        return edges, photo, "as-extracted"
    soft = cv2.GaussianBlur(head.astype(np.float32), (0, 0), 1.5)[:, :, None]
    photo = (photo.astype(np.float32) * soft + 255 * (1 - soft)).round().astype(np.uint8)
    inner = cv2.erode(head.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    drawn = np.where(inner, edges, BACKGROUND).astype(np.uint8)
    contours, _ = cv2.findContours(head.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(drawn, contours, -1, int(LINE), thickness)
    return drawn, photo, style


def close_up_box(mask: np.ndarray, side: int, centre: tuple[float, float]) -> tuple[int, int, int, int]:
    """A `side`² window (left, top, right, bottom) centred on `centre` (x, y), moved inside the image."""
    height, width = mask.shape
    side = int(min(side, height, width))
    left = int(np.clip(round(centre[0] - side / 2), 0, width - side))
    top = int(np.clip(round(centre[1] - side / 2), 0, height - side))
    return left, top, left + side, top + side


def close_up(photo: np.ndarray, mask: np.ndarray, rng: np.random.Generator,
             method: str = DEFAULT_EDGE_METHOD) -> tuple[np.ndarray, np.ndarray]:
    """A cut-out (HxWx3 uint8, object on white) and its object mask -> (edges, photo) of a close-up:
    a square window around the head (where `vary_drawing`'s "head-only" puts it), 45-80 % of the
    object's larger side, so the frame cuts the cat; enlarged back to HxW, and its edges extracted from
    the enlarged photo with `method`, as the Photo tab extracts a close-up's edges."""
    rows, columns = np.nonzero(mask)
    top, height = rows.min(), rows.max() - rows.min() + 1
    width = columns.max() - columns.min() + 1
    side = max(16, int(max(height, width) * rng.uniform(0.45, 0.8)))
    band = rows < top + 0.15 * height  # the ears
    centre = (columns[band].mean() + rng.uniform(-0.1, 0.1) * side, top + side * rng.uniform(0.3, 0.6))
    left, upper, right, lower = close_up_box(mask, side, centre)
    window = Image.fromarray(np.ascontiguousarray(photo[upper:lower, left:right]))
    enlarged = window.resize((photo.shape[1], photo.shape[0]), Image.BICUBIC)
    edges = np.asarray(extract_edges(enlarged, method).convert("L"))
    return np.where(edges < 128, LINE, BACKGROUND).astype(np.uint8), np.asarray(enlarged)


# ---------------------------------------------------------------- cat faces


@lru_cache(maxsize=1)
def _cat_face_detector() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalcatface_extended.xml"
    detector = cv2.CascadeClassifier(path)
    if detector.empty():
        raise RuntimeError(f"Could not load OpenCV's cat-face cascade from {path}; install opencv-python-headless 4.x.")
    return detector


def cat_face_crop_box(image: Image.Image, scale: float = 2.4, face_height_position: float = 0.42,
                      detection_size: int = 512) -> tuple[int, int, int, int] | None:
    """Square head-and-shoulders crop around the largest cat face, or None if no face is found.

    Rule: detect frontal cat faces (OpenCV Haar cascade, on a copy with long side
    `detection_size`); take the largest; the crop side is `scale` x the face box side, the face is
    centred horizontally and its centre sits at `face_height_position` of the crop's height (a bit
    above the middle, so the chest shows). The square is shrunk to fit the image if needed, then
    shifted inside it. Returns (left, top, right, bottom) in the input's pixel coordinates.
    """
    gray = cv2.cvtColor(_to_rgb_array(image), cv2.COLOR_RGB2GRAY)
    factor = min(1.0, detection_size / max(gray.shape))
    small = _resize_long_side(gray, detection_size) if factor < 1 else gray
    # scaleFactor 1.05 / minNeighbors 3 found a face in 33 of 60 cats/test photos (histogram
    # equalisation and stricter settings found fewer); faces under 6% of the short side are noise.
    minimum = max(24, int(0.06 * min(small.shape)))
    faces = _cat_face_detector().detectMultiScale(small, scaleFactor=1.05, minNeighbors=3, minSize=(minimum, minimum))
    if len(faces) == 0:
        return None
    x, y, w, h = (value / factor for value in max(faces, key=lambda face: face[2] * face[3]))
    height, width = gray.shape
    side = min(scale * max(w, h), width, height)
    left = x + w / 2 - side / 2
    top = y + h / 2 - face_height_position * side
    left = min(max(left, 0), width - side)
    top = min(max(top, 0), height - side)
    left, top, side = int(round(left)), int(round(top)), int(side)
    return left, top, left + side, top + side


# ---------------------------------------------------------------- measuring HED-likeness


@dataclass
class EdgeMatch:
    """Pixel counts behind precision and recall; add them up over a data set, then read the scores."""

    matched_predicted: int = 0  # predicted line pixels with a reference line pixel within tolerance
    predicted: int = 0
    matched_reference: int = 0  # reference line pixels with a predicted line pixel within tolerance
    reference: int = 0

    def __add__(self, other: "EdgeMatch") -> "EdgeMatch":
        return EdgeMatch(self.matched_predicted + other.matched_predicted, self.predicted + other.predicted,
                         self.matched_reference + other.matched_reference, self.reference + other.reference)

    @property
    def precision(self) -> float:
        return self.matched_predicted / self.predicted if self.predicted else float(self.reference == 0)

    @property
    def recall(self) -> float:
        return self.matched_reference / self.reference if self.reference else 1.0

    @property
    def f_score(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def edge_match(predicted: np.ndarray, reference: np.ndarray, tolerance: float = 2.0) -> EdgeMatch:
    """Compare two line masks (boolean HxW, True = line) with a distance tolerance in pixels.

    A predicted pixel counts as correct if a reference pixel lies within `tolerance` (Euclidean
    distance transform), and vice versa for recall.
    """
    def distance_to(mask):
        if not mask.any():
            return np.full(mask.shape, np.inf, np.float32)
        return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)

    predicted, reference = predicted.astype(bool), reference.astype(bool)
    return EdgeMatch(int((distance_to(reference)[predicted] <= tolerance).sum()), int(predicted.sum()),
                     int((distance_to(predicted)[reference] <= tolerance).sum()), int(reference.sum()))
