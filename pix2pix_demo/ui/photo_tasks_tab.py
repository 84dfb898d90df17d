"""The "Colour & fill" tab (issue 29): two pix2pix tasks made from any photo, as two sub-tabs.

- **Colourize**: upload or pick a photo -> its grey version (what the model sees) -> the colourized picture,
  same size, whose grey version is the grey input exactly (`photo_tasks.colourize`). *Colour variation* 0 is
  the model's own answer; other values switch on pix2pix's dropout noise with that seed. Endpoint
  `/colourize(photo, variation)` -> (grey, colourized).
- **Fill in**: upload a photo into the editor and paint over a part of it with the brush -> the mask shown on
  the photo and the filled-in picture, the unpainted pixels kept exactly (`photo_tasks.fill_in`). Endpoint
  `/fill_in(editor value)` -> (mask shown, filled in): the editor value is {"background": photo, "layers":
  [painted layer (its opaque pixels are erased)], "composite": None}.

Models: `weights/colourize` and `weights/fill-in` (kind "photo-task", `python -m train.pix2pix --task ...`),
loaded on first use through the registry. Handlers get their inputs unprocessed: only uploaded files are read.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np

from .. import registry
from ..imaging import ImageError, open_image
from . import logic
from .common import MODEL_CONCURRENCY, gpu, on_new_photo, output_file, uploaded_files, user_messages

MODEL_KEYS = {"colourize": "colourize", "fill-in": "fill-in"}
MAX_VARIATION = 1000
_EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "photos"
# (file, caption): CC0 / public-domain photos (examples/ATTRIBUTION.md)
COLOURIZE_EXAMPLES = (("../black-and-white/camera.png", "a real black-and-white photo (scikit-image 'camera', CC0)"),
                      ("chelsea.png", "a tabby cat (scikit-image 'chelsea', CC0)"),
                      ("coffee.png", "a cup of coffee (scikit-image 'coffee', CC0)"))
FILL_EXAMPLES = (("chelsea.png", "chelsea (CC0)"), ("coffee.png", "coffee (CC0)"),
                 ("../fill-in/brick.jpg", "a brick wall (CC0)"))
COLOURIZE_HELP = (
    "Upload a photo (colour or black-and-white) or pick an example: its **grey version** is what the model sees, "
    "and the model paints the colour back. The brightness of every pixel is the grey photo's own, so only the "
    "colours are the model's guess. A small pix2pix U-Net trained for 35 CPU-minutes on cats, shoes, bags, "
    "building facades and a few landscapes: cats' coats and pale skies come out right, grass comes out tan and "
    "backgrounds orange-brown, and bright colours (a red cup, a pink bag) are not guessed. "
    "**Colour variation** 0 is the model's own answer; any other number gives a (small) variation.")
FILL_HELP = (
    "Upload a photo into the editor (or pick an example), then **paint over the part to erase** with the brush "
    "and press **Fill in**: the model paints the painted region from its surroundings; every pixel you did not "
    "paint stays exactly as it was. The mask you painted is shown on the photo. A small U-Net (5 MB) starts from a "
    "smooth classical fill and lays out the colours; then the region is rebuilt from small patches of the photo "
    "around it, lines that meet it first (brick joints carry across), so it gets the photo's own grain: best on "
    "smooth or out-of-focus backgrounds and on grass-like or brick texture (try a stroke across chelsea's blurred "
    "background, or across the brick wall); it cannot redraw a missing eye or window, and fur comes back mottled.")


def model_for(task: str):
    """The task's model (eval mode), or InputError saying why there is none."""
    key = MODEL_KEYS[task]
    if key not in registry.list_models():
        raise logic.InputError(f"This server has no {task} model (weights/{key}, made by "
                               f"`python -m train.pix2pix --task {task} ...`, see docs/photo-tasks.md).")
    try:
        return registry.load(key, device=logic.device())
    except registry.ModelUnavailable as error:
        raise logic.InputError(str(error)) from None


def missing_note(task: str) -> str:
    """A line for the sub-tab when this server has no model for the task ("" when it has one)."""
    key = MODEL_KEYS[task]
    if key in registry.list_models():
        return ""
    return (f"**No {task} model on this server yet** (`weights/{key}`): see docs/photo-tasks.md for how to train "
            f"one (`python -m train.pix2pix --task {task} ...`).")


def parse_variation(value) -> int | None:
    """0 / empty -> None (the model's deterministic answer); 1..MAX_VARIATION -> that seed."""
    seed = logic.parse_seed(value)
    if seed > MAX_VARIATION:
        raise logic.InputError(f"The colour variation must be a whole number from 0 to {MAX_VARIATION}, got {value!r}.")
    return seed or None


def _photo(image):
    if image is None:
        raise logic.EmptyInput("Upload or pick a photo first.")
    try:
        return open_image(uploaded_files(image))
    except ImageError as error:
        raise logic.InputError(str(error)) from None


def colourize_image(photo, variation=0):
    """PIL photo -> (its grey version "L", the colourized RGB picture), both at the photo's size."""
    from .. import photo_tasks

    seed = parse_variation(variation)
    try:
        colour = photo_tasks.colourize(model_for("colourize"), photo, seed=seed)
    except ImageError as error:
        raise logic.InputError(str(error)) from None
    from PIL import Image

    return Image.fromarray(photo_tasks.grey_of(photo)), colour


def editor_parts(value):
    """An ImageEditor value (checked by uploaded_files) -> (photo, painted mask HxW bool). The mask is every
    layer's opaque pixels; a value without a photo or without paint is an InputError / EmptyInput."""
    from .. import photo_tasks

    if not isinstance(value, dict):
        raise logic.InputError("Send the editor's value: {'background': photo, 'layers': [painted layer], 'composite': None}.")
    photo = logic._as_image(value.get("background"))
    if photo is None:
        raise logic.EmptyInput("Upload or pick a photo first, then paint over the part to fill in.")
    try:
        photo = photo_tasks.read_photo(photo)
    except ImageError as error:
        raise logic.InputError(str(error)) from None
    mask = np.zeros((photo.height, photo.width), dtype=bool)
    for layer in value.get("layers") or []:
        image = logic._as_image(layer)
        if image is not None:
            mask |= photo_tasks.mask_of(image, photo.size)
    if not mask.any():
        raise logic.EmptyInput("Nothing is painted yet: paint over the part of the photo to fill in, then press Fill in.")
    if mask.all():
        raise logic.InputError("The whole photo is painted over: leave some of it for the model to continue from.")
    return photo, mask


def fill_in_image(value):
    """An editor value -> (the photo with the mask shown, the filled-in picture)."""
    from .. import photo_tasks

    photo, mask = editor_parts(value)
    try:
        filled = photo_tasks.fill_in(model_for("fill-in"), photo, mask)
    except ImageError as error:
        raise logic.InputError(str(error)) from None
    return photo_tasks.mask_overlay(photo, mask), filled


def _colourize_files(photo, variation):
    grey, colour = colourize_image(_photo(photo), variation)
    return output_file(grey, "png", "grey"), output_file(colour, "png", "colourized")


@gpu
@user_messages(empty_result=(None, None))
def colourize_handler(photo, variation=0):
    """/colourize: a photo (+ a colour variation, 0 = none) -> (its grey version, the colourized picture), PNGs."""
    return _colourize_files(photo, variation)


@gpu
@user_messages(empty_result=(None, None), warn_on_empty=False)  # removing the photo clears the outputs
def colourize_changed(photo, variation=0):
    return (None, None) if photo is None else _colourize_files(photo, variation)


@gpu
@user_messages(empty_result=(None, None))
def fill_in_handler(editor):
    """/fill_in: an editor value (photo as background, the painted layer) -> (the mask on the photo, filled in)."""
    shown, filled = fill_in_image(uploaded_files(editor))
    return output_file(shown, "png", "mask"), output_file(filled, "png", "filled")


def _examples(items) -> list[tuple[str, str]]:
    return [(str((_EXAMPLES / name).resolve()), caption) for name, caption in items if (_EXAMPLES / name).is_file()]


def build_photo_tasks_tab() -> None:
    """Add the tab's two sub-tabs, their widgets and events to the current Blocks context."""
    with gr.Tabs():
        with gr.Tab("Colourize", id="colourize"):
            gr.Markdown(COLOURIZE_HELP)
            if missing_note("colourize"):
                gr.Markdown(missing_note("colourize"), elem_id="colourize-missing")
            with gr.Row(equal_height=True):
                photo = gr.Image(label="Photo", type="filepath", sources=["upload", "clipboard"],
                                 elem_id="colourize-input", height=360)
                grey = gr.Image(label="Grey version (the model's input)", type="filepath", format="png",
                                interactive=False, elem_id="colourize-grey", height=360, buttons=["download"])
                colour = gr.Image(label="Colourized", type="filepath", format="png", interactive=False,
                                  elem_id="colourize-output", height=360, buttons=["download", "fullscreen"])
            with gr.Row():
                variation = gr.Slider(0, 20, value=0, step=1, label="Colour variation (0 = the model's own answer)",
                                      elem_id="colourize-variation")
                run = gr.Button("Colourize", variant="primary", elem_id="colourize-run")
            found = _examples(COLOURIZE_EXAMPLES)
            examples = gr.Examples([[path] for path, _ in found], inputs=photo, example_labels=[c for _, c in found],
                                   label="Example photos (CC0)") if found else None
            run.click(colourize_handler, [photo, variation], [grey, colour], api_name="colourize",
                      preprocess=False, **MODEL_CONCURRENCY)
            on_new_photo(photo, examples, colourize_changed, [photo, variation], [grey, colour], (None, None),
                         more_triggers=[variation.release], preprocess=False, trigger_mode="always_last",
                         api_visibility="private", **MODEL_CONCURRENCY)
        with gr.Tab("Fill in", id="fill-in"):
            gr.Markdown(FILL_HELP)
            if missing_note("fill-in"):
                gr.Markdown(missing_note("fill-in"), elem_id="fill-missing")
            with gr.Row(equal_height=True):
                editor = gr.ImageEditor(label="Photo: paint over the part to fill in", type="filepath",
                                        sources=["upload", "clipboard"], layers=False, transforms=(),
                                        brush=gr.Brush(colors=["#ff00ff"], default_size=24, color_mode="fixed"),
                                        eraser=gr.Eraser(default_size=24), elem_id="fill-editor", height=420)
                with gr.Column():
                    shown = gr.Image(label="Your mask on the photo", type="filepath", format="png", interactive=False,
                                     elem_id="fill-mask", height=200, buttons=["download"])
                    filled = gr.Image(label="Filled in", type="filepath", format="png", interactive=False,
                                      elem_id="fill-output", height=200, buttons=["download", "fullscreen"])
            fill = gr.Button("Fill in", variant="primary", elem_id="fill-run")
            examples = _examples(FILL_EXAMPLES)
            if examples:
                gr.Examples([[path] for path, _ in examples], inputs=editor, example_labels=[c for _, c in examples],
                            label="Example photos (CC0): pick one, then paint over a part of it")
            fill.click(fill_in_handler, editor, [shown, filled], api_name="fill_in", preprocess=False,
                       **MODEL_CONCURRENCY)
