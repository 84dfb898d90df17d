"""The Draw tab's live path, without Gradio: a small PNG of the drawing in, a picture out.

The drawing surface (`static/draw_surface.js`) sends, after every finished stroke, one JSON
request `{"png": "data:image/png;base64,...", "model": KEY, "seed": N, "coat": NAME}` holding the line drawing
at the model's resolution (256², a few kB) to a Gradio server function (one POST to
`/gradio_api/component_server`, no upload, no queue), and gets back a JPEG data URL:

    render({"png": ..., "model": "edges2cats", "seed": 0})
    -> {"image": "data:image/jpeg;base64,...", "width": 256, "height": 256, "ms": 48.1}
    -> {"empty": "The canvas is empty: ..."}       (nothing drawn: the page shows its hint)
    -> {"error": "Model 'x' is not ..."}            (a message for the user; the server keeps going)

"coat" (optional) is the cat's colour for models that take one (edges2cats: "ginger", "black", ...;
missing or "" = the model's default); other models ignore it.

The client sends only image bytes and a model key: never a path. Everything it sends is checked
here (type, size, PNG signature, pixel count) before PIL decodes it.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import os
import threading
import time

from PIL import Image

from .. import registry
from ..imaging import ImageError, fitted_size, open_image, resize_to, to_rgb
from . import logic

logger = logging.getLogger(__name__)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PNG_BYTES = 1_500_000  # a 1024² line drawing is far below this
MAX_SIDE = 1024  # pixels, either side
MAX_SEED = 10_000
SEND_SIZE = 256  # the drawing surface sends its 512² canvas at this size (draw_surface.js SEND_SIZE)
DOWNLOAD_SIZES = (256, 512)  # PNG download: the model's own size, or 512² (the size shown)
ENHANCED_SIZE = 1024  # the Draw tab's third download: the 256² picture enlarged ×4 by the SRGAN model (ui/enhance.py)
JPEG_QUALITY = 90

# Live requests come from a thread pool, not from the queue: one forward pass at a time keeps
# a 2-core CPU from running two half-speed passes (the queue's model events have their own slot).
_model_lock = threading.Lock()
_default_threads: int | None = None


def torch_threads_for_now() -> int:
    """How many intra-op threads torch should use for the next forward pass.

    PIX2PIX_LIVE_THREADS=N fixes it; the default ("auto") keeps torch's own number unless the
    CPU is already busy (1-minute load average >= cores), then 1: on this project's 2-core
    machine under load, a 256² edges2cats pass took 745-1389 ms with 2 threads (they wait for each
    other at every barrier) and 42-63 ms with 1 (median of 40, same minute). The setting is
    process-wide; it is restored when the load goes down."""
    global _default_threads
    import torch

    if _default_threads is None:
        _default_threads = torch.get_num_threads()
    setting = os.environ.get("PIX2PIX_LIVE_THREADS", "auto").strip().lower()
    if setting not in ("", "auto"):
        try:
            return max(1, int(setting))
        except ValueError:
            logger.warning("PIX2PIX_LIVE_THREADS=%r is not a number; using auto", setting)
    busy = os.getloadavg()[0] >= (os.cpu_count() or 1)
    return 1 if busy else _default_threads


def use_torch_threads() -> None:
    """Apply `torch_threads_for_now()` (a no-op when torch already uses that many)."""
    import torch

    threads = torch_threads_for_now()
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def decode_png(data) -> Image.Image:
    """A PNG as a data URL or bare base64 string -> PIL image. Raises InputError with a message."""
    if not isinstance(data, str):
        raise logic.InputError("Expected the drawing as a PNG data URL (a string).")
    header, comma, payload = data.partition(",")
    if comma:
        if header.strip().lower() != "data:image/png;base64":
            raise logic.InputError("Expected a PNG data URL (data:image/png;base64,...).")
    else:
        payload = header
    if len(payload) > MAX_PNG_BYTES * 4 // 3 + 4:
        raise logic.InputError(f"The drawing is too large (over {MAX_PNG_BYTES // 1000} kB as PNG).")
    try:
        raw = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise logic.InputError("The drawing is not valid base64.") from None
    if not raw.startswith(PNG_SIGNATURE):
        raise logic.InputError("The drawing is not a PNG image.")
    try:
        image = open_image(raw, max_pixels=MAX_SIDE * MAX_SIDE)
    except ImageError as error:
        raise logic.InputError(str(error)) from None
    if max(image.size) > MAX_SIDE:
        raise logic.InputError(f"The drawing is {image.width}×{image.height} pixels; at most {MAX_SIDE} per side.")
    return image


def _request_fields(request) -> tuple[Image.Image, str, int, str | None]:
    if not isinstance(request, dict):
        raise logic.InputError("Expected a request object {png, model, seed}.")
    key = request.get("model")
    if not isinstance(key, str) or not key:
        raise logic.InputError("Choose a model first.")
    if key not in {k for _, k in logic.model_choices()}:
        raise logic.InputError(f"Unknown model {registry.quoted(key)}.")
    try:
        seed = int(request.get("seed") or 0)
    except (TypeError, ValueError):
        raise logic.InputError("The variation must be a whole number.") from None
    if not 0 <= seed <= MAX_SEED:
        raise logic.InputError(f"The variation must be between 0 and {MAX_SEED}.")
    coat = request.get("coat")
    if coat is not None and not (isinstance(coat, str) and len(coat) <= 32):
        raise logic.InputError("The coat must be the name of a colour.")
    return decode_png(request.get("png")), key, seed, coat or None


def _generate(request) -> Image.Image:
    image, key, seed, coat = _request_fields(request)
    pipe = logic.get_pipeline(key)
    sketch = logic.sketch_from_canvas(image, size=pipe.size)
    coat = logic.parse_coat(pipe, coat)  # before the lock: a bad name is answered at once
    with _model_lock:
        use_torch_threads()
        return logic.generate(sketch, key, seed, coat=coat)


def data_url(image: Image.Image, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        to_rgb(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    else:
        (image if image.mode in ("L", "RGB") else to_rgb(image)).save(buffer, "PNG")
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _answer(make) -> dict:
    """Run `make()` -> dict; user mistakes become {"empty"} / {"error"} instead of exceptions."""
    start = time.perf_counter()
    try:
        result = make()
    except logic.EmptyInput as error:
        return {"empty": str(error)}
    except logic.InputError as error:
        return {"error": str(error)}
    except Exception:  # a bug, not the user's fault: logged, and the page says so; the server goes on
        logger.exception("the live drawing path failed")
        return {"error": "Something went wrong on the server (it is in the server's log); try again."}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def render(request) -> dict:
    """The live path: {png, model, seed, coat} -> {image: JPEG data URL, width, height, ms} (see module doc)."""

    def make():
        image = _generate(request)
        return {"image": data_url(image), "width": image.width, "height": image.height}

    return _answer(make)


def render_png(request) -> dict:
    """The download: {png, model, seed, coat, size} -> {image: PNG data URL, width, height}.

    `size` 256 is the model's output as it is; 512 follows the app's any-size rule (the model
    runs at its resolution and the result is resized to the requested long side, LANCZOS); 1024
    (ENHANCED_SIZE) is "Enhance ×4": the model's output enlarged by the SRGAN model (ui/enhance.py)."""

    def make():
        size = request.get("size", DOWNLOAD_SIZES[0]) if isinstance(request, dict) else None
        if size not in (*DOWNLOAD_SIZES, ENHANCED_SIZE):
            raise logic.InputError(f"Download size must be one of "
                                   f"{', '.join(map(str, (*DOWNLOAD_SIZES, ENHANCED_SIZE)))}.")
        image = _generate(request)
        if size == ENHANCED_SIZE:
            from .enhance import enhance_generated

            with _model_lock:
                use_torch_threads()
                image = enhance_generated(image, size=ENHANCED_SIZE // 4)
        image = resize_to(image, fitted_size(*image.size, size))
        return {"image": data_url(image, "PNG"), "width": image.width, "height": image.height}

    return _answer(make)


def sketch_png_data_url(sketch: Image.Image, line_width: int = 3) -> str:
    """A line drawing -> a PNG data URL of it fitted into the canvas (black ink on white), ready to
    be drawn into the surface (examples, "Edit the edges in Draw")."""
    layer_value = logic.canvas_value_for(sketch, line_width=line_width)
    return data_url(layer_value["composite"].convert("L"), "PNG")
