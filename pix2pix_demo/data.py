"""Paired image datasets for pix2pix training and evaluation.

Three layouts, chosen by `layout=` or detected by `detect_layout`:

- "ab":      one folder of side-by-side images, A on the left, B on the right (the pix2pix
             release format); `direction="AtoB"` translates left→right, "BtoA" right→left.
- "folders": DIR/A/<name> and DIR/B/<name> with matching file stems (as written by
             `python -m train.data.edges`).
- "photos":  a folder of photos; the input edge map of each photo is computed by
             `pix2pix_demo.edges.extract_edges` (the same function the app uses).

Pairs are decoded once and kept in memory as uint8 arrays (these datasets are small; a CPU
trainer should not spend its two cores decoding JPEGs every epoch).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .imaging import open_image, to_rgb

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
LAYOUTS = ("ab", "folders", "photos")
DATASET_INFO = "dataset.json"  # written by train.data.edges: the extractor and its settings


def list_images(folder) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def read_name_list(path) -> set[str]:
    """Names from a text file, one per line (blank lines and #comments ignored)."""
    lines = Path(path).read_text().splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def detect_layout(folder) -> str:
    """'folders' if DIR/A and DIR/B exist, 'ab' if the images are twice as wide as high,
    else 'photos'."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Data folder {folder} does not exist.")
    if (folder / "A").is_dir() and (folder / "B").is_dir():
        return "folders"
    files = list_images(folder)
    if not files:
        raise FileNotFoundError(f"No images in {folder} (looked for {', '.join(sorted(IMAGE_SUFFIXES))}).")
    with Image.open(files[0]) as first:
        width, height = first.size
    return "ab" if width == 2 * height else "photos"


def _stems(names) -> set[str]:
    return {Path(name).stem for name in names}


def _matches(path: Path, wanted: set[str] | None, excluded: set[str]) -> bool:
    """Kept if its stem is `wanted` (when given) and not `excluded`. Variants written by
    make_edges_dataset (`<stem>__v1.png`) count as their source file."""
    stem = path.stem.split("__")[0]
    return (wanted is None or stem in wanted or path.stem in wanted) and stem not in excluded


def dataset_edge_method(folder, layout: str | None = None, edge_method: str | None = None) -> str | None:
    """The edge extractor that made a dataset's inputs, or None when unknown (e.g. real HED maps).

    A folder of photos uses `edge_method` (default: the app's default extractor); a folder built by
    `train.data.edges` says so in its dataset.json."""
    from .edges import DEFAULT_EDGE_METHOD

    folder = Path(folder)
    if (layout or detect_layout(folder)) == "photos":
        return edge_method or DEFAULT_EDGE_METHOD
    info = folder / DATASET_INFO
    if info.is_file():
        try:
            return json.loads(info.read_text()).get("edge_method")
        except (ValueError, AttributeError):
            return None
    return None


def dataset_is_cutout(folder) -> bool:
    """Was a dataset built from cut-outs (objects on white, `train.data.edges --cutout`)? Its
    dataset.json says so per source; False when it does not."""
    info = Path(folder) / DATASET_INFO
    try:
        sources = json.loads(info.read_text()).get("sources", []) if info.is_file() else []
    except (ValueError, AttributeError):
        return False
    return bool(sources) and all(source.get("cutout") for source in sources)


def dataset_close_ups(folder) -> float:
    """The share of a dataset's pairs that are face close-ups (`train.data.edges --crop close-up`), from
    its dataset.json; 0 when it has none or does not say."""
    info = Path(folder) / DATASET_INFO
    try:
        sources = json.loads(info.read_text()).get("sources", []) if info.is_file() else []
        total = sum(int(source.get("pairs", 0)) for source in sources)
        close = sum(int(source.get("pairs", 0)) for source in sources if source.get("crop") == "close-up")
    except (ValueError, AttributeError, TypeError):
        return 0.0
    return round(close / total, 4) if total else 0.0


def load_pairs(folder, layout: str | None = None, direction: str = "AtoB", names: set[str] | None = None,
               edge_method: str | None = None, max_side: int | None = None,
               limit: int | None = None, exclude=()) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[str]]:
    """Read a paired dataset into memory: ([(input RGB uint8, target RGB uint8)], [names]).

    `names` keeps only files whose name or stem is listed, `exclude` drops those listed
    (e.g. a held-out list); `max_side` shrinks large images
    on load (the trainer crops anyway); `edge_method` picks the extractor for "photos".
    """
    folder = Path(folder)
    layout = layout or detect_layout(folder)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if direction not in ("AtoB", "BtoA"):
        raise ValueError(f"direction must be AtoB or BtoA, got {direction!r}")

    def read(path: Path) -> Image.Image:
        image = to_rgb(open_image(path))
        if max_side and max(image.size) > max_side:
            scale = max_side / max(image.size)
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.LANCZOS)
        return image

    wanted, excluded = (None if names is None else _stems(names)), _stems(exclude)
    pairs, kept = [], []
    if layout == "folders":
        b_files = {p.stem: p for p in list_images(folder / "B")}
        for a_path in list_images(folder / "A"):
            if a_path.stem not in b_files or not _matches(a_path, wanted, excluded):
                continue
            a, b = read(a_path), read(b_files[a_path.stem])
            if a.size != b.size:
                b = b.resize(a.size, Image.LANCZOS)
            pairs.append((np.asarray(a), np.asarray(b)))
            kept.append(a_path.name)
    else:
        for path in list_images(folder):
            if not _matches(path, wanted, excluded):
                continue
            image = read(path)
            if layout == "ab":
                half = image.width // 2
                a = image.crop((0, 0, half, image.height))
                b = image.crop((half, 0, 2 * half, image.height))
            else:
                from .edges import DEFAULT_EDGE_METHOD, extract_edges

                a, b = to_rgb(extract_edges(image, method=edge_method or DEFAULT_EDGE_METHOD)), image
            pairs.append((np.asarray(a), np.asarray(b)))
            kept.append(path.name)
            if limit and len(pairs) >= limit:
                break
    if direction == "BtoA":
        pairs = [(b, a) for a, b in pairs]
    if limit:
        pairs, kept = pairs[:limit], kept[:limit]
    if not pairs:
        raise FileNotFoundError(f"No usable image pairs in {folder} (layout {layout!r}).")
    return pairs, kept


def jitter_crop_box(height: int, width: int, size: int, jitter: float, rng: np.random.Generator):
    """pix2pix's jitter (§6.2: resize to 286, random-crop 256) for a height x width pair: the size to
    resize both images to (short side random in [size, size·jitter]; jitter <= 1: exactly size) and the
    size² crop box in it. Returns ((new_width, new_height), (left, top, right, bottom))."""
    target_short = size * rng.uniform(1.0, jitter) if jitter > 1 else size
    scale = target_short / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    left = int(rng.integers(0, new_w - size + 1))
    top = int(rng.integers(0, new_h - size + 1))
    return (new_w, new_h), (left, top, left + size, top + size)


def to_tensor(array: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 3xHxW float in [-1, 1] (the same scaling as imaging.image_to_tensor)."""
    return torch.from_numpy(np.array(array, dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1.0


class PairedDataset(torch.utils.data.Dataset):
    """Random resize + crop jitter and horizontal flips applied identically to both images
    (pix2pix §6.2: resize to 286, random-crop 256), plus optional edge augmentation on the
    input only, for robustness to hand-drawn sketches.

    `size` can be changed between epochs (progressive resolution): set `dataset.size`.

    With `coat=True` (cut-out cats on white, see `pix2pix_demo.coat`) each item is (input, target,
    coat colour): the target is randomly recoloured (`coat.random_recolour`) and its coat colour (3
    floats in [0, 1]) measured over the pixels that are cat in the original.

    With `holes` (a function (drawing, photo) -> HxW bool, e.g. `train.holes.white_holes`), each item
    ends with that map of the pair (1,H,W float, 1 = marked), found on the drawing before the edge
    augmentation and the photo before any recolouring, then resized, cropped and flipped with them.
    """

    def __init__(self, pairs, size: int = 256, jitter: float = 1.12, flip: bool = True,
                 augment_edges: bool = False, seed: int = 0, coat: bool = False, recolour: float = 0.7,
                 drawing_styles: bool = False, close_ups: float = 0.0, holes=None):
        self.pairs = pairs
        self.size = size
        self.jitter = jitter
        self.flip = flip
        self.augment_edges = augment_edges
        self.drawing_styles = drawing_styles  # edges.vary_drawing: sparse, silhouette, head-only inputs
        self.close_ups = close_ups  # with drawing_styles: the share of close-ups (cat cut by the frame)
        self.seed = seed
        self.coat = coat
        self.recolour = recolour  # with coat: the share of targets recoloured (0: the photos' own colours only)
        self.holes = holes  # (drawing, photo) -> HxW bool: a map returned last, cropped with the pair
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index))
        a, b = self.pairs[index]
        if self.drawing_styles:
            from .edges import drawing_style_probabilities, vary_drawing

            gray, b, _ = vary_drawing(a.min(axis=2), b, rng, drawing_style_probabilities(self.close_ups))
            a = np.repeat(gray[:, :, None], 3, axis=2)
        holes = None if self.holes is None else self.holes(a, b)  # the clean drawing, the photo's own colours
        if self.augment_edges:
            # at the stored resolution, where lines are crisp: after a down-scale they turn into
            # faint grey pixels that a threshold would break into dots
            from .edges import augment_edges

            gray = augment_edges(a.min(axis=2), rng)  # lines are dark in every channel
            a = np.repeat(gray[:, :, None], 3, axis=2)
        mask = None
        if self.coat:
            from .coat import coat_mask, random_recolour, recolour_photo

            mask = coat_mask(b)
            b = recolour_photo(b, **random_recolour(rng, keep=1.0 - self.recolour))
        (new_w, new_h), box = jitter_crop_box(*a.shape[:2], self.size, self.jitter, rng)
        a_img = Image.fromarray(a).resize((new_w, new_h), Image.BICUBIC)
        b_img = Image.fromarray(b).resize((new_w, new_h), Image.BICUBIC)
        a_crop, b_crop = np.asarray(a_img.crop(box)), np.asarray(b_img.crop(box))
        cond = None
        if mask is not None:
            from .coat import coat_colour

            mask_img = Image.fromarray(mask.astype(np.uint8) * 255).resize((new_w, new_h), Image.NEAREST)
            cond = torch.from_numpy(coat_colour(b_crop, np.asarray(mask_img.crop(box)) > 127))
        if holes is not None:
            holes_img = Image.fromarray(holes.astype(np.uint8) * 255).resize((new_w, new_h), Image.NEAREST)
            holes = np.asarray(holes_img.crop(box)) > 127
        if self.flip and rng.random() < 0.5:
            a_crop, b_crop = a_crop[:, ::-1], b_crop[:, ::-1]
            holes = None if holes is None else holes[:, ::-1]
        item = (to_tensor(a_crop), to_tensor(b_crop)) + ((cond,) if cond is not None else ())
        if holes is not None:
            item += (torch.from_numpy(np.ascontiguousarray(holes, dtype=np.float32))[None],)
        return item
