"""The Draw tab: our own drawing surface (a gr.HTML with js_on_load) and the picture, live.

The surface (static/draw_surface.{html,css,js}) draws in the browser (pen with size, eraser,
undo / redo per stroke, clear, mouse / pen / touch through pointer events, examples, model,
variation, PNG download). After every finished stroke it sends one small PNG of the 256² line
drawing to the server function `live.render` (one POST to /gradio_api/component_server: no file
upload, no Gradio queue; pages take turns in `live`'s fair queue) and shows the JPEG that comes back; see `live.py`.

The `/sketch_to_image` API endpoint for gradio_client is unchanged: the same Sketchpad-value,
model and seed inputs as before, on components that are not shown.

The previous tab (Gradio's ImageEditor) was removed once the browser benchmark had measured both
paths; its numbers are in docs/app.md ("The drawing surface").
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import gradio as gr
from PIL import Image

from . import live, logic
from .common import MODEL_CONCURRENCY, gpu, output_file, uploaded_files, user_messages
from .enhance import enhancer_key

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "sketches"
STATIC_DIR = Path(__file__).resolve().parent / "static"
# example file stem -> (caption, the model that suits it)
EXAMPLES = {"cat": ("Cat", "edges2cats"), "sitting-cat": ("Sitting cat", "edges2cats"),
            "open-face": ("Cat face, open lines", "edges2cats"),
            "shoe": ("Shoe", "edges2products"), "handbag": ("Handbag", "edges2products")}
MAX_SEED = live.MAX_SEED


@dataclass
class DrawTab:
    target: gr.Component  # where "Edit the edges in Draw" sends a line drawing
    model: gr.Dropdown
    seed: gr.Slider
    value_for_sketch: Callable[..., Any]  # (line drawing, model key) -> the value for `target`


def example_paths() -> list[tuple[str, str]]:
    return [(str(EXAMPLES_DIR / f"{stem}.png"), caption) for stem, (caption, _) in EXAMPLES.items()
            if (EXAMPLES_DIR / f"{stem}.png").is_file()]


@functools.lru_cache(maxsize=1)
def surface_examples() -> tuple[dict, ...]:
    """The examples as the surface shows and loads them: fitted into the canvas, as PNG data URLs."""
    keys = {key for _, key in logic.model_choices()}
    examples = []
    for path, caption in example_paths():
        stem = Path(path).stem
        model = EXAMPLES[stem][1]
        examples.append({"name": stem, "caption": caption, "model": model if model in keys else None,
                         "png": live.sketch_png_data_url(logic.open_photo(path), line_width=1)})
    return tuple(examples)


def surface_value_for(sketch: Image.Image, model_key: str | None = None, coat: str | None = None) -> dict:
    """A line drawing -> the surface's value: it loads the drawing (as one undoable step) and, when
    given, selects `model_key` and the colour `coat` ("#rrggbb", e.g. measured on the Photo tab's photo:
    a swatch "from the photo" is added for that model, if it takes a colour). The nonce makes a second
    load of the same drawing count."""
    # the drawing the Photo tab made its picture from (at the model's resolution), each pixel a block of the 512²
    # canvas: the canvas sends it back unchanged, so the picture here is the Photo tab's (logic.drawing_of_edges)
    size = logic.get_pipeline(model_key).size if model_key else live.SEND_SIZE
    square, _ = logic.drawing_of_edges(sketch, size)
    blocks = square.resize(logic.CANVAS_SIZE, Image.NEAREST)
    value = {"load": live.data_url(blocks, "PNG"), "model": model_key, "nonce": uuid.uuid4().hex}
    if coat and model_key and model_key in logic.coat_choices():
        value["coat"] = coat
    return value


@gpu
@user_messages(empty_result=(None, None))
def sketch_to_image(canvas: dict | None, model_key: str, seed: float = 0, coat: str | None = ""):
    """The drawing on the canvas + a model key (+ a variation, + a coat colour for edges2cats) -> the
    generated image (shown as a file of its own, and kept as PIL). The canvas arrives unprocessed: only
    files Gradio received are read."""
    image = logic.sketch_to_image(uploaded_files(canvas), model_key, seed, coat=coat)
    return output_file(image, "jpeg"), image


def _static(name: str) -> str:
    return (STATIC_DIR / name).read_text(encoding="utf-8")


def build_draw_tab() -> DrawTab:
    """Add the Draw tab's widgets and events to the current Blocks context."""
    choices = logic.model_choices()
    surface = gr.HTML(
        value=None, html_template=_static("draw_surface.html"), css_template=_static("draw_surface.css"),
        # live.render is a coroutine that queues the drawing fairly between pages (its model pass runs under gpu() inside)
        js_on_load=_static("draw_surface.js"), server_functions=[live.render, gpu(live.render_png)],
        elem_id="draw-surface", apply_default_css=False,
        # props for the script
        models=[list(choice) for choice in choices], model=logic.default_model(), examples=list(surface_examples()),
        max_seed=MAX_SEED, coats=logic.coat_choices(), fur_models=logic.fur_models(),
        fur_defaults=logic.fur_defaults(), hole_models=logic.hole_models(),
        enhance=enhancer_key() is not None,
        fair=True,  # the server replaces a page's waiting drawing: the page sends each new drawing at once
    )
    # The gradio_client endpoint /sketch_to_image, exactly as before (a Sketchpad value, a model
    # key, a seed): its components are not shown; the page itself uses the surface above.
    canvas = gr.Sketchpad(visible=False, type="pil", image_mode="RGBA", canvas_size=logic.CANVAS_SIZE,
                          layers=False, format="png", label="Your drawing")
    model = gr.Dropdown(choices=choices, value=logic.default_model(), label="Model", visible=False)
    seed = gr.Slider(0, MAX_SEED, value=0, step=1, label="Variation", visible=False)
    coat = gr.Textbox(value="", label="Coat (edges2cats: brown, tabby, ginger, cream, grey, black, white; "
                      "empty = the model's default)", visible=False)
    output = gr.Image(type="pil", format="png", visible=False, label="Generated image")
    last_image = gr.State(None)
    generate = gr.Button("Generate", visible=False)
    generate.click(sketch_to_image, [canvas, model, seed, coat], [output, last_image], api_name="sketch_to_image",
                   preprocess=False, **MODEL_CONCURRENCY)
    return DrawTab(target=surface, model=model, seed=seed, value_for_sketch=surface_value_for)
