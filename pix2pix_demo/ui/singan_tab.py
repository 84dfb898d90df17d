"""The SinGAN tab: one sub-tab per application, plus "Train on my image".

`build_singan_tab()` is called by app.py inside an open `gr.Blocks()` / `gr.Tab`. Every
application is a named API endpoint whose first input is the model key:

    /singan_sample(model, seed, width_factor, height_factor, start_scale) -> image
    /singan_edit(model, edited_image, mask, injection_scale, seed) -> image
    /singan_harmonize(model, naive_paste, mask, injection_scale, seed) -> image
    /singan_paint(model, painting, injection_scale, seed, quantize) -> image
    /singan_super_resolve(model, image, factor, seed) -> image
    /singan_animate(model, frames, alpha, beta, start_scale, seed) -> GIF file
    /singan_train(image, name, minutes, max_size) -> status, preview, (dropdown updates)
    /gpnn_sample(image, seed, width_factor, height_factor) -> image   (no model: patch nearest neighbours)

In the browser, the edit / paste / paint inputs come from canvases: what the person paints on
the canvas is the mask (edit, harmonize) or the painting (paint); a "prepare" step turns the
canvas into the plain image + mask that the endpoint takes and shows them. Examples are made
from the shipped models' own reconstructions, so they work on a fresh checkout without any
image files. Handlers hold no tensor code: they call pix2pix_demo.singan.

Each sub-tab follows its selected model (on page load and when the dropdown changes): the scale
sliders end at the model's last scale (read from config.json) and the canvas brush offers the
model's own colours (k-means of its training image), the darkest first.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .. import registry
from .. import singan_options as limits
from ..hub import ModelLoadError, read_config, save_model
from ..imaging import ImageError, open_image, to_rgb
from .common import output_file, output_path, unexpected_error, uploaded_files
from .logic import parse_seed

# application -> the shipped model that suits it (used when present)
PREFERRED = {"sample": "singan-balloons", "edit": "singan-stone", "harmonize": "singan-starry_night",
             "paint": "singan-cows", "super_resolve": "singan-33039_LR", "animate": "singan-lightning1"}
PASTE_SOURCE = "singan-chelsea"  # the harmonization example pastes a piece of this model's image
TRAIN_CONCURRENCY = {"concurrency_id": "singan-train", "concurrency_limit": 1}
APPLY_CONCURRENCY = {"concurrency_id": "singan-apply", "concurrency_limit": 1}
MAX_TRAIN_MINUTES = 15
MAX_TRAIN_SIZE = 500  # px, the long side of a model trained in the app
PREVIEW_SECONDS = 5.0  # a new SinGAN sample in "Train on my image" at most this often (mid-scale too)
_cancel_events: dict[str, threading.Event] = {}


def user_models_dir() -> Path:
    """Where "Train on my image" saves models: env PIX2PIX_SINGAN_USER_DIR, else the user cache."""
    base = os.environ.get("PIX2PIX_SINGAN_USER_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pix2pix_demo", "singan")
    return Path(base)


def model_choices() -> list[tuple[str, str]]:
    return [(entry.label, key) for key, entry in registry.list_models("singan").items()]


def default_model(application: str) -> str | None:
    keys = [key for _, key in model_choices()]
    preferred = PREFERRED.get(application)
    return preferred if preferred in keys else (keys[0] if keys else None)


def _singan():
    """pix2pix_demo.singan, imported on first use: it imports torch, which the first page does not need
    (what the tab is built from comes from pix2pix_demo.singan_options)."""
    from .. import singan

    return singan


def _load(model_key):
    if not model_key or not isinstance(model_key, str):
        raise gr.Error("No SinGAN model selected. Pick one, or train one in the 'Train on my image' tab.",
                       print_exception=False)
    entry = registry.list_models().get(model_key)
    if entry is not None and entry.kind != "singan":
        raise gr.Error(f"Model {model_key!r} is a {entry.kind} model, not a SinGAN model.", print_exception=False)
    try:
        model = registry.load(model_key)
    except registry.ModelUnavailable as error:
        raise gr.Error(str(error), print_exception=False) from None
    if not isinstance(model, _singan().SinGAN):  # e.g. a Hub entry whose config turned out to be another kind
        raise gr.Error(f"Model {model_key!r} is not a SinGAN model.", print_exception=False)
    return model


def app_messages(fn):
    """Decorator for the endpoints: user errors (ValueError, ImageError, InputError) -> gr.Error with the
    message; anything else -> a short generic message (details in the server log). Generators too."""

    def convert(error: Exception) -> gr.Error:
        if isinstance(error, gr.Error):
            return error
        if isinstance(error, (ValueError, ImageError)):
            return gr.Error(str(error), print_exception=False)
        return unexpected_error(error, fn.__qualname__)

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - converted for the client, logged when unexpected
                raise convert(error) from None

        return generator_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - converted for the client, logged when unexpected
            raise convert(error) from None

    return wrapper


def _number(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    return number


def _whole(value, name: str) -> int:
    number = _number(value, name)
    if not number.is_integer() or abs(number) > 2**31:
        raise ValueError(f"{name} must be a whole number, got {value!r}.")
    return int(number)


# ------------------------------------------------------------------------------ handlers (API)
# The endpoints run with preprocess=False: image inputs arrive as FileData and only files Gradio
# received are opened (`uploaded_files`); pix2pix_demo.singan opens and checks them, so bad images get
# its own messages. Results go back as files of their own (`output_file`).
@app_messages
def sample_handler(model_key, seed=0, width_factor=1.0, height_factor=1.0, start_scale=0):
    """Model key + seed + size factors + start scale -> a random image."""
    model = _load(model_key)
    image = _singan().sample(model, seed=parse_seed(seed), width_factor=_number(width_factor, "width_factor"),
                             height_factor=_number(height_factor, "height_factor"),
                             start_scale=_whole(start_scale, "start_scale"))
    return output_file(image, "png", "sample")


@app_messages
def gpnn_handler(image, seed=1, width_factor=1.0, height_factor=1.0):
    """Any uploaded image + seed + size factors -> a GPNN sample (pix2pix_demo.gpnn, no training).
    Only a file Gradio received is read (uploaded_files); pix2pix_demo.gpnn checks the image."""
    from ..gpnn import generate

    result = generate(uploaded_files(image), seed=parse_seed(seed), width_factor=_number(width_factor, "width_factor"),
                      height_factor=_number(height_factor, "height_factor"))
    return output_file(result, "png", "gpnn")


@app_messages
def model_image(model_key):
    """The selected model's reconstruction of its training image, as a file (for the GPNN input)."""
    return output_file(reconstruction(model_key), "png", "model-image")


@app_messages
def edit_handler(model_key, image, mask, injection_scale=None, seed=0):
    """Model key + edited image + mask (white = edited region) -> the harmonised edit."""
    model = _load(model_key)
    image, mask = uploaded_files(image), uploaded_files(mask)
    return output_file(_singan().edit(model, image, mask, _scale(injection_scale), parse_seed(seed)), "png", "edit")


@app_messages
def harmonize_handler(model_key, image, mask, injection_scale=None, seed=0):
    """Model key + naive paste + mask of the pasted object -> the harmonised picture."""
    model = _load(model_key)
    image, mask = uploaded_files(image), uploaded_files(mask)
    return output_file(_singan().harmonize(model, image, mask, _scale(injection_scale), parse_seed(seed)), "png",
                       "harmonize")


@app_messages
def paint_handler(model_key, painting, injection_scale=None, seed=0, quantize=False):
    """Model key + rough painting -> an image with the model's textures."""
    model = _load(model_key)
    painting = uploaded_files(painting)
    return output_file(_singan().paint(model, painting, _scale(injection_scale), parse_seed(seed),
                                    quantize not in (False, None, 0, "", "false", "False")), "png", "paint")


@app_messages
def super_resolve_handler(model_key, image, factor=4, seed=0):
    """Model key + image + factor (2 or 4, also "2", "x4") -> the enlarged image."""
    model = _load(model_key)
    image = uploaded_files(image)
    text = str(factor).strip().lstrip("x×")
    if text not in ("2", "4", "2.0", "4.0"):
        raise ValueError(f"factor must be 2 or 4, got {factor!r}.")
    return output_file(_singan().super_resolve(model, image, int(float(text)), parse_seed(seed)), "png",
                       "super-resolved")


@app_messages
def animate_handler(model_key, num_frames=30, alpha=0.1, beta=0.9, start_scale=0, seed=0):
    """Model key + frames + alpha/beta + start scale -> an animated GIF (a file of its own in Gradio's
    cache, removed by delete_cache like every output)."""
    model = _load(model_key)
    path = output_path("gif", "animation")
    _singan().animate(model, _whole(num_frames, "num_frames"), _number(alpha, "alpha"), _number(beta, "beta"),
                   _whole(start_scale, "start_scale"), parse_seed(seed), path=path)
    return str(path)


def _scale(value):
    if value is None or value == "":
        return None
    value = _whole(value, "injection_scale")
    return None if value < 0 else value


# ----------------------------------------------------------------------------- canvases
def _layers_alpha(canvas: dict) -> np.ndarray | None:
    layers = [layer for layer in (canvas.get("layers") or []) if layer is not None]
    if not layers:
        return None
    alphas = [np.asarray(Image.fromarray(np.asarray(layer)) if not isinstance(layer, Image.Image) else layer)
              for layer in layers]
    alphas = [a[:, :, 3] if a.ndim == 3 and a.shape[2] == 4 else np.zeros(a.shape[:2], np.uint8) for a in alphas]
    return np.max(np.stack(alphas), axis=0)


def open_canvas(value):
    """A raw ImageEditor value (preprocess=False) -> {background, layers, composite} as RGBA PIL images
    (what Gradio's preprocessing gave), reading only files Gradio received; None stays None."""
    if not isinstance(value, dict):
        return value
    value = uploaded_files(value)

    def load(item):
        if item is None or isinstance(item, Image.Image):
            return item
        image = open_image(item)
        return (to_rgb(image) if image.mode in ("I;16", "I;16B", "I;16L", "I", "F") else image).convert("RGBA")

    return {"background": load(value.get("background")), "layers": [load(layer) for layer in value.get("layers") or []],
            "composite": load(value.get("composite"))}


def _as_pil(value) -> Image.Image | None:
    if value is None:
        return None
    return value if isinstance(value, Image.Image) else Image.fromarray(np.asarray(value))


def canvas_to_image_and_mask(canvas, use_composite: bool = True, example: dict | None = None):
    """ImageEditor value -> (RGB image, L mask). The mask is everything painted on the layers, plus
    the example's pasted piece while the canvas still shows the example (`example`: see load_example);
    the image is the composite (edit: the strokes are the edit) or the background (harmonize: the
    strokes only mark the pasted object)."""
    if not canvas or canvas.get("background") is None:
        raise gr.Error("The canvas is empty: load the example or upload a picture first.", print_exception=False)
    background = _as_pil(canvas["background"])
    composite = _as_pil(canvas.get("composite")) or _composite(background, canvas.get("layers"))
    alpha = _layers_alpha(canvas)
    pasted = _example_mask(background, example)
    if pasted is not None:
        alpha = pasted if alpha is None or alpha.shape != pasted.shape else np.maximum(alpha, pasted)
    if alpha is None or alpha.max() == 0:
        raise gr.Error("Nothing is painted on the canvas: paint over the region to change with the brush.",
                       print_exception=False)
    image = composite if use_composite else background
    base = Image.new("RGB", image.size, "white")
    if image.mode == "RGBA":
        base.paste(image, mask=image.getchannel("A"))
    else:
        base.paste(image.convert("RGB"))
    mask = Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8), "L")
    if mask.size != base.size:
        mask = mask.resize(base.size, Image.NEAREST)
    return base, mask


def _example_mask(background: Image.Image, example: dict | None) -> np.ndarray | None:
    """The loaded example's mask, if the canvas still shows the example's picture (not after an upload)."""
    if not example:
        return None
    shown = np.asarray(background.convert("RGB"), np.int16)
    picture = np.asarray(example["background"].convert("RGB"), np.int16)
    if shown.shape != picture.shape or np.abs(shown - picture).mean() > 2:
        return None
    return np.asarray(example["mask"].convert("L"))


def _composite(background: Image.Image, layers) -> Image.Image:
    """Background with the layers on top (what the editor shows), RGBA."""
    out = background.convert("RGBA")
    for layer in layers or []:
        layer = _as_pil(layer)
        if layer is not None:
            out.alpha_composite(layer.convert("RGBA").resize(out.size))
    return out


def canvas_to_edit_inputs(canvas, example: dict | None = None):
    """The picture with the strokes in it (the edit) + the mask (strokes and the example's piece)."""
    return canvas_to_image_and_mask(canvas, use_composite=True, example=example)


def canvas_to_harmonize_inputs(canvas, example: dict | None = None):
    """The background (the naive paste) + the mask (the example's pasted piece and any strokes)."""
    return canvas_to_image_and_mask(canvas, use_composite=False, example=example)


def canvas_to_painting(canvas, example: dict | None = None):
    """The painting as the canvas shows it (`example` is unused: paintings have no mask)."""
    if not canvas or (canvas.get("composite") is None and canvas.get("background") is None):
        raise gr.Error("The canvas is empty: load the example or paint something first.", print_exception=False)
    image = _as_pil(canvas.get("composite")) or _as_pil(canvas["background"])
    base = Image.new("RGB", image.size, "white")
    base.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    return base


# ----------------------------------------------------------------------------- examples
def reconstruction(model_key) -> Image.Image:
    """The model's fixed-noise reconstruction of its training image (the example canvas)."""
    from ..imaging import tensor_to_image

    return tensor_to_image(_load(model_key).reconstruct())


def _layer(size, patch: Image.Image, box_xy, alpha: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    rgba = patch.convert("RGBA")
    rgba.putalpha(alpha)
    layer.paste(rgba, box_xy, rgba)
    return layer


def _ellipse_alpha(size) -> Image.Image:
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
    return alpha


def edit_example(model_key):
    """The reconstruction with a piece copied elsewhere (on its own layer = the mask)."""
    image = reconstruction(model_key)
    w, h = image.size
    pw, ph = w // 4, h // 3
    patch = image.crop((w // 8, h // 2, w // 8 + pw, h // 2 + ph))
    layer = _layer(image.size, patch, (w // 2, h // 6), _ellipse_alpha(patch.size))
    return {"background": image, "layers": [layer], "composite": _composite(image, [layer])}


def harmonize_example(model_key):
    """A piece of another model's image (the cat's face, if chelsea is shipped) pasted onto this one."""
    background = reconstruction(model_key)
    keys = [key for _, key in model_choices()]
    source_key = PASTE_SOURCE if PASTE_SOURCE in keys and PASTE_SOURCE != model_key else \
        next((k for k in keys if k != model_key), model_key)
    source = reconstruction(source_key)
    sw, sh = source.size
    piece = source.crop((int(sw * 0.35), int(sh * 0.15), int(sw * 0.75), int(sh * 0.75)))
    w, h = background.size
    scale = 0.4 * h / piece.size[1]
    piece = piece.resize((max(8, round(piece.size[0] * scale)), max(8, round(piece.size[1] * scale))), Image.LANCZOS)
    layer = _layer(background.size, piece, (int(w * 0.55), int(h * 0.5)), _ellipse_alpha(piece.size))
    return {"background": background, "layers": [layer], "composite": _composite(background, [layer])}


def paint_example(model_key):
    """A flat-colour 'painting' of the reconstruction: its 5 k-means colours, smoothed."""
    model = _load(model_key)
    image = reconstruction(model_key).filter(ImageFilter.MedianFilter(9))
    singan = _singan()
    painting = singan.quantize_to_palette(image, singan.training_palette(model, 5)).filter(ImageFilter.ModeFilter(7))
    return {"background": painting, "layers": [], "composite": painting}


def super_resolve_example(model_key):
    return reconstruction(model_key)


def load_example(example, model_key):
    """example(model_key) -> (its canvas value with the layers merged into the picture, what to remember:
    {"background": that picture, "mask": the layers' alpha}, or None when it has no layers).

    The browser's editor merges loaded layers into the background as soon as you draw, which would
    drop the pasted piece from the mask; so the piece's mask is kept on the server (a gr.State)."""
    value = example(model_key)
    alpha = _layers_alpha(value)
    if alpha is None or not alpha.any():
        return value, None
    picture = _composite(_as_pil(value["background"]), value["layers"])
    return ({"background": picture, "layers": [], "composite": picture},
            {"background": picture, "mask": Image.fromarray(alpha, "L")})


# ----------------------------------------------------------------------------- training
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", (text or "").strip().lower()).strip("-")[:40]


@app_messages
def train_handler(image, name="", minutes=3.0, max_size=250, request: gr.Request = None,
                  progress=gr.Progress()):
    """Upload -> a new SinGAN (trained in a thread) -> registered with the registry.

    Yields (status markdown, preview image, one dropdown update per sub-tab): first a GPNN sample of
    the upload (seconds, no training), then a SinGAN sample through the scale being trained at most
    every PREVIEW_SECONDS and after each scale, then the finished model's sample. One training at
    a time (own queue); the Cancel button stops it at the next iteration."""
    updates_none = [gr.update()] * len(_dropdowns)
    if image is None:
        raise gr.Error("Upload an image to train on.", print_exception=False)
    image = uploaded_files(image)
    minutes = _number(minutes, "The time budget")
    if not 0.1 <= minutes <= MAX_TRAIN_MINUTES:
        raise gr.Error(f"The time budget must be between 0.1 and {MAX_TRAIN_MINUTES} minutes.", print_exception=False)
    max_size = _number(max_size, "The model size")
    if not 25 <= max_size <= MAX_TRAIN_SIZE:
        raise gr.Error(f"The model size must be between 25 and {MAX_TRAIN_SIZE} px.", print_exception=False)
    name = name if isinstance(name, str) else ""
    key = f"my-{_slug(name) or 'image'}-{time.strftime('%H%M%S')}"
    options = _singan().TrainOptions(max_size=int(max_size), time_budget=minutes, min_iters=20, device="auto")
    # open and check the upload once, shrunk to the model's size (the training never sees more)
    image = _singan()._as_rgb(image, "an image to train on", max(MAX_TRAIN_SIZE, int(max_size)))
    scales = len(_singan().pyramid_shapes(*image.size, options)[0])  # fail fast
    # something to look at within seconds: GPNN samples of the upload (no training) before SinGAN starts
    from ..gpnn import generate

    instant = generate(image, seed=1, max_side=min(int(max_size), 250))
    yield (f"Instant preview: patch nearest neighbours (GPNN, no training). Training **{key}** starts now; "
           "its samples replace this one as the scales finish.", instant, *updates_none)
    session = getattr(request, "session_hash", None) or "api"
    cancel = _cancel_events[session] = threading.Event()
    events: queue.Queue = queue.Queue()
    outcome: dict = {}

    def report(scale, iteration, fraction, preview):
        events.put((scale, iteration, fraction, preview))

    def work():
        try:
            outcome["result"] = _singan().train_singan(image, options, progress=report, cancel=cancel,
                                                       preview_every=PREVIEW_SECONDS)
        except BaseException as error:  # noqa: BLE001 - handed to the UI thread
            outcome["error"] = error
        finally:
            events.put(None)

    thread = threading.Thread(target=work, daemon=True, name=f"singan-train-{key}")
    thread.start()
    preview_image = instant
    try:
        while True:
            event = events.get()
            if event is None:
                break
            scale, iteration, fraction, preview = event
            progress(fraction, desc=f"scale {scale}, iteration {iteration}")
            if preview is not None:
                preview_image = preview
                yield (f"Training **{key}**: a SinGAN sample through scale {scale} of "
                       f"{scales}, iteration {iteration} "
                       f"({fraction:.0%}).", preview_image, *updates_none)
    finally:
        cancel.set() if thread.is_alive() and "result" not in outcome else None
    thread.join()
    _cancel_events.pop(session, None)
    error = outcome.get("error")
    if isinstance(error, _singan().TrainingCancelled):
        yield ("Training was cancelled.", preview_image, *updates_none)
        return
    if error is not None:
        raise error  # app_messages: a ValueError is the user's message, anything else a generic one
    model, stats = outcome["result"]
    folder = user_models_dir() / key
    save_model(model.cpu(), folder, {"label": f"Yours: {name or 'my image'} ({time.strftime('%H:%M')})",
                                     "resolution": max(stats["shapes"][-1]),
                                     "training": {"wall_time_s": stats["wall_seconds_this_run"],
                                                  "time_budget_min": minutes, "app": True}})
    registry.add_local_model(key, folder)
    choices = model_choices()
    final = _singan().sample(model, seed=0)
    status = (f"Trained **{key}** in {stats['wall_seconds_this_run']:.0f} s ({stats['num_scales']} scales, "
              f"{stats['shapes'][-1][1]}×{stats['shapes'][-1][0]} px). It is now selected in every SinGAN tab.")
    yield (status, final, *[gr.update(choices=choices, value=key) for _ in _dropdowns])


def cancel_training(request: gr.Request = None):
    session = getattr(request, "session_hash", None) or "api"
    event = _cancel_events.get(session)
    if event is None:
        gr.Info("No training is running in this session.")
        return
    event.set()
    gr.Info("Cancelling: the training stops at the next iteration.")


# ----------------------------------------------------------------------------- layout
_dropdowns: list = []


@dataclass
class SinGANTab:
    dropdowns: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


def _model_dropdown(application: str):
    # allow_custom_value: a model trained at run time (or by another session) is accepted by key
    dropdown = gr.Dropdown(choices=model_choices(), value=default_model(application), label="SinGAN model",
                           allow_custom_value=True, info="Each model was trained on one image.",
                           elem_id=f"singan-{application}-model")
    _dropdowns.append(dropdown)
    return dropdown


INJECTION_INFO = "Scale where your input enters the pyramid: lower = bigger changes. -1 = the default."
# after the model's own colours (see model_palette); white is last: a first stroke in white leaves a smudge
BRUSH_COLORS = ["#000000", "#d62728", "#1f77b4", "#ffffff"]
_palettes: dict[str, tuple[object, list[str]]] = {}  # model key -> (the loaded model, its palette)


def _brush(palette=()):
    """The canvases' brush: the model's palette (if known) then BRUSH_COLORS; the default is the first."""
    colors = list(palette) + [color for color in BRUSH_COLORS if color not in palette]
    return gr.Brush(colors=colors, default_color=colors[0], default_size=12, color_mode="defaults")


def model_palette(model_key, num_colors: int = 5) -> list[str]:
    """The model's training-image colours (k-means, darkest first) as "#rrggbb"; [] when it cannot load.
    Cached per loaded model (about 0.4 s the first time: one reconstruction)."""
    try:
        model = registry.load(model_key) if model_key else None
    except (registry.ModelUnavailable, ValueError, OSError):
        return []
    if model is None:
        return []
    cached = _palettes.get(model_key)
    if cached is not None and cached[0] is model:
        return cached[1]
    colors = sorted(_singan().training_palette(model, num_colors).tolist(),
                    key=lambda rgb: 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    palette = list(dict.fromkeys("#{:02x}{:02x}{:02x}".format(*rgb) for rgb in colors))
    _palettes[model_key] = (model, palette)
    return palette


def brush_update(model_key):
    """Page load / model change: the canvas brush offers (and starts with) the model's own colours."""
    return gr.update(brush=_brush(model_palette(model_key)))


def num_scales(model_key) -> int | None:
    """The model's number of scales, read from its config.json (weights are not loaded); None if unknown
    (no such model, or a Hub model that is not downloaded yet)."""
    entry = registry.list_models("singan").get(model_key) if model_key else None
    if entry is None:
        return None
    try:
        if entry.local:
            config = read_config(entry.source)
        else:
            from huggingface_hub import try_to_load_from_cache

            path = try_to_load_from_cache(entry.source, "config.json", revision=entry.revision)
            if not isinstance(path, str):
                return None
            config = read_config(Path(path).parent)
        return len(config["architecture"]["shapes"]) or None
    except (ModelLoadError, KeyError, TypeError, OSError, ValueError):
        return None


def _clamp(value, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return low


def start_scale_update(model_key, value=0):
    """Model change: the "Start scale" slider goes from 0 to the model's last scale (value clamped)."""
    n = num_scales(model_key)
    return gr.update() if n is None else gr.update(maximum=n - 1, value=_clamp(value, 0, n - 1))


def injection_scale_update(model_key, value=-1, application: str = "edit"):
    """Model change: the "Injection scale" slider goes from -1 (the default) to the model's last scale;
    the info names the default scale for this model."""
    n = num_scales(model_key)
    if n is None:
        return gr.update(info=_injection_info(n, application))
    return gr.update(maximum=n - 1, value=_clamp(value, -1, n - 1), info=_injection_info(n, application))


def _injection_info(n: int | None, application: str) -> str:
    if n is None:
        return INJECTION_INFO
    default = limits.default_injection_scale(n, application)
    return f"{INJECTION_INFO} This model: 0 to {n - 1}, default {default}."


def _on_model_change(model, fn, inputs, outputs, queue: bool = False):
    """Run `fn` when the page loads and whenever the model dropdown changes (also after training)."""
    root = gr.context.Context.root_block
    triggers = ([root.load] if root is not None else []) + [model.change]
    gr.on(triggers, fn, inputs, outputs, api_visibility="private", queue=queue, show_progress="hidden")


def _slider_ceiling() -> int:
    """The scale sliders' maximum as built: the last scale of the deepest model listed or trainable in
    the app. Gradio rejects API values above a slider's maximum before the handler runs, so this must
    admit every valid scale of every model (a model's own range is checked by pix2pix_demo.singan, with
    a clear message); in the browser, the page-load event narrows each slider to its selected model."""
    trainable = limits.pyramid_shapes(MAX_TRAIN_SIZE, MAX_TRAIN_SIZE, limits.TrainOptions(max_size=MAX_TRAIN_SIZE))
    return max([len(trainable[0])] + [num_scales(key) or 0 for key in registry.list_models("singan")]) - 1


def _canvas_application_tab(tab: SinGANTab, application: str, title: str, description: str, *,
                            canvas_label: str, button_label: str, sent_labels: tuple[str, ...],
                            example, prepare, handler, extra_inputs=list):
    """One canvas sub-tab (editing, harmonization, paint to image).

    Left: model dropdown, "Load the example" (`example(model) -> canvas value`) and the canvas.
    Right: injection scale, seed, `extra_inputs()` (more controls), the button, what is sent
    (`sent_labels`: one image, or an image and its mask) and the result. The button runs
    `prepare(canvas, remembered example) -> sent images` (shown), then the endpoint
    /singan_<application>: `handler(model, *sent, injection_scale, seed, *extras) -> image`."""
    with gr.Tab(title):
        gr.Markdown(description)
        with gr.Row():
            with gr.Column():
                model = _model_dropdown(application)
                load = gr.Button("Load the example", elem_id=f"singan-{application}-example")
                canvas = gr.ImageEditor(type="pil", image_mode="RGBA", label=canvas_label, brush=_brush(),
                                        height=360, format="png", elem_id=f"singan-{application}-canvas")
            with gr.Column():
                injection = gr.Slider(-1, _slider_ceiling(), value=-1, step=1, label="Injection scale",
                                      info=_injection_info(num_scales(default_model(application)), application),
                                      elem_id=f"singan-{application}-injection")
                seed = gr.Number(value=0, label="Seed", precision=0)
                extras = extra_inputs()
                button = gr.Button(button_label, variant="primary", elem_id=f"singan-{application}-run")
                with gr.Row():  # the second sent image, if any, is the mask
                    sent = [gr.Image(label=label, type="pil", height=160, image_mode="L" if i else "RGB",
                                     interactive=False, elem_id=f"singan-{application}-{'mask' if i else 'sent'}")
                            for i, label in enumerate(sent_labels)]
                output = gr.Image(label="Result", type="pil", format="png", elem_id=f"singan-{application}-output")
        remembered = gr.State(None)  # the loaded example's picture and mask (see load_example)

        def load_into_canvas(model_key):
            return load_example(example, model_key)

        load.click(load_into_canvas, model, [canvas, remembered], api_visibility="private")
        _on_model_change(model, lambda key, value: injection_scale_update(key, value, application),
                         [model, injection], injection)
        _on_model_change(model, brush_update, model, canvas, queue=True)  # loads the model: queued
        @app_messages
        def prepare_files(canvas_value, example_value):
            """The canvas (unprocessed: only uploaded files are read) -> the images that are sent, as files
            of their own (see output_file)."""
            images = prepare(open_canvas(canvas_value), example_value)
            images = images if isinstance(images, tuple) else (images,)
            files = tuple(output_file(image, "png", "sent") for image in images)
            return files if len(files) > 1 else files[0]

        button.click(prepare_files, [canvas, remembered], sent, api_visibility="private", preprocess=False).success(
            handler, [model, *sent, injection, seed, *extras], output, api_name=f"singan_{application}",
            preprocess=False,
            **APPLY_CONCURRENCY)
    tab.dropdowns[application], tab.outputs[application] = model, output


def build_singan_tab() -> SinGANTab:
    """Add the SinGAN sub-tabs to the open Blocks context; returns the components (for tests)."""
    _dropdowns.clear()
    tab = SinGANTab()
    if not model_choices():
        gr.Markdown("No SinGAN models were found in the weights folder. Train one in **Train on my image**.")
    gr.Markdown(f"Limits (they keep every request short): pictures larger than {limits.MAX_INPUT_SIDE} px are shrunk "
                f"to {limits.MAX_INPUT_SIDE} px first, super-resolution results are at most "
                f"{limits.MAX_SUPER_RESOLVE_SIDE} px, animations have at most {limits.MAX_FRAMES} frames.")
    with gr.Tabs():
        with gr.Tab("Random samples"):
            gr.Markdown("New images with the same patches as the training image, at any size. "
                        "Start scale > 0 keeps the training image's layout.")
            with gr.Row():
                with gr.Column():
                    model = _model_dropdown("sample")
                    seed = gr.Number(value=1, label="Seed", precision=0)
                    width = gr.Slider(0.5, 3.0, value=2.0, step=0.25, label="Width × training width")
                    height = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Height × training height")
                    start = gr.Slider(0, _slider_ceiling(), value=0, step=1, label="Start scale",
                                      elem_id="singan-sample-start")
                    button = gr.Button("Generate", variant="primary", elem_id="singan-sample-run")
                output = gr.Image(label="Sample", type="pil", format="png", elem_id="singan-sample-output")
            button.click(sample_handler, [model, seed, width, height, start], output, api_name="singan_sample",
                         preprocess=False,
                         **APPLY_CONCURRENCY)
            _on_model_change(model, start_scale_update, [model, start], start)
            tab.dropdowns["sample"], tab.outputs["sample"] = model, output
            gr.Markdown("**Instant, no training: patch nearest neighbours** ([GPNN](https://arxiv.org/abs/2103.15545), "
                        "\"Drop the GAN\"). Upload any picture: a new arrangement of its patches in a few seconds "
                        "(the picture is worked on at 250 px). Sharper than a short SinGAN run, but it varies less "
                        "and repeats whole pieces of the picture.")
            with gr.Row():
                with gr.Column():
                    gpnn_in = gr.Image(label="Any picture", type="pil", height=240, elem_id="gpnn-input")
                    use_model = gr.Button("Use the selected model's image", elem_id="gpnn-model-image")
                    gpnn_seed = gr.Number(value=1, label="Seed", precision=0)
                    gpnn_width = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Width × picture width")
                    gpnn_height = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Height × picture height")
                    gpnn_button = gr.Button("Generate (GPNN)", variant="primary", elem_id="gpnn-run")
                gpnn_out = gr.Image(label="GPNN sample", type="pil", format="png", elem_id="gpnn-output")
            use_model.click(model_image, model, gpnn_in, api_visibility="private", **APPLY_CONCURRENCY)
            gpnn_button.click(gpnn_handler, [gpnn_in, gpnn_seed, gpnn_width, gpnn_height], gpnn_out,
                              api_name="gpnn_sample", preprocess=False, **APPLY_CONCURRENCY)
            tab.outputs["gpnn"] = gpnn_out

        _canvas_application_tab(
            tab, "edit", "Editing",
            "Paint an edit on the model's image (or upload your edited version of it): the painted strokes are "
            "the edit **and** the mask; SinGAN re-renders them in the image's style. The example copies a piece "
            "of the image elsewhere (that piece is in the mask too; paint more to add to it).",
            canvas_label="Edit here", button_label="Edit", sent_labels=("Edited image (sent)", "Mask (sent)"),
            example=edit_example, prepare=canvas_to_edit_inputs, handler=edit_handler)
        _canvas_application_tab(
            tab, "harmonize", "Harmonization",
            "Paste an object onto the model's image and SinGAN blends it in. The example pastes a piece of another "
            "model's image (the piece is the mask). Or upload your own naive paste and paint over the pasted "
            "object: the paint only marks the mask, the picture is sent without it.",
            canvas_label="Paste / mark here", button_label="Harmonize",
            sent_labels=("Naive paste (sent)", "Mask (sent)"),
            example=harmonize_example, prepare=canvas_to_harmonize_inputs, handler=harmonize_handler)
        _canvas_application_tab(
            tab, "paint", "Paint to image",
            "Paint flat colour regions; SinGAN fills them with the training image's textures. The example is a "
            "flat-colour version of the model's own image: paint over it.",
            canvas_label="Paint here", button_label="Paint to image", sent_labels=("Painting (sent)",),
            example=paint_example, prepare=canvas_to_painting, handler=paint_handler,
            extra_inputs=lambda: [gr.Checkbox(value=True, label="Snap colours to the training image's palette")])

        with gr.Tab("Super-resolution"):
            gr.Markdown("Enlarge ×2 or ×4 in small steps with the model's finest generator. Works best on the "
                        "model's own image (the example) or a similar one.")
            with gr.Row():
                with gr.Column():
                    model = _model_dropdown("super_resolve")
                    load = gr.Button("Load the example")
                    image_in = gr.Image(label="Low-resolution image", type="pil", height=240)
                    factor = gr.Radio([2, 4], value=4, label="Factor")
                    seed = gr.Number(value=0, label="Seed", precision=0)
                    button = gr.Button("Enlarge", variant="primary")
                output = gr.Image(label="Enlarged", type="pil", format="png")
            load.click(super_resolve_example, model, image_in, api_visibility="private")
            button.click(super_resolve_handler, [model, image_in, factor, seed], output,
                         api_name="singan_super_resolve", preprocess=False, **APPLY_CONCURRENCY)
            tab.dropdowns["super_resolve"], tab.outputs["super_resolve"] = model, output

        with gr.Tab("Animation"):
            gr.Markdown("A random walk in noise space around the training image. Alpha: how close to the "
                        "image (1 = still); beta: how smooth the motion (1 = smoothest).")
            with gr.Row():
                with gr.Column():
                    model = _model_dropdown("animate")
                    frames = gr.Slider(2, limits.MAX_FRAMES, value=30, step=1, label="Frames",
                                       elem_id="singan-animate-frames")
                    alpha = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="Alpha")
                    beta = gr.Slider(0.0, 1.0, value=0.9, step=0.05, label="Beta")
                    start = gr.Slider(0, _slider_ceiling(), value=0, step=1, label="Start scale",
                                      elem_id="singan-animate-start")
                    seed = gr.Number(value=0, label="Seed", precision=0)
                    button = gr.Button("Animate", variant="primary", elem_id="singan-animate-run")
                output = gr.Image(label="Animation (GIF)", type="filepath", format="gif",
                                  elem_id="singan-animate-output")
            button.click(animate_handler, [model, frames, alpha, beta, start, seed], output,
                         api_name="singan_animate", preprocess=False, **APPLY_CONCURRENCY)
            _on_model_change(model, start_scale_update, [model, start], start)
            tab.dropdowns["animate"], tab.outputs["animate"] = model, output

        with gr.Tab("Train on my image"):
            gr.Markdown("Upload a photo; a new SinGAN trains on this machine (one training at a time, the other "
                        "tabs keep working). An instant patch-based preview comes first, then SinGAN samples "
                        "that sharpen as the scales train; the finished model is selected "
                        "in every SinGAN tab. About 3 minutes gives a usable 250-px model on a 2-core CPU.")
            with gr.Row():
                with gr.Column():
                    upload = gr.Image(label="Your image", type="pil", height=240)
                    name = gr.Textbox(label="Name", placeholder="e.g. my-garden")
                    minutes = gr.Slider(0.1, MAX_TRAIN_MINUTES, value=3, step=0.1, label="Time budget (minutes)")
                    size = gr.Slider(32, MAX_TRAIN_SIZE, value=250, step=2, label="Model size (px, long side)")
                    with gr.Row():
                        train = gr.Button("Train", variant="primary")
                        cancel = gr.Button("Cancel", variant="stop")
                with gr.Column():
                    status = gr.Markdown()
                    preview = gr.Image(label="Preview (instant, then the scales as they train)", type="pil",
                                       format="png")
            train.click(train_handler, [upload, name, minutes, size], [status, preview, *_dropdowns],
                        api_name="singan_train", preprocess=False, **TRAIN_CONCURRENCY)
            cancel.click(cancel_training, None, None, api_visibility="private", queue=False)
            tab.outputs["train"] = preview
    return tab
