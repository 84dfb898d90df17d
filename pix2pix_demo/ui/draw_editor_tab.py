"""The previous Draw tab, built on Gradio's ImageEditor (gr.Sketchpad): kept only so that
`python -m pix2pix_demo.app_benchmark --browser` can measure the old path beside the new one.

Selected with the environment variable PIX2PIX_DRAW=editor; the default Draw tab is
`draw_tab.py` (our own drawing surface). Every finished stroke here exports the canvas layers as
PNGs, uploads them and queues an event (see the README, "Live drawing: where the time goes").
"""

from __future__ import annotations

import random
from pathlib import Path

import gradio as gr

from . import live, logic
from .common import MODEL_CONCURRENCY, gpu, uploaded_files, user_messages
from .draw_tab import EXAMPLES, MAX_SEED, DrawTab, example_paths, sketch_to_image

INSTRUCTIONS = (
    "Draw with the **brush** (black; set its size in the brush menu), fix mistakes with the **eraser** "
    "or **undo**. The picture on the right updates after every stroke. Or start from an example below."
)


@gpu
@user_messages(empty_result=(None, None), warn_on_empty=False)  # a cleared canvas just clears the output
def live_sketch_to_image(canvas: dict | None, model_key: str, seed: float = 0):
    live.use_torch_threads()  # the same thread rule as the new path, so the benchmark compares transports
    image = logic.sketch_to_image(uploaded_files(canvas), model_key, seed)
    return image, image


def load_example(current_model: str, evt: gr.SelectData):
    """Gallery click -> the example in the canvas (as an editable layer) and a model that suits it."""
    path, _ = example_paths()[evt.index]
    stem = Path(path).stem
    suggested = EXAMPLES.get(stem, ("", current_model))[1]
    keys = [key for _, key in logic.model_choices()]
    model = suggested if suggested in keys else current_model
    return logic.canvas_value_for(logic.open_photo(path), line_width=1), model


@user_messages(empty_result=gr.File(visible=False))
def save_png(image):
    """The generated image -> a PNG file to download (shown as a file link)."""
    if image is None:
        raise logic.EmptyInput("Nothing to save yet: draw something first.")
    return gr.File(value=logic.save_png(image), visible=True)


def new_variation() -> int:
    return random.randint(1, MAX_SEED)


def build_editor_draw_tab() -> DrawTab:
    """Add the Draw tab's widgets and events to the current Blocks context."""
    choices = logic.model_choices()
    gr.Markdown(INSTRUCTIONS)
    with gr.Row(equal_height=True):
        canvas = gr.Sketchpad(
            value=logic.blank_canvas_value(), label="Your drawing", type="pil", image_mode="RGBA",
            canvas_size=logic.CANVAS_SIZE, fixed_canvas=True, layers=False, format="png",
            brush=gr.Brush(colors=["#000000"], default_color="#000000", color_mode="fixed", default_size=4),
            eraser=gr.Eraser(default_size=16), elem_id="draw-canvas", scale=1, height=620,
        )
        # JPEG, not PNG: encoding a 256² PNG costs ~30x more than a JPEG, on the live path after
        # every stroke. The lossless PNG is written only when asked for (the button below).
        output = gr.Image(label="Generated image", type="pil", format="jpeg", interactive=False,
                          buttons=["fullscreen"], elem_id="draw-output", scale=1, height=620)
    with gr.Row():
        model = gr.Dropdown(choices=choices, value=logic.default_model(), label="Model", scale=2,
                            elem_id="draw-model", info="What to turn the drawing into")
        with gr.Column(scale=2):
            seed = gr.Slider(0, MAX_SEED, value=0, step=1, label="Variation",
                             info="0 = the model's standard output; other numbers = variations (dropout noise)",
                             elem_id="draw-seed")
        with gr.Column(scale=1, min_width=160):
            variation = gr.Button("New variation", size="sm")
            generate = gr.Button("Generate", variant="primary", elem_id="draw-generate")
            save = gr.Button("⬇ Save PNG", size="sm", elem_id="draw-save")
    png = gr.File(label="PNG of the generated image", visible=False, elem_id="draw-png")
    last_image = gr.State(None)  # the lossless result, kept on the server for "Save PNG"
    gallery = gr.Gallery(value=example_paths(), label="Examples: click one to load it into the canvas",
                         columns=4, height=170, allow_preview=False, object_fit="contain",
                         elem_id="draw-examples", interactive=False, buttons=[])

    inputs = [canvas, model, seed]
    outputs = [output, last_image]
    live = dict(fn=live_sketch_to_image, inputs=inputs, outputs=outputs, show_progress="hidden",
                trigger_mode="always_last", api_visibility="private", **MODEL_CONCURRENCY)
    canvas.change(**live)
    model.input(**live)
    seed.change(**live)
    generate.click(sketch_to_image, inputs, outputs, api_name="sketch_to_image", show_progress="minimal",
                   **MODEL_CONCURRENCY)
    save.click(save_png, [last_image], png, api_visibility="private", show_progress="hidden")
    variation.click(new_variation, None, seed, api_visibility="private", show_progress="hidden")
    gallery.select(load_example, model, [canvas, model], api_visibility="private", show_progress="hidden")
    return DrawTab(target=canvas, model=model, seed=seed,
                   value_for_sketch=lambda sketch, model_key=None, coat=None: logic.canvas_value_for(sketch))
