"""Small pieces shared by the tabs: ZeroGPU support, turning errors into UI messages, and the
only ways a handler touches files: `uploaded_files` (what a client sent) and `output_file` (what
it gets back)."""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import sys
import time
import uuid
from pathlib import Path

import gradio as gr

from ..imaging import to_rgb
from . import logic

logger = logging.getLogger(__name__)

# Every model call shares one queue slot: on a 2-core CPU two concurrent forward passes are
# slower than two in a row, and memory stays flat under load.
MODEL_CONCURRENCY = {"concurrency_id": "pix2pix-model", "concurrency_limit": 1}


def on_new_photo(photo: gr.Image, examples: gr.Examples | None, fn, inputs, outputs, cleared, more_triggers=(),
                 **options):
    """Run `fn` once for every photo a person gives `photo` (upload, drop, paste, file chooser: the image's `upload`
    event) or picks among `examples` (its click, then `fn`), and on `more_triggers`; removing the photo sets the
    outputs to `cleared` (in `fn`'s queue, so after a picture still being made).

    Not `photo.change`: in Gradio 6.31 choosing a new file while a photo is shown fires `change` twice with that file
    (before and after its upload), so the model ran twice and its warning showed twice ("Warning (2)"). Nor
    `photo.input`: on removing an example's photo it sent the example again (the value before the removal)."""
    gr.on([photo.upload, *more_triggers], fn, inputs, outputs, **options)
    photo.clear(lambda: cleared, None, outputs, **{**options, "preprocess": False})
    if examples is not None:
        examples.load_input_event.then(fn, inputs, outputs, **options)


M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = 2) -> bool:
    """Cap glibc's malloc arenas for this process (what env MALLOC_ARENA_MAX does, set at run time).

    glibc gives threads that allocate at the same time arenas of their own (up to 8 per core), and
    memory freed in one is not reused by another: under 16 concurrent clients the server's resident
    memory grew by 181 MB over 800 requests and was still growing; with 2 arenas it grew by 47 MB and
    levelled off, and latency did not suffer (README, "Under load"). An explicit MALLOC_ARENA_MAX wins.
    Returns whether the cap was set (False off glibc)."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False


def gpu(fn):
    """`spaces.GPU(fn)` on Hugging Face ZeroGPU hardware (env SPACES_ZERO_GPU), else `fn` unchanged.

    The `spaces` package exists only on Spaces; locally (and when it is missing) this is a no-op."""
    if not os.environ.get("SPACES_ZERO_GPU"):
        return fn
    try:
        import spaces
    except ImportError:
        logger.warning("SPACES_ZERO_GPU is set but the `spaces` package is missing; running without it.")
        return fn
    return spaces.GPU(fn)


UNEXPECTED_ERROR = "Something went wrong on the server (the details are in its log). Please try again."


def unexpected_error(error: BaseException, where: str) -> gr.Error:
    """An error that is not the user's: the traceback goes to the server log, the client gets a short
    generic message (never exception text, which can hold server paths)."""
    logger.error("Unexpected error in %s", where, exc_info=(type(error), error, error.__traceback__))
    return gr.Error(UNEXPECTED_ERROR, print_exception=False)


def user_messages(empty_result, warn_on_empty: bool = True):
    """Decorator for handlers: InputError -> gr.Error (a red message, the server keeps serving);
    EmptyInput -> gr.Warning (or nothing, for live events) and `empty_result` as the output;
    any other exception -> the generic UNEXPECTED_ERROR (details in the server log)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except logic.EmptyInput as error:
                if warn_on_empty:
                    gr.Warning(str(error))
                return empty_result
            except logic.InputError as error:
                raise gr.Error(str(error), print_exception=False) from None
            except gr.Error:
                raise
            except Exception as error:  # noqa: BLE001 - reported generically, logged in full
                raise unexpected_error(error, fn.__qualname__) from None

        return wrapper

    return decorate


# ---------------------------------------------------------------- files in and out
NOT_UPLOADED = ("This file was not uploaded with the request, so it is not read. "
                "Upload the image (gradio_client: handle_file(path)).")


class RefusedFile(gr.Error):
    """Gradio's refusal of a file reference outside its upload folder, as the app's own message: no traceback in
    the log (Gradio printed one for every such request: 931 from 748 bad requests), the same words as ours."""


def patient_launch_check(timeout_s: float = 90.0) -> None:
    """Gradio's launch() checks that its new server answers (5 HEAD requests of at most 3 s) and otherwise raises
    "When localhost is not accessible, a shareable link must be created": on a saturated CPU (a 2-core machine
    under load 10-15, the server at nice 10) the server answered later than that, and the app, the browser tests
    and the benchmarks did not start at all. Keep asking for up to `timeout_s` (a server that never answers still
    fails, later)."""
    from gradio import networking

    check = networking.url_ok
    if getattr(check, "_patient", False):
        return

    @functools.wraps(check)
    def patient_check(url: str) -> bool:
        deadline = time.monotonic() + timeout_s
        while not check(url):
            if time.monotonic() >= deadline:
                return False
        return True

    patient_check._patient = True
    networking.url_ok = patient_check


def quiet_file_refusals() -> None:
    """Make Gradio's own check of the files a request names (before any handler runs, `preprocess=False` or
    not) refuse with NOT_UPLOADED and log one line instead of a traceback. Its InvalidPathError is kept as a
    base class, so Gradio's code that catches it still does."""
    from gradio import processing_utils
    from gradio.exceptions import InvalidPathError

    check = processing_utils._check_allowed
    if getattr(check, "_quiet", False):
        return

    class Refused(RefusedFile, InvalidPathError):
        pass

    @functools.wraps(check)
    def quiet_check(path, check_in_upload_folder):
        try:
            return check(path, check_in_upload_folder)
        except InvalidPathError:
            if not check_in_upload_folder:  # the app's own outputs: a bug of ours, in full
                raise
            logger.warning("Refused a file the request named but Gradio did not receive: %.120r", str(path))
            raise Refused(NOT_UPLOADED, print_exception=False) from None

    quiet_check._quiet = True
    processing_utils._check_allowed = quiet_check


def upload_folder() -> Path:
    """Where Gradio keeps the files it received (and its cache): GRADIO_TEMP_DIR, else TMP/gradio; as
    Gradio names it (not resolved: on macOS the temp folder itself sits behind a symlink)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


def _uploaded_path(path) -> str:
    """A client-named path -> the same path, if it is a regular file Gradio received (inside its upload
    folder, named without `..` and reached through no symlink below that folder); else
    InputError(NOT_UPLOADED). One message for every refusal, so an answer never tells whether some
    other file exists."""
    if not isinstance(path, str) or not path or "\0" in path or not os.path.isabs(path) or ".." in Path(path).parts:
        raise logic.InputError(NOT_UPLOADED)
    root = os.path.realpath(upload_folder())
    real = os.path.realpath(path)
    if real == root or os.path.commonpath([real, root]) != root or not os.path.isfile(real):
        raise logic.InputError(NOT_UPLOADED)
    current = os.path.normpath(path)
    while os.path.realpath(current) != root:  # every step from the file up to the upload folder
        if os.path.islink(current) or os.path.dirname(current) == current:
            raise logic.InputError(NOT_UPLOADED)
        current = os.path.dirname(current)
    return path


def uploaded_files(value):
    """A raw input value (handlers run with preprocess=False) -> the same value with every file
    reference replaced by a checked local path of an uploaded file (an editor value keeps only its
    images; other dicts are passed on unread).

    Nothing a client sends may name a server file: a FileData dict contributes only its `path` (its
    `url` is never read), and a bare string is a path like any other; both must lie in Gradio's upload
    folder (see `_uploaded_path`). Nested values (an editor's background/layers/composite) are
    checked item by item; PIL images and arrays (in-process callers) pass through."""
    if isinstance(value, str):
        return _uploaded_path(value)
    if isinstance(value, dict):
        if "path" in value or "url" in value or (value.get("meta") or {}).get("_type") == "gradio.FileData":
            return _uploaded_path(value.get("path"))
        if any(key in value for key in EDITOR_KEYS):  # an editor value: its images, checked (not its "id")
            return {"background": uploaded_files(value.get("background")),
                    "layers": [uploaded_files(layer) for layer in value.get("layers") or [] if layer is not None],
                    "composite": uploaded_files(value.get("composite"))}
        return value
    if isinstance(value, (list, tuple)):
        return [uploaded_files(item) for item in value]
    return value


EDITOR_KEYS = ("background", "layers", "composite")  # the images of an ImageEditor / Sketchpad value


OUTPUT_DIR_NAME = "pix2pix-demo-outputs"


def output_file(image, format: str = "png", stem: str = "generated") -> str | None:
    """Write an output image to a file of its own (a new name per call) in Gradio's cache folder and
    return its path, for an output component to serve.

    Returning a PIL image instead lets Gradio write it to a content-hashed path, so identical results
    of concurrent requests overwrite one file while others download it (empty or cut images). Files
    here are Gradio temp files: `delete_cache` removes them."""
    if image is None:
        return None
    path = output_path(format, stem)
    options = {"quality": 90} if format in ("jpeg", "jpg") else {}
    image = image if image.mode in ("L", "RGB") else to_rgb(image)
    image.save(path, format="JPEG" if format in ("jpeg", "jpg") else format.upper(), **options)
    return str(path)


def output_path(suffix: str, stem: str = "generated") -> Path:
    """A new, unused file name in the outputs folder inside Gradio's cache (see `output_file`)."""
    folder = upload_folder() / OUTPUT_DIR_NAME
    folder.mkdir(parents=True, exist_ok=True)
    now = time.monotonic()
    if _last_sweep[0] is None or now - _last_sweep[0] > SWEEP_EVERY_S:
        _last_sweep[0] = now
        sweep_outputs()
    return folder / f"{stem}-{uuid.uuid4().hex[:16]}.{suffix}"


OUTPUT_MAX_AGE_S = 3600  # outputs older than this are deleted (also the app's delete_cache age)
SWEEP_EVERY_S = 900
_last_sweep: list = [None]


def sweep_outputs(max_age_s: float = OUTPUT_MAX_AGE_S) -> int:
    """Delete files in the outputs folder older than `max_age_s`; return how many. Gradio's delete_cache
    only knows the files of the running process: this also removes those of a server that was killed
    (output_path runs it on its first call and then every SWEEP_EVERY_S)."""
    folder = upload_folder() / OUTPUT_DIR_NAME
    removed, now = 0, time.time()
    for entry in os.scandir(folder) if folder.is_dir() else ():
        try:
            if entry.is_file(follow_symlinks=False) and now - entry.stat(follow_symlinks=False).st_mtime > max_age_s:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:  # another process swept it first
            continue
    return removed


# ---------------------------------------------------------------- ImageEditor blobs
class BoundedBlobStore(dict):
    """An ImageEditor's `blob_storage` with bounds: Gradio keeps every image a browser posts to the editor's
    server function `accept_blobs` (POST /gradio_api/component_server, anyone, any new `id`) in a plain dict
    until an event with that id is preprocessed, and our events read the canvas unprocessed, so nothing
    ever removed them (200 posts of 2 MB: +400 MB, never released). Here the oldest entries go first once
    there are more than `max_entries`, more than `max_bytes` in all, or any older than `max_age_s`.
    An evicted canvas only means an empty canvas for an event that comes that much later."""

    def __init__(self, max_entries: int = 32, max_bytes: int = 16_000_000, max_age_s: float = 600):
        super().__init__()
        self.max_entries, self.max_bytes, self.max_age_s = max_entries, max_bytes, max_age_s
        self._sizes: dict = {}  # id -> (bytes, time stored)

    @staticmethod
    def size_of(blobs) -> int:
        parts = [getattr(blobs, "background", None), getattr(blobs, "composite", None),
                 *(getattr(blobs, "layers", None) or [])]
        return sum(len(part) for part in parts if isinstance(part, (bytes, bytearray)))

    def __setitem__(self, key, blobs):
        if key in self:
            super().__delitem__(key)  # re-inserted: it becomes the newest
        self._sizes[key] = (self.size_of(blobs), time.monotonic())
        super().__setitem__(key, blobs)
        self._evict(keep=key)

    def __delitem__(self, key):
        super().__delitem__(key)
        self._sizes.pop(key, None)

    def pop(self, key, *default):
        self._sizes.pop(key, None)
        return super().pop(key, *default)

    def total_bytes(self) -> int:
        return sum(size for size, _ in self._sizes.values())

    def _evict(self, keep) -> None:
        now = time.monotonic()
        for key in list(self):  # insertion order is age order (an updated entry moves to the end)
            if key == keep:
                continue
            over = len(self) > self.max_entries or self.total_bytes() > self.max_bytes
            if not over and now - self._sizes[key][1] <= self.max_age_s:
                break  # within the bounds, and the rest are newer
            del self[key]
        if keep in self and self._sizes[keep][0] > self.max_bytes:
            del self[keep]  # one canvas larger than the whole budget is not kept either


MAX_EDITOR_LAYERS = 8  # accept_blobs' layer index: Gradio grows a list to any index a client names


def _checked_accept_blobs(accept_blobs):
    """An editor's accept_blobs that first checks what a client sent (a known type, a small layer index, one
    file): Gradio's own grows a list of as many entries as the index says (index 10**9: gigabytes) and
    fails with a traceback on a missing field. Anything else is dropped (nothing stored)."""

    @functools.wraps(accept_blobs)
    def checked(data):
        fields, files = getattr(data, "data", None), getattr(data, "files", None)
        if not isinstance(fields, dict) or not files or not isinstance(fields.get("id"), str):
            return None
        kind, index = fields.get("type"), fields.get("index")
        if kind not in ("background", "composite", "layer") or len(fields["id"]) > 64:
            return None
        if kind == "layer":
            try:
                if not 0 <= int(index) < MAX_EDITOR_LAYERS:
                    return None
            except (TypeError, ValueError):
                return None
        return accept_blobs(data)

    checked._is_server_fn = True
    return checked


def bound_editor_blobs(blocks) -> int:
    """Give every ImageEditor / Sketchpad of `blocks` a BoundedBlobStore; returns how many there are."""
    editors = [block for block in blocks.blocks.values() if isinstance(block, gr.ImageEditor)]
    for editor in editors:
        if not isinstance(editor.blob_storage, BoundedBlobStore):
            editor.blob_storage = BoundedBlobStore()
            editor.accept_blobs = _checked_accept_blobs(editor.accept_blobs)  # the instance's, found first by name
    return len(editors)
