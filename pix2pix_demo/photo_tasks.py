"""Two pix2pix tasks made from any photo (issue 29): colourize a black-and-white photo, and fill in an
erased region. The trainer (`train.pix2pix --task ...`), the evaluator (`train.eval.photo_tasks`) and the app
(`pix2pix_demo.ui.photo_tasks_tab`) all use this module, so the grey conversion and the mask format are the
same everywhere.

- Grey: Pillow's `convert("L")` (ITU-R 601 luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16), `grey_of`.
- colourize: the U-Net sees the grey image (1 channel) and predicts the two YCbCr chroma channels; the
  colour picture is the input's own luma with that chroma (`compose` in training, `recombine` at full size),
  so the grey version of the result is the input, pixel for pixel.
- fill-in: the U-Net sees the photo with the erased pixels set to mid grey, or (a model whose config says
  "hole": "telea") to OpenCV's Telea fill as a coarse prior, plus the mask (4 channels: RGB, then the mask
  as -1 kept / +1 erased) and predicts RGB; only the erased pixels are taken from it.
  A mask is a bool array, True where erased (`random_mask` draws brush strokes, boxes and blobs).

    model = load_model("weights/colourize"); colour = colourize(model, photo)       # PIL in, PIL out, same size
    model = load_model("weights/fill-in");   filled = fill_in(model, photo, mask)   # mask: HxW bool or PIL "L"
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter
from torch import nn

from .imaging import ImageError, check_aspect, open_image, to_rgb

TASKS = ("colourize", "fill-in")
IN_CHANNELS = {"colourize": 1, "fill-in": 4}
OUT_CHANNELS = {"colourize": 2, "fill-in": 3}
FILL_HOLES = ("grey", "telea")  # what the fill-in U-Net sees in the hole: mid grey, or OpenCV's Telea fill
FILL_WORK_SIDE = 512  # fill-in runs at the photo's own size up to this long side (sharper holes), else shrunk
MIN_SIDE = 16  # px: smaller pictures are refused with a message

# YCbCr (JPEG / BT.601 full range) -> RGB, in units where Y and chroma share one scale
_CR_R, _CB_G, _CR_G, _CB_B = 1.402, -0.344136, -0.714136, 1.772


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


# --- grey and colour ---------------------------------------------------------------------------------

def luma(rgb: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 -> HxW uint8: exactly Pillow's RGB -> L conversion."""
    rgb = rgb.astype(np.uint32)
    return ((rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16).astype(np.uint8)


def grey_of(image) -> np.ndarray:
    """A picture (PIL of any mode, or an array) -> its grey version, HxW uint8. An "L" picture is kept as it is."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    if image.mode == "L":
        return np.asarray(image).copy()
    return luma(np.asarray(to_rgb(image)))


def recombine(grey: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    """grey (HxW uint8) + chroma (HxWx2 float: Cb - 128, Cr - 128) -> HxWx3 uint8 whose luma is `grey` exactly.

    Where the colour would leave the RGB cube its chroma is scaled down (same hue, less saturated) so the
    luma stays; rounding to 8 bits is then corrected by moving all three channels together (luma weights
    sum to 1), and the few pixels that still miss (at the cube's edge) become plain grey."""
    y = grey.astype(np.float64)[..., None]
    cb, cr = chroma[..., 0].astype(np.float64), chroma[..., 1].astype(np.float64)
    delta = np.stack([_CR_R * cr, _CB_G * cb + _CR_G * cr, _CB_B * cb], axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(delta > 0, (255.0 - y) / delta, np.where(delta < 0, -y / delta, np.inf))
    scale = np.clip(room.min(axis=-1, keepdims=True), 0.0, 1.0)
    rgb = np.clip(np.rint(y + scale * delta), 0, 255).astype(np.int32)
    target = grey.astype(np.int32)
    for _ in range(3):
        miss = target - luma(rgb.astype(np.uint8)).astype(np.int32)
        if not miss.any():
            break
        rgb = np.clip(rgb + miss[..., None], 0, 255)
    rgb = rgb.astype(np.uint8)
    still = luma(rgb) != grey
    rgb[still] = grey[still][:, None]
    return rgb


def compose(task: str, x: torch.Tensor, raw: torch.Tensor) -> torch.Tensor:
    """The U-Net's raw output -> the RGB picture in [-1, 1] (differentiable; what the losses see).
    colourize: x = grey (N,1,H,W), raw = chroma (N,2,H,W) on the scale of [-1, 1] = +-127.5 levels;
    fill-in: x = erased RGB + mask (N,4,H,W), raw = RGB: the kept pixels are x's own."""
    if task == "colourize":
        cb, cr = raw[:, :1], raw[:, 1:2]
        rgb = torch.cat([x + _CR_R * cr, x + _CB_G * cb + _CR_G * cr, x + _CB_B * cb], dim=1)
        return rgb.clamp(-1, 1)
    erased = (x[:, 3:4] > 0).to(raw.dtype)
    return erased * raw + (1 - erased) * x[:, :3]


class TaskGenerator(nn.Module):
    """A U-Net and its task's `compose`: input -> RGB picture, for the trainer (its losses, discriminators
    and sample grids see pictures). The exported model is the U-Net alone (`.unet`)."""

    def __init__(self, unet: nn.Module, task: str):
        super().__init__()
        self.unet, self.task = unet, check_task(task)

    def forward(self, x: torch.Tensor, condition: torch.Tensor | None = None) -> torch.Tensor:
        return compose(self.task, x, self.unet(x, condition))


def display(x: torch.Tensor) -> torch.Tensor:
    """A task input (N, 1 or 4, H, W) as a 3-channel picture for grids: the grey image, or the erased photo
    with the hole shown in magenta."""
    if x.shape[1] == 1:
        return x.expand(-1, 3, -1, -1)
    if x.shape[1] == 4:
        hole = (x[:, 3:4] > 0).to(x.dtype)
        magenta = torch.tensor([1.0, -1.0, 1.0], dtype=x.dtype, device=x.device)[None, :, None, None]
        return hole * magenta + (1 - hole) * x[:, :3]
    return x


# --- masks -------------------------------------------------------------------------------------------

def random_mask(height: int, width: int, rng: np.random.Generator, cover: tuple[float, float] = (0.04, 0.35)) -> np.ndarray:
    """A random erased region, HxW bool (True = erased): brush strokes (most often, as a person paints),
    a box or a blob, redrawn until it covers a share of the picture within `cover`."""
    side = min(height, width)
    for _ in range(20):
        canvas = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(canvas)
        kind = rng.choice(["strokes", "box", "blob"], p=[0.6, 0.2, 0.2])
        if kind == "strokes":
            for _ in range(int(rng.integers(1, 4))):
                thickness = int(max(2, side * rng.uniform(0.05, 0.14)))
                x, y = rng.uniform(0, width), rng.uniform(0, height)
                points = [(x, y)]
                angle = rng.uniform(0, 2 * np.pi)
                for _ in range(int(rng.integers(2, 6))):
                    angle += rng.uniform(-1.2, 1.2)
                    step = side * rng.uniform(0.1, 0.3)
                    x = float(np.clip(x + step * np.cos(angle), 0, width - 1))
                    y = float(np.clip(y + step * np.sin(angle), 0, height - 1))
                    points.append((x, y))
                draw.line(points, fill=255, width=thickness, joint="curve")
                for px, py in points:  # round ends and joints, like a brush
                    draw.ellipse([px - thickness / 2, py - thickness / 2, px + thickness / 2, py + thickness / 2], fill=255)
        else:
            w, h = side * rng.uniform(0.15, 0.45), side * rng.uniform(0.15, 0.45)
            left, top = rng.uniform(0, width - w), rng.uniform(0, height - h)
            (draw.rectangle if kind == "box" else draw.ellipse)([left, top, left + w, top + h], fill=255)
        mask = np.asarray(canvas) > 127
        if cover[0] <= mask.mean() <= cover[1]:
            return mask
    return mask


def mask_of(image, size: tuple[int, int] | None = None) -> np.ndarray:
    """A painted mask (PIL or array: any non-black / non-transparent pixel is erased) -> HxW bool,
    optionally resized (nearest) to `size` = (width, height)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image.astype(np.uint8) * 255 if image.dtype == bool else image)
    if image.mode in ("RGBA", "LA", "PA", "P"):
        alpha = image.convert("RGBA").getchannel("A")
    else:
        alpha = image.convert("L")
    if size is not None and alpha.size != tuple(size):
        alpha = alpha.resize(tuple(size), Image.NEAREST)
    return np.asarray(alpha) > 0


def telea(rgb: np.ndarray, mask: np.ndarray, radius: int = 5) -> np.ndarray:
    """OpenCV's inpaint (Telea 2004, `radius` px) of the erased pixels, HxWx3 uint8; the others kept exactly.
    The fill-in baseline, and the coarse prior a "hole": "telea" model sees in the hole."""
    import cv2

    out = cv2.inpaint(np.ascontiguousarray(rgb[..., ::-1]), mask.astype(np.uint8) * 255, radius, cv2.INPAINT_TELEA)
    out = out[..., ::-1].copy()
    out[~mask] = rgb[~mask]
    return out


def erase(rgb: np.ndarray, mask: np.ndarray, hole: str = "grey") -> np.ndarray:
    """The network's fill-in input, HxWx4 float in [-1, 1]: the photo with erased pixels at 0 (mid grey;
    hole="telea": at OpenCV's Telea fill), then the mask channel (+1 erased, -1 kept)."""
    if hole not in FILL_HOLES:
        raise ValueError(f"hole must be one of {FILL_HOLES}, got {hole!r}")
    if hole == "telea" and mask.any() and not mask.all():
        x = telea(rgb, mask).astype(np.float32) / 127.5 - 1.0
    else:
        x = rgb.astype(np.float32) / 127.5 - 1.0
        x[mask] = 0.0
    return np.concatenate([x, np.where(mask, 1.0, -1.0).astype(np.float32)[..., None]], axis=-1)


def task_input(task: str, rgb: np.ndarray, mask: np.ndarray | None = None, hole: str = "grey") -> torch.Tensor:
    """(C, H, W) float tensor of a photo crop (HxWx3 uint8): its grey version, or erased + mask."""
    if task == "colourize":
        return torch.from_numpy(luma(rgb).astype(np.float32) / 127.5 - 1.0)[None]
    return torch.from_numpy(erase(rgb, mask, hole)).permute(2, 0, 1)


# --- training pairs ----------------------------------------------------------------------------------

class PhotoTaskDataset(torch.utils.data.Dataset):
    """Pairs made on the fly from photos (HxWx3 uint8 arrays): a random resize + crop (pix2pix's jitter)
    and flip, then (grey crop -> crop) or (erased crop + mask -> crop), a new mask every time; `hole`: what
    fill-in's hole holds (FILL_HOLES). `turns`: the square crop is also transposed half of the time, so with
    the flip it is seen in all eight orientations (a network trained on left-right flips alone learned
    horizontal stripes in its own frame: docs/photo-tasks.md). `windows`: one number per photo, the smallest
    side of a random square window cut from it before the jitter, as a share of its short side (the side drawn
    uniformly up to the whole short side; 1: no window), so a photo listed k times gives k different views
    (train.pix2pix --scenes)."""

    def __init__(self, photos, task: str, size: int = 256, jitter: float = 1.12, flip: bool = True, seed: int = 0,
                 hole: str = "grey", turns: bool = False, windows=None):
        self.photos, self.task, self.size, self.jitter, self.flip, self.seed = photos, check_task(task), size, jitter, flip, seed
        self.hole, self.turns = hole, turns
        if windows is not None and (len(windows) != len(photos) or not all(0 < w <= 1 for w in windows)):
            raise ValueError("windows: one share in (0, 1] per photo.")
        self.windows = windows
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, index: int):
        from .data import jitter_crop_box, to_tensor

        rng = np.random.default_rng((self.seed, self.epoch, index))
        photo = self.photos[index]
        if self.windows is not None and self.windows[index] < 1:
            side = round(min(photo.shape[:2]) * rng.uniform(self.windows[index], 1.0))
            top = int(rng.integers(0, photo.shape[0] - side + 1))
            left = int(rng.integers(0, photo.shape[1] - side + 1))
            photo = photo[top:top + side, left:left + side]
        (new_w, new_h), box = jitter_crop_box(*photo.shape[:2], self.size, self.jitter, rng)
        crop = np.asarray(Image.fromarray(photo).resize((new_w, new_h), Image.BICUBIC).crop(box))
        if self.flip and rng.random() < 0.5:
            crop = np.ascontiguousarray(crop[:, ::-1])
        if self.turns and rng.random() < 0.5:
            crop = np.ascontiguousarray(crop.transpose(1, 0, 2))
        mask = random_mask(self.size, self.size, rng) if self.task == "fill-in" else None
        return task_input(self.task, crop, mask, self.hole), to_tensor(crop)


def centre_crop(photo: np.ndarray, size: int) -> np.ndarray:
    """Short side resized to `size`, the centre size² square (sample grids, evaluation windows)."""
    image = Image.fromarray(photo)
    scale = size / min(image.size)
    image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.BICUBIC)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)))


# --- inference -------------------------------------------------------------------------------------

def model_hole(model: nn.Module) -> str:
    """What a fill-in model expects in the hole (its config's "hole"; models without it: mid grey)."""
    hole = (getattr(model, "metadata", {}) or {}).get("hole", "grey")
    if hole not in FILL_HOLES:
        raise ValueError(f"This fill-in model's hole is {hole!r}, expected one of {FILL_HOLES}.")
    return hole


def model_feather(model: nn.Module) -> float:
    """How far (px, at the network's working size) inside the hole's border a fill-in model's fill is blended
    into its Telea prior (its config's "feather"; absent or 0: not at all). Only for a "hole": "telea" model."""
    metadata = getattr(model, "metadata", {}) or {}
    try:
        feather = float(metadata.get("feather", 0) or 0)
    except (TypeError, ValueError):
        raise ValueError(f"This fill-in model's feather is {metadata.get('feather')!r}, expected a number of pixels.") from None
    if feather < 0 or (feather and model_hole(model) != "telea"):
        raise ValueError(f"This fill-in model's feather is {feather}: it needs a number >= 0 and \"hole\": \"telea\".")
    return feather


def feather_weights(mask: np.ndarray, radius: float) -> np.ndarray:
    """HxW float32 in [0, 1]: 0 on kept pixels, then rising with the distance from the nearest kept pixel
    (1/radius on the hole's first ring) to 1 from `radius` px inside the hole on."""
    import cv2

    if not mask.any():
        return np.zeros(mask.shape, np.float32)
    if mask.all():
        return np.ones(mask.shape, np.float32)
    distance = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return np.clip(distance / radius, 0.0, 1.0).astype(np.float32)


# fill-in's texture finish (a model config's "texture", gpnn.fill_hole's keywords): number keys -> (type, bounds)
TEXTURE_NUMBERS = {"levels": (int, 1, 6), "ratio": (float, 0.3, 0.9), "iterations": (int, 1, 8), "ring": (int, 8, 256),
                   "radius": (int, 1, 8), "sigma": (float, 0.1, 10), "lowpass": (float, 0, 32), "seam": (float, 0, 32),
                   "pca_dims": (int, 4, 147), "alpha": (float, 0.001, 100),
                   "max_hole": (int, 256, 1_000_000)}
# may be null (fill_hole: a plain average / plain nearest neighbours / no bound on the hole's size; "max_hole" is the
# hole pixels above which the finish runs shrunk to that many and is enlarged into the hole: gpnn.MAX_HOLE)
TEXTURE_NONE_OK = ("sigma", "alpha", "max_hole")
TEXTURE_STARTS = ("model", "telea")  # "start": the finish starts from the network's fill (default) or Telea's
# "method": "structure" (session 21): fill_hole's coarsest level starts from gpnn.fill_exemplar with these keys
TEXTURE_STRUCTURE = {"patch": (int, 3, 21), "window": (int, 4, 256), "guide": (float, 0, 100),
                     "guide_blur": (float, 0, 16), "guide_mean": (float, 0, 100), "tolerance": (float, 0, 2)}
TEXTURE_METHODS = ("patches", "structure")
TEXTURE_NUMBERS.update(TEXTURE_STRUCTURE)
TEXTURE_KEYS = (*TEXTURE_NUMBERS, "blurred_keys", "start", "method")


def texture_options(texture) -> dict | None:
    """A fill-in "texture" setting (a model config's, or one given to `fill_in`) -> `gpnn.fill_hole`'s keywords
    (plus "start" and "method"), or None for no texture finish (None / False / absent). A dict may set any of
    TEXTURE_KEYS (the rest keep fill_hole's and fill_exemplar's defaults; {} or True: all defaults); the
    TEXTURE_STRUCTURE keys only with "method": "structure" (which needs 2 levels or more); anything else is
    refused with a message."""
    if texture is None or texture is False:
        return None
    if texture is True:
        return {}
    if not isinstance(texture, dict) or set(texture) - set(TEXTURE_KEYS):
        raise ValueError(f"A fill-in texture setting is a dict with keys among {sorted(TEXTURE_KEYS)}, got {texture!r}.")
    method = texture.get("method", "patches")
    if not isinstance(method, str) or method not in TEXTURE_METHODS:
        raise ValueError(f"The fill-in texture's method is {method!r}, expected one of {TEXTURE_METHODS}.")
    foreign = sorted(set(texture) & set(TEXTURE_STRUCTURE)) if method != "structure" else []
    if foreign:
        raise ValueError(f"The fill-in texture's {', '.join(foreign)} apply to \"method\": \"structure\" only.")
    options = {}
    for key, value in texture.items():
        if key in ("start", "method"):
            if key == "start" and value not in TEXTURE_STARTS:
                raise ValueError(f"The fill-in texture's start is {value!r}, expected one of {TEXTURE_STARTS}.")
        elif key == "blurred_keys":
            if not isinstance(value, bool):
                raise ValueError(f"The fill-in texture's blurred_keys is {value!r}, expected true or false.")
        elif not (value is None and key in TEXTURE_NONE_OK):
            kind, low, high = TEXTURE_NUMBERS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and value != int(value)):
                raise ValueError(f"The fill-in texture's {key} is {value!r}, expected a {kind.__name__}.")
            if not low <= value <= high:
                raise ValueError(f"The fill-in texture's {key} is {value}, expected {low}..{high}.")
            value = kind(value)
        options[key] = value
    if options.get("patch", 9) % 2 == 0:
        raise ValueError(f"The fill-in texture's patch is {options['patch']}, expected an odd number of pixels.")
    if method == "structure" and options.get("levels", 2) < 2:
        raise ValueError("The fill-in texture's method \"structure\" needs levels 2 or more (its coarsest is the structure fill).")
    return options


def model_texture(model: nn.Module) -> dict | None:
    """A fill-in model's texture finish (its config's "texture", `texture_options`; absent: none)."""
    return texture_options((getattr(model, "metadata", {}) or {}).get("texture"))


def model_task(model: nn.Module) -> str:
    """The task a loaded model was trained for (its config's "task")."""
    task = (getattr(model, "metadata", {}) or {}).get("task")
    if task not in TASKS:
        raise ValueError(f"This model is not a photo-task model (its task is {task!r}, expected one of {TASKS}).")
    return task


def read_photo(image) -> Image.Image:
    """Any upload -> an upright picture, refused with a message when it is not usable."""
    if image is None:
        raise ImageError("Upload or pick a photo first.")
    image = check_aspect(open_image(image))
    if min(image.size) < MIN_SIDE:
        raise ImageError(f"The picture is {image.width}×{image.height} pixels: too small (at least {MIN_SIDE} px a side).")
    return image


def _work_size(width: int, height: int, long_side: int, multiple: int, shrink_only: bool) -> tuple[int, int]:
    scale = long_side / max(width, height)
    if shrink_only:
        scale = min(1.0, scale)
    return (max(multiple, int(round(width * scale / multiple)) * multiple),
            max(multiple, int(round(height * scale / multiple)) * multiple))


@contextlib.contextmanager
def _seeded_dropout(model: nn.Module, seed: int | None):
    """seed None: eval mode (deterministic). A seed: dropout on (pix2pix's test-time noise), drawn from a
    forked RNG seeded with it, so each seed gives its own variation and the same seed the same one."""
    if seed is None:
        yield
        return
    from .pipelines import paper_test_time

    with paper_test_time(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield


@torch.inference_mode()
def colourize(model: nn.Module, image, seed: int | None = None) -> Image.Image:
    """A photo (colour or grey, any size) -> a colour picture of the same size whose grey version is the
    input's grey version exactly. The network sees the grey image with its long side at the model's
    resolution; its chroma is resized back to the photo's size and recombined with the photo's own luma."""
    image = read_photo(image)
    grey = grey_of(image)
    height, width = grey.shape
    config = model.config
    size = int((getattr(model, "metadata", {}) or {}).get("resolution", 256))
    work = _work_size(width, height, size, config.multiple, shrink_only=False)
    small = np.asarray(Image.fromarray(grey).resize(work, Image.BICUBIC if work[0] < width else Image.BILINEAR))
    x = torch.from_numpy(small.astype(np.float32) / 127.5 - 1.0)[None, None]
    dtype = next(model.parameters()).dtype
    with _seeded_dropout(model, seed):
        raw = model(x.to(dtype)).float()[0].clamp(-1, 1) * 127.5  # (2, h, w): Cb - 128, Cr - 128
    chroma = np.stack([np.asarray(Image.fromarray(c.numpy().astype(np.float32), "F").resize((width, height), Image.BILINEAR))
                       for c in raw], axis=-1)
    return Image.fromarray(recombine(grey, chroma))


@torch.inference_mode()
def fill_in(model: nn.Module, image, mask, seed: int | None = None, texture="model") -> Image.Image:
    """A photo and a mask (HxW bool, or a painted picture: non-black / opaque = erased) -> the photo with the
    erased pixels filled in, the others exactly as they were. Up to FILL_WORK_SIDE px the network sees the
    photo at its own size (padded to its multiple by mirroring); larger photos are shrunk for it and its fill
    enlarged back. A model with "feather": R in its config has its fill blended into the Telea prior over the
    hole's first R pixels (`feather_weights`), so the hole's border shows no seam. A model with "texture": {...}
    (or `texture` given here: a dict of `texture_options`, or None / False for none; "model": the config's) has
    its fill rebuilt from the photo's own unerased patches (`gpnn.fill_hole`, at the network's working size),
    so the hole gets the photo's grain and the network's colour layout. Its time is bounded by "max_hole" (default
    gpnn.MAX_HOLE, 16384 px): a bigger hole is rebuilt at the scale where it has that many pixels and enlarged into
    the hole (softer), so any mask on a 512-px photo takes about as long as one 32-px stroke across it."""
    rgb = np.asarray(to_rgb(read_photo(image)))
    height, width = rgb.shape[:2]
    erased = mask_of(mask, (width, height)) if not (isinstance(mask, np.ndarray) and mask.dtype == bool) else mask
    if erased.shape != (height, width):
        raise ImageError(f"The mask is {erased.shape[1]}×{erased.shape[0]} but the photo {width}×{height}.")
    if not erased.any():
        raise ImageError("Nothing is erased: paint over the part of the photo to fill in.")
    config = model.config
    scale = min(1.0, FILL_WORK_SIDE / max(width, height))
    work_w, work_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = rgb if scale == 1.0 else np.asarray(Image.fromarray(rgb).resize((work_w, work_h), Image.LANCZOS))
    small_mask = erased if scale == 1.0 else np.asarray(
        Image.fromarray(erased.astype(np.uint8) * 255).resize((work_w, work_h), Image.BILINEAR)) > 0
    m = config.multiple
    pad_h, pad_w = (-work_h) % m, (-work_w) % m
    feather = model_feather(model)
    x = torch.from_numpy(erase(small, small_mask, model_hole(model))).permute(2, 0, 1)[None]
    prior = x[0, :3]  # the erased photo (Telea's fill in the hole), before padding
    if pad_h or pad_w:
        mode = "reflect" if pad_h < work_h and pad_w < work_w else "replicate"
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    dtype = next(model.parameters()).dtype
    with _seeded_dropout(model, seed):
        out = model(x.to(dtype)).float()[0, :, :work_h, :work_w].clamp(-1, 1)
    if feather:
        out = prior + torch.from_numpy(feather_weights(small_mask, feather)) * (out - prior)
    options = model_texture(model) if texture == "model" else texture_options(texture)
    if options is not None:
        from .gpnn import fill_hole

        hole = torch.from_numpy(small_mask)
        first = small if options.get("start") != "telea" else telea(small, small_mask)
        first = torch.from_numpy(first.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)
        if options.get("start") != "telea":
            first = torch.where(hole, out, first)
        keywords = {k: v for k, v in options.items() if k not in ("start", "method", *TEXTURE_STRUCTURE)}
        if options.get("method") == "structure":
            keywords["exemplar"] = {k: v for k, v in options.items() if k in TEXTURE_STRUCTURE}
        out = fill_hole(first[None], hole, **keywords)[0]
    fill = ((out.permute(1, 2, 0).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
    if scale != 1.0:
        fill = np.asarray(Image.fromarray(fill).resize((width, height), Image.BICUBIC))
    result = rgb.copy()
    result[erased] = fill[erased]
    return Image.fromarray(result)


def mask_overlay(image, mask: np.ndarray, colour=(255, 0, 255), opacity: float = 0.6) -> Image.Image:
    """The photo with the erased region tinted and outlined (what the app shows as the mask)."""
    rgb = np.asarray(to_rgb(image)).astype(np.float32)
    tint = np.array(colour, dtype=np.float32)
    out = rgb.copy()
    out[mask] = (1 - opacity) * rgb[mask] + opacity * tint
    edge = np.asarray(Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.FIND_EDGES)) > 0
    out[edge] = tint
    return Image.fromarray(out.round().astype(np.uint8))
