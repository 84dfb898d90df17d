"""Pseudo-label cat photos without masks with trained segmenters, for `train.segmenter --extra`.

    python -m train.segmenter_pseudo --teachers weights/cat-segmenter OTHER_SEGMENTER \
        --photos ../shared/data/cats/train ../shared/data/cats/test --exclude ../shared/data/cats/heldout.txt \
        --out runs/pseudo

The teachers' probabilities (`cutout.segment`: 288 px, with the flip) are averaged; a photo is kept only
if `cutout.mask_quality` passes on that mean (a cat cut by the frame is allowed: its mask is still
right). Only the sure pixels get a label (`pseudo_trimap`): 1 cat deep inside the largest blob, 2
background well away from every blob, 0 = unknown (the outline's band, other blobs, unsure pixels),
which `train.segmenter` leaves out of the loss. So the student learns where a cat's border lies only
from the true masks (whose band counts as cat), and what the teacher is unsure of is not taught.
Writes OUT/images/<split>-<stem>.jpg (links to the photos), OUT/trimaps/<same>.png and OUT/pseudo.json
(counts, what was skipped and why, the command).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pix2pix_demo.cutout import SEGMENT_SIZE, largest_component, mask_quality, segment
from pix2pix_demo.data import read_name_list
from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import open_image, to_rgb
from pix2pix_demo.threads import use_threads

UNKNOWN, CAT, BACKGROUND = 0, 1, 2


def pseudo_trimap(probability: np.ndarray, sure: float = 0.9, band: float = 0.015) -> np.ndarray:
    """Probability of cat (HxW) -> uint8 labels: 1 cat (in the largest blob of p >= 0.5, at least `band`
    of the long side inside its outline, p >= sure), 2 background (at least `band` outside every blob,
    p <= 1 - sure), 0 unknown (everything else)."""
    probability = np.asarray(probability, dtype=np.float32)
    mask = probability >= 0.5
    radius = max(1, int(round(band * max(mask.shape))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    inside = cv2.erode(largest_component(mask).astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0
    near = cv2.dilate(mask.astype(np.uint8), kernel) > 0
    labels = np.full(mask.shape, UNKNOWN, np.uint8)
    labels[inside & (probability >= sure)] = CAT
    labels[~near & (probability <= 1 - sure)] = BACKGROUND
    return labels


def mean_probability(teachers, photo: Image.Image, size: int = SEGMENT_SIZE) -> np.ndarray:
    return np.mean([segment(teacher, photo, size=size) for teacher in teachers], axis=0)


def pseudo_label(teachers, photos: list[tuple[str, Path]], out: Path, sure: float = 0.9,
                 band: float = 0.015) -> dict:
    """Label each (name, path) into out/images + out/trimaps; returns the counts by outcome."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "trimaps").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, path in photos:
        photo = to_rgb(open_image(path))
        probability = mean_probability(teachers, photo)
        failed = [f for f in mask_quality(probability).failures if f != "frame"]
        outcome = failed[0] if failed else "kept"
        counts[outcome] = counts.get(outcome, 0) + 1
        if failed:
            continue
        link = out / "images" / f"{name}.jpg"
        if link.is_symlink() or link.exists():
            link.unlink()
        if path.suffix.lower() in (".jpg", ".jpeg"):
            os.symlink(path.resolve(), link)
        else:
            photo.save(link, quality=95)
        Image.fromarray(pseudo_trimap(probability, sure, band)).save(out / "trimaps" / f"{name}.png")
    return counts


def list_photos(folders: list[Path], exclude: set[str]) -> list[tuple[str, Path]]:
    """(name, path) of every photo in the folders, names prefixed by the folder's name; a photo whose
    file name or stem is in `exclude` is left out."""
    photos = []
    for folder in folders:
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
            if path.name in exclude or path.stem in exclude:
                continue
            photos.append((f"{folder.name}-{path.stem}".replace(".", "_"), path))
    return photos


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--teachers", type=Path, nargs="+", required=True, help="segmenter folders; their probabilities are averaged")
    p.add_argument("--photos", type=Path, nargs="+", required=True, help="folders of photos without masks")
    p.add_argument("--exclude", type=Path, nargs="*", default=[], help="name lists (e.g. heldout.txt) never labelled")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--sure", type=float, default=0.9, help="probability a pixel needs to be labelled cat (1 - it: background)")
    p.add_argument("--band", type=float, default=0.015, help="unknown band around the outline, fraction of the long side")
    p.add_argument("--limit", type=int, default=None, help="only the first N photos (smoke tests)")
    p.add_argument("--num-threads", type=int, default=1)
    return p


def main(args) -> dict:
    print(f"Labelling with {use_threads(args.num_threads)}", flush=True)
    for folder in args.photos:
        if not folder.is_dir():
            raise SystemExit(f"--photos {folder}: not a folder.")
    exclude: set[str] = set()
    for names in args.exclude:
        exclude |= read_name_list(names)
    teachers = [load_model(folder) for folder in args.teachers]
    photos = list_photos(args.photos, exclude)[:args.limit]
    counts = pseudo_label(teachers, photos, args.out, args.sure, args.band)
    report = {"photos": len(photos), "counts": counts, "teachers": [str(t) for t in args.teachers],
              "excluded_names": len(exclude), "sure": args.sure, "band": args.band,
              "command": "python -m train.segmenter_pseudo " + " ".join(sys.argv[1:])}
    (args.out / "pseudo.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main(get_args_parser().parse_args())
