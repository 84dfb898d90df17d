"""Interactive image-to-image GANs: draw or upload, and pix2pix turns it into a picture; SinGAN too.

    python app.py          # http://127.0.0.1:7860 (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT override)

`import app` builds the module-level `demo` without launching it (tests drive it with
gradio_client). The tabs live in pix2pix_demo/ui/; models load lazily from weights/ (or the Hub)
through pix2pix_demo.registry.
"""

from __future__ import annotations

import os
import threading
import time

import gradio as gr

from pix2pix_demo.imaging import MAX_IMAGE_PIXELS
from pix2pix_demo.ui import logic
from pix2pix_demo.ui.common import (OUTPUT_MAX_AGE_S, bound_editor_blobs, limit_malloc_arenas, patient_launch_check,
                                    quiet_file_refusals)
from pix2pix_demo.ui.draw_tab import build_draw_tab
from pix2pix_demo.ui.facades_tab import build_facades_tab
from pix2pix_demo.ui.photo_tab import build_photo_tab
from pix2pix_demo.ui.photo_tasks_tab import build_photo_tasks_tab
from pix2pix_demo.ui.translate_tab import build_translate_tab

try:  # the SinGAN tab is optional: the app works without its module, but real errors still show
    from pix2pix_demo.ui.singan_tab import build_singan_tab
except ModuleNotFoundError as error:
    if error.name != "pix2pix_demo.ui.singan_tab":
        raise
    build_singan_tab = None

TITLE = "pix2pix & SinGAN: draw it, and a GAN paints it"
HEADER = f"""# {TITLE}
Sketch a cat, a shoe or a handbag and watch [pix2pix](https://phillipi.github.io/pix2pix/) turn the lines into
a picture while you draw, or start from a photo's edges. Everything runs on this machine's CPU.
Images over {MAX_IMAGE_PIXELS // 1_000_000} megapixels are refused."""
CSS = """
#draw-canvas, #draw-output { min-height: 560px; }
#draw-output img, #photo-output img, #photo-edges img, #translate-output img, #colourize-output img, #fill-output img { width: 100%; height: 100%; object-fit: contain; }
footer { display: none !important; }
/* a phone: the five tabs in one row where they fit (and wrapping, not hidden, where they do not) */
@media (max-width: 720px) { .tab-container > button[role=tab] { padding: 0 9px; } }
"""
# A phone: less page margin, so the Draw tab's drawing and picture (side by side) are larger. In `head`,
# not CSS: Gradio scopes the CSS's media rules to its content, and this padding is outside it.
# The Fill-in editor's zoom / undo bar lay over its label ("Photo: paint over the part to fill in") wherever the
# editor is under ~480 px wide (a phone, and beside the mask column in windows up to ~1100 px): there the bar goes
# below the label (below its two lines under 320 px). A container query, so in `head` too: Gradio's scoping of the
# CSS keeps style, @media, @keyframes and @font-face rules and drops @container ones.
HEAD = ("<style>@media (max-width: 720px) { .gradio-container .main.app { padding-left: 8px; padding-right: 8px; } }\n"
        "#fill-editor { container-type: inline-size; }\n"
        "@container (max-width: 500px) { #fill-editor .top-panel { top: 40px; } }\n"
        "@container (max-width: 320px) { #fill-editor .top-panel { top: 60px; } }</style>")
# Passed to launch() by __main__ and by the tests, so limits are the same everywhere.
LAUNCH_OPTIONS = dict(
    max_file_size="25mb",  # a 40-megapixel JPEG fits; anything larger is refused at upload
    theme=gr.themes.Soft(primary_hue="orange"),
    css=CSS,
    head=HEAD,
    # Clients get the app's own messages (gr.Error) and, for anything unexpected, a short generic one;
    # never raw exception text, which can hold server paths (details go to the server log).
    show_error=False,
    # Gradio keeps a copy of the page's state (~0.3 MB here) for every session hash a request names, anyone's,
    # up to this many (the oldest go first); its default, 10000, let anyone grow the server by ~3 GB
    # (200 POSTs with fresh session hashes: +63 MB, never released)
    state_session_capacity=500,
)
# Uploads and outputs (images, GIFs) are Gradio temp files: every 15 minutes those older than an hour
# are deleted (and all of them when the server stops; common.sweep_outputs also removes the outputs
# of a server that was killed).
DELETE_CACHE = (900, OUTPUT_MAX_AGE_S)

# Before the server starts its worker threads: bounded memory under concurrent requests.
limit_malloc_arenas()
quiet_file_refusals()  # a file reference Gradio refuses: the app's message and one log line, not a traceback
patient_launch_check()  # on a saturated machine Gradio's own 15-s check that the new server answers gave up

with gr.Blocks(title=TITLE, delete_cache=DELETE_CACHE) as demo:
    gr.Markdown(HEADER)
    # "wrap": on a narrow screen (a phone) every tab stays in view, on a second row if need be
    # (the default "menu" hid Facades and SinGAN under "⋯")
    with gr.Tabs(overflow_behavior="wrap") as tabs:
        with gr.Tab("Draw", id="draw"):
            draw = build_draw_tab()
        with gr.Tab("Photo", id="photo"):
            build_photo_tab(draw, tabs)
        with gr.Tab("Translate", id="translate"):
            build_translate_tab()
        with gr.Tab("Facades", id="facades"):
            build_facades_tab()
        with gr.Tab("Colour & fill", id="photo-tasks"):
            build_photo_tasks_tab()
        if build_singan_tab is not None:
            with gr.Tab("SinGAN", id="singan"):
                build_singan_tab()
demo.queue(default_concurrency_limit=2, max_size=64)
bound_editor_blobs(demo)  # what browsers post to the ImageEditors' accept_blobs: bounded, not kept forever


def warm_up() -> None:
    """Load the default model (and torch, which the first page does not need) in the background once
    the server answers, so the first stroke does not wait for it and start-up does not wait for torch."""
    while not getattr(demo, "is_running", False):
        time.sleep(0.1)
    import cv2  # noqa: F401  (pix2pix_demo.edges imports it on first use; the Photo tab's first photo needs it)
    key = logic.default_model()
    if key:
        try:
            logic.get_pipeline(key)
        except logic.InputError as error:
            print(f"Model {key!r} not loaded at start-up: {error}")
    # the first torch optimiser imports torch._dynamo (1.5 CPU-s; 50 s of wall at load 9): paid here, not by the
    # first "Train on my image" (issue 28 item 4: a 0.1-minute training took 149 s under load)
    import torch._dynamo  # noqa: F401


if __name__ == "__main__":
    threading.Thread(target=warm_up, daemon=True).start()
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), **LAUNCH_OPTIONS)
