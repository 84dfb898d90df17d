"""Measure a coat-colour StarGAN on held-out cat photos: does the cat's coat become the chosen one, and
does the rest of the photo stay? Against doing nothing and the classical recolour.

    python -m train.eval.coat_stargan weights/cats-coat-stargan --data ../shared/data \
        --labels runs/coat-domains/labels.csv --grid runs/coat-heldout.png [--json r.json] [--save-metrics]
    python -m train.eval.coat_stargan weights/cats-coat-stargan --pictures examples/photos/chelsea.png \
        --grid docs/images/coat-stargan-chelsea.png        # no data needed: one row per picture
    python -m train.eval.coat_stargan weights/cats-coat-stargan ... --per-domain black=runs/w/others2black \
        --per-domain ginger=runs/w/others2ginger ...       # + one single-direction model per target domain
    python -m train.eval.coat_stargan runs/new-stargan ... --before weights/cats-coat-stargan --kid
                                                           # + today's StarGAN beside the new one, one run

Held-out photos (never trained on, nor labelled for training): the 200 of cats/heldout.txt and the 80
of cats-masked/heldout.txt, each at the model's working scale (`translate_image`). Our cat segmenter
gives each input's cat probability p; the input's own coat domain is `train.data.coat_domains.coat_domain`
of its measured coat (`coat.core_colour`). Every photo is translated into every domain other than its
own, by
- identity: the photo unchanged (what doing nothing scores),
- chroma: `coat.match_chroma` on the segmenter's p towards the domain's centre (the mean coat of its
  training photos, from --labels): the app's classical recolour; it moves hue and saturation only,
- recolour: the same plus the cat's lightness scaled to the centre's (a stronger classical baseline:
  what an image editor's "colourise the selection" does),
- the StarGAN, told the domain,
- stargan-cat: the StarGAN's change kept on the cat (`translate.keep_on_cat` with the same segmenter: the
  Translate tab's default, "Change only the cat"),
- with --per-domain: "per-domain", a single-direction model per target domain (a CycleGAN generator
  from `train.cyclegan`, e.g. other coats -> black), run on the same working photo; targets without
  one are not scored for it.
- with --before MODEL: "before" and "before-cat", another StarGAN (today's, beside a new one) scored like
  stargan and stargan-cat in the same run: the same photos, segmentation and KID reals.
Per target domain and method: hit = the output's coat (measured on the input's cat core, so a method
cannot win by moving the cat) falls in the target domain by the labelling rules; dist = RGB distance of
that coat to the domain's centre; bg SSIM = SSIM between input and output outside the cat (p < 0.5,
grown by 3 % of the side and half the SSIM window); bg L1 = the mean absolute change there (0..1);
bg L1 true = the same outside the *true* cat (the trimap's background, for the cats-masked photos, which
have one; the segmenter's mask favours stargan-cat, made with it); cat L1 = the mean change inside the
cat core; content ssim = SSIM between input and output, whole pictures at 64×64 (`train.eval.cyclegan`'s
content score: 1 = the same picture; a recolour lowers it too); ms = CPU ms per photo; KID ×1000 (with --kid; EfficientNet-Lite0 features) of the outputs into
each coat against the held-out photos whose own coat it is, for identity, recolour (the classical teacher
of `train.stargan --teacher recolour`), stargan and stargan-cat.
Without --labels the centres are the model's domain_coats (what train.data.coat_domains measured).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image, ImageDraw

from pix2pix_demo.coat import COAT_DOMAINS, core_colour, match_chroma, recolour_coat
from pix2pix_demo.cutout import segment
from pix2pix_demo.data import list_images, read_name_list
from pix2pix_demo.hub import load_model, update_config
from pix2pix_demo.imaging import open_image, to_rgb
from pix2pix_demo.models.stargan import translate_image, working_size
from pix2pix_demo.translate import run_generator
from train.data.coat_domains import coat_domain, coat_spread
from train.eval import only_cat
from train.eval.cyclegan import content_scores
from train.eval.pix2pix import ssim

HELDOUT = (("cats/test", "cats/heldout.txt"), ("cats-masked/images", "cats-masked/heldout.txt"))
METHODS = ("identity", "chroma", "recolour", "stargan", "stargan-cat")
KID_METHODS = ("identity", "recolour", "stargan", "stargan-cat")
PER_DOMAIN = "per-domain"  # the method of --per-domain models
BEFORE = ("before", "before-cat")  # --before: another StarGAN, scored as "stargan" and "stargan-cat"


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", type=Path, help="a StarGAN model folder whose domains are coat domains")
    p.add_argument("--data", type=Path, default=None, help="the shared data folder (held-out photos)")
    p.add_argument("--labels", type=Path, default=None, help="train.data.coat_domains' labels.csv: the domains' centres")
    p.add_argument("--segmenter", type=Path, default=Path("weights/cat-segmenter"))
    p.add_argument("--kid", action="store_true", help="KID of the outputs into each coat vs its held-out photos")
    p.add_argument("--limit", type=int, default=None, help="at most this many held-out photos (evenly spread)")
    p.add_argument("--pictures", type=Path, nargs="+", help="no measuring: a grid of these pictures in every domain")
    p.add_argument("--grid", type=Path, default=None)
    p.add_argument("--per-domain", action="append", default=[], metavar="DOMAIN=MODEL",
                   help="a single-direction model (train.cyclegan's export) into DOMAIN, scored as method "
                        f"'{PER_DOMAIN}' beside the StarGAN (repeatable: one per target domain)")
    p.add_argument("--before", type=Path, default=None, metavar="MODEL",
                   help="another StarGAN with the same domains (e.g. today's beside a new one), scored as methods "
                        "'before' and 'before-cat' in the same run")
    p.add_argument("--recolour-row", action="store_true",
                   help="--pictures: add a row of the classical recolour (--segmenter's mask; the model's "
                        "domain_coats, else coat.COAT_DOMAINS)")
    p.add_argument("--grid-rows", type=int, default=8)
    p.add_argument("--save-metrics", action="store_true", help="store the results in the model's config.json")
    p.add_argument("--json", type=Path, default=None)
    p.add_argument("--num-threads", type=int, default=1)
    return p


def load_per_domain(specs, domains) -> dict:
    """{domain: loaded single-direction model} from --per-domain DOMAIN=MODEL (SystemExit on a bad one)."""
    models = {}
    for spec in specs:
        domain, sep, folder = spec.partition("=")
        if not sep or not folder:
            raise SystemExit(f"--per-domain expects DOMAIN=MODEL_FOLDER; got {spec!r}")
        if domain not in domains:
            raise SystemExit(f"--per-domain {spec!r}: {domain!r} is not one of the StarGAN's domains "
                             f"({', '.join(domains)})")
        if domain in models:
            raise SystemExit(f"--per-domain: two models for {domain!r}")
        models[domain] = load_model(Path(folder)).float().eval()
    return models


def translate_one(method: str, array: np.ndarray, photo: Image.Image, target: str, probability, centres,
                  model, per_domain, segmenter=None, before=None) -> np.ndarray:
    """The photo (HxWx3 uint8 and its PIL image) into `target` by `method`, HxWx3 uint8 of the same size."""
    if method in BEFORE:  # --before's StarGAN, scored as the StarGAN is
        return translate_one(method.replace("before", "stargan"), array, photo, target, probability, centres,
                             before, per_domain, segmenter)
    if method == "stargan-cat":
        from pix2pix_demo.translate import keep_on_cat

        whole = translate_image(model, photo, target)
        return np.asarray(keep_on_cat(photo, photo, whole, segmenter, probability=probability).image)
    if method == "identity":
        return array
    if method == "chroma":
        return match_chroma(array, centres[target], weight=probability)
    if method == "recolour":
        return recolour_coat(array, centres[target], probability)
    if method == PER_DOMAIN:
        return np.asarray(run_generator(per_domain[target], photo))
    return np.asarray(translate_image(model, photo, target))


def domain_centres(labels: Path | None, domains, model=None) -> dict[str, np.ndarray]:
    """{domain: mean coat RGB of its labelled training photos}; without `labels`, the model's domain_coats."""
    if labels is None:
        coats = (getattr(model, "metadata", None) or {}).get("domain_coats") or {}
        missing = [d for d in domains if d not in coats]
        if missing:
            raise SystemExit(f"No --labels, and the model's domain_coats lack {', '.join(missing)}.")
        return {d: np.asarray(coats[d], np.float32) for d in domains}
    colours: dict[str, list] = {}
    with open(labels, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["domain"]:
                colours.setdefault(row["domain"], []).append([float(row[c]) for c in "rgb"])
    missing = [d for d in domains if d not in colours]
    if missing:
        raise SystemExit(f"{labels} labels no photo as {', '.join(missing)}.")
    return {d: np.mean(colours[d], axis=0).astype(np.float32) for d in domains}


def background_weight(probability: np.ndarray, window: int = 11) -> np.ndarray:
    """1 where the photo is background: p < 0.5, grown by 3 % of the side plus half the SSIM window (so no
    SSIM window that scores the background reaches into the cat)."""
    cat = (probability >= 0.5).astype(np.uint8)
    radius = window // 2 + max(1, round(0.03 * max(cat.shape)))
    grown = cv2.dilate(cat, np.ones((2 * radius + 1, 2 * radius + 1), np.uint8))
    return (grown == 0).astype(np.float32)


def as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array.astype(np.float32) / 255).permute(2, 0, 1)[None]


def heldout_photos(root: Path, limit: int | None) -> list[Path]:
    files = []
    for folder, names_file in HELDOUT:
        names = read_name_list(root / names_file)
        files += [p for p in list_images(root / folder) if p.name in names or p.stem in names]
    if limit and len(files) > limit:
        files = [files[round(i * (len(files) - 1) / (limit - 1))] for i in range(limit)]
    return files


def working_photo(model, path: Path) -> Image.Image:
    image = to_rgb(open_image(path))
    short = int(model.metadata.get("inference_short_side") or model.metadata.get("resolution") or 128)
    size = working_size(*image.size, short, 3 * short)
    return image.resize(size, Image.LANCZOS if size[0] < image.width else Image.BICUBIC)


def evaluate(args) -> dict:
    model = load_model(args.model).float().eval()
    segmenter = load_model(args.segmenter).float().eval()
    domains = list(model.config.domains)
    per_domain = load_per_domain(args.per_domain, domains)
    before = load_model(args.before).float().eval() if args.before else None
    if before is not None and list(getattr(before.config, "domains", ())) != domains:
        raise SystemExit(f"--before {args.before}: its domains {list(getattr(before.config, 'domains', ()))} are not "
                         f"the model's {domains}.")
    methods = METHODS + ((PER_DOMAIN,) if per_domain else ()) + (BEFORE if before is not None else ())
    kid_methods = KID_METHODS + (BEFORE if before is not None else ())
    centres = domain_centres(args.labels, domains, model)
    photos = heldout_photos(args.data, args.limit)
    kid_outputs = {(method, target): [] for method in kid_methods for target in domains}
    kid_reals = {target: [] for target in domains}
    rows = {(method, target): [] for method in methods for target in domains}
    times = {method: [] for method in methods}
    grid, own_domains = [], {}
    for path in photos:
        photo = working_photo(model, path)
        array = np.asarray(photo)
        probability = segment(segmenter, photo)
        colour = core_colour(array, probability)
        if colour is None:
            own_domains["(no sure cat)"] = own_domains.get("(no sure cat)", 0) + 1
            continue  # the segmenter finds no sure cat: nothing to measure the coat on
        own = coat_domain(colour, coat_spread(array, probability))
        own_domains[own or "(none)"] = own_domains.get(own or "(none)", 0) + 1
        if own in kid_reals:
            kid_reals[own].append(photo)
        background = background_weight(probability)
        outside = background > 0
        trimap = only_cat.trimap_for(path, args.data / "cats-masked" / "trimaps")
        true_outside = only_cat.regions(photo, trimap).background if trimap is not None else None
        outputs = {}
        for target in domains:
            if target == own:
                continue
            for method in methods:
                if method == PER_DOMAIN and target not in per_domain:
                    continue
                start = time.process_time()
                out = translate_one(method, array, photo, target, probability, centres, model, per_domain,
                                    segmenter, before)
                times[method].append(1000 * (time.process_time() - start))
                coat = core_colour(out, probability)
                core = probability >= 0.8
                rows[(method, target)].append({
                    "hit": coat_domain(coat) == target,
                    "dist": float(np.linalg.norm(coat - centres[target])),
                    "bg_ssim": ssim(as_tensor(array), as_tensor(out), weight=torch.from_numpy(background))
                    if background.sum() > 0.05 * background.size else None,
                    "bg_l1": only_cat.mean_change(photo, out, outside),
                    "bg_l1_true": None if true_outside is None else only_cat.mean_change(photo, out, true_outside),
                    "cat_l1": float(np.abs(out.astype(np.float32) - array)[core].mean() / 255),
                    "content_ssim": content_scores(photo, Image.fromarray(out))[1]})
                if args.kid and method in kid_methods:
                    kid_outputs[(method, target)].append(Image.fromarray(out))
                outputs[(method, target)] = out
        if len(grid) < args.grid_rows:
            grid.append((array, own, outputs))
    report = {"photos": len(photos), "own_domains": own_domains, "domains": domains,
              **({"before": str(args.before)} if before is not None else {}),
              "per_domain_models": {d: str(f) for d, f in (s.split("=", 1) for s in args.per_domain)},
              "centres": {d: [round(float(v), 3) for v in c] for d, c in centres.items()}, "targets": {},
              "ms_per_photo": {m: round(statistics.median(t), 1) for m, t in times.items() if t}}
    for target in domains:
        report["targets"][target] = {}
        for method in methods:
            items = rows[(method, target)]
            if not items:
                continue
            mean = lambda key, digits=3: (round(float(np.mean(values)), digits)  # noqa: E731
                                          if (values := [r[key] for r in items if r[key] is not None]) else None)
            report["targets"][target][method] = {
                "n": len(items), "hit": mean("hit"), "dist": mean("dist"), "bg_ssim": mean("bg_ssim"),
                "bg_l1": mean("bg_l1", 4), "bg_l1_true": mean("bg_l1_true", 4),
                "n_true": sum(r["bg_l1_true"] is not None for r in items), "cat_l1": mean("cat_l1"),
                "content_ssim": mean("content_ssim")}
    # the mean over the target domains a method was scored on (all of them, but for a partial --per-domain)
    report["mean"] = {method: {key: round(float(np.mean([report["targets"][t][method][key] for t in domains
                                                          if method in report["targets"][t]])), 3)
                               for key in ("hit", "dist", "bg_ssim", "cat_l1", "content_ssim")}
                      for method in methods if any(method in report["targets"][t] for t in domains)}
    for method, scores in report["mean"].items():  # background change: means over the domains that have one
        for key in ("bg_l1", "bg_l1_true"):
            values = [report["targets"][t][method][key] for t in domains
                      if method in report["targets"][t] and report["targets"][t][method][key] is not None]
            scores[key] = round(float(np.mean(values)), 4) if values else None
    if args.kid:
        from pix2pix_demo.features import kid_x1000, load_lite0

        net = load_lite0()
        report["kid_x1000"] = {target: {"real_photos": len(kid_reals[target]), **{
            method: kid_x1000(net, kid_outputs[(method, target)], kid_reals[target], spread=True)
            for method in kid_methods if len(kid_outputs[(method, target)]) >= 2}}
            for target in domains if len(kid_reals[target]) >= 2}
    if args.grid:
        save_grid(grid, domains, args.grid, methods=(("before",) if before is not None else ()) + ("stargan", "stargan-cat")
                  + ((PER_DOMAIN,) if per_domain else ()) + ("recolour",))
    return report


def save_grid(grid, domains, path: Path, cell: int = 128, methods=("stargan", "recolour")) -> None:
    """Per photo one row per method (default: the StarGAN into each domain, then the classical recolour);
    a domain a method did not translate into (the photo's own) shows the input."""
    columns = 1 + len(domains)
    titles = ["input"] + list(domains)
    sheet = Image.new("RGB", (cell * columns, 16 + len(methods) * cell * len(grid)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(titles):
        draw.text((cell * c + 4, 2), title, fill="black")
    for r, (array, own, outputs) in enumerate(grid):
        for k, method in enumerate(methods):
            y = 16 + (len(methods) * r + k) * cell
            tiles = [array] + [outputs.get((method, d), array) for d in domains]
            for c, tile in enumerate(tiles):
                image = Image.fromarray(tile)
                image.thumbnail((cell, cell))
                sheet.paste(image, (cell * c, y))
            draw.text((4, y + cell - 14), f"{method} (own: {own})", fill="yellow")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def picture_grid(args) -> None:
    """One row per picture: the picture, then the StarGAN into every domain (no data, no measuring); with
    --before first a row of that StarGAN; with --per-domain a second row per picture: the per-domain models (the picture where a domain has none);
    with --recolour-row one more: the classical recolour."""
    model = load_model(args.model).float().eval()
    domains = list(model.config.domains)
    per_domain = load_per_domain(args.per_domain, domains)
    before = load_model(args.before).float().eval() if args.before else None
    labels = model.metadata.get("domain_labels", {})
    if args.recolour_row:
        segmenter = load_model(args.segmenter).eval()
        centres = {**COAT_DOMAINS, **(model.metadata.get("domain_coats") or {})}
        if any(d not in centres for d in domains):
            raise SystemExit(f"--recolour-row: no coat colour for {', '.join(d for d in domains if d not in centres)}")
    rows = []
    for path in args.pictures:
        photo = working_photo(model, path)
        if before is not None:
            rows.append([photo] + [translate_image(before, photo, d) for d in domains])
        rows.append([photo] + [translate_image(model, photo, d) for d in domains])
        if per_domain:
            rows.append([photo] + [run_generator(per_domain[d], photo) if d in per_domain else photo
                                   for d in domains])
        if args.recolour_row:
            probability = segment(segmenter, photo)
            rows.append([photo] + [Image.fromarray(recolour_coat(np.asarray(photo), centres[d], probability))
                                   for d in domains])
    cell = max(max(im.width for im in row) for row in rows)
    height = max(max(im.height for im in row) for row in rows)
    sheet = Image.new("RGB", (cell * (1 + len(domains)), 18 + height * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(["input"] + [labels.get(d, d) for d in domains]):
        draw.text((cell * c + 4, 3), title, fill="black")
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            sheet.paste(image, (cell * c, 18 + height * r))
    args.grid.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.grid)


def main(argv=None) -> dict | None:
    args = get_args_parser().parse_args(argv)
    torch.set_num_threads(args.num_threads)
    if args.pictures:
        if not args.grid:
            raise SystemExit("--pictures makes a grid: say where with --grid.")
        picture_grid(args)
        return None
    if args.data is None:
        raise SystemExit("Measuring needs --data (the held-out photos).")
    report = evaluate(args)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    if args.save_metrics:
        # the card's table: the means over the target domains (the per-domain rows are in --json)
        mean = {method: scores for method, scores in report["mean"].items()  # the StarGAN's card
                if method != PER_DOMAIN and method not in BEFORE}
        update_config(args.model, metrics={"heldout_coats": {"photos": report["photos"], "mean": mean,
                                                             "ms_per_photo": {
            method: ms for method, ms in report["ms_per_photo"].items() if method != PER_DOMAIN and method not in BEFORE}}},
                      domain_coats=report["centres"])
    return report


if __name__ == "__main__":
    main()
