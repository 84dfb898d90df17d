"""The SinGAN tab's API endpoints (the layout is in singan_tab.py, canvases and examples in singan_canvas.py).

Every application is a named API endpoint whose first input is the model key:

    /singan_sample(model, seed, width_factor, height_factor, start_scale, finish) -> image
        finish (the last input, added with the finish): True rebuilds the sample's fine texture from
        the training photo's patches (sharper, a few seconds; pix2pix_demo.singan.finish_from_photo);
        the model must keep its photo, else a clear error. gradio_client fills False when it is left
        out (what older clients got); a raw HTTP call (/gradio_api/call/...) must send all six values.
    /singan_edit(model, edited_image, mask, injection_scale, seed, finish) -> image
        finish (last, as for /singan_sample): the re-rendered picture is finished from the photo before
        it is blended in (inside the mask only); a raw HTTP call sends all six values
    /singan_harmonize(model, naive_paste, mask, injection_scale, seed) -> image   (no finish: it would
        replace the pasted object with the photo's patches)
    /singan_paint(model, painting, injection_scale, seed, quantize, finish) -> image
        finish (last, as for /singan_sample): the result is finished from the photo; raw HTTP: six values
    /singan_super_resolve(model, image, factor, seed, method) -> image   (method "srgan": our photo SRGAN, no SinGAN)
    /singan_animate(model, frames, alpha, beta, start_scale, seed) -> GIF file
    /singan_train(image, name, minutes, max_size) -> status, preview, (dropdown updates)
    /gpnn_sample(image, seed, width_factor, height_factor) -> image   (no model: patch nearest neighbours)

The endpoints run with preprocess=False: image inputs arrive as FileData and only files Gradio
received are opened (`uploaded_files`); pix2pix_demo.singan opens and checks them, so bad images get
its own messages. Results go back as files of their own (`output_file`). Handlers hold no tensor
code: they call pix2pix_demo.singan.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
import os
import queue
import re
import secrets
import threading
import time
from pathlib import Path

import gradio as gr
from PIL import Image

from .. import registry
from ..hub import save_model
from ..imaging import ImageError, open_image
from . import user_models
from .common import output_file, output_path, unexpected_error, uploaded_files
from .logic import parse_flag, parse_seed

MAX_TRAIN_MINUTES = 15
MAX_TRAIN_SIZE = 500  # px, the long side of a model trained in the app
PREVIEW_SECONDS = 5.0  # a new SinGAN sample in "Train on my image" at most this often (mid-scale too)
TICK_SECONDS = 0.25  # "Train on my image" moves its progress bar this often, in every phase
_cancel_events: dict[str, threading.Event] = {}
logger = logging.getLogger(__name__)
KEPT = (f"Only you (this browser tab) can see and use it; it is deleted after {user_models.LIFETIME_S // 60} minutes "
        f"(and your oldest one when you train more than {user_models.MAX_PER_SESSION}).")
# every sub-tab's model dropdown (build_singan_tab fills it): a finished training selects its model in each
model_dropdowns: list = []


# ----------------------------------------------------------------------------- models
def user_models_dir() -> Path:
    """Where "Train on my image" saves models: env PIX2PIX_SINGAN_USER_DIR, else the user cache."""
    base = os.environ.get("PIX2PIX_SINGAN_USER_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pix2pix_demo", "singan")
    return Path(base)


def model_choices() -> list[tuple[str, str]]:
    return [(entry.label, key) for key, entry in registry.list_models("singan").items()]


def singan_module():
    """pix2pix_demo.singan, imported on first use: it imports torch, which the first page does not need
    (what the tab is built from comes from pix2pix_demo.singan_options)."""
    from .. import singan

    return singan


def load_model(model_key):
    """A SinGAN model by key, or a gr.Error that says why not."""
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
    if not isinstance(model, singan_module().SinGAN):  # e.g. a Hub entry whose config turned out to be another kind
        raise gr.Error(f"Model {model_key!r} is not a SinGAN model.", print_exception=False)
    return model


def reconstruction(model_key) -> Image.Image:
    """The model's fixed-noise reconstruction of its training image (the examples start from it)."""
    from ..imaging import tensor_to_image

    return tensor_to_image(load_model(model_key).reconstruct())


# ----------------------------------------------------------------------------- messages and inputs
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


def _scale(value):
    """The injection scale: empty or -1 = the model's default for the application, else a scale >= 0."""
    if value is None or value == "":
        return None
    value = _whole(value, "injection_scale")
    if value < -1:
        raise ValueError(f"injection_scale must be 0 or more (or -1 for the default), got {value}.")
    return None if value == -1 else value


# ----------------------------------------------------------------------------- the applications
@app_messages
def sample_handler(model_key, seed=0, width_factor=1.0, height_factor=1.0, start_scale=0, finish=False):
    """Model key + seed + size factors + start scale (+ finish from the photo) -> a random image.
    finish on a model saved without its photo: pix2pix_demo.singan's ValueError, as a gr.Error."""
    model = load_model(model_key)
    image = singan_module().sample(model, seed=parse_seed(seed), width_factor=_number(width_factor, "width_factor"),
                                   height_factor=_number(height_factor, "height_factor"),
                                   start_scale=_whole(start_scale, "start_scale"), finish=parse_flag(finish, "finish"))
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
def edit_handler(model_key, image, mask, injection_scale=None, seed=0, finish=False):
    """Model key + edited image + mask (white = edited region) (+ finish from the photo) -> the harmonised
    edit. finish on a model saved without its photo: pix2pix_demo.singan's ValueError, as a gr.Error."""
    model = load_model(model_key)
    image, mask = uploaded_files(image), uploaded_files(mask)
    return output_file(singan_module().edit(model, image, mask, _scale(injection_scale), parse_seed(seed),
                                            finish=parse_flag(finish, "finish")), "png", "edit")


@app_messages
def harmonize_handler(model_key, image, mask, injection_scale=None, seed=0):
    """Model key + naive paste + mask of the pasted object -> the harmonised picture."""
    model = load_model(model_key)
    image, mask = uploaded_files(image), uploaded_files(mask)
    return output_file(singan_module().harmonize(model, image, mask, _scale(injection_scale), parse_seed(seed)),
                       "png", "harmonize")


@app_messages
def paint_handler(model_key, painting, injection_scale=None, seed=0, quantize=False, finish=False):
    """Model key + rough painting (+ finish from the photo) -> an image with the model's textures.
    finish on a model saved without its photo: pix2pix_demo.singan's ValueError, as a gr.Error."""
    model = load_model(model_key)
    painting = uploaded_files(painting)
    return output_file(singan_module().paint(model, painting, _scale(injection_scale), parse_seed(seed),
                                             parse_flag(quantize, "quantize"), finish=parse_flag(finish, "finish")), "png", "paint")


SUPER_RESOLVE_METHODS = ("singan", "srgan")


@app_messages
def super_resolve_handler(model_key, image, factor=4, seed=0, method="singan"):
    """Model key + image + factor (2 or 4, also "2", "x4") -> the enlarged image.

    method "singan" (default): the model's finest generator, step by step (pix2pix_demo.singan.super_resolve);
    "srgan": the SRGAN trained on photos (ui/enhance.py, ×4; ×2 is its ×4 shrunk by half, LANCZOS); it
    needs no SinGAN model and ignores the seed. Either way inputs are shrunk so that the result is at most
    MAX_SUPER_RESOLVE_SIDE px."""
    method = method or "singan"
    if method not in SUPER_RESOLVE_METHODS:
        raise ValueError(f"method must be one of {', '.join(SUPER_RESOLVE_METHODS)}, got {method!r}.")
    model = load_model(model_key) if method == "singan" else None
    image = uploaded_files(image)
    text = str(factor).strip().lstrip("x×")
    if text not in ("2", "4", "2.0", "4.0"):
        raise ValueError(f"factor must be 2 or 4, got {factor!r}.")
    factor = int(float(text))
    if method == "srgan":
        from ..singan_options import MAX_SUPER_RESOLVE_SIDE
        from .enhance import enhance_image

        if image is None:
            raise ValueError("Please provide an image to enlarge.")
        picture = open_image(image)
        result = enhance_image(picture, max_side=MAX_SUPER_RESOLVE_SIDE // factor)
        if factor == 2:
            result = result.resize((result.width // 2, result.height // 2), Image.LANCZOS)
        return output_file(result, "png", "super-resolved")
    return output_file(singan_module().super_resolve(model, image, factor, parse_seed(seed)), "png",
                       "super-resolved")


@app_messages
def animate_handler(model_key, num_frames=30, alpha=0.1, beta=0.9, start_scale=0, seed=0):
    """Model key + frames + alpha/beta + start scale -> an animated GIF (a file of its own in Gradio's
    cache, removed by delete_cache like every output)."""
    model = load_model(model_key)
    path = output_path("gif", "animation")
    singan_module().animate(model, _whole(num_frames, "num_frames"), _number(alpha, "alpha"), _number(beta, "beta"),
                            _whole(start_scale, "start_scale"), parse_seed(seed), path=path)
    return str(path)


# ----------------------------------------------------------------------------- training
def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_-]+", "-", (text or "").strip().lower()).strip("-")[:40]


def _size_for_short_side(image: Image.Image, size: int) -> int:
    """The model size (long side) to train `image` at: `size`, or more when at `size` its short side would be under
    the coarsest scale's 25 px (the smallest size, 25, failed for every photo that is not square). An image
    whose own short side is under 25 px keeps `size` (pyramid_shapes says it is too small)."""
    from ..singan_options import MIN_IMAGE_SIZE

    long, short = max(image.size), min(image.size)
    if short < MIN_IMAGE_SIZE or round(short * min(1.0, size / long)) >= MIN_IMAGE_SIZE:
        return size
    return max(size, math.ceil(MIN_IMAGE_SIZE * long / short))


# What "Train on my image" costs beyond the cost model's iterations (issue 28 item 4; chelsea at 250 px, 0.1 minute,
# one thread, CPU seconds, the training on the CPU clock): each scale's loop ran 1.23-1.75 x the cost model above
# scale 2 (the first iterations at a new size, the previews inside it; 5.61 CPU-s vs 4.75), the work between the
# loops (reconstruction, set-up, the preview after each scale) 0.66 CPU-s over 11 scales, and the first torch
# optimiser of a process imports torch._dynamo: 1.8 CPU-s (app.warm_up imports it in the background at start-up).
LOOP_COST_FACTOR = 1.3
SCALE_OVERHEAD_CPU_S = 0.06
OPTIMISER_IMPORT_CPU_S = 1.8


def training_options(singan, image: Image.Image, max_size: int, minutes: float, slowdown: float = 1.0):
    """(TrainOptions, shapes, floor, one_pass_s) for "Train on my image". The budget is a promise to a person
    waiting, so the plan is measured on the wall clock (each scale times its own iterations and the last stops
    at the budget; the cost model's fixed plan ran long on a busy machine), and the floor of iterations per scale,
    with the work around the iterations, costs at most half the budget (it was 20: a 0.1-minute budget trained
    22 s). one_pass_s: the shortest possible training (one iteration of every scale, the work between the scales,
    and torch._dynamo's import if this process has not paid it yet) in wall seconds: CPU seconds on this machine,
    one thread, x `slowdown`, the machine's wall / CPU seconds measured just before (a busy machine)."""
    import sys

    def options_with(floor: int):
        return singan.TrainOptions(max_size=max_size, time_budget=minutes, min_iters=floor, device="auto",
                                   plan="measured", budget_clock="wall")

    shapes, _ = singan.pyramid_shapes(*image.size, options_with(1))
    iteration = LOOP_COST_FACTOR * sum(singan.iteration_cost_ms(shapes, n, options_with(1))
                                       for n in range(len(shapes))) / 1000
    fixed = SCALE_OVERHEAD_CPU_S * len(shapes) + (0.0 if "torch._dynamo" in sys.modules else OPTIMISER_IMPORT_CPU_S)
    one_pass = slowdown * (iteration + fixed)
    floor = int(min(20, max(1, (0.5 * minutes * 60 / slowdown - fixed) / iteration)))
    return options_with(floor), shapes, floor, one_pass


def expected_seconds(shape, what: str) -> float:
    """Rough seconds of the phases around the training on this 2-core machine (one thread, quiet), for the
    progress bar's segments: the instant GPNN preview and the finish from the photo grow with the pixels
    (docs/singan.md: a 500x166 finish 2.5-3.8 CPU-s)."""
    pixels = shape[0] * shape[1]
    return 1.0 + (2.0 if what == "instant" else 3.0) * pixels / 83_000


class TrainingBar:
    """One progress bar through "Train on my image": the instant preview, the training and the finish, each a
    segment sized by its expected seconds. Inside a segment the bar moves with the time the phase has spent
    (the training's against its budget) and slows down in the last tenth of its segment when a phase runs long, so it
    never goes back and never runs ahead into a phase that has not started."""

    def __init__(self, progress, phases: dict[str, float]):
        total, start, self.segments = sum(phases.values()), 0.0, {}
        for name, seconds in phases.items():
            self.segments[name] = (start / total, (start + seconds) / total, seconds)
            start += seconds
        self.progress, self.value, self.current, self.started = progress, 0.0, None, time.perf_counter()

    def phase(self, name: str) -> None:
        self.current, self.started = name, time.perf_counter()

    def replan(self, phases: dict[str, float]) -> None:
        """New expected seconds for the phases after the current one: the rest of the bar is split anew."""
        start, total = self.segments[self.current][1], sum(phases.values())
        for name, seconds in phases.items():
            self.segments[name] = (start, start + (1 - self.segments[self.current][1]) * seconds / total, seconds)
            start = self.segments[name][1]

    def spent(self) -> float:
        return time.perf_counter() - self.started

    def tick(self, desc: str) -> str:
        """Move the bar (gr.Progress for API clients; the page shows `line`, in the status) and return the line."""
        low, high, expected = self.segments[self.current]
        t = self.spent() / expected
        inside = t if t < 0.9 else 0.9 + 0.09 * (1 - math.exp(-(t - 0.9) / 1.0))
        self.value = max(self.value, low + (high - low) * inside)
        self.progress(self.value, desc=desc)
        self.desc = desc
        return self.line()

    def line(self) -> str:
        """The bar as a line of the status: drawn by us, so an output arriving never hides it (Gradio's own bar
        over the outputs vanished at every new preview: it blinked)."""
        filled = round(self.value * 24)
        return f"`{'█' * filled}{'░' * (24 - filled)}` {self.value:.0%} · {self.desc}"


def _while_ticking(fn, bar: TrainingBar, desc, frame, timing: dict | None = None):
    """fn() in a thread; every TICK_SECONDS meanwhile the bar moves and this yields frame(bar line) (desc: text,
    or bar -> text). Returns fn's result (raises its error). `timing` gets the call's wall and process-CPU
    seconds (their ratio: how busy the machine is)."""
    box: dict = {}

    def run():
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            box["value"] = fn()
        except BaseException as error:  # noqa: BLE001 - raised again in the handler's thread
            box["error"] = error
        if timing is not None:
            timing.update(wall=time.perf_counter() - wall, cpu=time.process_time() - cpu)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    while True:  # at least one frame: the phase is shown even when it is over at once
        yield frame(bar.tick(desc(bar) if callable(desc) else desc))
        thread.join(TICK_SECONDS)
        if not thread.is_alive():
            break
    if "error" in box:
        raise box["error"]
    return box["value"]


def check_training_upload(image):
    """The upload box's own check, on upload (before Train): a file that is not a picture we can open is cleared
    at once with the reason (it showed a broken-image icon and said nothing until Train was clicked).
    Returns (status, upload)."""
    if image is None:
        return gr.update(), gr.update()
    try:
        with open_image(uploaded_files(image)):
            pass
    except (ImageError, ValueError) as error:
        return f"**This file cannot be trained on:** {error}", None
    return "", gr.update()


@app_messages
def train_handler(image, name="", minutes=3.0, max_size=250, request: gr.Request = None,
                  progress=gr.Progress()):
    """Upload -> a new SinGAN (trained in a thread) -> registered with the registry.

    Yields (status markdown, preview image, one dropdown update per sub-tab): first a GPNN sample of
    the upload (seconds, no training), then a plain SinGAN sample through the scale being trained at
    most every PREVIEW_SECONDS and after each scale (cheap), then the finished model's sample finished
    from the photo (singan.sample(finish=True): a few seconds). The model keeps the photo (the default
    TrainOptions.keep_photo; the status says so). One training at a time (own queue); the Cancel
    button stops it at the next iteration."""
    updates_none = [gr.update()] * len(model_dropdowns)
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
    started = time.localtime()
    key = user_models.unique_key(f"my-{_slug(name) or 'image'}-{time.strftime('%H%M%S', started)}")
    # what the dropdowns list it as; the status names it the same way (issue 28: it said the key)
    label = f"Yours: {name or 'my image'} ({time.strftime('%H:%M', started)})"
    singan = singan_module()
    # open and check the upload once, shrunk to the model's size (the training never sees more)
    image = singan._as_rgb(image, "an image to train on", max(MAX_TRAIN_SIZE, int(max_size)))
    asked, max_size = int(max_size), _size_for_short_side(image, int(max_size))
    options, shapes, floor, one_pass = training_options(singan, image, max_size, minutes)  # fails fast
    scales, budget = len(shapes), minutes * 60
    keeps_photo = options.keep_photo
    bar = TrainingBar(progress, {"instant": expected_seconds(shapes[-1], "instant"), "train": max(budget, one_pass),
                                 "finish": expected_seconds(shapes[-1], "finish") if keeps_photo else 0.5})
    # something to look at within seconds: GPNN samples of the upload (no training) before SinGAN starts
    from ..gpnn import generate

    bar.phase("instant")
    timing: dict = {}
    instant = yield from _while_ticking(
        lambda: generate(image, seed=1, max_side=min(int(max_size), 250)), bar,
        "Instant preview (patch nearest neighbours, no training)",
        lambda line: (f"Making an instant preview of your photo, then training **{label}**.\n\n{line}",
                      gr.update(), *updates_none), timing)
    from ..threads import choose_threads

    threads, why = choose_threads()  # torch's default (one per core) collapses on a busy machine (issue 28)
    logger.info("Training %s with %d torch thread(s) (%s)", key, threads, why)
    # how busy the machine is now (wall / CPU seconds of the preview): the floor and the minimum in wall seconds
    slowdown = min(50.0, max(1.0, timing.get("wall", 0.0) / max(timing.get("cpu", 0.0), 1e-3)))
    options, shapes, floor, one_pass = training_options(singan, image, max_size, minutes, slowdown)
    finish_s = slowdown * expected_seconds(shapes[-1], "finish")
    bar.replan({"train": max(budget, one_pass), "finish": finish_s if keeps_photo else 0.5})
    height, width = shapes[-1]
    minimum = (f" At {width}×{height} px one iteration of each of its {scales} scales takes about {one_pass:.0f} s "
               f"here, more than the budget: the training takes at least that." if one_pass > budget else "")
    finish_note = (f", then about {finish_s:.0f} s to finish a sample from your photo"
                   if keeps_photo else "")
    message = (f"Instant preview: patch nearest neighbours (GPNN, no training). Training **{label}** now: "
               f"{budget:.0f} s on {threads} CPU thread{'s' if threads != 1 else ''} ({scales} scales, at least "
               f"{floor} iteration{'s' if floor != 1 else ''} each){finish_note}.{minimum} Its samples replace this "
               f"one as the scales train.")
    bar.phase("train")
    yield f"{message}\n\n{bar.tick('Training')}", instant, *updates_none
    session = getattr(request, "session_hash", None) or "api"
    cancel = _cancel_events[session] = threading.Event()
    events: queue.Queue = queue.Queue()
    outcome: dict = {}

    def report(scale, iteration, fraction, preview):
        events.put((scale, iteration, fraction, preview))

    def work():
        try:
            import torch

            torch.set_num_threads(threads)  # process-wide: the live drawing path sets its own per request
            outcome["result"] = singan.train_singan(image, options, progress=report, cancel=cancel,
                                                    preview_every=PREVIEW_SECONDS)
        except BaseException as error:  # noqa: BLE001 - handed to the UI thread
            outcome["error"] = error
        finally:
            events.put(None)

    thread = threading.Thread(target=work, daemon=True, name=f"singan-train-{key}")
    thread.start()
    preview_image, scale, iteration = instant, 0, 0
    try:
        while True:  # the bar moves every TICK_SECONDS with the time spent against the budget, not by pixels
            try:
                event = events.get(timeout=TICK_SECONDS)
            except queue.Empty:
                event = ()
            if event is None:
                break
            preview = None
            if event:
                scale, iteration, _, preview = event
            line = bar.tick(f"Training: scale {scale + 1} of {scales}, {bar.spent():.0f} s of {budget:.0f} s")
            if preview is not None:
                preview_image = preview
                message = (f"Training **{label}**: a SinGAN sample through scale {scale + 1} of {scales}, iteration "
                           f"{iteration}.")
            yield f"{message}\n\n{line}", preview if preview is not None else gr.update(), *updates_none
    finally:
        cancel.set() if thread.is_alive() and "result" not in outcome else None
    thread.join()
    _cancel_events.pop(session, None)
    error = outcome.get("error")
    if isinstance(error, singan.TrainingCancelled):
        yield ("Training was cancelled.", preview_image, *updates_none)
        return
    if error is not None:
        raise error  # app_messages: a ValueError is the user's message, anything else a generic one
    model, stats = outcome["result"]
    folder = user_models_dir() / f"{key}-{secrets.token_hex(6)}"  # a folder of its own, never another's
    user_models.sweep_folder(user_models_dir())  # expired ones left by an earlier server
    save_model(model.cpu(), folder, {"label": label,
                                     "resolution": max(stats["shapes"][-1]),
                                     "training": {"wall_time_s": stats["wall_seconds_this_run"],
                                                  "time_budget_min": minutes, "app": True,
                                                  "iterations": [scale["iterations"] for scale in stats["scales"]]}})
    # this session's alone (listed and usable nowhere else), for LIFETIME_S, a few per session (ui/user_models.py)
    user_models.add(key, folder, getattr(request, "session_hash", None))
    choices = model_choices()
    if key not in [choice for _, choice in choices]:  # (a generator step may run outside the request's context)
        choices.append((label, key))
    height, width = stats["shapes"][-1]
    trained = (f"Trained **{label}** in {stats['wall_seconds_this_run']:.0f} s ({stats['num_scales']} scales, "
               f"{width}×{height} px" + (f": {max_size} px, not {asked}, so its short side is 25 px" if max_size != asked
                                        else "") + ").")
    finish = singan.photo(model) is not None
    bar.phase("finish")
    doing = f"{trained} Finishing a sample from your photo (a few seconds)…" if finish else trained
    final = yield from _while_ticking(
        lambda: singan.sample(model, seed=0, finish=finish), bar,
        lambda bar: f"Finishing a sample from your photo, {bar.spent():.0f} s" if finish else "A sample of the model",
        lambda line: (f"{doing}\n\n{line}", gr.update(), *updates_none))
    status = (f"{trained} The sample is finished from your photo: its fine texture is rebuilt from the photo's own "
              f"patches. The model keeps a copy of your photo ({width}×{height} px) for that; both are stored on this "
              f"server. It is now selected in every SinGAN tab. {KEPT}" if finish else
              f"{trained} It is now selected in every SinGAN tab. {KEPT}")
    yield (status, final, *[gr.update(choices=choices, value=key) for _ in model_dropdowns])


def cancel_training(request: gr.Request = None):
    session = getattr(request, "session_hash", None) or "api"
    event = _cancel_events.get(session)
    if event is None:
        gr.Info("No training is running in this session.")
        return
    event.set()
    gr.Info("Cancelling: the training stops at the next iteration.")
