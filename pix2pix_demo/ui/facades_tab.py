"""The Facades tab: paint a building's labels (the 12 CMP classes), get a facade photo, live.

The page uses the Draw tab's drawing surface (static/draw_surface.*) with the class colours as its
palette, a rectangle tool, a "Random facade" button (layouts drawn in code, `labels.random_facade`)
and the facades models (pix2pix or SPADE); after every stroke or box it sends the label map to
`facades_logic.render` and shows the photo. The `/labels_to_facade` API endpoint (label image, model
key, optional variation) runs on components that are not shown.
"""

from __future__ import annotations

import gradio as gr

from . import facades_logic
from .common import gpu, output_file, uploaded_files, user_messages
from .draw_tab import _static

EXAMPLE_SEEDS = (("Shutters", 0), ("Shop front", 3), ("Door", 6))  # caption, random_facade seed


# An uploaded label map (any size, decoded and snapped here) has a queue slot of its own: it never holds the slot
# of the pix2pix models' events (the Photo tab, /sketch_to_image); live drawing is not queued at all.
UPLOAD_CONCURRENCY = {"concurrency_id": "facades-upload", "concurrency_limit": 1}


def surface_examples() -> list[dict]:
    return [{"name": f"facade-{seed}", "caption": caption, "model": None, "png": facades_logic.random_png(seed)}
            for caption, seed in EXAMPLE_SEEDS]


@gpu
@user_messages(empty_result=None)
def labels_to_facade(labels, model_key: str, seed: float = 0):
    """A label image (any size; colours snapped to the classes) + a facades model key (+ a variation)
    -> the facade photo (PNG). The image arrives unprocessed: only files Gradio received are read."""
    image, note = facades_logic.labels_to_facade(uploaded_files(labels), model_key, seed)
    if note:
        gr.Info(note)
    return output_file(image, "png", stem="facade")


def build_facades_tab() -> None:
    """Add the Facades tab's widgets and events to the current Blocks context."""
    choices = facades_logic.model_choices()
    gr.Markdown("Paint the parts of a building with the class colours (**Rectangle** fills a box; the pen is "
                "for odd shapes) or start from a **Random facade**: the photo follows every change. "
                "*pix2pix* reads the colour map with a U-Net; *SPADE* modulates every layer by the labels. "
                "Both were trained briefly on a CPU (pix2pix 31 CPU-minutes, SPADE 45) on the CMP facades, which are "
                "for research use only: the U-Net's pictures are the more photographic (stone, shutters, a dark "
                "border), SPADE's the cleaner and smoother.")
    gr.HTML(
        value=None, html_template=_static("draw_surface.html"), css_template=_static("draw_surface.css"),
        js_on_load=_static("draw_surface.js"),
        server_functions=[gpu(facades_logic.render), gpu(facades_logic.render_png), facades_logic.random_drawing],
        elem_id="facades-surface", apply_default_css=False,
        models=[list(choice) for choice in choices], model=facades_logic.default_model(),
        examples=surface_examples(), max_seed=facades_logic.live.MAX_SEED, coats={},
        palette=facades_logic.palette(), ink=2, background=facades_logic.palette()[1][1], rect=True, random=True,
        hint="Paint a wall, windows and a door (or click Random facade): the photo appears here after every change.",
        empty_models="No facades model found in weights/", download_prefix="facade",
    )
    labels = gr.Image(type="filepath", image_mode="RGB", visible=False, label="Label map")
    model = gr.Dropdown(choices=choices, value=facades_logic.default_model(), label="Model", visible=False)
    seed = gr.Number(value=0, precision=0, label="Variation", visible=False)
    output = gr.Image(type="filepath", format="png", visible=False, label="Facade")
    run = gr.Button("Generate", visible=False)
    run.click(labels_to_facade, [labels, model, seed], output, api_name="labels_to_facade", preprocess=False,
              **UPLOAD_CONCURRENCY)
