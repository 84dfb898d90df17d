"""Model cards: `weights/NAME/README.md` with Hugging Face Hub metadata, written from config.json.

    from pix2pix_demo.cards import write_model_card
    write_model_card("weights/edges2cats", repo_id="pix2pix-demo/edges2cats", sample_image="sample.png")

Everything the card says comes from the folder's config.json (written by `hub.save_model`):
model_type, architecture, resolution, data{...}, training{command, wall_time_s, hardware, steps, ...},
metrics{...} and an optional license / label / datasets. Missing keys are left out of the card, never
invented. The YAML front matter is what the Hub indexes: library_name, tags, license, pipeline_tag,
metrics (+ model-index with the numeric values), datasets.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import hub

LIBRARY_NAME = "pix2pix_demo"
DEFAULT_LICENSE = "other"  # the training data of the shipped models is research-use-only; see DATA_NOTES

# What we know about the data sets under ../shared/data, keyed by folder name: (description, licence, citation).
DATA_NOTES: dict[str, tuple[str, str, str | None]] = {
    "cats": ("Cat photos from the Kaggle *Dogs vs. Cats* (Asirra) set, with line drawings extracted by "
             "`pix2pix_demo.edges`.",
             "Asirra / Kaggle competition data: research and non-commercial use only.",
             "Elson et al., \"Asirra: A CAPTCHA that Exploits Interest-Aligned Manual Image Categorization\", CCS 2007."),
    "edges2products": ("pix2pix edges2shoes + edges2handbags pairs (UT Zappos50K shoes, iGAN Amazon handbags) "
                       "with HED edge maps.",
                       "Research use only (UT Zappos50K; iGAN handbags).",
                       "Isola, Zhu, Zhou, Efros, \"Image-to-Image Translation with Conditional Adversarial "
                       "Networks\", CVPR 2017."),
    "singan": ("An input image of the SinGAN paper (tamarott/SinGAN).", "MIT (repository licence).",
               "Shaham, Dekel, Michaeli, \"SinGAN: Learning a Generative Model from a Single Natural Image\", ICCV 2019."),
    "sample-images": ("A photo that ships inside the scikit-image / scikit-learn / matplotlib wheels.",
                      "Public domain / CC0 / CC BY, per image (see the data folder's SOURCE.md).", None),
    "cats-masked": ("Oxford-IIIT Pet cats (Abyssinian, Bengal) with pixel trimaps; the 80 photos of its "
                    "`heldout.txt` were never trained on.",
                    "Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0); photo copyright stays with the owners.",
                    "Parkhi, Vedaldi, Zisserman, Jawahar, \"Cats and Dogs\", CVPR 2012."),
    "cats-cutout": ("Stock-style cats on white made by `train.data.edges --cutout`: the Oxford-IIIT Pet "
                    "cats of `cats-masked` cut out with their ground-truth trimaps (and, where the data's sources "
                    "below say so, Kaggle *Dogs vs. Cats* photos cut out by our `cat-segmenter`); whole cats and "
                    "face crops, edges extracted from the composite by `pix2pix_demo.edges`. Held-out lists were "
                    "excluded. A model fine-tuned from earlier weights (see `init_from`) also carries what those "
                    "learned from the Kaggle photos.",
                    "Mixed: Oxford-IIIT Pet (CC BY-SA 4.0) and Asirra / Kaggle (research and non-commercial use only).",
                    "Parkhi et al., CVPR 2012; Elson et al., CCS 2007."),
    "facades": ("The pix2pix paper's labels→facade pairs from the CMP Facade Database (400 train; val and test "
                "never trained on): a photo and a colour label map of 12 classes per building.",
                "CMP Facade Database: free for research use.",
                "Tyleček, Šára, \"Spatial Pattern Templates for Recognition of Objects with Regular Structure\", "
                "GCPR 2013; Isola, Zhu, Zhou, Efros, \"Image-to-Image Translation with Conditional Adversarial "
                "Networks\", CVPR 2017."),
    "consingan": ("An input image of ConSinGAN (tohinz/ConSinGAN).", "MIT (repository licence).",
                  "Hinz, Fisher, Wang, Wermter, \"Improved Techniques for Training Single-Image GANs\", WACV 2021."),
}
EXTRA_START, EXTRA_END = "<!-- extra -->", "<!-- /extra -->"
# Context stored next to metrics by train.eval.pix2pix: shown in the table, not indexed as metrics.
NOT_METRICS = {"pairs", "files", "crop", "data", "mode", "device", "torch_threads", "model", "sketches", "skipped",
               "cutout", "photos", "photos_below_iou_80", "target_photos", "short_side"}
KIND_TAGS = {"pix2pix-unet": ["pix2pix", "conditional-gan"], "singan": ["singan", "single-image-gan"],
             "cat-segmenter": ["image-segmentation", "u-net"],
             "spade-generator": ["spade", "semantic-image-synthesis", "conditional-gan"],
             "srgan": ["srgan", "super-resolution"], "resnet-generator": ["cyclegan", "unpaired-image-translation"],
             "stargan": ["stargan", "multi-domain-image-translation"], "detail": ["texture-synthesis", "two-stage"]}


def _kind(config: dict) -> str:
    if config.get("kind") == "facades":  # label map -> facade photo (pix2pix U-Net or SPADE), see pix2pix_demo.facades
        return "facades"
    if config.get("kind") == "cyclegan":  # one direction of a CycleGAN (ResNet generator), see pix2pix_demo.translate
        return "cyclegan"
    if config.get("kind") == "photo-task":  # colourize / fill-in, see pix2pix_demo.photo_tasks
        return "photo-task"
    return (config["model_type"] if config["model_type"] in ("singan", "edge-detector", "cat-segmenter", "srgan",
                                                              "stargan", "detail")
            else "pix2pix")


def _flatten(values: dict, prefix: str = "") -> dict:
    """{"heldout": {"fid": 40}} -> {"heldout.fid": 40}."""
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _format(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "–" if value is None else str(value)


def _data(config: dict) -> dict:
    """config["data"] as a dict: some configs (the edge detector's) describe their data in one sentence;
    that becomes {"description": ..., "path": the folder named in it}."""
    data = config.get("data") or {}
    if isinstance(data, dict):
        return data
    text = str(data)
    tokens = [token.strip(",;:()") for token in text.split() if "/" in token]
    path = max(tokens, key=lambda token: token.count("/")) if tokens else None  # the folder, not "photo/HED"
    return {"description": text, **({"path": path} if path else {})}


def _data_name(data: dict) -> str | None:
    """The known data set a training path points into ("../shared/data/cats/train" -> "cats")."""
    return next((part for part in reversed(Path(str(data.get("path", ""))).parts) if part in DATA_NOTES), None)


def _data_note(data: dict) -> tuple[str, str, str] | None:
    name = _data_name(data)
    return DATA_NOTES[name] if name else None


def _parameter_count(folder: Path) -> int | None:
    from safetensors import safe_open

    try:
        with safe_open(folder / hub.WEIGHTS_NAME, framework="pt") as weights:
            # an int8 weight's scales are not parameters, nor is an image kept as uint8 (a SinGAN's photo)
            counts = [weights.get_slice(name).get_shape() for name in weights.keys()
                      if not name.endswith(hub.INT8_SCALE_SUFFIX) and weights.get_slice(name).get_dtype() != "U8"]
    except Exception:  # a card for a folder without readable weights still gets written
        return None
    total = 0
    for shape in counts:
        size = 1
        for dim in shape:
            size *= dim
        total += size
    return total


def card_metadata(config: dict, name: str) -> "ModelCardData":
    """The YAML front matter as a huggingface_hub ModelCardData."""
    from huggingface_hub import EvalResult, ModelCardData

    data = _data(config)
    dataset = str(data.get("name") or _data_name(data) or Path(str(data.get("path") or "training data")).name)
    datasets = config.get("datasets") or ([data["hub_dataset"]] if data.get("hub_dataset") else None)
    results = []
    for key, value in _flatten(config.get("metrics") or {}).items():
        group, _, metric = key.rpartition(".")  # "heldout.l1": metric l1 on the held-out set
        if metric in NOT_METRICS or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        results.append(EvalResult(task_type="image-to-image", dataset_type=dataset,
                                  dataset_name=f"{dataset} ({group})" if group else dataset,
                                  metric_type=metric, metric_name=key, metric_value=value))
    metric_ids = list(dict.fromkeys(result.metric_type for result in results))
    return ModelCardData(
        library_name=LIBRARY_NAME, license=config.get("license") or DEFAULT_LICENSE,
        # a SinGAN generates from noise (its image inputs are optional): the Hub's matching task
        pipeline_tag={"singan": "unconditional-image-generation", "cat-segmenter": "image-segmentation"}.get(_kind(config), "image-to-image"),
        datasets=datasets, metrics=metric_ids or None,
        tags=[*KIND_TAGS.get(config["model_type"], []),
              *([] if config["model_type"] == "cat-segmenter" else ["gan", "image-to-image"]), "pytorch", "safetensors"],
        model_name=name if results else None, eval_results=results or None,
    )


def _usage(kind: str, target: str) -> str:
    if kind == "edge-detector":
        return (f"import os\n\nfrom huggingface_hub import snapshot_download\nfrom PIL import Image\n\n"
                f"from pix2pix_demo.edges import extract_edges\n\n"
                f"os.environ[\"PIX2PIX_EDGE_DETECTOR\"] = snapshot_download(\"{target}\")  # the 'hed-learned' "
                f"extractor's folder\nedges = extract_edges(Image.open(\"photo.jpg\"), method=\"hed-learned\")  "
                f"# black lines on white\nedges.save(\"edges.png\")")
    if kind == "cat-segmenter":
        return (f"from PIL import Image\n\nfrom pix2pix_demo import load_model\n"
                f"from pix2pix_demo.cutout import cut_out, segment, soft_alpha\n\n"
                f"model = load_model(\"{target}\")\nphoto = Image.open(\"cat.jpg\")\n"
                f"probability = segment(model, photo)  # HxW, 1 = cat\n"
                f"cut_out(photo, soft_alpha(probability >= 0.5)).save(\"cat-on-white.png\")")
    if kind == "facades":
        return (f"from pix2pix_demo.facades import FacadesPipeline\nfrom pix2pix_demo.labels import classes_to_image, "
                f"random_facade\n\npipe = FacadesPipeline.from_pretrained(\"{target}\")\n"
                f"labels = classes_to_image(random_facade(seed=3))  # or any label picture in the 12 class colours\n"
                f"pipe(labels).save(\"facade.png\")            # colours are snapped to the classes; any size\n"
                f"pipe(labels, seed=7).save(\"variation.png\")")
    if kind == "cyclegan":
        return (f"from PIL import Image\n\nfrom pix2pix_demo import load_model\nfrom pix2pix_demo.translate import "
                f"translate_image\n\nmodel = load_model(\"{target}\")\n"
                f"out = translate_image(model, Image.open(\"photo.jpg\"))  # at the scale it was trained at (short side "
                f"= config resolution)\nout.save(\"translated.png\")")
    if kind == "stargan":
        return (f"from PIL import Image\n\nfrom pix2pix_demo import load_model\nfrom pix2pix_demo.models.stargan import "
                f"translate_image\n\nmodel = load_model(\"{target}\")\nprint(model.config.domains)  # the targets it "
                f"knows\nphoto = Image.open(\"cat.jpg\")\nfor domain in model.config.domains:  # at the scale it was "
                f"trained at\n    translate_image(model, photo, domain).save(f\"cat-{{domain}}.png\")")
    if kind == "photo-task":
        return (f"from PIL import Image\n\nfrom pix2pix_demo import load_model\nfrom pix2pix_demo.photo_tasks import "
                f"colourize, fill_in, random_mask\n\nmodel = load_model(\"{target}\")  # config.json \"task\": "
                f"colourize or fill-in\nphoto = Image.open(\"photo.jpg\")  # any size; the result has the same size\n"
                f"colourize(model, photo).save(\"colour.png\")  # colourize: its grey version is the photo's exactly\n"
                f"# fill-in: mask = HxW bool (True = erased) or a painted picture; unerased pixels are kept exactly\n"
                f"# fill_in(model, photo, mask).save(\"filled.png\")")
    if kind == "srgan":
        return (f"from PIL import Image\n\nfrom pix2pix_demo import load_model\nfrom pix2pix_demo.superres import "
                f"enhance\n\nmodel = load_model(\"{target}\")\n"
                f"big = enhance(model, Image.open(\"cat-256.png\"))  # ×4 on each side: 256² -> 1024² "
                f"(inputs up to 512 px)\nbig.save(\"cat-1024.png\")")
    if kind == "detail":
        return (f"from pix2pix_demo import Pix2PixPipeline, load_model, open_image\n\n"
                f"# the first stage (a pix2pix model with a coat colour), then this texture stage on its picture\n"
                f"pipe = Pix2PixPipeline.from_pretrained(\"weights/edges2cats\", detail=\"{target}\")\n"
                f"cat = pipe(open_image(\"drawing.png\"), coat=\"tabby\")            # with fur\n"
                f"smooth = pipe(open_image(\"drawing.png\"), coat=\"tabby\", texture=False)  # the first stage alone")
    if kind == "singan":
        return (f"from pix2pix_demo import load_model\nfrom pix2pix_demo.singan import sample\n\n"
                f"model = load_model(\"{target}\")  # downloads into the Hugging Face cache once\n"
                f"sample(model, seed=1, width_factor=2.0).save(\"sample.png\")")
    return (f"from pix2pix_demo import Pix2PixPipeline, load_model, open_image\n\n"
            f"pipe = Pix2PixPipeline.from_pretrained(\"{target}\")  # downloads into the Hugging Face cache once\n"
            f"photo = pipe(open_image(\"drawing.png\"))  # PIL in, PIL out\nphoto.save(\"photo.png\")\n\n"
            f"model = load_model(\"{target}\")  # or the bare torch.nn.Module (eval mode)")


INT8_NOTE = " (int8 with one scale per output channel; `load_model` restores float weights)"


def _srgan_losses(config: dict) -> str:
    if config.get("stage") == "l1-only":
        return "L1 only (the warm-up stage) (no VGG loss: no VGG weights offline)"
    recipe = (config.get("training") or {}).get("pretrained_features")
    if not recipe:
        return "L1 + adversarial loss (no VGG loss: no VGG weights offline)"
    parts = ["L1"]
    if recipe.get("lambda_perceptual"):
        parts.append("a perceptual loss")
    if recipe.get("projected_discriminator"):
        parts.append("an adversarial loss from a projected discriminator")
    return (" + ".join(parts) + " on the features of a frozen ImageNet EfficientNet-Lite0 (in place of SRGAN's "
            "VGG-19, which is not available offline; training only, the model does not need it)")


def _summary(config: dict, name: str, folder: Path) -> str:
    arch = config.get("architecture") or {}
    params = _parameter_count(folder)
    what = {"singan": "A SinGAN model: a pyramid of small generators trained on a single image",
            "edge-detector": "A small CNN that turns a photo into a soft edge map (the `hed-learned` edge "
                             "extractor of `pix2pix_demo.edges`)",
            "cat-segmenter": (f"A U-Net-style segmenter on an EfficientNet-Lite{str(arch.get('encoder'))[-1]} encoder "
                              "(ImageNet weights, fine-tuned)" if str(arch.get("encoder")).startswith("lite")
                              else "A small U-Net")
                             + " that tells a cat from its background (per-pixel probability), used "
                             "to cut cats out onto white for the stock-style edges2cats training set",
            "facades": ("A SPADE generator (spatially-adaptive normalisation: every layer modulated by the label map) "
                        "that turns a facade label map (12 CMP classes) into a photo"
                        if config["model_type"] == "spade-generator" else
                        "A pix2pix U-Net generator that turns a facade colour label map (12 CMP classes) into a photo"),
            "stargan": ("A StarGAN generator (one ResNet generator told the target domain) that turns a photo into "
                        "any of its domains: " + ", ".join(f"`{d}`" for d in arch.get("domains") or ())),
            "detail": ("A texture stage: a small residual network that adds fine texture (fur) to the smooth "
                       "pictures of a pix2pix model, keeping their shapes and colours (a loss on 4× average-pooled "
                       "pictures) while a PatchGAN compares its output with real cat photos; a fixed noise plane is "
                       "its source of randomness"),
            "srgan": ("An SRGAN generator (SRResNet-style residual blocks + pixel-shuffle up-sampling) that enlarges "
                      "a picture ×4 on each side, " + _srgan_losses(config)),
            "photo-task": ("A pix2pix U-Net generator for a task made from any photo: "
                           + ("colourize (it sees the grey photo and predicts the two YCbCr chroma channels; the "
                              "picture is the grey photo's own luma with that chroma)"
                              if config.get("task") == "colourize" else
                              "fill-in (it sees the photo with a region erased"
                              + (" and filled by OpenCV's Telea inpainting (a smooth first guess)"
                                 if config.get("hole") == "telea" else "")
                              + ", plus the mask, and paints RGB; only the erased pixels are taken from it"
                              + (f"; over the hole's first {float(config['feather']):g} px its fill is blended into the "
                                 "Telea fill, so the hole's border shows no seam" if config.get("feather") else "")
                              + ("; then the hole is rebuilt from the photo's own unerased 7×7 patches, coarse to "
                                 "fine (`pix2pix_demo.gpnn.fill_hole`), so it gets the photo's grain instead of the "
                                 "network's" if config.get("texture") else "")
                              + (", lines that meet the hole (brick's joints) first carried across it at 1/2 size by "
                                 "exemplar copying guided by the network's fill (`gpnn.fill_exemplar`)"
                                 if (config.get("texture") or {}).get("method") == "structure" else "")
                              + (f"; a hole of more than {int(config['texture']['max_hole'])} px is rebuilt where it "
                                 "has that many and enlarged into it (softer, in bounded time)"
                                 if (config.get("texture") or {}).get("max_hole") else "")
                              + ")")),
            "cyclegan": ("One direction of a CycleGAN (unpaired translation; ResNet generator) that turns a "
                         f"{(config.get('domains') or {}).get('source', 'A')} photo into a "
                         f"{(config.get('domains') or {}).get('target', 'B')} photo; its partner "
                         f"`{config.get('partner', '?')}` goes back")}.get(
        _kind(config), "A pix2pix U-Net generator (conditional GAN, image → image)")
    facts = [f"`{config['model_type']}`"]
    if config.get("resolution"):
        facts.append(f"{config['resolution']} px")
    if params:
        facts.append(f"{params / 1e6:.1f} M parameters" if params >= 1e5 else f"{params:,} parameters")
    lines = [f"# {config.get('label') or name}", "", f"{what}, trained with `{LIBRARY_NAME}` "
             f"({', '.join(facts)}). Weights: `model.safetensors`{INT8_NOTE if config.get('weights_dtype') == 'int8' else ''}; "
             "architecture: `config.json`.", ""]
    if arch:
        lines += ["<details><summary>Architecture (config.json)</summary>", "", "| setting | value |", "|---|---|"]
        lines += [f"| {key} | {_format(value)} |" for key, value in arch.items() if not isinstance(value, (list, dict))]
        lines += ["", "</details>", ""]
    return "\n".join(lines)


def _data_section(config: dict) -> str:
    data = _data(config)
    note = _data_note(data)
    lines = ["## Training data", ""]
    if note:
        lines += [note[0], "", f"**Data licence:** {note[1]}", ""] + ([f"Cite: {note[2]}", ""] if note[2] else [])
    elif isinstance(data.get("sources"), list):  # photos of several data sets (srgan): a note for each known one
        notes = {name: DATA_NOTES[name] for source in data["sources"] for name in Path(str(source)).parts[:1]
                 if name in DATA_NOTES}
        for name, (description, licence, cite) in notes.items():
            lines += [f"**{name}**: {description} Licence: {licence}" + (f" Cite: {cite}" if cite else ""), ""]
        note = next(iter(notes.values()), None)
    details = {key: value for key, value in data.items() if value not in (None, "", [], {})}
    lines += [f"- {key}: `{_format(value)}`" for key, value in details.items()] or ["Not recorded in config.json."]
    license_name = config.get("license") or DEFAULT_LICENSE
    lines += ["", f"**Weights licence:** `{license_name}`."
              + (" The weights derive from the data above; respect its terms." if note else ""), ""]
    return "\n".join(lines)


def _training_section(config: dict) -> str:
    training = config.get("training") or {}
    lines = ["## Training", ""]
    if training.get("command"):
        lines += ["Exact command:", "", "```bash", str(training["command"]), "```", ""]
    wall = training.get("wall_time_s")
    if isinstance(wall, (int, float)):
        wall = f"{wall / 3600:.2f} h" if wall >= 3600 else f"{wall / 60:.1f} min"
    known = {"wall time": wall,
             "hardware": training.get("hardware")}
    known.update({key: value for key, value in training.items()
                  if key not in ("command", "wall_time_s", "hardware") and not isinstance(value, (dict, list))})
    lines += [f"- {key}: {_format(value)}" for key, value in known.items() if value is not None]
    return "\n".join(lines) + "\n"


def _metrics_section(config: dict) -> str:
    metrics = _flatten(config.get("metrics") or {})
    if not metrics:
        return "## Evaluation\n\nNo metrics recorded in config.json.\n"
    rows = [f"| {key} | {_format(value)} |" for key, value in metrics.items()]
    return "\n".join(["## Evaluation", "", "| metric | value |", "|---|---|", *rows, ""])


def _sample_link(folder: Path, sample_image: str | None) -> str | None:
    """A URL stays as is; a file is linked relative to the card (so it works on GitHub and the Hub)."""
    if not sample_image:
        found = sorted(folder.glob("sample.*"))
        return found[0].name if found else None
    if "://" in sample_image:
        return sample_image
    path = Path(sample_image) if Path(sample_image).is_absolute() else folder / sample_image
    if not path.is_file():
        raise FileNotFoundError(f"Sample image {path} does not exist.")
    return Path(os.path.relpath(path.resolve(), folder.resolve())).as_posix()


def _coat_section(config: dict) -> str:
    """For a model that takes a colour (`UNetConfig.condition_channels`, `pix2pix_demo.coat`): its named colours."""
    coats = config.get("coats")
    if not (isinstance(coats, dict) and coats and (config.get("architecture") or {}).get("condition_channels")):
        return ""
    default = (config.get("architecture") or {}).get("condition_default")
    rows = [f"| {name} | {', '.join(f'{v:.2f}' for v in rgb)} |" for name, rgb in coats.items()]
    return "\n".join([
        "## Colour", "",
        "A line drawing does not say what colour the object is, so this model also takes one: the mean colour "
        "(RGB, 0..1) of the object's pixels, measured on each training photo (`pix2pix_demo.coat.coat_colour`) and "
        "given to every decoder level. `pipe(drawing, coat=\"ginger\")` picks a named colour, `coat=\"#a0522d\"` or "
        "`coat=[r, g, b]` any other; without one the model uses "
        + (f"`{[round(v, 3) for v in default]}`." if default else "its default.")
        + " In the app: the round swatches above the picture.", "",
        "| colour | mean RGB |", "|---|---|", *rows, ""])


def _fur_section(config: dict) -> str:
    """For a model whose config turns the fur finish on by default (`"fur"`, `pix2pix_demo.fur`): what it adds."""
    from .fur import config_fur

    settings = config_fur(config)
    if settings is None:
        return ""
    return "\n".join([
        "## Fur finish", "",
        "The config's `\"fur\"` turns on a finish after the network (`pix2pix_demo.fur`, nothing learned): white noise "
        "averaged along the directions away from the cat's middle (line integral convolution) becomes hair strands, "
        f"multiplied into the lightness inside the cat (amount {settings.amount:g}, half-length {settings.length} px; "
        "fainter towards white, never on the page or the picture's own eyes, nose and lines). "
        "`pipe(drawing, fur=False)` gives the network's own picture. In the app: the Draw tab's \"Fur strands\" switch.", ""])


def _holes_section(config: dict) -> str:
    """For a model whose config holds a fitted hole guess (`"holes"`, `pix2pix_demo.holes`): what it does."""
    from .holes import config_holes

    settings = config_holes(config)
    if settings is None:
        return ""
    return "\n".join([
        "## Holes kept open", "",
        "A drawing does not say whether a region its lines enclose (a handbag's handle hole, a shoe's opening) is "
        "background seen through or part of the object. The config's `\"holes\"` holds a guess fitted on the "
        "training pairs (`python -m train.holes`, `pix2pix_demo.holes`): a logistic regression"
        + (f" over {len(settings.hidden_weights)} tanh units" if settings.hidden_weights else "") + " on "
        f"{len(settings.features)} numbers per enclosed region (its size and shape, how thin the band of drawing "
        "between it and the outside is, where it sits in the object"
        + (", how white the network already painted it" if {"painted", "brightness"} & set(settings.features) else "")
        + "). "
        f"Regions it gives a probability of at least {settings.threshold:g} are blended to white after the network "
        f"(feathered over {settings.feather:g} px, never over the lines). "
        "`pipe(drawing, holes=False)` gives the network's own picture.", ""])


def _app_note(kind: str, name: str, repo_id: str | None, task: str | None = None) -> str:
    if kind == "cat-segmenter":
        return ("In the demo app it cuts the cat out of an uploaded photo (the Photo tab's \"Cut the cat out "
                "first\", on by default for the cats models) and finds the cat for the Translate tab's recolour; "
                "`train.data.edges --cutout --segmenter` makes edges2cats' stock-style training set with it.")
    if kind == "edge-detector":
        return ("In the demo app it is the Photo tab's \"Learned HED-like\" edge detector, read from "
                "`weights/edges-hed-learned` (or the folder in `PIX2PIX_EDGE_DETECTOR`).")
    if kind == "srgan":
        return ("In the demo app it is \"Enhance ×4\": the Draw tab's 1024² PNG download, the Photo tab's Enhance ×4 "
                "button and the SRGAN method of the SinGAN tab's Super-resolution, read from "
                f"`weights/{name}` (the registry lists it as kind `srgan`).")
    if kind == "detail":
        return ("In the demo app it runs after every edges→cats picture (the Draw and Photo tabs): the first stage's "
                f"config.json names it (`\"detail\": \"{name}\"`), and the registry loads it from `weights/{name}`.")
    if kind == "cyclegan":
        return ("In the demo app it is a direction of the Translate tab's CycleGAN translator (config.json "
                f"`kind: cyclegan`; paired with its partner folder), read from `weights/{name}`.")
    if kind == "stargan":
        return ("In the demo app it is a model of the Translate tab (the target domain is the \"Turn it into\" "
                f"choice; `/translate_photo(image, \"{name}\", domain)`), read from `weights/{name}`.")
    if kind == "photo-task":
        return ("In the demo app it is the Colour & fill tab's " + ("Colourize" if task == "colourize" else "Fill in")
                + f" sub-tab (config.json `kind: photo-task`), read from `weights/{name}`.")
    if kind == "facades":
        return ("In the demo app it is a model of the Facades tab (config.json `kind: facades`), read from "
                f"`weights/{name}` or the Hub repo" + (f" `{repo_id}`." if repo_id else "."))
    return ("In the demo app, the model is listed by the registry (`pix2pix_demo.registry`): a local "
            f"`weights/{name}` folder first, else the Hub repo" + (f" `{repo_id}`." if repo_id else "."))


def model_card(folder, repo_id: str | None = None, sample_image: str | None = None, extra_markdown: str = "") -> str:
    """The card text (YAML front matter + markdown) for a model folder."""
    folder = Path(folder)
    config = hub.read_config(folder)
    name = repo_id.split("/")[-1] if repo_id else folder.name  # a staging folder may have any name
    target = repo_id or f"weights/{name}"
    sample = _sample_link(folder, sample_image)
    parts = ["---", card_metadata(config, name).to_yaml().strip(), "---", "", _summary(config, name, folder)]
    if sample:
        parts += [f"![sample output of {name}]({sample})", ""]
    parts += ["## Usage", "", "Install the `pix2pix_demo` package (this project's repository: "
              "`pip install -r requirements.txt`), then:", "", "```python", _usage(_kind(config), target), "```", "",
              _app_note(_kind(config), name, repo_id, config.get("task")), "",
              *filter(None, (_coat_section(config), _fur_section(config), _holes_section(config))),  # each only where it applies
              _data_section(config), _training_section(config), _metrics_section(config)]
    if extra_markdown.strip():  # markers let push_to_hub carry this text over when it rewrites the card
        parts += [EXTRA_START, extra_markdown.strip(), EXTRA_END, ""]
    return "\n".join(parts)


def extra_markdown_of(card_text: str) -> str:
    """The `extra_markdown` an earlier `write_model_card` put into a card ("" if none)."""
    start, end = card_text.find(EXTRA_START), card_text.find(EXTRA_END)
    return card_text[start + len(EXTRA_START):end].strip() if 0 <= start < end else ""


def write_model_card(folder, repo_id: str | None = None, sample_image: str | None = None,
                     extra_markdown: str = "") -> Path:
    """Write folder/README.md from folder/config.json; return its path.

    repo_id: "owner/name" for the usage snippet (else the local folder is used).
    sample_image: a URL, or an image file (relative to the folder or absolute) the card links to;
    default: a `sample.*` file in the folder if there is one.
    """
    path = Path(folder) / hub.CARD_NAME
    hub.atomic_write_bytes(path, model_card(folder, repo_id, sample_image, extra_markdown).encode("utf-8"))
    return path
