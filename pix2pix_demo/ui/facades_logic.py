"""What the Facades tab does, without Gradio: a label picture in, a facade photo out.

    labels_to_facade(picture, "facades-spade", seed=0) -> (photo, note)   # the API endpoint's work
    render({"png": DATA_URL, "model": KEY, "seed": N})  -> {"image": JPEG data URL, ...}  # live, per stroke
    render_png({... "size": 512})                       -> {"image": PNG data URL, ...}   # download
    random_drawing({"seed": N})                         -> {"png": PNG data URL}          # a code-drawn layout

The facades models are the registry's models of kind "facades" (config.json `kind`), pix2pix or
SPADE; both run through `pix2pix_demo.facades.FacadesPipeline`, which snaps any colours to the 12
classes. The live functions reuse the Draw tab's request checks and answers (`ui.live`): the client
sends image bytes and a model key, never a path.
"""

from __future__ import annotations

import threading

from PIL import Image

from .. import registry
from ..imaging import fitted_size, resize_to
from ..labels import BRUSH_PALETTE, CLASS_NAMES, EmptyLabels, LabelError, classes_to_image, hex_colour, prepare_labels, random_facade
from . import live, logic

KIND = "facades"
PREFERRED_ORDER = ("facades-pix2pix", "facades-spade")
LABELS_MAX_SIDE_FACTOR = 2  # a label map is snapped to classes at most at this many times the model's side
CANVAS_SIZE = 512  # the surface's canvas; random layouts are drawn at this size (no rescaling)
FOREIGN_NOTE_ABOVE = 0.05  # say so when more than this fraction of the picture was no class colour

_pipelines: dict[tuple[str, str], object] = {}
_pipelines_lock = threading.Lock()


def model_choices() -> list[tuple[str, str]]:
    """(label, key) of every facades model, pix2pix first."""
    entries = registry.list_models(KIND)
    order = [k for k in PREFERRED_ORDER if k in entries] + sorted(k for k in entries if k not in PREFERRED_ORDER)
    return [(entries[key].label, key) for key in order]


def default_model() -> str | None:
    choices = model_choices()
    return choices[0][1] if choices else None


def palette() -> list[list[str]]:
    """[[class name, '#rrggbb'], ...] for the surface's swatches: the brush colours (`labels.BRUSH_PALETTE`,
    told apart at a glance), not the data set's four near-identical blues. Pictures in either set snap to
    the same classes."""
    return [[name, hex_colour(index, BRUSH_PALETTE)] for index, name in enumerate(CLASS_NAMES)]


def get_pipeline(key):
    """The FacadesPipeline of model `key` (built once per process). InputError for unknown / other models."""
    from ..facades import FacadesPipeline  # torch: on first use, not at start-up

    if not key or not isinstance(key, str):
        raise logic.InputError("Choose a facades model first.")
    target = logic.device()
    with _pipelines_lock:
        pipe = _pipelines.get((key, target))
    if pipe is not None:
        return pipe
    entry = registry.list_models().get(key)
    if entry is None or entry.kind != KIND:
        names = ", ".join(k for _, k in model_choices()) or "none"
        raise logic.InputError(f"{key!r} is not a facades model; choose one of: {names}.")
    try:
        model = registry.load(key, device=target)
        pipe = FacadesPipeline(model, device=target)
    except registry.ModelUnavailable as error:
        raise logic.InputError(str(error)) from None
    except TypeError as error:
        raise logic.InputError(f"Model {key!r}: {error}") from None
    with _pipelines_lock:
        return _pipelines.setdefault((key, target), pipe)


def _indices(picture: Image.Image):
    try:
        return prepare_labels(picture, palette="auto")  # brush colours (the surface) or the data set's
    except EmptyLabels as error:
        raise logic.EmptyInput(str(error)) from None
    except LabelError as error:
        raise logic.InputError(str(error)) from None


def labels_to_facade(value, key: str, seed=0) -> tuple[Image.Image, str | None]:
    """A label picture (an image value: PIL, array, checked local path; any size or colours) + a facades
    model key -> (photo at the model's resolution, the picture's aspect; a note when colours were snapped)."""
    pipe = get_pipeline(key)
    seed = logic.parse_seed(seed)
    picture = logic.canvas_image(value)
    if picture is None:
        raise logic.EmptyInput("Paint a facade (or click 'Random facade') first: no label picture was given.")
    # labels first shrunk (nearest neighbour: class colours stay class colours) to twice the model's side, which
    # is all it reads: snapping a 6000x6000 map's colours took 16 s of CPU that live drawing was waiting for
    limit = LABELS_MAX_SIDE_FACTOR * pipe.size
    if max(picture.size) > limit:
        picture = picture.resize(fitted_size(*picture.size, limit), Image.NEAREST)
    indices, report = _indices(picture)
    note = None
    if report.foreign > FOREIGN_NOTE_ABOVE:
        note = (f"{report.foreign:.0%} of the picture was not one of the 12 class colours; it was snapped to "
                "the nearest class colour.")
    with live._model_lock:
        live.use_torch_threads()
        return pipe.from_indices(indices, seed=seed), note


# ---------------------------------------------------------------- the surface's server functions


def _request_fields(request) -> tuple[Image.Image, str, int]:
    if not isinstance(request, dict):
        raise logic.InputError("Expected a request object {png, model, seed}.")
    key = request.get("model")
    if not isinstance(key, str) or key not in {k for _, k in model_choices()}:
        raise logic.InputError("Choose a facades model first." if not key else f"Unknown facades model {key!r}.")
    try:
        seed = int(request.get("seed") or 0)
    except (TypeError, ValueError):
        raise logic.InputError("The variation must be a whole number.") from None
    if not 0 <= seed <= live.MAX_SEED:
        raise logic.InputError(f"The variation must be between 0 and {live.MAX_SEED}.")
    return live.decode_png(request.get("png")), key, seed


def _generate(request) -> Image.Image:
    picture, key, seed = _request_fields(request)
    return labels_to_facade(picture, key, seed)[0]


def render(request) -> dict:
    """{png, model, seed} -> {image: JPEG data URL, width, height, ms} | {empty} | {error}."""

    def make():
        image = _generate(request)
        return {"image": live.data_url(image), "width": image.width, "height": image.height}

    return live._answer(make)


def render_png(request) -> dict:
    """{png, model, seed, size} -> {image: PNG data URL, width, height} (size 256: the model's own output;
    512: resized to that long side)."""

    def make():
        size = request.get("size", live.DOWNLOAD_SIZES[0]) if isinstance(request, dict) else None
        if size not in live.DOWNLOAD_SIZES:
            raise logic.InputError(f"Download size must be one of {', '.join(map(str, live.DOWNLOAD_SIZES))}.")
        image = _generate(request)
        image = resize_to(image, fitted_size(*image.size, size))
        return {"image": live.data_url(image, "PNG"), "width": image.width, "height": image.height}

    return live._answer(make)


def random_png(seed: int, size: int = CANVAS_SIZE) -> str:
    """A code-drawn facade layout (`labels.random_facade`) in the brush colours, as a PNG data URL of size²."""
    return live.data_url(classes_to_image(random_facade(seed, size, size), BRUSH_PALETTE), "PNG")


def random_drawing(request) -> dict:
    """{seed} -> {png: a code-drawn facade layout as a PNG data URL} | {error}."""
    try:
        seed = int((request or {}).get("seed") or 0) if isinstance(request, dict) else None
    except (TypeError, ValueError):
        seed = None
    if seed is None or not 0 <= seed < 2 ** 32:
        return {"error": "The layout seed must be a whole number from 0 to 2**32 - 1."}
    return {"png": random_png(seed)}
