"""Label cat photos by coat colour, for a StarGAN whose domains are coats (the paper's hair colours).

    python -m train.data.coat_domains --photos ../shared/data/cats/train --photos ../shared/data/cats/test \
        --photos ../shared/data/cats-masked/images \
        --exclude ../shared/data/cats/heldout.txt --exclude ../shared/data/cats-masked/heldout.txt \
        --out runs/coat-domains            # -> runs/coat-domains/labels.csv + masks/*.png

Each photo is segmented by our cat segmenter (`pix2pix_demo.cutout.segment`) and its coat colour
measured as `train.data.coat_palette` does (`coat.core_colour`: the mean RGB of the sure, eroded core of the
cat). The colour then names a domain by the rules of `coat_domain` (lightness and warmth in the YIQ
space of `pix2pix_demo.coat`); a photo between two domains, or whose cat the segmenter is not sure of,
gets no domain and is left out. labels.csv has one row per photo (path, domain or empty, R, G, B,
lightness, warmth, chroma) and the segmenter's probability is written as masks/<stem>.png (8-bit, at
the size the photo was measured) for `train.stargan --labels labels.csv --lambda-bg`, which keeps
the background of a translation.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
from PIL import Image

from pix2pix_demo.coat import RGB_TO_YIQ, core_colour, sure_core
from pix2pix_demo.data import list_images, read_name_list
from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import open_image, to_rgb


# Domain rules on a coat's lightness Y and warmth I (YIQ), tuned on the histogram of the 1,301 training
# photos so each domain is a coat a person would name, with a gap between domains (photos in the gaps
# are left out rather than mislabelled).
DOMAINS = ("black", "ginger", "grey-tabby", "white-cream")
MAX_SPREAD = 0.2  # lightness spread above which a (not black) coat counts as mixed
DOMAIN_LABELS = {"black": "Black", "ginger": "Ginger", "grey-tabby": "Grey tabby", "white-cream": "White / cream"}


def coat_features(rgb) -> tuple[float, float, float]:
    """(lightness Y, warmth I: the orange-blue axis, chroma |IQ|) of an RGB colour in 0..1 (YIQ)."""
    y, i, q = RGB_TO_YIQ @ np.asarray(rgb, dtype=np.float32).reshape(3)
    return float(y), float(i), float(np.hypot(i, q))


def coat_spread(photo: np.ndarray, probability: np.ndarray, sure: float = 0.8) -> float | None:
    """The spread (standard deviation) of the lightness over the cat's sure core: a two-coloured cat (black
    and white, calico) has a grey mean but a large spread."""
    core = sure_core(probability, sure)  # the pixels coat.core_colour averages
    if core is None:
        return None
    lightness = (np.asarray(photo, dtype=np.float32) / 255) @ RGB_TO_YIQ[0]
    return float(lightness[core].std())


def coat_domain(rgb, spread: float | None = None) -> str | None:
    """The coat domain of a measured coat colour (and the lightness spread over the cat, when known: a
    mixed coat is no domain), or None between domains."""
    y, i, _ = coat_features(rgb)
    if spread is not None and spread > MAX_SPREAD and y >= 0.22:
        return None
    if y < 0.22:
        return "black"
    if y > 0.62 and i < 0.10:
        return "white-cream"
    if 0.28 <= y <= 0.58 and i >= 0.12:
        return "ginger"
    if 0.28 <= y <= 0.58 and i <= 0.06:
        return "grey-tabby"
    return None


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", action="append", required=True, help="a folder of cat photos (repeatable)")
    p.add_argument("--exclude", action="append", default=[], help="names never to use (held-out lists)")
    p.add_argument("--segmenter", default="weights/cat-segmenter")
    p.add_argument("--size", type=int, default=256, help="photos are measured (and masks saved) at this long side")
    p.add_argument("--out", required=True, help="folder for labels.csv and masks/")
    args = p.parse_args(argv)

    excluded = set().union(*(read_name_list(path) for path in args.exclude)) if args.exclude else set()
    out = Path(args.out)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    model = load_model(args.segmenter).eval()
    from pix2pix_demo.cutout import segment

    rows, counts = [], {}
    files = [f for folder in args.photos for f in list_images(folder) if f.name not in excluded and f.stem not in excluded]
    for n, path in enumerate(files):
        photo = to_rgb(open_image(path))
        photo.thumbnail((args.size, args.size))
        stem = f"{path.parent.parent.name}-{path.parent.name}-{path.stem}"  # cats-train-cat.1 ...
        mask_path = out / "masks" / f"{stem}.png"
        if mask_path.is_file():  # a rerun (other rules) reuses the segmentation
            probability = np.asarray(Image.open(mask_path), dtype=np.float32) / 255
        else:
            probability = segment(model, photo)
            Image.fromarray(np.round(probability * 255).astype(np.uint8)).save(mask_path)
        colour = core_colour(np.asarray(photo), probability)
        if colour is None:
            rows.append([str(path), "", "", "", "", "", "", "", "", f"masks/{stem}.png"])
            continue
        spread = coat_spread(np.asarray(photo), probability)
        domain = coat_domain(colour, spread) or ""
        counts[domain or "(none)"] = counts.get(domain or "(none)", 0) + 1
        rows.append([str(path), domain, *(f"{v:.4f}" for v in colour), *(f"{v:.4f}" for v in coat_features(colour)), f"{spread:.4f}",
                     f"masks/{stem}.png"])
        if n % 200 == 0:
            print(f"{n}/{len(files)} {counts}", flush=True)
    with open(out / "labels.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "domain", "r", "g", "b", "lightness", "warmth", "chroma", "spread", "mask"])
        writer.writerows(rows)
    print(f"{len(files)} photos; {counts}; unsure segmentations: {sum(1 for r in rows if not r[2])}")
    return out / "labels.csv"


if __name__ == "__main__":
    main()
