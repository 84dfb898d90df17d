"""The Translate tab: a photo in, the same photo in another domain out (CycleGAN: cat ↔ Bengal; StarGAN: coats;
the classical coat recolour beside it).

The translators come from `pix2pix_demo.translate.translators()` (the CycleGAN folders paired by
training run, any StarGAN model with its domains, and the classical recolour when the cat segmenter is
there). Each choice says whether it is learned (a GAN) or classical, and a note under the controls
says what the chosen method does. The target domain is a Radio whose choices
follow the chosen translator. The photo reaches the handler unprocessed (`preprocess=False`), so
`imaging.open_image` alone decides what is an image; the `/translate_photo(image, model, target)`
endpoint is the Translate button's.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import translate
from ..imaging import ImageError, open_image
from . import logic
from .common import MODEL_CONCURRENCY, gpu, output_file, uploaded_files, user_messages

EXAMPLES = [Path(__file__).resolve().parents[2] / "examples" / "photos" / "chelsea.png"]  # a tabby, CC0
INSTRUCTIONS = (
    "Upload a photo of a cat and give it a **Bengal's leopard spots**, or turn a Bengal into an **ordinary cat**. "
    "**Cat ↔ Bengal (CycleGAN)** learned this from *unpaired* photos (ordinary cats on one side, Bengals on the "
    "other, never the same cat twice) in 20 CPU-minutes: expect warmer fur with a fine, dotted grain and some blur, "
    "not crisp rosettes. **Cat coat colours (StarGAN)** is a single network for four coats: pick **Black**, "
    "**Ginger**, **Grey tabby** or **White / cream** under *Turn it into* and the cat's coat changes (22 CPU-minutes "
    "of training: black and ginger look like their names, strongly; grey tabby and white / cream come out violet "
    "and blue, and some colour leaks onto the background around the cat). Pictures come back at the small scale "
    "the models learned (short side 128-144 px). **Cat coats: Recolour (classical, segmenter mask)** is no "
    "GAN: it recolours the cat our segmenter finds to the same four coats, at the photo's own size (up to 1024 px), "
    "and measures better than the StarGAN (see the note under the model).")
LEARNED_NOTE = ("**Learned** (a GAN trained on our photos): the network paints the whole picture itself and needs "
                "no mask; it shows what the GAN learned, flaws included.")
CLASSICAL_NOTE = ("**Classical** (no GAN): our cat segmenter finds the cat, then its lightness and colour are moved "
                  "to the chosen coat's; the fur, the light and the background are the photo's own. On 120 "
                  "held-out photos the coat came out in the chosen colour 84 % of the time (the StarGAN: 45 %), "
                  "with the background kept (SSIM 0.99; StarGAN 0.90). Fails where the segmenter misses the cat "
                  "or takes in a cushion next to it.")


def translator_choices() -> list[tuple[str, str]]:
    """(label, key) of every translator: CycleGAN pairs first, the classical ones last; a learned one's label
    says so (a classical one's label names its method)."""
    found = translate.translators()
    order = sorted(found, key=lambda key: (not isinstance(found[key], translate.CycleGANTranslator),
                                           not found[key].learned, key))
    return [(found[key].label + (" — learned" if found[key].learned else ""), key) for key in order]


def method_note(key: str | None) -> str:
    """What the chosen translator is: learned (a GAN) or classical."""
    found = translate.translators()
    if key not in found:
        return ""
    return LEARNED_NOTE if found[key].learned else CLASSICAL_NOTE


def default_translator() -> str | None:
    choices = translator_choices()
    return choices[0][1] if choices else None


def target_choices(key: str | None) -> list[tuple[str, str]]:
    """(label, domain) of a translator's targets; none for an unknown key."""
    found = translate.translators()
    if key not in found:
        return []
    return [(found[key].target_label(target), target) for target in found[key].targets]


def translate_image(image, model_key, target):
    """A PIL image + a translator key + a target domain -> the translated PIL image (InputError otherwise)."""
    try:
        translator = translate.get_translator(model_key, logic.device())
        return translator.translate(image, target)
    except translate.TranslateError as error:
        raise logic.InputError(str(error)) from None


def _open(image):
    try:
        return open_image(uploaded_files(image))
    except ImageError as error:
        raise logic.InputError(str(error)) from None


@gpu
@user_messages(empty_result=None)
def translate_photo(image, model_key: str, target: str):
    """/translate_photo: a photo + a translator key + a target domain -> the translated photo (PNG)."""
    if image is None:
        raise logic.EmptyInput("Upload a photo first.")
    return output_file(translate_image(_open(image), model_key, target), "png", stem="translated")


@gpu
@user_messages(empty_result=None, warn_on_empty=False)  # removing the photo clears the output
def photo_changed(image, model_key: str, target: str):
    if image is None:
        return None
    return output_file(translate_image(_open(image), model_key, target), "png", stem="translated")


def model_changed(model_key: str):
    """A new translator: its targets, the first one chosen, and the note on its method."""
    choices = target_choices(model_key)
    return gr.Radio(choices=choices, value=choices[0][1] if choices else None), method_note(model_key)


def build_translate_tab() -> None:
    """Add the Translate tab's widgets and events to the current Blocks context."""
    gr.Markdown(INSTRUCTIONS)
    key = default_translator()
    targets = target_choices(key)
    with gr.Row(equal_height=True):
        photo = gr.Image(label="Photo", type="filepath", sources=["upload", "clipboard"], elem_id="translate-input",
                         height=400)
        output = gr.Image(label="Translated", type="pil", format="png", interactive=False, elem_id="translate-output",
                          height=400, buttons=["download", "fullscreen"])
    with gr.Row():
        model = gr.Dropdown(choices=translator_choices(), value=key, label="Model", elem_id="translate-model",
                            info=None if key else "No photo translator found in weights/ (train one with "
                                                  "`python -m train.cyclegan`).")
        target = gr.Radio(choices=targets, value=targets[0][1] if targets else None, label="Turn it into",
                          elem_id="translate-target")
        run = gr.Button("Translate", variant="primary", elem_id="translate-run", interactive=key is not None)
    note = gr.Markdown(method_note(key), elem_id="translate-method")
    examples = [[str(path)] for path in EXAMPLES if path.is_file()]
    if examples:
        gr.Examples(examples, inputs=photo, label="Example photo (scikit-image's 'chelsea', CC0)")

    inputs = [photo, model, target]
    run.click(translate_photo, inputs, output, api_name="translate_photo", preprocess=False, **MODEL_CONCURRENCY)
    gr.on([photo.change, target.input], photo_changed, inputs, output, preprocess=False, trigger_mode="always_last",
          api_visibility="private", **MODEL_CONCURRENCY)
    model.input(model_changed, model, [target, note], api_visibility="private").then(
        photo_changed, inputs, output, preprocess=False, api_visibility="private", **MODEL_CONCURRENCY)
