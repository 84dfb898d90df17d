"""Pipelines: PIL in, PIL out, no gradients. The app and the CLIs call these, never raw models.

Inference mode is an explicit choice (`mode=`), because pix2pix behaves differently in
training and evaluation mode (a recurring confusion with the reference code's `--eval`):

- "eval" (default): batch norm uses its running statistics and dropout is off. The output
  is deterministic: the same drawing always gives the same image.
- "paper": the paper's test-time behaviour (Isola et al. §3.3: "we apply dropout at test
  time, and we apply batch normalization using the statistics of the test batch"). Dropout
  acts as noise, so different `seed`s give different variations; running statistics are
  left untouched.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .hub import load_model, resolve_device
from .imaging import fit_and_pad, resize_to, tensor_to_image, to_rgb, unpad

INFERENCE_MODES = ("eval", "paper")


@contextlib.contextmanager
def paper_test_time(model: nn.Module):
    """Temporarily switch batch norm to batch statistics and dropout on, without changing
    the running statistics (momentum 0 leaves them as they are)."""
    changed = []
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm2d, nn.Dropout)):
            changed.append((module, module.training, getattr(module, "momentum", None)))
            module.train()
            if isinstance(module, nn.BatchNorm2d):
                module.momentum = 0.0
    try:
        yield model
    finally:
        for module, was_training, momentum in changed:
            module.train(was_training)
            if momentum is not None:
                module.momentum = momentum


class Pix2PixPipeline:
    """An image-to-image generator with its pre- and post-processing.

    >>> pipe = Pix2PixPipeline.from_pretrained("weights/edges2cats")
    >>> photo = pipe(edge_image)            # PIL in (any size/mode), PIL RGB out, same aspect
    >>> ginger = pipe(edge_image, coat="ginger")  # models with a coat colour (pipe.coats)

    The input is resized so its long side is the model's training resolution, padded to a
    multiple of 2**num_downsamplings (white, as in line drawings), translated, cropped back
    and returned at the fitted size (or at the input's size with `keep_input_size=True`).

    `detail`: a texture stage (`pix2pix_demo.models.detail`, e.g. weights/edges2cats-fur) run on the
    result, after the coat colour is matched: it adds fur where the network painted smooth shading.
    `from_pretrained` finds it by itself when the model's config names one (`"detail": "edges2cats-fur"`,
    a folder next to the model's); `texture=False` in a call leaves it out.

    `fur=True` in a call adds the fur finish (`pix2pix_demo.fur`: hair strokes by line integral
    convolution, nothing learned) after the coat colour is matched, with the settings of the config's
    `"fur"` (or the defaults); a config with `"fur"` turns it on by default (`fur=False` leaves it out).
    The shipped edges2cats turns it on (faint, short strands: held-out KID +2.5, within the spread;
    docs/edges-to-image.md), edges2cats-faces does not; the Draw tab offers it as a switch ("Fur
    strands") for the models trained on cut-out cats.

    The drawing's holes are kept open (`pix2pix_demo.holes`: the enclosed regions that a tiny classifier
    fitted on the training pairs' geometry takes for background seen through, such as a handbag's handle
    hole, are blended to white) when the config holds the fitted guess (`"holes"`; edges2products since
    session 20); `holes=False` in a call leaves it out (`holes=True` without a guess changes nothing).
    """

    def __init__(self, model: nn.Module, device="cpu", detail: nn.Module | None = None):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.detail = detail.to(self.device).eval() if detail is not None else None
        metadata = getattr(model, "metadata", {}) or {}
        self.size = int(metadata.get("resolution", 256))
        self.pad_fill = float(metadata.get("pad_fill", 1.0))  # white around line drawings
        self.metadata = metadata
        from .fur import FurSettings

        # the fur finish's settings, and whether the model asks for it by default
        self.fur_settings = FurSettings.from_config(metadata.get("fur"))
        self.fur_default = self.fur_settings is not None
        self.fur_settings = self.fur_settings or FurSettings()
        from .holes import HoleSettings

        # the hole guess (fitted coefficients: without them there is nothing to apply)
        self.hole_settings = HoleSettings.from_config(metadata.get("holes"))
        # the named colours a model with a condition takes (pix2pix_demo.coat); {} for others. Read once:
        # the live path asks for them on every stroke
        self.coats: dict[str, tuple] = {}
        if getattr(self.model.config, "condition_channels", 0):
            from .coat import COATS

            self.coats = {name: tuple(rgb) for name, rgb in (metadata.get("coats") or COATS).items()}

    @classmethod
    def from_pretrained(cls, path_or_repo_id, device="cpu", revision=None, detail="auto") -> "Pix2PixPipeline":
        """`detail`: "auto" (the texture stage the config names, if its folder sits next to this model's),
        None (none), or a texture stage's folder / repo id."""
        model = load_model(path_or_repo_id, device="cpu", revision=revision)
        if detail == "auto":
            name = (getattr(model, "metadata", {}) or {}).get("detail")
            folder = Path(str(path_or_repo_id))
            sibling = folder.parent / name if isinstance(name, str) and name and folder.is_dir() else None
            detail = sibling if sibling is not None and (sibling / "config.json").is_file() else None
        return cls(model, device=device, detail=load_model(detail, device="cpu") if detail is not None else None)

    @property
    def input_channels(self) -> int:
        return self.model.config.in_channels

    def coat_rgb(self, coat) -> list[float] | None:
        """`coat` (a name of `coats`, "#rrggbb" or 3 floats in 0..1; None or "" = the model's default) -> its
        RGB; ValueError with a message for an unknown coat. None for a model without coats (it ignores them)."""
        if not self.coats:
            return None
        if coat is None or coat == "":
            return list(self.model.config.condition_default)
        from .coat import parse_coat

        return [float(v) for v in parse_coat(coat, self.coats)]

    @torch.inference_mode()
    def __call__(self, image: Image.Image, mode: str = "eval", seed: int | None = None,
                 keep_input_size: bool = False, size: int | None = None, coat=None,
                 match_colour: bool = True, texture: bool = True, fur: bool | None = None,
                 holes: bool | None = None) -> Image.Image:
        if mode not in INFERENCE_MODES:
            raise ValueError(f"mode must be one of {INFERENCE_MODES}, got {mode!r}")
        rgb = self.coat_rgb(coat)
        extra = () if rgb is None else (torch.tensor(rgb, device=self.device),)
        image = to_rgb(image)
        tensor, box = fit_and_pad(image, size or self.size, self.model.config.multiple,
                                  fill=self.pad_fill, channels=self.input_channels)
        tensor = tensor.to(self.device)
        if mode == "paper":
            # dropout draws from torch's global RNG: fork it so the caller's RNG is untouched
            devices = [self.device.index or 0] if self.device.type == "cuda" else []
            with paper_test_time(self.model), torch.random.fork_rng(devices=devices):
                torch.manual_seed(0 if seed is None else int(seed))
                output = self.model(tensor, *extra)
        else:
            output = self.model(tensor, *extra)
        result = self._finish(tensor_to_image(unpad(output, box)), rgb if match_colour else None, fur, texture,
                              image, holes)
        if keep_input_size:
            result = resize_to(result, (box.original_width, box.original_height))
        return result

    @torch.inference_mode()
    def batch(self, images: list[Image.Image], coats: list | None = None,
              furs: list | None = None, holes: list | None = None) -> list[Image.Image]:
        """Several drawings in one forward pass (evaluation mode only: in the paper's mode batch statistics
        and the dropout noise would mix the drawings). The same pictures as one `self(image, coat=coat,
        fur=fur, holes=hole)` call each, up to float rounding; drawings whose padded sizes differ run in groups of equal
        size. The live path batches the requests of several pages this way (ui.live; the batched pass costs
        about half the CPU per picture of single passes on a 2-core CPU)."""
        coats = list(coats) if coats is not None else [None] * len(images)
        furs = list(furs) if furs is not None else [None] * len(images)
        holes = list(holes) if holes is not None else [None] * len(images)
        if len(coats) != len(images) or len(furs) != len(images) or len(holes) != len(images):
            raise ValueError(f"{len(images)} images but {len(coats)} coats, {len(furs)} fur switches and "
                             f"{len(holes)} holes switches")
        images = [to_rgb(image) for image in images]
        prepared = [fit_and_pad(image, self.size, self.model.config.multiple, fill=self.pad_fill,
                                channels=self.input_channels) for image in images]
        rgbs = [self.coat_rgb(coat) for coat in coats]
        results: list[Image.Image | None] = [None] * len(images)
        groups: dict[tuple, list[int]] = {}
        for index, (tensor, _) in enumerate(prepared):
            groups.setdefault(tuple(tensor.shape), []).append(index)
        for indices in groups.values():
            tensor = torch.cat([prepared[i][0] for i in indices]).to(self.device)
            extra = () if rgbs[0] is None else (torch.tensor([rgbs[i] for i in indices], device=self.device),)
            output = self.model(tensor, *extra)
            for row, index in enumerate(indices):
                results[index] = self._finish(tensor_to_image(unpad(output[row:row + 1], prepared[index][1])),
                                              rgbs[index], furs[index], drawing=images[index], holes=holes[index])
        return results

    def _finish(self, result: Image.Image, rgb, fur: bool | None, texture: bool = True, drawing=None,
                holes: bool | None = None) -> Image.Image:
        """What follows the network, for one picture (`__call__` and `batch` alike): the coat's hue matched
        (`rgb`: its colour, None to leave it), the drawing's holes kept open (`drawing`: the input; `holes`
        None: as the config says), the fur finish (None: the model's default), the texture stage."""
        if rgb is not None and self.coats:
            # the network paints the coat's lightness and shading; its hue it learns late (coat.match_chroma)
            from .coat import match_chroma

            result = Image.fromarray(match_chroma(np.asarray(result), rgb))
        if drawing is not None and self.hole_settings is not None and holes is not False:
            from .holes import keep_holes_open

            # the drawing at the picture's size: the regions are found where the network painted them
            result = Image.fromarray(keep_holes_open(np.asarray(result), np.asarray(resize_to(drawing, result.size)),
                                                     self.hole_settings))
        if self.fur_default if fur is None else fur:
            from .fur import fur_finish

            result = Image.fromarray(fur_finish(np.asarray(result), self.fur_settings))
        if texture and self.detail is not None:
            result = self.add_texture(result)
        return result

    @torch.inference_mode()
    def add_texture(self, image: Image.Image) -> Image.Image:
        """The texture stage on an RGB picture (odd sides: edge pixels repeated, then cropped off)."""
        array = np.asarray(image, dtype=np.float32)
        height, width = array.shape[:2]
        array = np.pad(array, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        tensor = torch.from_numpy(array).permute(2, 0, 1)[None].to(self.device) / 127.5 - 1
        output = self.detail(tensor.to(next(self.detail.parameters()).dtype))
        return tensor_to_image(output[..., :height, :width].float())
