"""What the app does, without the UI: canvas or photo in, generated image out.

The Gradio handlers in this package are thin wrappers around these functions (which hold no
Gradio imports, so they are easy to test and reuse). Models come from `pix2pix_demo.registry`:
listed cheaply, loaded lazily on first use, once per process.

    sketch = sketch_from_canvas(canvas_value)       # Sketchpad dict / image -> PIL L line drawing
    image = generate(sketch, "edges2cats", seed=0)  # seed 0: deterministic; other seeds: variations
    edges, image = photo_to_image(photo, "edges2cats")
    result = photo_result(photo, "edges2cats")      # + the colour used, whether the cat was cut out, a note

User mistakes raise `InputError` (a ValueError whose message is meant for the user);
`EmptyInput` is the mild kind (nothing drawn yet) that the UI shows as a warning.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageFilter

from .. import registry
from ..edges import DEFAULT_EDGE_METHOD, EDGE_METHODS, extract_edges, is_blank, normalize_sketch
from ..imaging import ImageError, check_aspect, fitted_size, open_image, resize_to, to_rgb

if TYPE_CHECKING:  # imported on first use in get_pipeline (it imports torch)
    from ..pipelines import Pix2PixPipeline

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "edges2cats"
PREFERRED_ORDER = ("edges2cats", "edges2products")  # then any other pix2pix model, by name
PHOTO_WORKING_SIZE = 512  # photos are shrunk to this long side before edge extraction
CANVAS_SIZE = (512, 512)  # the Draw canvas (and edge maps sent to it), in pixels
MIN_INK_PIXELS = 8  # fewer line pixels than this after normalising counts as an empty canvas
EDGE_METHOD_LABELS = {"hed-like": "HED-like (clean outlines)", "canny": "Canny (more detail)",
                      "hed-learned": "Learned HED-like"}


class InputError(ValueError):
    """An input the app cannot use; str(error) is a message for the user."""


class EmptyInput(InputError):
    """Nothing to work on yet (an empty canvas, a photo without edges): a warning, not an error."""


# ---------------------------------------------------------------- models


def device() -> str:
    """CPU by default, CUDA when present (env PIX2PIX_DEVICE overrides: cpu, cuda, mps)."""
    wanted = os.environ.get("PIX2PIX_DEVICE")
    if wanted:
        return wanted
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def model_choices() -> list[tuple[str, str]]:
    """(label, key) for every pix2pix model, the shipped ones first: for a Dropdown."""
    entries = registry.list_models("pix2pix")
    order = [key for key in PREFERRED_ORDER if key in entries] + sorted(k for k in entries if k not in PREFERRED_ORDER)
    return [(entries[key].label, key) for key in order]


def coat_choices() -> dict[str, list[list]]:
    """{model key: [[name, "#rrggbb"], ...]} for the pix2pix models that take a coat colour (from their
    config.json: no torch, no weights loaded)."""
    entries = registry.list_models("pix2pix")
    return {key: [[name, "#%02x%02x%02x" % tuple(round(v * 255) for v in rgb)] for name, rgb in entry.coats]
            for key, entry in entries.items() if entry.coats}


def fur_models() -> list[str]:
    """The pix2pix models the Draw tab offers the fur finish for (`pix2pix_demo.fur`): those trained on
    cut-out cats on white (`cuts_out_cats`), the picture the finish is made for."""
    return [key for _, key in model_choices() if cuts_out_cats(key)]


def fur_defaults() -> list[str]:
    """Of `fur_models`, those whose config turns the finish on by default (edges2cats since session 19):
    the Draw tab's "Fur strands" switch starts on for them."""
    entries = registry.list_models()
    return [key for key in fur_models() if entries.get(key) is not None and entries[key].fur]


def hole_models() -> list[str]:
    """The pix2pix models whose config holds a fitted hole guess (`pix2pix_demo.holes`; edges2products since
    session 20): the Draw tab offers them a "Keep holes open" switch, on by default as the config applies it."""
    entries = registry.list_models("pix2pix")
    return [key for _, key in model_choices() if entries.get(key) is not None and entries[key].holes]


def default_model() -> str | None:
    choices = model_choices()
    keys = [key for _, key in choices]
    return DEFAULT_MODEL if DEFAULT_MODEL in keys else (keys[0] if keys else None)


def cuts_out_cats(key: str | None) -> bool:
    """Was this model trained on cut-outs (a cat on white: edges2cats)? Then the Photo tab cuts a photo's
    cat out first (`photo_result`). The rule is `registry._trained_on_cutouts` (config data.cutout, else a
    cut-out data.path, else the cats' named coats); no torch, no weights loaded."""
    entry = registry.list_models().get(key) if key else None
    return bool(entry is not None and entry.cutouts)


def model_edge_method(key: str | None) -> str:
    """The edge extractor a model was trained with (its config's data.edge_method), else the default:
    the Photo tab switches to it when that model is chosen."""
    entry = registry.list_models().get(key) if key else None
    method = entry.edge_method if entry is not None else None
    return method if method in EDGE_METHODS else DEFAULT_EDGE_METHOD


_pipelines: dict[tuple[str, str], Pix2PixPipeline] = {}
_pipelines_lock = threading.Lock()


def get_pipeline(key: str, progress=None) -> Pix2PixPipeline:
    """The pipeline for model `key`, built once per process (the model is cached by the registry).

    Raises InputError for an unknown key or a model that cannot be loaded."""
    if not key or not isinstance(key, str):
        raise InputError("Choose a model first.")
    target = device()
    with _pipelines_lock:
        pipe = _pipelines.get((key, target))
    if pipe is not None:
        return pipe
    entry = registry.list_models().get(key)
    if entry is not None and entry.kind != "pix2pix":
        raise InputError(f"Model {key!r} is a {entry.kind} model, not a pix2pix model.")
    try:
        model = registry.load(key, progress=progress, device=target)
    except registry.ModelUnavailable as error:
        raise InputError(str(error)) from None
    from ..pipelines import Pix2PixPipeline  # torch: on the first model use, not at start-up

    pipe = Pix2PixPipeline(model, device=target, detail=texture_stage(model, target, progress))
    with _pipelines_lock:
        return _pipelines.setdefault((key, target), pipe)


def texture_stage(model, target: str, progress=None):
    """The texture stage a pix2pix model's config names (`"detail": KEY`, e.g. edges2cats-fur), loaded
    through the registry like any model; None when it names none or that model cannot be loaded (the
    pictures are then the first stage's alone, and the log says why)."""
    key = (getattr(model, "metadata", {}) or {}).get("detail")
    if not isinstance(key, str) or not key:
        return None
    try:
        return registry.load(key, progress=progress, device=target)
    except registry.ModelUnavailable as error:
        logger.warning("Texture stage %r not loaded: %s", key, error)
        return None


# ---------------------------------------------------------------- canvas


def _as_image(value) -> Image.Image | None:
    """An image value (PIL, numpy array, local file path, FileData-like dict, bytes) -> PIL or None.

    A FileData dict contributes only its `path` (a `url` is never opened). Paths are opened as
    given: values from clients must pass `ui.common.uploaded_files` first."""
    if value is None:
        return None
    if isinstance(value, dict):  # FileData as sent by gradio_client / preprocess=False
        value = value.get("path")
        if value is None:
            return None
    try:
        return check_aspect(open_image(value))
    except ImageError as error:
        raise InputError(str(error)) from None


MAX_SEED_VALUE = 2**32 - 1


def parse_flag(value, name: str, default: bool | None = False) -> bool | None:
    """A checkbox value from a client: True / 1 / "true" are on, False / 0 / "false" off (any case), None
    and "" mean `default`; anything else ("yes", 2, a list) is an InputError, so a typo is not taken as on."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InputError(f"{name} must be true or false, got {str(value)[:40]!r}.")


def parse_seed(seed) -> int:
    """A seed from a slider or an API call -> int in [0, MAX_SEED_VALUE]; InputError otherwise."""
    if seed is None or seed == "":
        return 0
    try:
        value = float(seed)
        whole = value.is_integer()
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or not 0 <= value <= MAX_SEED_VALUE:
        raise InputError(f"The seed must be a whole number from 0 to {MAX_SEED_VALUE}, got {seed!r}.")
    return int(value)


def canvas_image(value) -> Image.Image | None:
    """The drawing from a Sketchpad / ImageEditor value, or None when nothing is there.

    Accepts the editor dict {background, layers, composite} (composite preferred; else the
    layers flattened over the background) or a plain image (an upload through the API)."""
    if not isinstance(value, dict) or not ({"composite", "layers", "background"} & set(value)):
        return _as_image(value)
    composite = _as_image(value.get("composite"))
    if composite is not None:
        return composite
    background = _as_image(value.get("background"))
    layers = [image for image in map(_as_image, value.get("layers") or []) if image is not None]
    if not layers:
        return background
    base = to_rgb(background).convert("RGBA") if background is not None else Image.new("RGBA", layers[0].size, "white")
    for layer in layers:
        base.alpha_composite(resize_to(layer.convert("RGBA"), base.size))
    return base


def sketch_from_canvas(value, size: int | None = None) -> Image.Image:
    """Canvas value -> line drawing in the training style (1-px dark lines on white, mode L).

    `size`: long side of the result (the model's resolution). Raises EmptyInput when nothing is
    drawn, InputError when the value is not an image."""
    image = canvas_image(value)
    if image is not None and size and max(image.size) >= 2 * size:
        # Shrink by an integer factor with a box filter first (a few ms): normalising and
        # thinning at the model's resolution is ~4x cheaper than at the canvas's, and lines
        # survive (a 1-px stroke becomes a grey one, still far from the background).
        image = image.reduce(max(image.size) // size)
    sketch = None if image is None else normalize_sketch(image, size=size)
    if sketch is None or int((np.asarray(sketch) < 128).sum()) < MIN_INK_PIXELS:
        raise EmptyInput("The canvas is empty: draw something (or load an example) first.")
    return sketch


def model_coats(key: str) -> list[str]:
    """The coat names a model takes (edges2cats: its cat's colour), [] for other models."""
    return list(get_pipeline(key).coats)


def parse_coat(pipe, coat) -> str | None:
    """A coat from the UI or an API call -> a name of `pipe.coats` (or #rrggbb), None for the model's
    default; InputError for anything else. Models without coats ignore it."""
    if coat is None or (isinstance(coat, str) and coat.strip().lower() in ("", "default", "auto")):
        return None
    if not pipe.coats:
        return None
    try:
        pipe.coat_rgb(coat)
    except ValueError as error:
        raise InputError(str(error)) from None
    return coat


def generate(sketch: Image.Image, key: str, seed: int = 0, progress=None, coat=None,
             fur: bool | None = None, holes: bool | None = None) -> Image.Image:
    """Line drawing -> generated RGB image (at the model's resolution, the drawing's aspect).

    seed 0: evaluation mode, deterministic. Any other seed: the paper's test-time mode (dropout
    as noise, batch statistics) with that seed, i.e. a reproducible variation. `coat`: the cat's
    colour for models that take one (see `model_coats`; None = the model's default). `fur`: the fur
    finish on or off (None = as the model's config says: off for every shipped model). `holes`: the hole guess
    (`pix2pix_demo.holes`) on or off (None = as the config says: on where it holds one, edges2products)."""
    pipe = get_pipeline(key, progress)
    seed = parse_seed(seed)
    coat = parse_coat(pipe, coat)
    if seed == 0:
        return pipe(sketch, mode="eval", coat=coat, fur=fur, holes=holes)
    return pipe(sketch, mode="paper", seed=seed, coat=coat, fur=fur, holes=holes)


def drawing_of_edges(edges: Image.Image, size: int) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """An edge map -> (the drawing the Draw tab makes of it: a `size`² square, 1-px lines in the training style,
    the edges fitted and centred; the box (left, top, right, bottom) they fill).

    The Photo tab's picture is made from this square (`generate_from_edges`), and "Edit the edges in Draw" loads
    this square into the canvas (`draw_tab.surface_value_for`, pixels doubled): the canvas then sends it back
    as it was, so the same edges, model and colour give the same picture in both tabs. The square is already
    what the live path makes of a drawing (`sketch_from_canvas`), so it comes back unchanged."""
    sketch = normalize_sketch(edges, size=size)
    width, height = sketch.size
    left, top = (size - width) // 2, (size - height) // 2
    square = Image.new("L", (size, size), 255)
    square.paste(sketch, (left, top))
    return normalize_sketch(square), (left, top, left + width, top + height)


def generate_from_edges(edges: Image.Image, key: str, seed: int = 0, progress=None, coat=None) -> Image.Image:
    """An edge map -> the picture, made exactly as the Draw tab makes it from `drawing_of_edges`' square,
    cropped to the edges' box (the photo's aspect)."""
    pipe = get_pipeline(key, progress)
    square, box = drawing_of_edges(edges, pipe.size)
    image = generate(square, key, seed, progress, coat=coat)
    scale = image.width / square.width  # 1 for every model the app has; a model that answers larger scales the box
    return image.crop(tuple(round(v * scale) for v in box))


def sketch_to_image(canvas_value, key: str, seed: int = 0, progress=None, coat=None) -> Image.Image:
    """Canvas value + model key -> generated image (the whole Draw tab in one call)."""
    pipe = get_pipeline(key, progress)
    seed = parse_seed(seed)
    return generate(sketch_from_canvas(canvas_value, size=pipe.size), key, seed, coat=coat)


def canvas_value_for(sketch: Image.Image, canvas_size=CANVAS_SIZE, line_width: int = 3) -> dict:
    """A line drawing -> a Sketchpad value whose lines sit in an editable layer.

    The drawing is fitted into the canvas (white margins), its lines are thickened to
    `line_width` px so they look like brush strokes, and they go into a transparent layer over a
    white background: the eraser can then remove them like strokes drawn by hand."""
    gray = to_rgb(sketch).convert("L")
    fit = fitted_size(*gray.size, min(canvas_size))
    gray = resize_to(gray, fit)
    ink = np.asarray(gray) < 128
    if line_width > 1:
        ink = np.asarray(Image.fromarray(ink.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(line_width))) > 0
    width, height = canvas_size
    left, top = (width - fit[0]) // 2, (height - fit[1]) // 2
    layer = np.zeros((height, width, 4), np.uint8)  # transparent black
    layer[top:top + fit[1], left:left + fit[0], 3][ink] = 255
    layer_image = Image.fromarray(layer, "RGBA")
    background = Image.new("RGB", canvas_size, "white")
    composite = background.copy()
    composite.paste(layer_image, (0, 0), layer_image)
    return {"background": background, "layers": [layer_image], "composite": composite}


def save_png(image: Image.Image, folder=None) -> str:
    """Write `image` as a PNG into a fresh temporary folder; return its path (generated.png)."""
    folder = Path(tempfile.mkdtemp(prefix="pix2pix-", dir=folder))
    path = folder / "generated.png"
    to_rgb(image).save(path, optimize=False)
    return str(path)


def blank_canvas_value(canvas_size=CANVAS_SIZE) -> dict:
    background = Image.new("RGB", canvas_size, "white")
    return {"background": background, "layers": [], "composite": background.copy()}


# ---------------------------------------------------------------- photos


def open_photo(value) -> Image.Image:
    """An uploaded photo (path, FileData dict, PIL, array) -> upright RGB PIL, at most
    PHOTO_WORKING_SIZE on its long side. Raises InputError with a message for the user."""
    image = _as_image(value)
    if image is None:
        raise EmptyInput("Upload a photo (or pick an example) first.")
    try:
        image = to_rgb(image)
    except (OSError, ValueError) as error:
        raise InputError(f"Could not convert this image to RGB: {error}") from None
    if max(image.size) > PHOTO_WORKING_SIZE:
        image = resize_to(image, fitted_size(*image.size, PHOTO_WORKING_SIZE))
    return image


def photo_to_edges(value, method: str = DEFAULT_EDGE_METHOD) -> Image.Image:
    """Photo -> its edge map (mode L, black lines on white). Raises EmptyInput for blank photos."""
    if method not in EDGE_METHODS:
        raise InputError(f"Unknown edge method {method!r}; choose one of {', '.join(EDGE_METHODS)}.")
    photo = open_photo(value)
    edges = extract_edges(photo, method=method)
    if is_blank(edges):
        raise EmptyInput("No edges found in this photo: it looks blank (all one colour). Try another photo.")
    return edges


CUTOUT_MARGIN = 0.08  # white around the cat, as in the training cut-outs (train.make_edges_dataset --margin)


@dataclass
class PhotoResult:
    edges: Image.Image  # the edge map the picture was made from (of the cut-out when `cut`)
    image: Image.Image
    coat: list[float] | None  # the colour it was made with (None: the model's default / a model without coats)
    cut: bool  # the cat was cut out of the photo first
    note: str = ""  # for the user: why the whole photo was used although a cut-out was asked for
    close_up: bool = False  # cut out as a close-up (the cat fills the photo or is cut by its frame)

    @property
    def coat_hex(self) -> str:
        """The colour as "#rrggbb" ("" for none): what the Draw tab takes for the same picture."""
        return "" if self.coat is None else "#%02x%02x%02x" % tuple(round(v * 255) for v in self.coat)


def photo_to_image(value, key: str, method: str = DEFAULT_EDGE_METHOD, seed: int = 0,
                   progress=None, cutout: bool | None = None) -> tuple[Image.Image, Image.Image]:
    """Photo + model key -> (edge map, generated image); see `photo_result`."""
    result = photo_result(value, key, method, seed, progress, cutout)
    return result.edges, result.image


def photo_result(value, key: str, method: str = DEFAULT_EDGE_METHOD, seed: int = 0, progress=None,
                 cutout: bool | None = None) -> PhotoResult:
    """Photo + model key -> the edge map, the generated image, the colour used.

    A model trained on cut-outs (`cuts_out_cats`: edges2cats) gets, by default (`cutout` None or True), the
    photo's cat cut out onto white the way its training photos were (`cat_cut_out`), and the edges *of that
    cut-out*, with the colour measured inside it (so the rug is not the coat). When the segmenter is not
    sure where the cat is, the whole photo is used and `note` says why. `cutout=False`, and every other
    model, use the whole photo; a model that takes a colour then gets the colour of the photo's own cat
    (or object, `photo_colour`)."""
    if method not in EDGE_METHODS:
        raise InputError(f"Unknown edge method {method!r}; choose one of {', '.join(EDGE_METHODS)}.")
    photo = open_photo(value)  # opened and decoded once, for the edges and the colour
    pipe = get_pipeline(key, progress)
    note, probability = "", None
    if cutout is not False and cuts_out_cats(key):
        segmenter = cat_segmenter()
        # segmented once: the cut-out and, when it is refused, the whole photo's colour both use it
        probability = None if segmenter is None else _segment(segmenter, photo)
        cut, note = cat_cut_out(photo, pipe.size, probability=probability, close_ups=takes_close_ups(pipe))
        if cut is not None:
            edges = photo_to_edges(cut, method)
            coat = _quantized(coat_of_cut_out(cut)) if pipe.coats else None
            return PhotoResult(edges, generate_from_edges(edges, key, seed, progress, coat=coat), coat, True,
                               close_up=note == CLOSE_UP)
    edges = photo_to_edges(photo, method)
    coat = _quantized(photo_colour(photo, probability)) if pipe.coats else None
    return PhotoResult(edges, generate_from_edges(edges, key, seed, progress, coat=coat), coat, False, note)


def _quantized(colour) -> list[float] | None:
    """A colour rounded to 8 bits a channel: the "#rrggbb" the Draw tab gets is then the very same colour."""
    return None if colour is None else [round(float(v) * 255) / 255 for v in colour]


def cat_segmenter():
    """weights/cat-segmenter (loaded once, by the registry), or None when it is not installed."""
    try:
        return registry.load("cat-segmenter")
    except registry.ModelUnavailable as error:
        logger.info("No cat segmenter: %s", error)
        return None


def _segment(segmenter, photo: Image.Image) -> np.ndarray:
    from ..cutout import segment

    return segment(segmenter, photo)


CLOSE_UP = "close-up"  # cat_cut_out's note for a close-up cut-out (not a refusal)


def close_up_model(key: str | None = None) -> str | None:
    """The key of an installed model trained on face close-ups only (cut-outs, config data.close_ups 1: e.g.
    weights/edges2cats-faces), other than `key`; None when there is none. The Photo tab offers it for a
    photo the cat fills (its example, and the note when a whole-cat model is given a close-up)."""
    entries = registry.list_models("pix2pix")
    faces = sorted(k for k, entry in entries.items() if k != key and entry.cutouts and entry.close_ups >= 0.99)
    return faces[0] if faces else None


def takes_close_ups(pipe) -> bool:
    """Was this model trained with close-ups too (`train.pix2pix --close-ups`: cats that fill the frame)?"""
    data = pipe.metadata.get("data") if isinstance(pipe.metadata.get("data"), dict) else {}
    return bool(data.get("close_ups"))


def is_close_up(quality) -> bool:
    """A sure, single cat that fills the photo or is cut by its frame (a face close-up): only the
    "too large" and "frame" checks failed."""
    return bool(quality.failures) and set(quality.failures) <= {"too large", "frame"}


def cat_cut_out(photo: Image.Image, size: int, check: bool = True,
                probability: np.ndarray | None = None, close_ups: bool = False) -> tuple[Image.Image | None, str]:
    """A photo -> (its cat cut out onto white, a `size`² square: the training photos' look, "") or
    (None, why not, for the user). Made as `train.make_edges_dataset --cutout --segmenter` made the
    training set: `cutout.segment_cat` (its quality checks included), then `cutout.cut_out` with the
    training margin. `close_ups` (a model trained with `--close-ups`): a cat that fills the photo or is
    cut by its frame is cut out inside the photo's own frame, a square as large as the cat but no larger
    than the photo (`close_up_cut_out`), as training made its close-ups, and the note is `CLOSE_UP`. `check=False` (measurements)
    keeps every cut-out with a cat in it; `probability`: the segmenter's answer for this photo when it
    was already computed."""
    segmenter = cat_segmenter()
    if segmenter is None:
        return None, "No cat segmenter is installed (weights/cat-segmenter), so the whole photo was used."
    from ..cutout import cut_out, segment_cat

    alpha, quality = segment_cat(segmenter, photo, probability=probability)
    if close_ups and is_close_up(quality):
        return close_up_cut_out(photo, alpha, size), CLOSE_UP
    if not quality.ok and (check or quality.failed == "no cat"):
        if quality.failed == "no cat":
            return None, "No cat found in this photo, so the whole photo was used."
        hint = (" A photo of the whole cat with some room around it works best." if quality.failed in ("area", "frame")
                else "")
        faces = close_up_model() if is_close_up(quality) else None
        if faces:
            label = registry.list_models("pix2pix")[faces].label
            hint = f" It looks like a close-up: the model “{label}” is made for photos the cat fills."
        return None, f"Not sure where the cat is ({quality.reason}), so the whole photo was used.{hint}"
    return cut_out(photo, alpha, size=size, margin=CUTOUT_MARGIN), ""


def close_up_cut_out(photo: Image.Image, alpha: np.ndarray, size: int) -> Image.Image:
    """A close-up's cat on white in a `size`² square that stays inside the photo (the frame keeps
    cutting the cat, as in training's close-ups): as large as the cat's box with the training margin,
    at most the photo's short side, centred on the cat."""
    from ..cutout import cut_out, square_box
    from ..edges import close_up_box

    mask = alpha > 0.5
    left, top, right, bottom = square_box(mask, CUTOUT_MARGIN)
    box = close_up_box(mask, right - left, ((left + right) / 2, (top + bottom) / 2))
    return cut_out(photo, alpha, size=size, box=box)


def coat_of_cut_out(cut: Image.Image) -> list[float]:
    """The cat's colour in a cut-out: the mean of its non-white pixels (`coat.coat_colour`, as training
    measured its cut-out targets)."""
    from .. import coat

    return [float(v) for v in coat.coat_colour(np.asarray(to_rgb(cut)))]


def photo_colour(photo: Image.Image, probability: np.ndarray | None = None) -> list[float] | None:
    """The colour of what a photo shows, as a coat colour: on a white background (a product shot, a
    cut-out) the mean of its non-white pixels; otherwise the sure core of the cat our segmenter finds
    (`weights/cat-segmenter`; `probability`: its answer at the photo's size, when already computed).
    None (the model's default) when there is no segmenter or no cat."""
    from .. import coat

    rgb = np.asarray(to_rgb(photo))
    if coat.on_white(rgb):
        return [float(v) for v in coat.coat_colour(rgb)]
    small = to_rgb(photo).copy()
    small.thumbnail((384, 384))
    if probability is not None:
        import cv2

        probability = cv2.resize(probability.astype(np.float32), small.size, interpolation=cv2.INTER_AREA)
    else:
        segmenter = cat_segmenter()
        if segmenter is None:
            return None
        probability = _segment(segmenter, small)
    colour = coat.core_colour(np.asarray(small), probability)
    return None if colour is None else [float(v) for v in colour]


def example_files(folder: Path, pattern: str) -> list[str]:
    return [str(path) for path in sorted(Path(folder).glob(pattern))]
