"""The Translate tab: a photo in, the same photo in another domain out (CycleGAN: cat ↔ Bengal; StarGAN: coats;
the classical coat recolour beside it).

The translators come from `pix2pix_demo.translate.translators()` (the CycleGAN folders paired by
training run, any StarGAN model with its domains, and the classical recolour when the cat segmenter is
there). Each choice says whether it is learned (a GAN) or classical, and a note under the controls
says what the chosen method does. The target domain is a Radio whose choices
follow the chosen translator. **Change only the cat** (on by default, shown for the learned ones) keeps the
GAN's change on the cat our segmenter finds (`translate.LearnedTranslator.run`); when it finds none, the
whole picture is translated and a warning says so. The photo reaches the handler unprocessed
(`preprocess=False`), so `imaging.open_image` alone decides what is an image; the
`/translate_photo(image, model, target[, only_cat])` endpoint is the Translate button's.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from .. import translate
from ..imaging import ImageError, open_image
from . import logic
from .common import MODEL_CONCURRENCY, gpu, on_new_photo, output_file, uploaded_files, user_messages

EXAMPLES = [Path(__file__).resolve().parents[2] / "examples" / "photos" / "chelsea.png"]  # a tabby, CC0
INSTRUCTIONS = (
    "Upload a photo of a cat and give it a **Bengal's leopard spots**, or turn a Bengal into an **ordinary cat**. "
    "**Cat ↔ Bengal (CycleGAN)** learned this from *unpaired* photos (ordinary cats on one side, Bengals on the "
    "other, never the same cat twice) in 20 CPU-minutes: expect warmer fur with a fine, dotted grain and some blur, "
    "not crisp rosettes. **Cat coat colours (StarGAN)** is a single network for four coats: pick **Black**, "
    "**Ginger**, **Grey tabby** or **White / cream** under *Turn it into* and the cat's coat changes (58 CPU-minutes "
    "of training, the last 36 taught by the classical recolour: ginger an orange tabby, grey tabby cooler, white / "
    "cream paler, black darker and often blue-grey). The GANs paint the whole picture; **Change only the cat** "
    "(on) keeps their change on the cat our "
    "segmenter finds, at the photo's own size (up to 1024 px); off, you see the GAN's whole picture at the small "
    "scale it learned (short side 128-144 px). **Cat coats: Recolour (classical)** is no "
    "GAN: it recolours the cat our segmenter finds to the same four coats, at the photo's own size (up to 1024 px), "
    "and measures better than the StarGAN (see the note under the model).")
LEARNED_NOTE = ("**Learned** (a GAN trained on our photos): the network paints the whole picture itself, flaws "
                "included; with *Change only the cat* its change is kept on the cat our segmenter finds and the rest "
                "of the photo stays as it was.")
ONLY_CAT_LABEL = "Change only the cat"
ONLY_CAT_INFO = ("Our cat segmenter finds the cat; the GAN's change is kept there and the background keeps the photo's "
                 "own pixels, at the photo's size. Off: the GAN's whole picture, at its small working size.")
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


def is_learned(key: str | None) -> bool:
    found = translate.translators()
    return key in found and found[key].learned


def only_cat_checkbox(key: str | None):
    """The checkbox is there only for learned translators (the classical recolour always changes only the cat)."""
    return gr.Checkbox(visible=is_learned(key))


def translate_image(image, model_key, target, only_cat=True):
    """A PIL image + a translator key + a target domain (+ whether to change only the cat) -> the translated
    PIL image (InputError otherwise). A change that could not be kept on the cat shows a warning."""
    only_cat = logic.parse_flag(only_cat, "only_cat", default=True)
    try:
        translator = translate.get_translator(model_key, logic.device())
        result = translator.run(image, target, only_cat=only_cat)
    except translate.TranslateError as error:
        raise logic.InputError(str(error)) from None
    if only_cat and result.note:
        gr.Warning(result.note)  # not an error: the whole picture is translated instead
    return result.image


def _open(image):
    try:
        return open_image(uploaded_files(image))
    except ImageError as error:
        raise logic.InputError(str(error)) from None


@gpu
@user_messages(empty_result=None)
def translate_photo(image, model_key: str, target: str, only_cat=True):
    """/translate_photo: a photo + a translator key + a target domain (+ only_cat, default on: the change kept
    on the cat) -> the translated photo (PNG)."""
    if image is None:
        raise logic.EmptyInput("Upload a photo first.")
    return output_file(translate_image(_open(image), model_key, target, only_cat), "png", stem="translated")


@gpu
@user_messages(empty_result=None, warn_on_empty=False)  # removing the photo clears the output
def photo_changed(image, model_key: str, target: str, only_cat=True):
    if image is None:
        return None
    return output_file(translate_image(_open(image), model_key, target, only_cat), "png", stem="translated")


def model_changed(model_key: str):
    """A new translator: its targets, the first one chosen, the note on its method and the only-the-cat box."""
    choices = target_choices(model_key)
    return (gr.Radio(choices=choices, value=choices[0][1] if choices else None), method_note(model_key),
            only_cat_checkbox(model_key))


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
    only_cat = gr.Checkbox(value=True, label=ONLY_CAT_LABEL, info=ONLY_CAT_INFO, elem_id="translate-only-cat",
                           visible=is_learned(key))
    note = gr.Markdown(method_note(key), elem_id="translate-method")
    rows = [[str(path)] for path in EXAMPLES if path.is_file()]
    examples = gr.Examples(rows, inputs=photo, label="Example photo (scikit-image's 'chelsea', CC0)") if rows else None

    inputs = [photo, model, target, only_cat]
    run.click(translate_photo, inputs, output, api_name="translate_photo", preprocess=False, **MODEL_CONCURRENCY)
    on_new_photo(photo, examples, photo_changed, inputs, output, None, more_triggers=[target.input, only_cat.input],
                 preprocess=False, trigger_mode="always_last", api_visibility="private", **MODEL_CONCURRENCY)
    model.input(model_changed, model, [target, note, only_cat], api_visibility="private").then(
        photo_changed, inputs, output, preprocess=False, api_visibility="private", **MODEL_CONCURRENCY)
