"""Label map → facade photo with either facades model: PIL in, PIL out, no gradients.

    pipe = FacadesPipeline.from_pretrained("weights/facades-spade")   # or weights/facades-pix2pix
    photo = pipe(label_picture)             # any size / mode; colours are snapped to the 12 classes
    photo = pipe(label_picture, seed=7)     # a variation (SPADE: style vector z; pix2pix: dropout)

The label picture is snapped to class indices (`pix2pix_demo.labels.snap_to_classes`), then fitted by
the same rule as pix2pix inputs (`imaging.fit_and_pad`: long side to the model's resolution, padded
to a multiple of 2**levels, centred) but on class indices: resized nearest-neighbour (so borders
stay classes) and padded with the background class. The output is cropped back to the label map's
aspect. The pix2pix U-Net reads the exact class colours (the data set's colour map without its JPEG
blur); SPADE reads one-hot labels.

Seed 0 is each model's standard output: SPADE with z = 0, the U-Net in evaluation mode. Other seeds
give reproducible variations: SPADE with z ~ N(0, 1) from that seed, the U-Net in the paper's
test-time mode (dropout as noise; see `pipelines.paper_test_time`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image
from torch import nn

from .hub import load_model, resolve_device
from .imaging import PadBox, fitted_size, resize_to, tensor_to_image, unpad
from .labels import BACKGROUND, EmptyLabels, LabelError, label_colour_tensor, one_hot_tensor, prepare_labels  # noqa: F401
from .models.spade import SPADEGenerator
from .models.unet import UNetGenerator
from .pipelines import paper_test_time

KIND = "facades"  # config.json "kind" of the facades models: the app lists them in the Facades tab


def fit_and_pad_labels(indices: np.ndarray, size: int, multiple: int) -> tuple[np.ndarray, PadBox]:
    """Class indices (H, W) -> (indices (H', W') fitted and padded, PadBox): `imaging.fit_and_pad`'s rule
    (long side to `size`, centred padding up to multiples of `multiple`) with nearest-neighbour resizing
    and the background class as padding."""
    height, width = indices.shape
    fit_w, fit_h = fitted_size(width, height, size)
    if (fit_w, fit_h) != (width, height):
        indices = np.asarray(Image.fromarray(indices.astype(np.uint8)).resize((fit_w, fit_h), Image.NEAREST))
    pad_w = math.ceil(fit_w / multiple) * multiple - fit_w
    pad_h = math.ceil(fit_h / multiple) * multiple - fit_h
    left, top = pad_w // 2, pad_h // 2
    padded = np.pad(indices, ((top, pad_h - top), (left, pad_w - left)), constant_values=BACKGROUND)
    return padded, PadBox(left, top, fit_w, fit_h, width, height)


class FacadesPipeline:
    """A facades generator (pix2pix U-Net on colour labels, or SPADE on one-hot labels) with its pre-
    and post-processing."""

    def __init__(self, model: nn.Module, device="cpu"):
        if not isinstance(model, (UNetGenerator, SPADEGenerator)):
            raise TypeError(f"A facades model is a pix2pix U-Net or a SPADE generator, not {type(model).__name__}.")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.metadata = getattr(model, "metadata", {}) or {}
        self.size = int(self.metadata.get("resolution", 256))
        self.is_spade = isinstance(model, SPADEGenerator)

    @classmethod
    def from_pretrained(cls, path_or_repo_id, device="cpu", revision=None) -> "FacadesPipeline":
        return cls(load_model(path_or_repo_id, device="cpu", revision=revision), device=device)

    @property
    def multiple(self) -> int:
        return self.model.config.multiple

    @torch.inference_mode()
    def from_indices(self, indices: np.ndarray, seed: int = 0, keep_input_size: bool = False,
                     size: int | None = None) -> Image.Image:
        """Class indices (H, W) -> photo (PIL RGB) at the fitted size (long side = the model's resolution)."""
        padded, box = fit_and_pad_labels(np.asarray(indices), size or self.size, self.multiple)
        seed = int(seed or 0)
        if self.is_spade:
            labels = one_hot_tensor(padded).to(self.device)
            z = None
            if seed and self.model.config.z_channels:
                generator = torch.Generator().manual_seed(seed)
                z = torch.randn(1, self.model.config.z_channels, generator=generator).to(self.device)
            output = self.model(labels, z)
        else:
            labels = label_colour_tensor(padded).to(self.device)
            if seed:
                devices = [self.device.index or 0] if self.device.type == "cuda" else []
                with paper_test_time(self.model), torch.random.fork_rng(devices=devices):
                    torch.manual_seed(seed)
                    output = self.model(labels)
            else:
                output = self.model(labels)
        result = tensor_to_image(unpad(output, box))
        if keep_input_size:
            result = resize_to(result, (box.original_width, box.original_height))
        return result

    def __call__(self, image, seed: int = 0, keep_input_size: bool = False, size: int | None = None) -> Image.Image:
        """A label picture (any size or mode; in the data set's class colours or the app's brush colours,
        `labels.BRUSH_PALETTE`; snapped to the classes) -> photo (PIL RGB)."""
        indices, _ = prepare_labels(image, palette="auto")
        return self.from_indices(indices, seed=seed or 0, keep_input_size=keep_input_size, size=size)
