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
from .common import MODEL_CONCURRENCY, gpu, on_new_photo, output_file, uploaded_files, user_messages
from .draw_tab import DrawTab
from .enhance import enhance_handler, enhancer_key

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples" / "photos"
INSTRUCTIONS = (
    "Upload a photo (or pick an example). Its **edges** are extracted, then turned into a new picture. "
    "For cats, the cat is first cut out of the photo (the look edges2cats was trained on); "
    "shoes and bags work best on a plain background. "
    "Use **Edit the edges in Draw** to change the edges by hand."
)
CUTOUT_LABEL = "Cut the cat out first"
CUTOUT_INFO = ("The model was trained on cats cut out onto white: the photo's cat is cut out (cat segmenter) and "
               "only its own edges are used, in its own colour. Off: the edges of the whole photo.")


@gpu
@user_messages(empty_result=(None, None, ""))
def photo_to_image(photo, model_key: str, edge_method: str = DEFAULT_EDGE_METHOD, cut_out=None):
    """A photo + a model key (+ the edge detector, + whether to cut the cat out first: default on for
    models trained on cut-outs) -> (its edge map, the generated image, the colour used as "#rrggbb")."""
    return _results(logic.photo_result(uploaded_files(photo), model_key, edge_method, cutout=logic.parse_flag(cut_out, "cut_out", default=None)))


def _results(result: logic.PhotoResult):
    if result.note:
        gr.Warning(result.note)  # not an error: the picture is made from the whole photo instead
    return output_file(result.edges, "png", "edges"), output_file(result.image, "png"), result.coat_hex


@gpu
@user_messages(empty_result=(None, None, ""), warn_on_empty=False)  # removing the photo clears the outputs
def photo_changed(photo, model_key: str, edge_method: str = DEFAULT_EDGE_METHOD, cut_out=None):
    if photo is None:
        return None, None, ""
    return _results(logic.photo_result(uploaded_files(photo), model_key, edge_method, cutout=logic.parse_flag(cut_out, "cut_out", default=None)))


def cutout_checkbox(model_key: str | None):
    """The checkbox is there only for models trained on cut-outs."""
    return gr.Checkbox(visible=logic.cuts_out_cats(model_key))


@gpu
@user_messages(empty_result=(gr.skip(), gr.skip(), None, None, ""), warn_on_empty=False)
def model_changed(photo, model_key: str, cut_out=None):
    """A new model: switch to the edge detector it was trained with (and show the cut-out checkbox for a
    model trained on cut-outs), then regenerate."""
    if photo is None:
        return logic.model_edge_method(model_key), cutout_checkbox(model_key), None, None, ""
    logic.get_pipeline(model_key)  # a Hub model is fetched first: its config says which detector
    method = logic.model_edge_method(model_key)
    return (method, cutout_checkbox(model_key),
            *_results(logic.photo_result(uploaded_files(photo), model_key, method, cutout=logic.parse_flag(cut_out, "cut_out", default=None))))


def example_rows() -> list[list[str]]:
    """[photo path, model key] per example photo: a close-up cat (scikit-image's chelsea: the cat fills the photo)
    goes with the close-up model when one is installed, every other photo with the default model."""
    faces = logic.close_up_model()
    paths = [EXAMPLES_DIR / name for name in EXAMPLES]
    return [[str(path), faces if faces and path.stem in CLOSE_UP_EXAMPLES else logic.default_model()]
            for path in paths if path.is_file()]


# the Photo tab's example photos, listed (examples/photos is shared with Colourize and Fill in, whose examples are
# not all cat photos): scikit-image's CC0 chelsea and coffee
EXAMPLES = ("chelsea.png", "coffee.png")
CLOSE_UP_EXAMPLES = {"chelsea"}  # example photos that are face close-ups


@user_messages(empty_result=gr.skip())
def edges_to_canvas(edges, model_key=None, coat: str = "", *, draw: DrawTab):
    """The edge map -> the Draw tab's drawing (one undoable step there, with this tab's model and the colour
    the picture was made with)."""
    if edges is None:
        raise logic.EmptyInput("No edge map yet: upload a photo first.")
    edges = logic.canvas_image(uploaded_files(edges))  # unprocessed: only a file Gradio received is read
    return draw.value_for_sketch(edges, model_key, coat=coat or None), gr.Tabs(selected="draw")


def _show_if_filled(enhanced):
    """The enhanced picture's panel: on screen only when it holds a picture."""
    return gr.Image(visible=enhanced is not None)


def _hidden_and_empty(_):
    return gr.Image(value=None, visible=False)


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
    cut = gr.Checkbox(value=True, label=CUTOUT_LABEL, info=CUTOUT_INFO, elem_id="photo-cutout",
                      visible=logic.cuts_out_cats(logic.default_model()))
    coat = gr.State("")  # the colour of the picture shown ("#rrggbb"): "Edit the edges in Draw" takes it along
    # shown only while it holds a picture (an empty 480-px panel was always on screen)
    enhanced = gr.Image(label="Enhanced ×4 (SRGAN: the 256-px picture enlarged to 1024 px)", type="pil", format="png",
                        interactive=False, elem_id="photo-enhanced", buttons=["download", "fullscreen"],
                        height=480, visible=False)
    rows = example_rows()
    examples = gr.Examples(rows, inputs=[photo, model], label="Example photos (scikit-image, CC0)") if rows else None

    inputs = [photo, model, method, cut]
    run.click(photo_to_image, inputs, [edges, output, coat], api_name="photo_to_image", preprocess=False,
              **MODEL_CONCURRENCY)
    on_new_photo(photo, examples, photo_changed, inputs, [edges, output, coat], (None, None, ""),
                 more_triggers=[method.input, cut.input], preprocess=False, trigger_mode="always_last",
                 api_visibility="private", **MODEL_CONCURRENCY)
    model.input(model_changed, [photo, model, cut], [method, cut, edges, output, coat], preprocess=False,
                trigger_mode="always_last", api_visibility="private", **MODEL_CONCURRENCY)
    enhance.click(enhance_handler, output, enhanced, api_name="enhance", preprocess=False, **MODEL_CONCURRENCY).then(
        _show_if_filled, enhanced, enhanced, api_visibility="private", preprocess=False, show_progress="hidden")
    output.change(_hidden_and_empty, output, enhanced, api_visibility="private", preprocess=False,  # not a stale one
                  show_progress="hidden")
    to_draw.click(functools.partial(edges_to_canvas, draw=draw), [edges, model, coat], [draw.target, tabs],
                  api_visibility="private", preprocess=False)
