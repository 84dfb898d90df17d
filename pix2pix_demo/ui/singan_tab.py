"""The SinGAN tab: one sub-tab per application, plus "Train on my image".

`build_singan_tab()` is called by app.py inside an open `gr.Blocks()` / `gr.Tab`. Where things are:

- singan_handlers.py: the API endpoints (/singan_sample, /singan_edit, /singan_harmonize, /singan_paint,
  /singan_super_resolve, /singan_animate, /singan_train, /gpnn_sample), loading models, training;
- singan_canvas.py: the canvases (what a person paints -> the image and mask that are sent) and the
  examples, made from the models' own reconstructions;
- this file: the layout. `build_singan_tab` lists the sub-tabs; the three canvas applications
  (Editing, Harmonization, Paint to image) are rows of CANVAS_APPLICATIONS, each built by
  `_canvas_application_tab`; then the updates that make each sub-tab follow its selected model.

Each sub-tab follows its selected model (on page load and when the dropdown changes): the scale
sliders end at the model's last scale (read from config.json), the canvas brush offers the
model's own colours (k-means of its training image), the darkest first, and "Finish from the photo"
(Random samples, Editing, Paint to image) is offered only when the model keeps its training photo
(config.json `keeps_photo`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import gradio as gr

from .. import registry
from .. import singan_options as limits
from ..hub import ModelLoadError, read_config
from .common import output_file
from .singan_canvas import (canvas_to_edit_inputs, canvas_to_harmonize_inputs, canvas_to_painting, edit_example,
                            harmonize_example, load_example, open_canvas, paint_example, super_resolve_example)
from .singan_handlers import (MAX_TRAIN_MINUTES, MAX_TRAIN_SIZE, animate_handler, app_messages, cancel_training,
                              check_training_upload, edit_handler, gpnn_handler, harmonize_handler, model_choices,
                              model_dropdowns, model_image, paint_handler, sample_handler, singan_module,
                              super_resolve_handler, train_handler)

# application -> the shipped model that suits it (used when present)
PREFERRED = {"sample": "singan-balloons", "edit": "singan-stone", "harmonize": "singan-starry_night",
             "paint": "singan-cows", "super_resolve": "singan-33039_LR", "animate": "singan-lightning1"}
# ... and the one preferred over it when it keeps its training photo (the finish from the photo needs it: with
# the stone and the cows, trained on the papers' photos and shipped without them, its checkbox was greyed out)
PREFERRED_WITH_PHOTO = {"sample": "singan-chelsea", "edit": "singan-chelsea", "paint": "singan-chelsea"}
TRAIN_CONCURRENCY = {"concurrency_id": "singan-train", "concurrency_limit": 1}
APPLY_CONCURRENCY = {"concurrency_id": "singan-apply", "concurrency_limit": 1}


@dataclass
class SinGANTab:
    dropdowns: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class CanvasApplication:
    """What one canvas sub-tab is made of (see `_canvas_application_tab`)."""

    name: str  # the endpoint is /singan_<name>; elem_ids are singan-<name>-*
    title: str
    description: str
    canvas_label: str
    button_label: str
    sent_labels: tuple[str, ...]  # what is sent: one image, or an image and its mask
    example: Callable  # model key -> canvas value ("Load the example")
    prepare: Callable  # (canvas, remembered example) -> the sent image(s)
    handler: Callable  # (model, *sent, injection_scale, seed, *extras[, finish]) -> image
    extra_inputs: Callable[[], list] = list  # more controls, after the seed
    # the "Finish from the photo" checkbox's info (the handler's last input is `finish`); None: no finish
    finish_info: str | None = None
    finish_by_default: bool = True  # ticked when the model keeps its photo (False: the person opts in)


CANVAS_APPLICATIONS = (
    CanvasApplication(
        "edit", "Editing",
        "Paint an edit on the model's image (or upload your edited version of it): the painted strokes are "
        "the edit **and** the mask; SinGAN re-renders them in the image's style. The example copies a piece "
        "of the image elsewhere (that piece is in the mask too; paint more to add to it).",
        canvas_label="Edit here", button_label="Edit", sent_labels=("Edited image (sent)", "Mask (sent)"),
        example=edit_example, prepare=canvas_to_edit_inputs, handler=edit_handler,
        finish_info="Rebuilds the re-rendered region's fine texture from the training photo's own patches "
                    "(inside the mask only). It can undo an edit the photo has no place for: a copied eye "
                    "became fur again.",
        finish_by_default=False),
    CanvasApplication(
        "harmonize", "Harmonization",
        "Paste an object onto the model's image and SinGAN blends it in. The example pastes a piece of another "
        "model's image (the piece is the mask). Or upload your own naive paste and paint over the pasted "
        "object: the paint only marks the mask, the picture is sent without it.",
        canvas_label="Paste / mark here", button_label="Harmonize", sent_labels=("Naive paste (sent)", "Mask (sent)"),
        example=harmonize_example, prepare=canvas_to_harmonize_inputs, handler=harmonize_handler),
    CanvasApplication(
        "paint", "Paint to image",
        "Paint flat colour regions; SinGAN fills them with the training image's textures. The example is a "
        "flat-colour version of the model's own image: paint over it.",
        canvas_label="Paint here", button_label="Paint to image", sent_labels=("Painting (sent)",),
        example=paint_example, prepare=canvas_to_painting, handler=paint_handler,
        extra_inputs=lambda: [gr.Checkbox(value=True, label="Snap colours to the training image's palette")],
        finish_info="Rebuilds the result's fine texture from the training photo's own patches; the layout "
                    "stays your painting's. Regions the photo has no match for become collages of its pieces."),
)


# ----------------------------------------------------------------------------- the tab
def build_singan_tab() -> SinGANTab:
    """Add the SinGAN sub-tabs to the open Blocks context; returns the components (for tests)."""
    model_dropdowns.clear()
    tab = SinGANTab()
    if not model_choices():
        gr.Markdown("No SinGAN models were found in the weights folder. Train one in **Train on my image**.")
    gr.Markdown(f"Limits (they keep every request short): pictures larger than {limits.MAX_INPUT_SIDE} px are shrunk "
                f"to {limits.MAX_INPUT_SIDE} px first, super-resolution results are at most "
                f"{limits.MAX_SUPER_RESOLVE_SIDE} px, animations have at most {limits.MAX_FRAMES} frames.")
    with gr.Tabs():
        _random_samples_tab(tab)
        for application in CANVAS_APPLICATIONS:
            _canvas_application_tab(tab, application)
        _super_resolution_tab(tab)
        _animation_tab(tab)
        _train_tab(tab)
    return tab


def _random_samples_tab(tab: SinGANTab) -> None:
    """SinGAN samples of the selected model, and GPNN samples of any picture (no training)."""
    with gr.Tab("Random samples"):
        gr.Markdown("New images with the same patches as the training image, at any size. **How new** a "
                    "sample is: from scale 0 (the default) the layout is new (a model trained with the warp layout "
                    "moves, widens and narrows the photo's own objects; an older one draws it from noise); "
                    "starting from a finer scale keeps the training image's layout up to it (as in SinGAN's "
                    "paper), so the sample comes closer to the photo the finer the start.")
        with gr.Row():
            with gr.Column():
                model = _model_dropdown("sample")
                seed = gr.Number(value=1, label="Seed", precision=0)
                width = gr.Slider(0.5, 3.0, value=2.0, step=0.25, label="Width × training width")
                height = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Height × training height")
                start = gr.Slider(0, _slider_ceiling(), value=0, step=1, label=HOW_NEW_LABEL,
                                  info=_how_new_info(None), elem_id="singan-sample-start")
                finish = _finish_checkbox(model, "sample", FINISH_INFO)
                button = gr.Button("Generate", variant="primary", elem_id="singan-sample-run")
            output = gr.Image(label="Sample", type="pil", format="png", elem_id="singan-sample-output")
        button.click(sample_handler, [model, seed, width, height, start, finish], output, api_name="singan_sample",
                     preprocess=False, **APPLY_CONCURRENCY)
        _on_model_change(model, how_new_update, [model, start], start)
        tab.dropdowns["sample"], tab.outputs["sample"] = model, output
        gr.Markdown("**Instant, no training: patch nearest neighbours** ([GPNN](https://arxiv.org/abs/2103.15545), "
                    "\"Drop the GAN\"). Upload any picture: a new arrangement of its patches in a few seconds "
                    "(the picture is worked on at 250 px). Sharp at once, no waiting for training, but it invents "
                    "nothing: it rearranges and repeats whole pieces of the picture.")
        with gr.Row():
            with gr.Column():
                gpnn_in = gr.Image(label="Any picture", type="pil", height=240, elem_id="gpnn-input")
                use_model = gr.Button("Use the selected model's image", elem_id="gpnn-model-image")
                gpnn_seed = gr.Number(value=1, label="Seed", precision=0)
                gpnn_width = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Width × picture width")
                gpnn_height = gr.Slider(0.5, 3.0, value=1.0, step=0.25, label="Height × picture height")
                gpnn_button = gr.Button("Generate (GPNN)", variant="primary", elem_id="gpnn-run")
            gpnn_out = gr.Image(label="GPNN sample", type="pil", format="png", elem_id="gpnn-output")
        use_model.click(model_image, model, gpnn_in, api_visibility="private", **APPLY_CONCURRENCY)
        gpnn_button.click(gpnn_handler, [gpnn_in, gpnn_seed, gpnn_width, gpnn_height], gpnn_out,
                          api_name="gpnn_sample", preprocess=False, **APPLY_CONCURRENCY)
        tab.outputs["gpnn"] = gpnn_out


def _finish_checkbox(model, application: str, info: str, by_default: bool = True):
    """"Finish from the photo" (elem_id singan-<application>-finish), following `model`. Built unticked (what
    an API client that leaves it out gets); page load / model change tick it when the model keeps its
    photo and `by_default` (finish_update), and a gr.State remembers the person's choice. Call inside the
    sub-tab's layout."""
    finish = gr.Checkbox(value=False, label=FINISH_LABEL, info=info, elem_id=f"singan-{application}-finish")
    wanted = gr.State(bool(by_default))
    finish.input(lambda ticked: bool(ticked), finish, wanted, api_visibility="private", queue=False,
                 show_progress="hidden")
    _on_model_change(model, lambda key, keep: finish_update(key, keep, info), [model, wanted], finish)
    return finish


def _canvas_application_tab(tab: SinGANTab, app: CanvasApplication) -> None:
    """One canvas sub-tab (editing, harmonization, paint to image).

    Left: model dropdown, "Load the example" (`app.example(model) -> canvas value`) and the canvas.
    Right: injection scale, seed, `app.extra_inputs()` (more controls), "Finish from the photo" (when
    `app.finish_info`; it follows the model as in Random samples), the button, what is sent
    (`app.sent_labels`: one image, or an image and its mask) and the result. The button runs
    `app.prepare(canvas, remembered example) -> sent images` (shown), then the endpoint
    /singan_<app.name>: `app.handler(model, *sent, injection_scale, seed, *extras[, finish]) -> image`."""
    application = app.name
    with gr.Tab(app.title):
        gr.Markdown(app.description)
        with gr.Row():
            with gr.Column():
                model = _model_dropdown(application)
                load = gr.Button("Load the example", elem_id=f"singan-{application}-example")
                canvas = gr.ImageEditor(type="pil", image_mode="RGBA", label=app.canvas_label, brush=_brush(),
                                        height=360, format="png", elem_id=f"singan-{application}-canvas")
            with gr.Column():
                injection = gr.Slider(-1, _slider_ceiling(), value=-1, step=1, label="Injection scale",
                                      info=_injection_info(num_scales(default_model(application)), application),
                                      elem_id=f"singan-{application}-injection")
                seed = gr.Number(value=0, label="Seed", precision=0)
                extras = app.extra_inputs()
                if app.finish_info:
                    extras.append(_finish_checkbox(model, application, app.finish_info, app.finish_by_default))
                button = gr.Button(app.button_label, variant="primary", elem_id=f"singan-{application}-run")
                with gr.Row():  # the second sent image, if any, is the mask
                    sent = [gr.Image(label=label, type="pil", height=160, image_mode="L" if i else "RGB",
                                     interactive=False, elem_id=f"singan-{application}-{'mask' if i else 'sent'}")
                            for i, label in enumerate(app.sent_labels)]
                output = gr.Image(label="Result", type="pil", format="png", elem_id=f"singan-{application}-output")
        remembered = gr.State(None)  # the loaded example's picture and mask (see load_example)

        def load_into_canvas(model_key):
            return load_example(app.example, model_key)

        load.click(load_into_canvas, model, [canvas, remembered], api_visibility="private")
        _on_model_change(model, lambda key, value: injection_scale_update(key, value, application),
                         [model, injection], injection)
        _on_model_change(model, brush_update, model, canvas, queue=True)  # loads the model: queued

        @app_messages
        def prepare_files(canvas_value, example_value):
            """The canvas (unprocessed: only uploaded files are read) -> the images that are sent, as files
            of their own (see output_file)."""
            images = app.prepare(open_canvas(canvas_value), example_value)
            images = images if isinstance(images, tuple) else (images,)
            files = tuple(output_file(image, "png", "sent") for image in images)
            return files if len(files) > 1 else files[0]

        button.click(prepare_files, [canvas, remembered], sent, api_visibility="private", preprocess=False).success(
            app.handler, [model, *sent, injection, seed, *extras], output, api_name=f"singan_{application}",
            preprocess=False, **APPLY_CONCURRENCY)
    tab.dropdowns[application], tab.outputs[application] = model, output


def _super_resolution_tab(tab: SinGANTab) -> None:
    with gr.Tab("Super-resolution"):
        gr.Markdown("Enlarge ×2 or ×4. **SinGAN**: in small steps with the model's finest generator; works best on "
                    "the model's own image (the example) or a similar one. **SRGAN ×4**: our super-resolution "
                    "network trained on photos (cats, shoes, bags; `weights/srgan-x4`): no SinGAN model needed, "
                    "any photo-like picture (×2 is its ×4 shrunk by half).")
        with gr.Row():
            with gr.Column():
                model = _model_dropdown("super_resolve")
                load = gr.Button("Load the example")
                image_in = gr.Image(label="Low-resolution image", type="pil", height=240)
                factor = gr.Radio([2, 4], value=4, label="Factor")
                method = gr.Radio([("SinGAN (this model's finest generator)", "singan"),
                                   ("SRGAN ×4 (trained on photos)", "srgan")], value="singan", label="Method",
                                  elem_id="singan-super-resolve-method")
                seed = gr.Number(value=0, label="Seed (SinGAN)", precision=0)
                button = gr.Button("Enlarge", variant="primary")
            output = gr.Image(label="Enlarged", type="pil", format="png")
        load.click(super_resolve_example, model, image_in, api_visibility="private")
        button.click(super_resolve_handler, [model, image_in, factor, seed, method], output,
                     api_name="singan_super_resolve", preprocess=False, **APPLY_CONCURRENCY)
        tab.dropdowns["super_resolve"], tab.outputs["super_resolve"] = model, output


def _animation_tab(tab: SinGANTab) -> None:
    with gr.Tab("Animation"):
        gr.Markdown("A random walk in noise space around the training image. Alpha: how close to the "
                    "image (1 = still); beta: how smooth the motion (1 = smoothest).")
        with gr.Row():
            with gr.Column():
                model = _model_dropdown("animate")
                frames = gr.Slider(2, limits.MAX_FRAMES, value=30, step=1, label="Frames",
                                   elem_id="singan-animate-frames")
                alpha = gr.Slider(0.0, 1.0, value=0.1, step=0.05, label="Alpha")
                beta = gr.Slider(0.0, 1.0, value=0.9, step=0.05, label="Beta")
                start = gr.Slider(0, _slider_ceiling(), value=0, step=1, label="Start scale",
                                  elem_id="singan-animate-start")
                seed = gr.Number(value=0, label="Seed", precision=0)
                button = gr.Button("Animate", variant="primary", elem_id="singan-animate-run")
            output = gr.Image(label="Animation (GIF)", type="filepath", format="gif",
                              elem_id="singan-animate-output")
        button.click(animate_handler, [model, frames, alpha, beta, start, seed], output,
                     api_name="singan_animate", preprocess=False, **APPLY_CONCURRENCY)
        _on_model_change(model, start_scale_update, [model, start], start)
        tab.dropdowns["animate"], tab.outputs["animate"] = model, output


def _train_tab(tab: SinGANTab) -> None:
    """Train a new SinGAN on an upload; the finished model is selected in every sub-tab's dropdown
    (so this sub-tab is built last, after all of them)."""
    with gr.Tab("Train on my image"):
        gr.Markdown("Upload a photo; a new SinGAN trains on this machine (one training at a time, the other "
                    "tabs keep working). An instant patch-based preview comes first, then SinGAN samples "
                    "that sharpen as the scales train, then a sample *finished from your photo* (its fine "
                    "texture rebuilt from the photo's own patches: sharper, a few seconds more). The finished model "
                    "is selected in every SinGAN tab. About 3 minutes gives a usable 250-px model on a 2-core "
                    "CPU. **The model keeps a copy of your photo** (at the model's size) for the finish: it is "
                    "stored on this server with the model.")
        with gr.Row():
            with gr.Column():
                upload = gr.Image(label="Your image", type="pil", height=240, elem_id="singan-train-upload")
                name = gr.Textbox(label="Name", placeholder="e.g. my-garden")
                minutes = gr.Slider(0.1, MAX_TRAIN_MINUTES, value=3, step=0.1, label="Time budget (minutes)",
                                    elem_id="singan-train-minutes")
                size = gr.Slider(32, MAX_TRAIN_SIZE, value=250, step=2, label="Model size (px, long side)",
                                 elem_id="singan-train-size")
                with gr.Row():
                    train = gr.Button("Train", variant="primary", elem_id="singan-train-run")
                    cancel = gr.Button("Cancel", variant="stop")
            with gr.Column():
                status = gr.Markdown(elem_id="singan-train-status")
                preview = gr.Image(label="Preview (instant, then the scales as they train, then finished)",
                                   type="pil", format="png", height=320, elem_id="singan-train-preview")
        # a file that is not a picture: cleared with the reason at once (not a broken-image icon until Train)
        upload.upload(check_training_upload, upload, [status, upload], preprocess=False, queue=False,
                      api_visibility="private")
        # the handler draws its own bar in the status (Gradio's, over the outputs, vanished at every new preview)
        train.click(train_handler, [upload, name, minutes, size], [status, preview, *model_dropdowns],
                    api_name="singan_train", preprocess=False, show_progress="hidden", **TRAIN_CONCURRENCY)
        cancel.click(cancel_training, None, None, api_visibility="private", queue=False)
        tab.outputs["train"] = preview


# ----------------------------------------------------------------------------- following the selected model
def default_model(application: str) -> str | None:
    keys = [key for _, key in model_choices()]
    with_photo = PREFERRED_WITH_PHOTO.get(application)
    if with_photo in keys and keeps_photo(with_photo):
        return with_photo
    preferred = PREFERRED.get(application)
    return preferred if preferred in keys else (keys[0] if keys else None)


def _model_dropdown(application: str):
    # allow_custom_value: a model this session trained at run time is accepted by key (another session's
    # model does not exist for it: ui/user_models)
    dropdown = gr.Dropdown(choices=model_choices(), value=default_model(application), label="SinGAN model",
                           allow_custom_value=True, info="Each model was trained on one image.",
                           elem_id=f"singan-{application}-model")
    model_dropdowns.append(dropdown)
    return dropdown


def _on_model_change(model, fn, inputs, outputs, queue: bool = False):
    """Run `fn` when the page loads and whenever the model dropdown changes (also after training)."""
    root = gr.context.Context.root_block
    triggers = ([root.load] if root is not None else []) + [model.change]
    gr.on(triggers, fn, inputs, outputs, api_visibility="private", queue=queue, show_progress="hidden")


INJECTION_INFO = "Scale where your input enters the pyramid: lower = bigger changes. -1 = the default."
# after the model's own colours (see model_palette); white is last: a first stroke in white leaves a smudge
BRUSH_COLORS = ["#000000", "#d62728", "#1f77b4", "#ffffff"]
_palettes: dict[str, tuple[object, list[str]]] = {}  # model key -> (the loaded model, its palette)


def _brush(palette=()):
    """The canvases' brush: the model's palette (if known) then BRUSH_COLORS; the default is the first."""
    colors = list(palette) + [color for color in BRUSH_COLORS if color not in palette]
    return gr.Brush(colors=colors, default_color=colors[0], default_size=12, color_mode="defaults")


def model_palette(model_key, num_colors: int = 5) -> list[str]:
    """The model's training-image colours (k-means, darkest first) as "#rrggbb"; [] when it cannot load.
    Cached per loaded model (about 0.4 s the first time: one reconstruction)."""
    try:
        model = registry.load(model_key) if model_key else None
    except (registry.ModelUnavailable, ValueError, OSError):
        return []
    if model is None:
        return []
    cached = _palettes.get(model_key)
    if cached is not None and cached[0] is model:
        return cached[1]
    colors = sorted(singan_module().training_palette(model, num_colors).tolist(),
                    key=lambda rgb: 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2])
    palette = list(dict.fromkeys("#{:02x}{:02x}{:02x}".format(*rgb) for rgb in colors))
    _palettes[model_key] = (model, palette)
    return palette


def brush_update(model_key):
    """Page load / model change: the canvas brush offers (and starts with) the model's own colours."""
    return gr.update(brush=_brush(model_palette(model_key)))


def _architecture(model_key) -> dict | None:
    """The model's config.json "architecture" (weights are not loaded); None if unknown (no such model,
    or a Hub model that is not downloaded yet)."""
    entry = registry.list_models("singan").get(model_key) if model_key else None
    if entry is None:
        return None
    try:
        if entry.local:
            config = read_config(entry.source)
        else:
            from huggingface_hub import try_to_load_from_cache

            path = try_to_load_from_cache(entry.source, "config.json", revision=entry.revision)
            if not isinstance(path, str):
                return None
            config = read_config(Path(path).parent)
        architecture = config["architecture"]
        return architecture if isinstance(architecture, dict) else None
    except (ModelLoadError, KeyError, TypeError, OSError, ValueError):
        return None


def num_scales(model_key) -> int | None:
    """The model's number of scales, read from its config.json (weights are not loaded); None if unknown
    (no such model, or a Hub model that is not downloaded yet)."""
    architecture = _architecture(model_key)
    try:
        return len(architecture["shapes"]) or None
    except (KeyError, TypeError):
        return None


def keeps_photo(model_key) -> bool | None:
    """Whether the model keeps its training photo (config.json `keeps_photo`; models saved before it
    existed do not); None if unknown, like num_scales."""
    architecture = _architecture(model_key)
    return None if architecture is None else architecture.get("keeps_photo") is True


FINISH_LABEL = "Finish from the photo (sharper; a few seconds on a CPU)"
FINISH_INFO = "Rebuilds the sample's fine texture from the training photo's own patches; the layout stays SinGAN's."
FINISH_NO_PHOTO = ("Not available for this model: it was shipped or saved without its training photo (the "
                   "photo's licence did not allow shipping it, or the model predates models keeping it).")
FINISH_UNKNOWN = ("Needs the model's training photo: whether this model keeps it is known once it is downloaded "
                  "(running it says so if it does not).")


def finish_update(model_key, wanted=True, info: str = FINISH_INFO):
    """Model change: "Finish from the photo" is ticked (as the person last left it) and clickable when the
    model keeps its photo (`info`: what it does, per sub-tab); unticked and greyed out, saying why, when
    it does not."""
    keeps = keeps_photo(model_key)
    if keeps is False:
        return gr.update(value=False, interactive=False, info=FINISH_NO_PHOTO)
    return gr.update(value=bool(wanted), interactive=True, info=info if keeps else FINISH_UNKNOWN)


def _clamp(value, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return low


def start_scale_update(model_key, value=0):
    """Model change: the "Start scale" slider goes from 0 to the model's last scale (value clamped)."""
    n = num_scales(model_key)
    return gr.update() if n is None else gr.update(maximum=n - 1, value=_clamp(value, 0, n - 1))


HOW_NEW_LABEL = "How new: start scale (0 = a new scene)"


def _how_new_info(n: int | None) -> str:
    """The Random samples "How new" slider's info, for a model of n scales (None: not known yet)."""
    if n is None:
        return ("0: a new layout (a new scene); higher: the training image's layout up to that scale, "
                "with new detail above it.")
    return (f"0: a new layout (a new scene); 1 to {n - 1} (this model's finest): the training image's layout up to "
            "that scale, new detail above it (close to the photo: the scales above the coarsest add little noise).")


def how_new_update(model_key, value=0):
    """Model change in Random samples: `start_scale_update` (the slider ends at the model's last scale)
    and an info that says what its start scales give for this model."""
    n = num_scales(model_key)
    if n is None:
        return gr.update(info=_how_new_info(None))
    return gr.update(maximum=n - 1, value=_clamp(value, 0, n - 1), info=_how_new_info(n))


def injection_scale_update(model_key, value=-1, application: str = "edit"):
    """Model change: the "Injection scale" slider goes from -1 (the default) to the model's last scale;
    the info names the default scale for this model."""
    n = num_scales(model_key)
    if n is None:
        return gr.update(info=_injection_info(n, application))
    return gr.update(maximum=n - 1, value=_clamp(value, -1, n - 1), info=_injection_info(n, application))


def _injection_info(n: int | None, application: str) -> str:
    if n is None:
        return INJECTION_INFO
    default = limits.default_injection_scale(n, application)
    return f"{INJECTION_INFO} This model: 0 to {n - 1}, default {default}."


def _slider_ceiling() -> int:
    """The scale sliders' maximum as built: the last scale of the deepest model listed or trainable in
    the app. Gradio rejects API values above a slider's maximum before the handler runs, so this must
    admit every valid scale of every model (a model's own range is checked by pix2pix_demo.singan, with
    a clear message); in the browser, the page-load event narrows each slider to its selected model."""
    trainable = limits.pyramid_shapes(MAX_TRAIN_SIZE, MAX_TRAIN_SIZE, limits.TrainOptions(max_size=MAX_TRAIN_SIZE))
    return max([len(trainable[0])] + [num_scales(key) or 0 for key in registry.list_models("singan")]) - 1
