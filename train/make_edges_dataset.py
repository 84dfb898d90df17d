"""Folder of photos -> paired edges->photo dataset, with the app's own edge extractor.

    python -m train.make_edges_dataset SRC DST [--method hed-like] [--size 256]
        [--crop none|cat-face] [--exclude LIST.txt] [--variants N]

Writes DST/A/<name>.png (edges, mode L) and DST/B/<name>.png (photo, RGB), plus DST/dataset.json
(the extractor and settings used; `train.pix2pix` copies `edge_method` into the model's config so
the app extracts a photo's edges the way the model was trained). Both have the short
side = --size, or are --size squares with --crop cat-face (photos without a detected cat face are
skipped). --variants N adds N-1 extra edge maps per photo made with other extractor settings,
DST/A/<name>__v1.png ..., each with its photo copied to DST/B/<name>__v1.png, so that a model
trained on them tolerates whichever settings (and roughness) its input comes with.
<name> is the photo's path under SRC with "/" replaced by "-" and no suffix.
"""

from __future__ import annotations

import argparse
import json
from functools import partial
from multiprocessing import Pool
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from pix2pix_demo.data import DATASET_INFO
from pix2pix_demo.edges import EDGE_METHODS, cat_face_crop_box, extract_edges

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

# Extra extractor settings for --variants: sparser, denser, smoother, and the plain Canny look.
VARIANT_SETTINGS = [
    dict(method="hed-like", threshold=0.4, low_threshold=0.2),
    dict(method="hed-like", threshold=0.22, low_threshold=0.11),
    dict(method="hed-like", scales=(2.0, 4.0), bilateral_passes=2),
    dict(method="canny"),
]


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder of photos (searched recursively)")
    parser.add_argument("destination", type=Path, help="output folder; A/ and B/ are created in it")
    parser.add_argument("--method", default="hed-like", choices=sorted(EDGE_METHODS))
    parser.add_argument("--size", type=int, default=256, help="short side (or square side with --crop cat-face)")
    parser.add_argument("--crop", default="none", choices=["none", "cat-face"])
    parser.add_argument("--exclude", type=Path, help="text file of file names to skip, one per line")
    parser.add_argument("--variants", type=int, default=1, help="edge maps per photo (1 + extra settings)")
    parser.add_argument("--workers", type=int, default=2, help="processes (at most 2)")
    return parser


def read_names(path: Path | None) -> set[str]:
    if path is None:
        return set()
    return {line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")}


def prepare_photo(path: Path, size: int, crop: str) -> Image.Image | None:
    """Open, crop (cat-face) and resize one photo; None when the crop finds no face."""
    with Image.open(path) as opened:
        photo = opened.convert("RGB")
    if crop == "cat-face":
        box = cat_face_crop_box(photo)
        if box is None:
            return None
        return photo.crop(box).resize((size, size), Image.LANCZOS)
    scale = size / min(photo.size)
    return photo.resize((max(size, round(photo.width * scale)), max(size, round(photo.height * scale))), Image.LANCZOS)


def edge_settings(method: str, variants: int) -> list[dict]:
    """The extractor settings of a photo's edge maps: the chosen method, then `variants - 1` extras."""
    return [dict(method=method)] + VARIANT_SETTINGS[: variants - 1]


def process_one(item: tuple[Path, str], destination: Path, method: str, size: int, crop: str, variants: int) -> str:
    """Write the pairs of one photo; returns 'written' or 'no-face'."""
    path, name = item
    photo = prepare_photo(path, size, crop)
    if photo is None:
        return "no-face"
    for index, options in enumerate(edge_settings(method, variants)):
        stem = name if index == 0 else f"{name}__v{index}"
        extract_edges(photo, **options).save(destination / "A" / f"{stem}.png")
        photo.save(destination / "B" / f"{stem}.png")
    return "written"


def main(args: argparse.Namespace) -> None:
    if not 1 <= args.variants <= len(VARIANT_SETTINGS) + 1:
        raise SystemExit(f"--variants must be between 1 and {len(VARIANT_SETTINGS) + 1}.")
    excluded_names = read_names(args.exclude)
    photos = sorted(p for p in args.source.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise SystemExit(f"No photos found under {args.source}.")
    kept = [p for p in photos if p.name not in excluded_names and p.stem not in excluded_names]
    items = [(p, "-".join(p.relative_to(args.source).with_suffix("").parts)) for p in kept]
    for folder in ("A", "B"):
        (args.destination / folder).mkdir(parents=True, exist_ok=True)

    work = partial(process_one, destination=args.destination, method=args.method, size=args.size,
                   crop=args.crop, variants=args.variants)
    workers = max(1, min(2, args.workers))
    results = []
    with Pool(workers) as pool:
        for result in tqdm(pool.imap_unordered(work, items, chunksize=4), total=len(items), desc="edges"):
            results.append(result)
    written = results.count("written")
    settings = edge_settings(args.method, args.variants)
    (args.destination / DATASET_INFO).write_text(json.dumps({
        "edge_method": args.method, "edge_settings": settings, "size": args.size, "crop": args.crop,
        "source": str(args.source), "photos": written, "pairs": written * args.variants,
    }, indent=2, default=list) + "\n")
    print(f"{written} photos written ({written * args.variants} pairs) to {args.destination}; "
          f"{results.count('no-face')} skipped (no cat face); {len(photos) - len(kept)} excluded.")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
