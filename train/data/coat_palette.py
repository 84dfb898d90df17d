"""Measure the coat colours of real cats: where the named coats of `pix2pix_demo.coat.COATS` come from.

    python -m train.data.coat_palette --photos ../shared/data/cats/train --exclude ../shared/data/cats/heldout.txt \
        --segmenter weights/cat-segmenter --limit 400 --clusters 8 [--swatches runs/coats.png] [--json runs/coats.json]

Each photo is segmented by our cat segmenter; the mean colour of the sure core of the cat (probability
≥ 0.8, eroded, so the background does not leak in) is the photo's coat colour, measured like
`coat.coat_colour` measures a cut-out. The colours are clustered (k-means in RGB) and the cluster
centres printed with their share of the photos, next to the nearest named coat. It also reports how many
of the real coat colours the training recolouring (`coat.random_recolour` applied to a reference brown
cat) comes close to, i.e. whether the model saw such coats in training. `--swatches` writes flat colour
swatches only (no photo pixels).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pix2pix_demo.coat import COATS, DEFAULT_COAT, core_colour, random_recolour, recolour_photo
from pix2pix_demo.cutout import segment
from pix2pix_demo.data import list_images, read_name_list
from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import open_image, to_rgb


def kmeans(points: np.ndarray, k: int, seed: int = 0, iterations: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means (k-means++ start): (centres k×3, labels)."""
    rng = np.random.default_rng(seed)
    centres = [points[rng.integers(len(points))]]
    for _ in range(1, k):
        distance = np.min([((points - c) ** 2).sum(1) for c in centres], axis=0)
        centres.append(points[rng.choice(len(points), p=distance / distance.sum())])
    centres = np.array(centres)
    for _ in range(iterations):
        labels = ((points[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
        new = np.array([points[labels == j].mean(0) if (labels == j).any() else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    return centres, labels


def training_coats(reference=COATS[DEFAULT_COAT], samples: int = 4000, seed: int = 0) -> np.ndarray:
    """Coat colours the training recolouring makes from a cat of the `reference` colour."""
    rng = np.random.default_rng(seed)
    pixel = np.asarray(reference, dtype=np.float32).reshape(1, 1, 3)
    return np.array([recolour_photo(pixel, **random_recolour(rng, keep=0.0)).reshape(3) for _ in range(samples)])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--photos", required=True, help="folder of cat photos")
    p.add_argument("--exclude", help="names never to use (a held-out list)")
    p.add_argument("--segmenter", default="weights/cat-segmenter")
    p.add_argument("--limit", type=int, default=400, help="photos to measure (evenly spread)")
    p.add_argument("--clusters", type=int, default=8)
    p.add_argument("--swatches", help="PNG of the cluster colours (flat swatches)")
    p.add_argument("--json", help="write the measurements here")
    args = p.parse_args(argv)

    excluded = read_name_list(args.exclude) if args.exclude else set()
    files = [f for f in list_images(args.photos) if f.name not in excluded and f.stem not in excluded]
    if args.limit and len(files) > args.limit:
        files = [files[round(i * (len(files) - 1) / (args.limit - 1))] for i in range(args.limit)]
    model = load_model(args.segmenter).eval()
    colours = []
    for path in files:
        photo = to_rgb(open_image(path))
        photo.thumbnail((384, 384))
        colour = core_colour(np.asarray(photo), segment(model, photo))
        if colour is not None:
            colours.append(colour)
    colours = np.array(colours)
    centres, labels = kmeans(colours, args.clusters)
    order = np.argsort(-np.bincount(labels, minlength=args.clusters))
    names = list(COATS)
    named = np.array([COATS[n] for n in names])
    made = training_coats()
    reach = np.sqrt(((colours[:, None] - made[None]) ** 2).sum(-1)).min(1)
    result = {"photos": len(files), "measured": len(colours), "clusters": [], "named": {},
              "covered_by_training_0.05": float((reach < 0.05).mean()),
              "covered_by_training_0.1": float((reach < 0.1).mean())}
    print(f"{len(colours)} of {len(files)} photos measured; clusters (share, RGB, nearest named coat):")
    for j in order:
        distance = np.sqrt(((named - centres[j]) ** 2).sum(1))
        entry = {"share": float((labels == j).mean()), "rgb": [round(float(v), 3) for v in centres[j]],
                 "nearest": names[int(distance.argmin())], "distance": round(float(distance.min()), 3)}
        result["clusters"].append(entry)
        print(f"  {entry['share']:5.1%}  {entry['rgb']}  {entry['nearest']} ({entry['distance']})")
    for name, rgb in COATS.items():
        distance = np.sqrt(((colours - np.asarray(rgb)) ** 2).sum(1))
        result["named"][name] = {"photos_within_0.1": float((distance < 0.1).mean())}
    print(f"real coats within 0.05 / 0.1 (RGB distance) of a training recolouring: "
          f"{result['covered_by_training_0.05']:.1%} / {result['covered_by_training_0.1']:.1%}")
    if args.swatches:
        swatch = Image.new("RGB", (80 * len(order), 100), "white")
        draw = ImageDraw.Draw(swatch)
        for x, j in enumerate(order):
            draw.rectangle((80 * x, 0, 80 * x + 79, 79), fill=tuple(int(v * 255) for v in centres[j]))
            draw.text((80 * x + 4, 84), f"{(labels == j).mean():.0%}", fill="black")
        Path(args.swatches).parent.mkdir(parents=True, exist_ok=True)
        swatch.save(args.swatches)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
