"""Photo -> photo translators: a photo in, the same photo in another domain out (CycleGAN, StarGAN).

    from pix2pix_demo import translate
    translators = translate.translators()           # {key: Translator}, from the model folders in weights/
    t = translators["cat-bengal"]                    # the CycleGAN pair weights/cat2bengal + weights/bengal2cat
    t.targets                                        # ("bengal", "cat")
    spotted = t.translate(Image.open("cat.jpg"), "bengal")   # PIL in (any mode, size, aspect), PIL RGB out

    spotted = translate.translate_image(load_model("weights/cat2bengal"), Image.open("cat.jpg"))  # one direction

A translator has a `key`, a `label`, its `targets` (domain names, with `target_label` for people),
`learned` (a trained GAN, or a classical method) and `translate(image, target)`. Three kinds exist:

- `CycleGANTranslator`: one single-direction model per target, e.g. {"bengal": cat2bengal, "cat":
  bengal2cat}. `python -m train.cyclegan` exports both directions of a run as model folders whose
  config.json says kind "cyclegan", domains {source, target} and the partner folder; `translators()`
  pairs them into one translator.
- `MultiDomainTranslator`: one model told the target domain (StarGAN, `pix2pix_demo.models.stargan`,
  config.json architecture.domains); every domain is a target, named for people by the config's
  `domain_labels` (e.g. {"grey-tabby": "Grey tabby"}) where it has them.
- `RecolourTranslator` ("cats-coat-recolour", offered when weights/cat-segmenter exists): classical, no
  GAN. Our cat segmenter finds the cat; `coat.recolour_coat` moves its lightness and colour to one of
  the StarGAN's four coat domains (`coat.COAT_DOMAINS`). It works at the photo's own size (long side at
  most `RECOLOUR_MAX_SIDE`) and refuses a photo with no cat the segmenter is sure about.

**Only the cat** (`translate(image, target, only_cat=True)`, the default; `run` returns the `Translation`
with a note): the learned ones paint the whole picture (the CycleGAN repaints the room, the StarGAN's
Ginger can turn the floor orange), so our cat segmenter (weights/cat-segmenter) finds the cat, and the network's
change is kept there only: the photo at its own size (long side at most `OUTPUT_MAX_SIDE`) plus the
change (output minus the working-size input), enlarged and faded out with a feathered mask (`cat_alpha`,
`restrict_to_cat`). The background keeps the photo's own pixels and the cat keeps the photo's fine detail.
Without a segmenter, or where it is sure of no cat, the whole picture is translated as below and the
`Translation.note` says so. `only_cat=False`: the network's whole picture, as it learned it.

The learned ones run the photo at the scale the model was trained at (its short side = the model's
`inference_short_side`, else its training `resolution`), with the long side at most `MAX_SIDE`: a
generator trained on 128² crops of whole-cat photos learned fur texture at that scale and paints spots
too small, and blurrier, on a photo twice as large. The result has that working size (a 4:3 photo
comes back 171×128 at short side 128, 384×288 at short side 288) unless only the cat is changed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from . import hub, registry
from .imaging import ImageError, check_aspect, image_to_tensor, tensor_to_image, to_rgb

MAX_SIDE = 384  # px, the long side of the working size (CPU time grows with the area)
RECOLOUR_MAX_SIDE = 1024  # px, the classical recolour's largest picture (larger photos are shrunk to it)
OUTPUT_MAX_SIDE = RECOLOUR_MAX_SIDE  # px, the largest picture a change restricted to the cat comes back at
RECOLOUR_KEY = "cats-coat-recolour"
SEGMENTER_KEY = "cat-segmenter"
DEFAULT_SHORT_SIDE = 256
DOMAIN_LABELS = {"cat": "Ordinary cat", "bengal": "Bengal (leopard spots)", "abyssinian": "Abyssinian (ticked coat)"}


class TranslateError(ValueError):
    """A translator, target or picture that cannot be used; str(error) is a message for the user."""


def target_label(domain: str) -> str:
    return DOMAIN_LABELS.get(domain, _name(domain))


def _name(domain: str) -> str:
    """A domain's short name for a translator's label ("bengal" -> "Bengal")."""
    return domain.replace("_", " ").replace("-", " ").capitalize()


def working_size(width: int, height: int, short_side: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The size a photo is translated at: short side `short_side`, the long side at most `max_side`."""
    scale = min(short_side / min(width, height), max_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare(image: Image.Image, short_side: int, max_side: int = MAX_SIDE) -> Image.Image:
    """Any PIL image -> RGB (transparency onto white) at its working size; ImageError for a strip thinner
    than 1:16."""
    image = check_aspect(to_rgb(image))
    size = working_size(*image.size, short_side, max_side)
    if size == image.size:
        return image
    return image.resize(size, Image.BICUBIC if size[0] > image.width else Image.LANCZOS)


def run_generator(model, image: Image.Image) -> Image.Image:
    """A single-direction generator (CycleGAN's ResNet) on a prepared picture: reflect-padded to the
    generator's multiple, run without gradients, cropped back. PIL RGB in, PIL RGB out, same size."""
    import torch
    import torch.nn.functional as F

    multiple = model.config.multiple
    x = image_to_tensor(image).to(next(model.parameters()).device)
    height, width = x.shape[-2:]
    padded_h = max(math.ceil(height / multiple) * multiple, 2 * multiple)
    padded_w = max(math.ceil(width / multiple) * multiple, 2 * multiple)
    pad_h, pad_w = padded_h - height, padded_w - width
    if pad_h or pad_w:  # reflect needs the pad to be smaller than the side; replicate works for tiny inputs
        mode = "reflect" if pad_h < height and pad_w < width else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    with torch.no_grad():
        return tensor_to_image(model(x)[..., :height, :width].clamp(-1, 1))


def model_short_side(model) -> int:
    """The short side a model translates at: config.json inference_short_side, else its training resolution."""
    metadata = getattr(model, "metadata", None) or {}
    return int(metadata.get("inference_short_side") or metadata.get("resolution") or DEFAULT_SHORT_SIDE)


def translate_image(model, image: Image.Image, short_side: int | None = None) -> Image.Image:
    """One CycleGAN direction (a `load_model`ed ResnetGenerator) on any PIL image: at the model's scale
    (short side `short_side`, default `model_short_side`), PIL RGB out. ImageError for a 1:16+ strip."""
    return run_generator(model, prepare(image, short_side or model_short_side(model)))


NO_SEGMENTER_NOTE = ("The cat segmenter (weights/cat-segmenter) is not installed, so the whole picture was "
                     "translated, background included.")
NO_CAT_NOTE = ("No cat found (the cat segmenter is sure of too little of this photo), so the whole picture was "
               "translated, background included, at the model's small working size.")


def cat_alpha(probability, grow: float = 0.01, feather: float = 0.008, min_blob: float = 0.2):
    """The segmenter's cat probability (HxW) -> where the translation's change is kept: HxW float32 in [0, 1].

    The cat is p >= 0.5 without specks (blobs under `min_blob` of the largest one are dropped; a second cat
    of similar size stays); it grows by `grow` of the long side (the fur's fringe, which the segmenter
    often leaves out: an unchanged rim would be a halo of the old coat) and fades out over a Gaussian of
    sigma `feather` of the long side, so no seam shows. Inside the cat, farther than the feather from its
    border, alpha is 1."""
    import cv2
    import numpy as np

    mask = (np.asarray(probability) >= 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, np.float32)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = 1 + np.flatnonzero(areas >= min_blob * areas.max())
    mask = np.isin(labels, keep).astype(np.uint8)
    long_side = max(mask.shape)
    radius = int(round(grow * long_side))
    if radius > 0:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1)))
    alpha = mask.astype(np.float32)
    sigma = feather * long_side
    if sigma > 0.3:
        # the blur would let the inside's border sink to 1/2: grow once more by two sigmas first, so the
        # fade lies outside the grown cat and the cat itself keeps alpha ~1
        extra = int(round(2 * sigma))
        grown = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * extra + 1, 2 * extra + 1)))
        alpha = np.maximum(cv2.GaussianBlur(grown.astype(np.float32), (0, 0), sigma), 0.0) * (1 - mask) + mask
    return np.clip(alpha, 0.0, 1.0).astype(np.float32)


def restrict_to_cat(photo: Image.Image, working: Image.Image, output: Image.Image, alpha) -> Image.Image:
    """A translation kept on the cat: `photo` (RGB, any size) plus the network's change (`output` minus the
    `working` picture it was given, both at the working size), enlarged to the photo's size and weighted by
    `alpha` (HxW in [0, 1] at the photo's size, e.g. `cat_alpha`). Where alpha is 0 the photo's own pixels
    come back unchanged; inside the cat the photo's fine detail stays under the network's change (the network
    saw a picture of short side 128-144 px: its own output, enlarged, is a blur)."""
    import numpy as np

    if working.size != output.size:
        raise ValueError(f"working picture {working.size} and output {output.size} differ in size")
    alpha = np.clip(np.asarray(alpha, np.float32), 0.0, 1.0)
    if alpha.shape != (photo.height, photo.width):
        raise ValueError(f"alpha {alpha.shape} does not match the photo ({photo.height}, {photo.width})")
    change = np.asarray(output, np.float32) - np.asarray(working, np.float32)  # -255..255
    if output.size != photo.size:
        channels = [Image.fromarray(change[..., c]).resize(photo.size, Image.BICUBIC) for c in range(3)]
        change = np.stack([np.asarray(channel, np.float32) for channel in channels], axis=-1)
    base = np.asarray(photo, np.float32)
    # where alpha is 0 this is the photo's own uint8 value exactly (x + 0, rounded)
    return Image.fromarray(np.clip(np.round(base + alpha[..., None] * change), 0, 255).astype(np.uint8))


@dataclass
class Translation:
    """What `Translator.run` gives: the picture, whether the change was kept on the cat, and a note for people
    (why it was not, when it was asked for; empty otherwise)."""

    image: Image.Image
    only_cat: bool
    note: str = ""
    cat_share: float | None = None  # the share of the picture the cat's mask (alpha) covers


@dataclass
class Translator:
    key: str
    label: str
    targets: tuple[str, ...]
    device: str = "cpu"
    labels: dict[str, str] = field(default_factory=dict)  # the model's own names for its domains, if any
    learned: bool = True  # a trained network (CycleGAN, StarGAN); False: a classical method

    def target_label(self, target: str) -> str:
        return self.labels.get(target) or target_label(target)

    def check_target(self, target) -> str:
        if not isinstance(target, str) or target not in self.targets:
            raise TranslateError(f"{self.label} translates into {', '.join(self.targets)}; got {target!r}.")
        return target

    def load(self, key: str):
        try:
            return registry.load(key, device=self.device)
        except registry.ModelUnavailable as error:
            raise TranslateError(str(error)) from None

    def translate(self, image: Image.Image, target: str, only_cat: bool = True) -> Image.Image:
        """The photo translated into `target` (PIL RGB); `only_cat`: the change kept on the cat (see `run`)."""
        return self.run(image, target, only_cat).image

    def run(self, image: Image.Image, target: str, only_cat: bool = True) -> Translation:
        raise NotImplementedError


@dataclass
class LearnedTranslator(Translator):
    """A GAN that paints a working-size picture (`generate`); `run` keeps its change on the cat when asked."""

    segmenter_key: str = SEGMENTER_KEY

    def generate(self, image: Image.Image, target: str) -> tuple[Image.Image, Image.Image]:
        """(the working picture the network saw, its output): both at the working size."""
        raise NotImplementedError

    def run(self, image: Image.Image, target: str, only_cat: bool = True) -> Translation:
        """The photo into `target`. `only_cat` (default): the network's change on the cat only, at the photo's
        size (long side at most OUTPUT_MAX_SIDE); with no segmenter or no sure cat, the whole picture and a
        note saying so. Otherwise the network's whole picture at its working size."""
        target = self.check_target(target)
        try:
            working, output = self.generate(image, target)
        except ImageError as error:
            raise TranslateError(str(error)) from None
        if not only_cat:
            return Translation(output, only_cat=False)
        return self.keep_on_cat(image, working, output)

    def keep_on_cat(self, image: Image.Image, working: Image.Image, output: Image.Image) -> Translation:
        try:
            segmenter = registry.load(self.segmenter_key, device=self.device)
        except registry.ModelUnavailable:
            return Translation(output, only_cat=False, note=NO_SEGMENTER_NOTE)
        return keep_on_cat(image, working, output, segmenter)


def output_photo(image: Image.Image) -> Image.Image:
    """The picture a change kept on the cat is made at: RGB, long side at most OUTPUT_MAX_SIDE."""
    photo = to_rgb(image)
    if max(photo.size) > OUTPUT_MAX_SIDE:
        photo = photo.copy()
        photo.thumbnail((OUTPUT_MAX_SIDE, OUTPUT_MAX_SIDE), Image.LANCZOS)
    return photo


def keep_on_cat(image: Image.Image, working: Image.Image, output: Image.Image, segmenter,
                probability=None) -> Translation:
    """A network's `output` for the `working` picture made from `image` (any size), kept on the cat that
    `segmenter` (a loaded cat segmenter) finds in `image`: `restrict_to_cat` at the image's size (long side at
    most OUTPUT_MAX_SIDE: `output_photo`) with `cat_alpha`. Where the segmenter is sure of no cat
    (`coat.sure_core`): the output as it is, with NO_CAT_NOTE. `probability`: the segmenter's answer for
    `output_photo(image)`, if already computed."""
    from .coat import sure_core
    from .cutout import segment

    photo = output_photo(image)
    probability = segment(segmenter, photo) if probability is None else probability
    if sure_core(probability) is None:
        return Translation(output, only_cat=False, note=NO_CAT_NOTE)
    alpha = cat_alpha(probability)
    return Translation(restrict_to_cat(photo, working, output, alpha), only_cat=True,
                       cat_share=round(float(alpha.mean()), 3))


@dataclass
class CycleGANTranslator(LearnedTranslator):
    """One model per target domain: `models[target]` is the registry key of the generator into it."""

    models: dict[str, str] = field(default_factory=dict)

    def generate(self, image: Image.Image, target: str) -> tuple[Image.Image, Image.Image]:
        model = self.load(self.models[target])
        working = prepare(image, model_short_side(model))
        return working, run_generator(model, working)


@dataclass
class MultiDomainTranslator(LearnedTranslator):
    """One model told the target domain (StarGAN): `model_key` is its registry key."""

    model_key: str = ""

    def generate(self, image: Image.Image, target: str) -> tuple[Image.Image, Image.Image]:
        from .models.stargan import translate_image

        model = self.load(self.model_key)
        working = prepare(image, model_short_side(model))
        return working, translate_image(model, working, target, short_side=min(working.size), max_side=MAX_SIDE)


@dataclass
class RecolourTranslator(Translator):
    """Classical coat recolour: the segmenter's cat probability p, then `coat.recolour_coat` towards
    `coats[target]` (RGB 0..1). No learned translation; the segmenter is the only network."""

    coats: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    segmenter_key: str = SEGMENTER_KEY

    def run(self, image: Image.Image, target: str, only_cat: bool = True) -> Translation:
        """Always the cat only (`only_cat` is accepted for the common signature): the recolour needs the mask."""
        import numpy as np

        from .coat import recolour_coat, sure_core
        from .cutout import segment

        target = self.check_target(target)
        try:
            picture = check_aspect(to_rgb(image))
        except ImageError as error:
            raise TranslateError(str(error)) from None
        if max(picture.size) > RECOLOUR_MAX_SIDE:
            picture = picture.copy()
            picture.thumbnail((RECOLOUR_MAX_SIDE, RECOLOUR_MAX_SIDE), Image.LANCZOS)
        probability = segment(self.load(self.segmenter_key), picture)
        if sure_core(probability) is None:
            raise TranslateError("No cat found in this photo (the cat segmenter is sure of too little of it), so "
                                 "there is no coat to recolour. Try a photo where the cat is larger and in view.")
        recoloured = Image.fromarray(recolour_coat(np.asarray(picture), self.coats[target], probability))
        return Translation(recoloured, only_cat=True, cat_share=round(float(np.clip(probability, 0, 1).mean()), 3))


def _local_config(entry: registry.ModelEntry) -> dict | None:
    if not entry.local:
        return None
    try:
        return hub.read_config(Path(entry.source))
    except hub.ModelLoadError:
        return None


def translators(device: str = "cpu") -> dict[str, Translator]:
    """Every translator the local model folders make (config.json only: no torch, no weights loaded).

    CycleGAN folders (kind "cyclegan") of one training run (the same domains A and B, from
    config.json data.a / data.b) become one translator keyed "<A>-<B>" whose first target is B; a
    direction without its partner is a translator with one target, keyed by its folder. StarGAN
    folders (model_type "stargan") are translators of their own, keyed by the folder name. With a cat
    segmenter, the classical coat recolour (RECOLOUR_KEY) comes last."""
    from .coat import COAT_DOMAIN_LABELS, COAT_DOMAINS

    out: dict[str, Translator] = {}
    runs: dict[tuple[str, str], dict[str, str]] = {}  # (A, B) -> {target domain: model key}
    entries = registry.list_models()
    for key, entry in sorted(entries.items()):
        config = _local_config(entry)
        if config is None:
            continue
        if config.get("model_type") == "stargan":
            domains = tuple(str(d) for d in (config.get("architecture") or {}).get("domains") or ())
            if len(domains) >= 2:
                label = config.get("label") or f"{key} (StarGAN: {', '.join(domains)})"
                named = config.get("domain_labels") if isinstance(config.get("domain_labels"), dict) else {}
                labels = {d: named[d].strip() for d in domains  # train.stargan writes the bare name where none was given
                          if isinstance(named.get(d), str) and named[d].strip() not in ("", d)}
                out[key] = MultiDomainTranslator(key, label, domains, device, labels=labels, model_key=key)
        elif config.get("kind") == "cyclegan":
            domains = config.get("domains") or {}
            source, target = domains.get("source"), domains.get("target")
            if not (isinstance(source, str) and isinstance(target, str) and source != target):
                continue
            data = config.get("data") if isinstance(config.get("data"), dict) else {}
            a = (data.get("a") or {}).get("domain") if isinstance(data.get("a"), dict) else None
            pair = (source, target) if a == source else (target, source) if a == target else tuple(sorted((source, target)))
            runs.setdefault(pair, {}).setdefault(target, key)
    for (a, b), models in runs.items():
        if len(models) == 2:
            out[f"{a}-{b}"] = CycleGANTranslator(f"{a}-{b}", f"{_name(a)} ↔ {_name(b)} (CycleGAN)",
                                                 (b, a), device, models=models)
        else:
            (target, key), = models.items()
            out[key] = CycleGANTranslator(key, f"→ {_name(target)} (CycleGAN)", (target,), device,
                                          models=models)
    if SEGMENTER_KEY in entries and RECOLOUR_KEY not in out:
        out[RECOLOUR_KEY] = RecolourTranslator(RECOLOUR_KEY, "Cat coats: Recolour (classical)",
                                               tuple(COAT_DOMAINS), device, labels=dict(COAT_DOMAIN_LABELS),
                                               learned=False, coats=dict(COAT_DOMAINS))
    return out


def get_translator(key, device: str = "cpu") -> Translator:
    """The translator `key`, or TranslateError naming the ones there are."""
    available = translators(device)
    if isinstance(key, str) and key not in available:  # a folder may have appeared since the last scan
        registry.refresh()
        available = translators(device)
    if not isinstance(key, str) or key not in available:
        names = ", ".join(available) or "none"
        entry = registry.list_models().get(key) if isinstance(key, str) else None
        if entry is not None:
            raise TranslateError(f"Model {key!r} is a {entry.kind} model, not a translator model (CycleGAN, "
                                 f"StarGAN or the classical recolour); translators: {names}.")
        raise TranslateError(f"Unknown translator {key!r}; available: {names}.")
    return available[key]
