"""Where SRGAN's photos come from: the shared data folders it trains and is measured on, and how a photo is
read out of each (`train.srgan` trains on TRAIN_SOURCES, `train.eval.srgan` measures on EVAL_SOURCES)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from pix2pix_demo.data import read_name_list
from pix2pix_demo.imaging import to_rgb

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
# (folder under --data, held-out list to leave out (or None), which part of each file is the photo)
TRAIN_SOURCES = (("cats/train", "cats/heldout.txt", "whole"),
                 ("cats-masked/images", "cats-masked/heldout.txt", "whole"),
                 ("edges2products/train", None, "left"))
# (folder, the list of names to take (None: every file), part)
EVAL_SOURCES = (("cats/test", "cats/heldout.txt", "whole"),
                ("cats-masked/images", "cats-masked/heldout.txt", "whole"),
                ("edges2products/val", None, "left"))
KID_WINDOW = 256  # px: the side of the windows KID sees (the size pooled_features feeds the network)


def part_of(image: Image.Image, part: str) -> Image.Image:
    """"whole", or "left": the left half of a side-by-side pair (the photo of edges2products)."""
    image = to_rgb(image)
    return image.crop((0, 0, image.width // 2, image.height)) if part == "left" else image


def list_photos(folder: Path, names_file: Path | None, keep: bool) -> list[Path]:
    """The pictures of `folder`, sorted; with `names_file`: only those it names (keep=True) or all but
    those (keep=False). Names may be given with or without their extension."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    if names_file is None:
        return files
    names = read_name_list(names_file)
    listed = [p for p in files if p.name in names or p.stem in names]
    return listed if keep else [p for p in files if p.name not in names and p.stem not in names]
