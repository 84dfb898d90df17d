"""The Photo tab: a photo -> its edge map -> a generated image; the edge map can go to the Draw canvas.

The photo reaches the handler unprocessed (`preprocess=False`) so that `imaging.open_image` alone
decides what is an acceptable image and says why not (not an image, truncated, a decompression
bomb, ...); `common.uploaded_files` first makes sure it is a file Gradio received. Images go back
as files of their own (`common.output_file`).
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from ..edges import DEFAULT_EDGE_METHOD, EDGE_METHODS
from . import logic
from .common import MODEL_CONCURRENCY, gpu, output_file, uploaded_files, user_messages
from .draw_tab import DrawTab
from .enhance import enhance_handler, enhancer_key

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "photos"
INSTRUCTIONS = (
    "Upload a photo (or pick an example). Its **edges** are extracted, then turned into a new picture. "
    "Works best with a cat's face or a shoe / bag on a plain background. "
    "Use **Edit the edges in Draw** to change the edges by hand."
)


@gpu
@user_messages(empty_result=(None, None))
def photo_to_image(photo, model_key: str, edge_method: str = DEFAULT_EDGE_METHOD):
    """A photo + a model key -> (its edge map, the generated image)."""
    return _as_files(logic.photo_to_image(uploaded_files(photo), model_key, edge_method))


def _as_files(images):
    edges, image = images
    return output_file(edges, "png", "edges"), output_file(image, "png")


@gpu
@user_messages(empty_result=(None, None), warn_on_empty=False)  # removing the photo clears the outputs
def photo_changed(photo, model_key: str, edge_method: str = DEFAULT_EDGE_METHOD):
    if photo is None:
        return None, None
    return _as_files(logic.photo_to_image(uploaded_files(photo), model_key, edge_method))


@gpu
@user_messages(empty_result=(gr.skip(), None, None), warn_on_empty=False)
def model_changed(photo, model_key: str):
    """A new model: switch to the edge detector it was trained with, then regenerate."""
    if photo is None:
        return logic.model_edge_method(model_key), None, None
    logic.get_pipeline(model_key)  # a Hub model is fetched first: its config says which detector
    method = logic.model_edge_method(model_key)
    return (method, *_as_files(logic.photo_to_image(uploaded_files(photo), model_key, method)))


@user_messages(empty_result=gr.skip())
def edges_to_canvas(edges, model_key=None, *, draw: DrawTab):
    """The edge map -> the Draw tab's drawing (one undoable step there, with this tab's model)."""
    if edges is None:
        raise logic.EmptyInput("No edge map yet: upload a photo first.")
    edges = logic.canvas_image(uploaded_files(edges))  # unprocessed: only a file Gradio received is read
    return draw.value_for_sketch(edges, model_key), gr.Tabs(selected="draw")


def build_photo_tab(draw: DrawTab, tabs: gr.Tabs) -> None:
    """Add the Photo tab's widgets and events; `draw` and `tabs` receive 'Edit in Draw'."""
    gr.Markdown(INSTRUCTIONS)
    with gr.Row(equal_height=True):
        photo = gr.Image(label="Photo", type="filepath", sources=["upload", "clipboard"], elem_id="photo-input",
                         height=400)
        edges = gr.Image(label="Edge map", type="pil", format="png", interactive=False, elem_id="photo-edges",
                         height=400, buttons=["download"])
        output = gr.Image(label="Generated image", type="pil", format="png", interactive=False,
                          elem_id="photo-output", height=400, buttons=["download", "fullscreen"])
    with gr.Row():
        model = gr.Dropdown(choices=logic.model_choices(), value=logic.default_model(), label="Model",
                            elem_id="photo-model")
        method = gr.Radio(choices=[(logic.EDGE_METHOD_LABELS.get(key, key), key) for key in EDGE_METHODS],
                          value=logic.model_edge_method(logic.default_model()), label="Edge detector",
                          elem_id="photo-method",
                          info="Switches to the detector the chosen model was trained with; change it to compare.")
        with gr.Column(min_width=160):
            run = gr.Button("Generate", variant="primary", elem_id="photo-generate")
            to_draw = gr.Button("Edit the edges in Draw", elem_id="photo-to-draw")
            enhance = gr.Button("Enhance ×4", elem_id="photo-enhance", visible=enhancer_key() is not None)
    enhanced = gr.Image(label="Enhanced ×4 (SRGAN: the 256-px picture enlarged to 1024 px)", type="pil", format="png",
                        interactive=False, elem_id="photo-enhanced", buttons=["download", "fullscreen"],
                        height=480, visible=enhancer_key() is not None)
    examples = [[str(path)] for path in sorted(EXAMPLES_DIR.glob("*")) if path.suffix.lower() in (".png", ".jpg")]
    if examples:
        gr.Examples(examples, inputs=photo, label="Example photos (scikit-image, CC0)")

    inputs = [photo, model, method]
    run.click(photo_to_image, inputs, [edges, output], api_name="photo_to_image", preprocess=False,
              **MODEL_CONCURRENCY)
    gr.on([photo.change, method.input], photo_changed, inputs, [edges, output], preprocess=False,
          trigger_mode="always_last", api_visibility="private", **MODEL_CONCURRENCY)
    model.input(model_changed, [photo, model], [method, edges, output], preprocess=False,
                trigger_mode="always_last", api_visibility="private", **MODEL_CONCURRENCY)
    enhance.click(enhance_handler, output, enhanced, api_name="enhance", preprocess=False, **MODEL_CONCURRENCY)
    output.change(lambda _: None, output, enhanced, api_visibility="private", preprocess=False)  # not a stale one
    to_draw.click(functools.partial(edges_to_canvas, draw=draw), [edges, model], [draw.target, tabs],
                  api_visibility="private", preprocess=False)
