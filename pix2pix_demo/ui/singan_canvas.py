"""The SinGAN canvases (editing, harmonization, paint to image) and the examples the tab loads.

In the browser, the edit / paste / paint inputs come from canvases: what the person paints on the
canvas is the mask (edit, harmonize) or the painting (paint); a "prepare" step turns the canvas into
the plain image + mask that the endpoint takes (`canvas_to_*`) and shows them. Examples are made from
the shipped models' own reconstructions (`*_example`), so they work on a fresh checkout without any
image files.
"""

from __future__ import annotations

import gradio as gr
import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..imaging import open_image, to_rgb
from .common import uploaded_files
from .singan_handlers import load_model, model_choices, reconstruction, singan_module

PASTE_SOURCE = "singan-chelsea"  # the harmonization example pastes a piece of this model's image


# ----------------------------------------------------------------------------- canvas values
def open_canvas(value):
    """A raw ImageEditor value (preprocess=False) -> {background, layers, composite} as RGBA PIL images
    (what Gradio's preprocessing gave), reading only files Gradio received; None stays None."""
    if not isinstance(value, dict):
        return value
    value = uploaded_files(value)

    def load(item):
        if item is None or isinstance(item, Image.Image):
            return item
        image = open_image(item)
        return (to_rgb(image) if image.mode in ("I;16", "I;16B", "I;16L", "I", "F") else image).convert("RGBA")

    return {"background": load(value.get("background")), "layers": [load(layer) for layer in value.get("layers") or []],
            "composite": load(value.get("composite"))}


def _as_pil(value) -> Image.Image | None:
    if value is None:
        return None
    return value if isinstance(value, Image.Image) else Image.fromarray(np.asarray(value))


def _layers_alpha(canvas: dict) -> np.ndarray | None:
    layers = [layer for layer in (canvas.get("layers") or []) if layer is not None]
    if not layers:
        return None
    alphas = [np.asarray(Image.fromarray(np.asarray(layer)) if not isinstance(layer, Image.Image) else layer)
              for layer in layers]
    alphas = [a[:, :, 3] if a.ndim == 3 and a.shape[2] == 4 else np.zeros(a.shape[:2], np.uint8) for a in alphas]
    return np.max(np.stack(alphas), axis=0)


def _composite(background: Image.Image, layers) -> Image.Image:
    """Background with the layers on top (what the editor shows), RGBA."""
    out = background.convert("RGBA")
    for layer in layers or []:
        layer = _as_pil(layer)
        if layer is not None:
            out.alpha_composite(layer.convert("RGBA").resize(out.size))
    return out


def _on_white(image: Image.Image) -> Image.Image:
    """The image as RGB, its transparent parts white (a canvas value from the browser is RGBA)."""
    base = Image.new("RGB", image.size, "white")
    if image.mode == "RGBA":
        base.paste(image, mask=image.getchannel("A"))
    else:
        base.paste(image.convert("RGB"))
    return base


# ----------------------------------------------------------------------------- canvas -> what is sent
def canvas_to_image_and_mask(canvas, use_composite: bool = True, example: dict | None = None):
    """ImageEditor value -> (RGB image, L mask). The mask is everything painted on the layers, plus
    the example's pasted piece while the canvas still shows the example (`example`: see load_example);
    the image is the composite (edit: the strokes are the edit) or the background (harmonize: the
    strokes only mark the pasted object)."""
    if not canvas or canvas.get("background") is None:
        raise gr.Error("The canvas is empty: load the example or upload a picture first.", print_exception=False)
    background = _as_pil(canvas["background"])
    composite = _as_pil(canvas.get("composite")) or _composite(background, canvas.get("layers"))
    alpha = _layers_alpha(canvas)
    pasted = _example_mask(background, example)
    if pasted is not None:
        alpha = pasted if alpha is None or alpha.shape != pasted.shape else np.maximum(alpha, pasted)
    if alpha is None or alpha.max() == 0:
        raise gr.Error("Nothing is painted on the canvas: paint over the region to change with the brush.",
                       print_exception=False)
    base = _on_white(composite if use_composite else background)
    mask = Image.fromarray(np.where(alpha > 0, 255, 0).astype(np.uint8), "L")
    if mask.size != base.size:
        mask = mask.resize(base.size, Image.NEAREST)
    return base, mask


def _example_mask(background: Image.Image, example: dict | None) -> np.ndarray | None:
    """The loaded example's mask, if the canvas still shows the example's picture (not after an upload)."""
    if not example:
        return None
    shown = np.asarray(background.convert("RGB"), np.int16)
    picture = np.asarray(example["background"].convert("RGB"), np.int16)
    if shown.shape != picture.shape or np.abs(shown - picture).mean() > 2:
        return None
    return np.asarray(example["mask"].convert("L"))


def canvas_to_edit_inputs(canvas, example: dict | None = None):
    """The picture with the strokes in it (the edit) + the mask (strokes and the example's piece)."""
    return canvas_to_image_and_mask(canvas, use_composite=True, example=example)


def canvas_to_harmonize_inputs(canvas, example: dict | None = None):
    """The background (the naive paste) + the mask (the example's pasted piece and any strokes)."""
    return canvas_to_image_and_mask(canvas, use_composite=False, example=example)


def canvas_to_painting(canvas, example: dict | None = None):
    """The painting as the canvas shows it (`example` is unused: paintings have no mask)."""
    if not canvas or (canvas.get("composite") is None and canvas.get("background") is None):
        raise gr.Error("The canvas is empty: load the example or paint something first.", print_exception=False)
    return _on_white(_as_pil(canvas.get("composite")) or _as_pil(canvas["background"]))


# ----------------------------------------------------------------------------- examples
def _layer(size, patch: Image.Image, box_xy, alpha: Image.Image) -> Image.Image:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    rgba = patch.convert("RGBA")
    rgba.putalpha(alpha)
    layer.paste(rgba, box_xy, rgba)
    return layer


def _ellipse_alpha(size) -> Image.Image:
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).ellipse((0, 0, size[0] - 1, size[1] - 1), fill=255)
    return alpha


def edit_example(model_key):
    """The reconstruction with a piece copied elsewhere (on its own layer = the mask)."""
    image = reconstruction(model_key)
    w, h = image.size
    pw, ph = w // 4, h // 3
    patch = image.crop((w // 8, h // 2, w // 8 + pw, h // 2 + ph))
    layer = _layer(image.size, patch, (w // 2, h // 6), _ellipse_alpha(patch.size))
    return {"background": image, "layers": [layer], "composite": _composite(image, [layer])}


def harmonize_example(model_key):
    """A piece of another model's image (the cat's face, if chelsea is shipped) pasted onto this one."""
    background = reconstruction(model_key)
    keys = [key for _, key in model_choices()]
    source_key = PASTE_SOURCE if PASTE_SOURCE in keys and PASTE_SOURCE != model_key else \
        next((k for k in keys if k != model_key), model_key)
    source = reconstruction(source_key)
    sw, sh = source.size
    piece = source.crop((int(sw * 0.35), int(sh * 0.15), int(sw * 0.75), int(sh * 0.75)))
    w, h = background.size
    scale = 0.4 * h / piece.size[1]
    piece = piece.resize((max(8, round(piece.size[0] * scale)), max(8, round(piece.size[1] * scale))), Image.LANCZOS)
    layer = _layer(background.size, piece, (int(w * 0.55), int(h * 0.5)), _ellipse_alpha(piece.size))
    return {"background": background, "layers": [layer], "composite": _composite(background, [layer])}


def paint_example(model_key):
    """A flat-colour 'painting' of the reconstruction: its 5 k-means colours, smoothed."""
    model = load_model(model_key)
    image = reconstruction(model_key).filter(ImageFilter.MedianFilter(9))
    singan = singan_module()
    painting = singan.quantize_to_palette(image, singan.training_palette(model, 5)).filter(ImageFilter.ModeFilter(7))
    return {"background": painting, "layers": [], "composite": painting}


def super_resolve_example(model_key):
    return reconstruction(model_key)


def load_example(example, model_key):
    """example(model_key) -> (its canvas value with the layers merged into the picture, what to remember:
    {"background": that picture, "mask": the layers' alpha}, or None when it has no layers).

    The browser's editor merges loaded layers into the background as soon as you draw, which would
    drop the pasted piece from the mask; so the piece's mask is kept on the server (a gr.State)."""
    value = example(model_key)
    alpha = _layers_alpha(value)
    if alpha is None or not alpha.any():
        return value, None
    picture = _composite(_as_pil(value["background"]), value["layers"])
    return ({"background": picture, "layers": [], "composite": picture},
            {"background": picture, "mask": Image.fromarray(alpha, "L")})
