"""Where SRGAN's photos come from: the shared data folders it trains and is measured on, and how a photo is
read out of each (`train.srgan` trains on TRAIN_SOURCES, `train.eval.srgan` measures on EVAL_SOURCES)."""

from __future__ import annotations

import math
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
# The photo tasks (colourize, fill-in: pix2pix_demo.photo_tasks) train on every shared photo set less each
# held-out list and measure on those lists: (folder, names file, keep the named (True) or all but them, part)
TASK_TRAIN_SOURCES = (("cats/train", "cats/heldout.txt", False, "whole"),
                      ("cats-masked/images", "cats-masked/heldout.txt", False, "whole"),
                      ("edges2products/train", None, False, "left"),
                      ("facades/train", None, False, "left"))
TASK_EVAL_SOURCES = (("cats/test", "cats/heldout.txt", True, "whole"),
                     ("cats-masked/images", "cats-masked/heldout.txt", True, "whole"),
                     ("edges2products/val", None, True, "left"),
                     ("facades/val", None, True, "left"),
                     ("facades/test", None, True, "left"))
# Scene photos with sky, water, grass and trees: SinGAN's and ConSinGAN's single training images (research use,
# never committed). The photo sets above show none (cats, products on white, facades), and a colourizer trained
# on them alone turned every sky and tree orange (docs/photo-tasks.md); `--scenes SHARE` adds these.
SCENE_SOURCES = ("singan/Input/Images", "consingan/Images/Generation")
SCENE_SKIP = ("starry_night",)  # a painting, not a photo
SCENE_MIN_SIDE = 128  # px: smaller ones (an 80x120 low-resolution test image) are too blurry to learn from
SCENE_WINDOW = 0.5  # each time a scene is drawn: a random square window, side 50-100 % of its short side
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


def task_photos(root: Path, sources, per_source: int | None = None) -> list[tuple[str, Path, str]]:
    """(source folder, file, part) of each photo the photo tasks use under `root` (the shared data folder):
    TASK_TRAIN_SOURCES or TASK_EVAL_SOURCES; at most `per_source` of each, spread evenly over the sorted files."""
    found = []
    for folder, names_file, keep, part in sources:
        files = list_photos(root / folder, root / names_file if names_file else None, keep)
        if per_source is not None and len(files) > per_source:
            files = [files[round(i * (len(files) - 1) / (per_source - 1))] for i in range(per_source)] if per_source > 1 else files[:1]
        found += [(folder, path, part) for path in files]
    return found


def is_shared_root(folder: Path) -> bool:
    """Is `folder` the shared data folder (it holds the sets TASK_TRAIN_SOURCES names)?"""
    return all((Path(folder) / source[0]).is_dir() for source in TASK_TRAIN_SOURCES)


def scene_photos(root: Path) -> list[tuple[str, Path, str]]:
    """(source folder, file, "whole") of the scene photos under `root` (SCENE_SOURCES, sorted, a name already
    taken from an earlier folder skipped: both sets hold the same colosseum and zebra), less SCENE_SKIP and
    those with a short side under SCENE_MIN_SIDE."""
    found, seen = [], set()
    for folder in SCENE_SOURCES:
        for path in list_photos(Path(root) / folder, None, True):
            if path.name in seen or path.stem in SCENE_SKIP:
                continue
            seen.add(path.name)
            with Image.open(path) as image:
                if min(image.size) >= SCENE_MIN_SIDE:
                    found.append((folder, path, "whole"))
    return found


def scene_repeats(photos: int, scenes: int, share: float) -> int:
    """How many random windows of each scene photo (k >= 1) make `scenes`·k / (`photos` + `scenes`·k) closest
    to `share` of the training pairs."""
    if not 0 < share < 1:
        raise ValueError(f"The scenes' share of the pairs is in (0, 1): got {share}.")
    if scenes < 1:
        raise ValueError("No scene photos to repeat.")
    ideal = share * photos / ((1 - share) * scenes)
    candidates = {max(1, math.floor(ideal)), max(1, math.ceil(ideal))}
    return min(candidates, key=lambda k: (abs(scenes * k / (photos + scenes * k) - share), k))
