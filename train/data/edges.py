"""Folder of photos -> paired edges->photo dataset, with the app's own edge extractor.

    python -m train.data.edges SRC DST [--method hed-like] [--size 256]
        [--crop none|cat-face|close-up] [--exclude LIST.txt] [--variants N] [--prefix P]
        [--cutout --segmenter weights/cat-segmenter | --cutout --masks TRIMAP_DIR]

Writes DST/A/<name>.png (edges, mode L) and DST/B/<name>.png (photo, RGB), plus DST/dataset.json
(the extractor and settings used; `train.pix2pix` copies `edge_method` into the model's config so
the app extracts a photo's edges the way the model was trained). Both have the short
side = --size, or are --size squares with --crop cat-face (photos without a detected cat face are
skipped). --variants N adds N-1 extra edge maps per photo made with other extractor settings,
DST/A/<name>__v1.png ..., each with its photo copied to DST/B/<name>__v1.png, so that a model
trained on them tolerates whichever settings (and roughness) its input comes with.
<name> is --prefix + the photo's path under SRC with "/" replaced by "-" and no suffix.

--cutout makes stock-style pairs (the look of the edges2cats demo's data): each cat is cut out of
its photo, composited onto white with a soft border (`pix2pix_demo.cutout`), cropped to a square
around the cat (or, with --crop cat-face, the face crop), and the edges are extracted from that
composite, so only the cat's own lines remain. The mask comes from a trimap in --masks
(<stem>.png, Oxford-IIIT Pet style) or from the --segmenter model; segmentations it is unsure of
(`cutout.mask_quality`) are skipped and counted by reason. Several runs may write into one DST
(use different --prefix values): dataset.json then lists every run under "sources".

--crop close-up (with --cutout) makes face close-ups like a cat photo that the cat fills (the Photo
tab's example): a square window around the detected cat face, 1.25-2.2 times its side (per photo,
fixed by its name), taken from the full-size photo so the fur keeps its detail, with the cat cut out
inside it (the frame cuts the cat, as the Photo tab cuts a close-up). Kept when the window needs no
more than 1.67x enlargement and the cat covers at least half of it. A model trained on a folder with
close-up pairs records their share (`pix2pix_demo.data.dataset_close_ups`), and the Photo tab then cuts
a cat that fills its photo out as a close-up instead of using the whole photo.
"""

from __future__ import annotations

import argparse
import json
import os
from functools import partial
from multiprocessing import Pool
from pathlib import Path

from PIL import Image
from train.harness import tqdm

import numpy as np

from pix2pix_demo import cutout
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
    parser.add_argument("--crop", default="none", choices=["none", "cat-face", "close-up"],
                        help="cat-face: a head-and-shoulders square; close-up (with --cutout): a face close-up")
    parser.add_argument("--exclude", type=Path, help="text file of file names to skip, one per line")
    parser.add_argument("--variants", type=int, default=1, help="edge maps per photo (1 + extra settings)")
    parser.add_argument("--workers", type=int, default=2, help="processes (at most the CPU count)")
    parser.add_argument("--prefix", default="", help="prepended to every output name (several sources, one DST)")
    parser.add_argument("--cutout", action="store_true", help="cut the cat out onto white (stock-style pairs)")
    parser.add_argument("--masks", type=Path, help="with --cutout: folder of trimaps <stem>.png (1 cat, 2 bg, 3 edge)")
    parser.add_argument("--segmenter", type=Path, help="with --cutout: segmenter model folder (when no --masks)")
    parser.add_argument("--margin", type=float, default=0.08, help="with --cutout: white margin around the cat")
    parser.add_argument("--close-up-scales", default=None, metavar="LOW,HIGH",
                        help="with --crop close-up: the window's side as a range of multiples of the detected face's "
                             f"side (default {CLOSE_UP_SCALES[0]},{CLOSE_UP_SCALES[1]}; below 1 the frame cuts the ears)")
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


_SEGMENTERS: dict = {}


def _segmenter(folder: Path):
    """One segmenter per worker process, loaded on first use."""
    if folder not in _SEGMENTERS:
        import torch

        from pix2pix_demo.hub import load_model

        torch.set_num_threads(1)
        _SEGMENTERS[folder] = load_model(folder)
    return _SEGMENTERS[folder]


def cutout_photo(path: Path, size: int, crop: str, masks: Path | None, segmenter: Path | None,
                 margin: float = 0.08, max_side: int = 1024, check: bool = True,
                 close_up_scales: tuple[float, float] | None = None) -> tuple[Image.Image | None, str]:
    """Open one photo, cut its cat out onto white and crop it: (size² RGB, 'written') or (None, reason).

    `check=False` keeps every cut-out with a cat in it (evaluation on all held-out masks)."""
    with Image.open(path) as opened:
        photo = opened.convert("RGB")
    # a whole cat cut off by the photo's frame leaves a straight edge; a face crop cuts the body anyway
    max_border = 1.0 if crop in ("cat-face", "close-up") else 0.2
    if crop == "close-up":
        max_side = max(max_side, 2048)  # the fur's detail is the point of a close-up
    if max(photo.size) > max_side:
        scale = max_side / max(photo.size)
        photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    if masks is not None:
        trimap_path = masks / f"{path.stem}.png"
        if not trimap_path.is_file():
            return None, "no mask file"
        trimap = np.asarray(Image.open(trimap_path).resize(photo.size, Image.NEAREST))
        quality = cutout.mask_quality(cutout.trimap_alpha(trimap).astype(np.float32), max_border=max_border)
        if not quality.ok and (check or quality.area == 0) and not _fills_frame(quality, crop):
            return None, f"unsure ({quality.failed})"
        # the trimap's boundary band holds the fur's fringe *and* background colour: start from the
        # sure cat pixels and let the feathered border fade the fringe into white
        alpha = cutout.soft_alpha(trimap == 1, feather=0.008, erode=0.0)
    else:
        alpha, quality = cutout.segment_cat(_segmenter(segmenter), photo, max_border=max_border)
        if not quality.ok and (check or quality.area == 0) and not _fills_frame(quality, crop):
            return None, f"unsure ({quality.failed})"
    box = None
    if crop == "cat-face":
        box = cat_face_crop_box(photo)
        if box is None:
            return None, "no-face"
        if box[2] - box[0] < size / 2:
            return None, "face crop too small"  # upscaled more than 2x: a blur, not fur
        # the detector also fires on an eye close-up or on the sofa: the crop must hold some cat
        # and some white
        coverage = float(alpha[box[1]:box[3], box[0]:box[2]].mean())
        if not 0.15 <= coverage <= 0.85:
            return None, "face crop not a cat on white"
    if crop == "close-up":
        box, status = close_up_window(photo, alpha, size, _name_fraction(path.stem),
                                      scales=close_up_scales or CLOSE_UP_SCALES)
        if box is None:
            return None, status
    return cutout.cut_out(photo, alpha, size=size, margin=margin, box=box), "written"


CLOSE_UP_SCALES = (1.25, 2.2)  # window side / detected face side


def _fills_frame(quality, crop: str) -> bool:
    """A close-up source may be a cat that fills the photo (mask "area" too large): still a sure cat."""
    return crop == "close-up" and quality.failures == ("too large",)


def _name_fraction(name: str) -> float:
    """A number in [0, 1) fixed by a photo's name (the same close-up every run, no global seed)."""
    import zlib

    return (zlib.crc32(name.encode()) % 10_000) / 10_000


def close_up_window(photo: Image.Image, alpha: np.ndarray, size: int, fraction: float,
                    face_box=cat_face_crop_box, scales: tuple[float, float] = CLOSE_UP_SCALES,
                    ) -> tuple[tuple[int, int, int, int] | None, str]:
    """The square window of a face close-up, (left, top, right, bottom), or (None, why not): the face's
    side times a scale in `scales` (`fraction` picks it), the face a little above the centre,
    moved inside the photo. Refused when it would be enlarged more than 1.67x to `size` or when the cat
    covers less than half of it."""
    low, high = scales
    # cat_face_crop_box returns scale x the face side; ask for the face itself (scale 1) and widen here
    face = face_box(photo, scale=1.0, face_height_position=0.5)
    if face is None:
        return None, "no-face"
    side = (face[2] - face[0]) * (low + (high - low) * fraction)
    side = min(side, photo.width, photo.height)
    if side < 0.6 * size:
        return None, "close-up too small"
    centre_x, centre_y = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2 + 0.08 * side
    left = int(round(min(max(centre_x - side / 2, 0), photo.width - side)))
    top = int(round(min(max(centre_y - side / 2, 0), photo.height - side)))
    box = (left, top, left + int(side), top + int(side))
    if float(alpha[box[1]:box[3], box[0]:box[2]].mean()) < 0.5:
        return None, "close-up not mostly cat"
    return box, "written"


def process_one(item: tuple[Path, str], destination: Path, method: str, size: int, crop: str, variants: int,
                cut: bool = False, masks: Path | None = None, segmenter: Path | None = None,
                margin: float = 0.08, close_up_scales: tuple[float, float] | None = None) -> str:
    """Write the pairs of one photo; returns 'written' or why it was skipped."""
    path, name = item
    if cut:
        photo, status = cutout_photo(path, size, crop, masks, segmenter, margin, close_up_scales=close_up_scales)
        if photo is None:
            return status
    else:
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
    if args.cutout and args.masks is None and args.segmenter is None:
        raise SystemExit("--cutout needs --masks TRIMAP_DIR or --segmenter MODEL_FOLDER.")
    if args.crop == "close-up" and not args.cutout:
        raise SystemExit("--crop close-up needs --cutout (a close-up is the cat cut out inside its window).")
    if (args.masks or args.segmenter) and not args.cutout:
        raise SystemExit("--masks / --segmenter only apply with --cutout.")
    close_up_scales = None
    if args.close_up_scales is not None:
        if args.crop != "close-up":
            raise SystemExit("--close-up-scales only applies with --crop close-up.")
        try:
            close_up_scales = tuple(float(v) for v in args.close_up_scales.split(","))
        except ValueError:
            close_up_scales = ()
        if len(close_up_scales) != 2 or not 0 < close_up_scales[0] <= close_up_scales[1]:
            raise SystemExit(f"--close-up-scales wants LOW,HIGH with 0 < LOW <= HIGH, not {args.close_up_scales!r}.")
    excluded_names = read_names(args.exclude)
    photos = sorted(p for p in args.source.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not photos:
        raise SystemExit(f"No photos found under {args.source}.")
    kept = [p for p in photos if p.name not in excluded_names and p.stem not in excluded_names]
    items = [(p, args.prefix + "-".join(p.relative_to(args.source).with_suffix("").parts)) for p in kept]
    for folder in ("A", "B"):
        (args.destination / folder).mkdir(parents=True, exist_ok=True)

    work = partial(process_one, destination=args.destination, method=args.method, size=args.size,
                   crop=args.crop, variants=args.variants, cut=args.cutout, masks=args.masks,
                   segmenter=args.segmenter, margin=args.margin, close_up_scales=close_up_scales)
    workers = max(1, min(os.cpu_count() or 1, args.workers))
    results = []
    with Pool(workers) as pool:
        for result in tqdm(pool.imap_unordered(work, items, chunksize=4), total=len(items), desc="edges"):
            results.append(result)
    written = results.count("written")
    skipped = {reason: results.count(reason) for reason in sorted(set(results) - {"written"})}
    settings = edge_settings(args.method, args.variants)
    run = {"source": str(args.source), "prefix": args.prefix, "crop": args.crop, "cutout": args.cutout,
           **({"close_up_scales": list(close_up_scales)} if close_up_scales else {}),
           "masks": str(args.masks) if args.masks else None,
           "segmenter": str(args.segmenter) if args.segmenter else None,
           "excluded": len(photos) - len(kept), "photos": written, "pairs": written * args.variants,
           "skipped": skipped}
    info_path = args.destination / DATASET_INFO
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if info and (info.get("edge_method"), info.get("size")) != (args.method, args.size):
        raise SystemExit(f"{info_path} was written with --method {info.get('edge_method')} --size {info.get('size')}; "
                         "use the same settings or another destination.")
    sources = [s for s in info.get("sources", []) if s.get("prefix") != args.prefix or s.get("source") != run["source"]]
    sources.append(run)
    info_path.write_text(json.dumps({
        "edge_method": args.method, "edge_settings": settings, "size": args.size, "crop": args.crop,
        "source": str(args.source), "sources": sources, "photos": sum(s["photos"] for s in sources),
        "pairs": sum(s["pairs"] for s in sources),
    }, indent=2, default=list) + "\n")
    print(f"{written} photos written ({written * args.variants} pairs) to {args.destination}; skipped: "
          f"{skipped or 'none'}; {len(photos) - len(kept)} excluded.")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
