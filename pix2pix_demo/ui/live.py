"""The Draw tab's live path, without Gradio: a small PNG of the drawing in, a picture out.

The drawing surface (`static/draw_surface.js`) sends, after every finished stroke, one JSON
request `{"png": "data:image/png;base64,...", "model": KEY, "seed": N, "coat": NAME, "fur": BOOL, "holes": BOOL, "page": ID}` holding the
line drawing at the model's resolution (256², a few kB) to a Gradio server function (one POST to
`/gradio_api/component_server`, no upload, no Gradio queue), and gets back a JPEG data URL:

    await render({"png": ..., "model": "edges2cats", "seed": 0, "page": "k3j..."})
    -> {"image": "data:image/jpeg;base64,...", "width": 256, "height": 256, "ms": 48.1, "model_ms": 30.2, "batch": 1}
    -> {"empty": "The canvas is empty: ..."}       (nothing drawn: the page shows its hint)
    -> {"error": "Model 'x' is not ..."}            (a message for the user; the server keeps going)
    -> {"superseded": true}                         (the same page sent a newer drawing before this one ran)

"coat" (optional) is the cat's colour for models that take one (edges2cats: "ginger", "black", ...;
missing or "" = the model's default); other models ignore it. "fur" (optional, true / false) switches the fur
finish (`pix2pix_demo.fur`, hair strands drawn into the cat) on or off; missing = the model's default (on for
edges2cats, whose config has "fur"; off for the other shipped models). "holes" (optional, true / false) switches
the hole guess (`pix2pix_demo.holes`: enclosed regions taken for holes painted white) on or off; missing = the
model's default (on for edges2products, whose config holds one). "page" (optional) is a random id of the
page (one per page load): many people drawing at once are served fairly (`pix2pix_demo.fair_queue`:
a page's newer drawing replaces its waiting one, one model pass per page at a time, pages in turn,
several pages' drawings in one batched pass); a request without one is a page of its own. "seq" (optional,
with "page") counts the page's requests up: requests can overtake each other on the way to the queue, and
the larger "seq" is the newer drawing.

The client sends only image bytes and a model key: never a path. Everything it sends is checked
here (type, size, PNG signature, pixel count) before PIL decodes it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass

from PIL import Image

from .. import registry
from ..fair_queue import Busy, FairQueue, Superseded
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

# The downloads (render_png) and the Facades tab's live path run one forward pass at a time under this lock
# (a 2-core CPU gains nothing from two half-speed passes; the queue's model events have their own slot).
# The Draw tab's live pictures go through the fair queue below: its one worker runs them in turn.
_model_lock = threading.Lock()
# At most this many drawings of different pages in one forward pass (PIX2PIX_LIVE_BATCH; 1 = no batching).
# Batched edges2cats passes cost 51 / 31 / 28 / 26 ms of CPU per picture at batch 1 / 2 / 4 / 8 (one thread,
# CPU time of the calling thread, sizes interleaved); 4 keeps one batch's wait short while ten pages take turns.
LIVE_MAX_BATCH = max(1, int(os.environ.get("PIX2PIX_LIVE_BATCH", "4") or 4))
MAX_WAITING_PAGES = 64  # pages with a drawing waiting at once; one more is answered "busy"
PAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
BUSY_MESSAGE = "Many people are drawing right now; your picture could not be queued. Draw again in a moment."
_queue: FairQueue | None = None
_queue_lock = threading.Lock()
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


def _request_fields(request) -> tuple[Image.Image, str, int, str | None, bool | None, bool | None]:
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
    fur = logic.parse_flag(request.get("fur"), "The fur switch", default=None)
    holes = logic.parse_flag(request.get("holes"), "The holes switch", default=None)
    return decode_png(request.get("png")), key, seed, coat or None, fur, holes


@dataclass(frozen=True)
class Drawing:
    """A checked live request, ready for the model: the line drawing at the model's size."""

    key: str
    sketch: Image.Image
    seed: int
    coat: str | None
    fur: bool | None = None  # the fur finish on / off; None = the model's default
    holes: bool | None = None  # the hole guess on / off; None = the model's default


def _prepare(request) -> Drawing:
    image, key, seed, coat, fur, holes = _request_fields(request)
    pipe = logic.get_pipeline(key)
    sketch = logic.sketch_from_canvas(image, size=pipe.size)
    return Drawing(key, sketch, seed, logic.parse_coat(pipe, coat), fur, holes)  # a bad coat is answered before any wait


def _generate(request) -> Image.Image:
    drawing = _prepare(request)
    with _model_lock:
        use_torch_threads()
        return logic.generate(drawing.sketch, drawing.key, drawing.seed, coat=drawing.coat, fur=drawing.fur,
                              holes=drawing.holes)


def page_of(request) -> tuple[str, int | None]:
    """The request's page id and sequence number (checked), or a fresh id: a request without one is a page of
    its own."""
    page = request.get("page") if isinstance(request, dict) else None
    seq = request.get("seq") if isinstance(request, dict) else None
    if seq is not None and (isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2 ** 53):
        raise logic.InputError("The request's sequence number must be a whole number from 0 to 2^53.")
    if page is None or page == "":
        return "anonymous-" + uuid.uuid4().hex, None
    if not isinstance(page, str) or not PAGE_ID.fullmatch(page):
        raise logic.InputError("The page id must be 1-64 letters, digits, '-' or '_'.")
    return page, seq


def run_drawings(drawings: list[Drawing]) -> list[tuple[Image.Image, int, float]]:
    """The fair queue's batch: (picture, batch size, model ms) per drawing. Evaluation-mode drawings of one
    model run as one batched pass (`Pix2PixPipeline.batch`); a variation (seed > 0) runs alone (the queue
    never batches it: its batch statistics and dropout noise would mix the drawings)."""
    use_torch_threads()
    start = time.perf_counter()
    if len(drawings) == 1:
        drawing = drawings[0]
        images = [logic.generate(drawing.sketch, drawing.key, drawing.seed, coat=drawing.coat, fur=drawing.fur,
                                 holes=drawing.holes)]
    else:
        pipe = logic.get_pipeline(drawings[0].key)
        images = pipe.batch([drawing.sketch for drawing in drawings], [drawing.coat for drawing in drawings],
                            [drawing.fur for drawing in drawings], [drawing.holes for drawing in drawings])
    model_ms = round((time.perf_counter() - start) * 1000, 1)
    return [(image, len(drawings), model_ms) for image in images]


def live_queue() -> FairQueue:
    """The process's fair queue for live pictures (started on first use, one worker thread)."""
    global _queue
    with _queue_lock:
        if _queue is None:
            from .common import gpu

            _queue = FairQueue(gpu(run_drawings), max_batch=LIVE_MAX_BATCH, max_pages=MAX_WAITING_PAGES,
                               workers=1, name="live-drawing")
        return _queue


def data_url(image: Image.Image, fmt: str = "JPEG") -> str:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        to_rgb(image).save(buffer, "JPEG", quality=JPEG_QUALITY)
    else:
        (image if image.mode in ("L", "RGB") else to_rgb(image)).save(buffer, "PNG")
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _failure(error: Exception) -> dict:
    """A failed request as the page's answer: a stale or refused drawing, a user mistake ({"empty"} /
    {"error"}), or a bug (logged, and the page says so; the server goes on)."""
    if isinstance(error, Superseded):
        return {"superseded": True}
    if isinstance(error, Busy):
        return {"error": BUSY_MESSAGE}
    if isinstance(error, logic.EmptyInput):
        return {"empty": str(error)}
    if isinstance(error, logic.InputError):
        return {"error": str(error)}
    logger.error("the live drawing path failed", exc_info=error)
    return {"error": "Something went wrong on the server (it is in the server's log); try again."}


def _answer(make) -> dict:
    """Run `make()` -> dict; user mistakes become {"empty"} / {"error"} instead of exceptions."""
    start = time.perf_counter()
    try:
        result = make()
    except Exception as error:
        return _failure(error)
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


async def render(request) -> dict:
    """The live path: {png, model, seed, coat, fur, holes, page} -> {image: JPEG data URL, width, height, ms, model_ms,
    batch} (see the module doc). A coroutine: Gradio awaits it on its event loop, so a request waiting its
    turn holds no thread; decoding and JPEG encoding run in worker threads, the model in the fair queue's."""
    import anyio

    start = time.perf_counter()
    try:
        page, seq = page_of(request)
        drawing = await anyio.to_thread.run_sync(_prepare, request)
        batch_key = drawing.key if drawing.seed == 0 else None
        image, batch, model_ms = await asyncio.wrap_future(live_queue().submit(page, drawing, batch_key, order=seq))
        result = {"image": await anyio.to_thread.run_sync(data_url, image), "width": image.width,
                  "height": image.height, "model_ms": model_ms, "batch": batch}
    except Exception as error:
        return _failure(error)
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def render_png(request) -> dict:
    """The download: {png, model, seed, coat, fur, holes, size} -> {image: PNG data URL, width, height}.

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
