"""Rewrite a model folder's weights in another storage dtype (in place, or into --out).

    python -m train.publish.requantize weights/edges2cats --dtype int8 [--out DIR] [--check drawings/]

int8 keeps each large weight as int8 values with one float32 scale per output channel
(`pix2pix_demo.hub.quantize_int8`): a quarter of float32, half of float16. `load_model` restores
float weights, so inference code is unchanged. The command prints how far the new weights' outputs
move from the old ones' on a few fixed random inputs (max and mean absolute difference, in the
model's output units) so a change that would show is caught before it is shipped; `--check` adds
the PSNR between old and new outputs on the images of a folder (pix2pix models: line drawings).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import torch

from pix2pix_demo.hub import CARD_NAME, WEIGHTS_NAME, load_model, save_model


def _example_inputs(model, count: int = 2) -> list[tuple]:
    """Deterministic random inputs shaped for the model (image channels + its condition, if any)."""
    size = int(getattr(model, "metadata", {}).get("resolution") or 64)
    generator = torch.Generator().manual_seed(0)
    architecture = getattr(model, "config", None)
    channels = getattr(architecture, "in_channels", 3)
    inputs = []
    for _ in range(count):
        x = torch.rand(1, channels, size, size, generator=generator) * 2 - 1
        condition_channels = getattr(architecture, "condition_channels", 0)
        inputs.append((x, torch.rand(1, condition_channels, generator=generator)) if condition_channels else (x,))
    return inputs


def output_difference(old, new) -> dict | None:
    """Max / mean |old(x) - new(x)| over the example inputs; None when the model's forward needs more."""
    try:
        with torch.inference_mode():
            diffs = [(old(*x) - new(*x)).abs() for x in _example_inputs(old)]
    except (TypeError, ValueError, RuntimeError):  # e.g. SinGAN: its forward takes noise maps
        return None
    return {"max": max(float(d.max()) for d in diffs), "mean": sum(float(d.mean()) for d in diffs) / len(diffs)}


def drawings_psnr(old_folder: Path, new_folder: Path, drawings: Path) -> float:
    """Mean PSNR (dB) between the two models' pipeline outputs on a folder of line drawings."""
    from PIL import Image

    from pix2pix_demo.pipelines import Pix2PixPipeline
    from train.eval.pix2pix import image_metrics

    old, new = Pix2PixPipeline.from_pretrained(old_folder), Pix2PixPipeline.from_pretrained(new_folder)
    values = []
    for path in sorted(drawings.glob("*.png")):
        with Image.open(path) as image:
            values.append(image_metrics(new(image), old(image))["psnr"])
    return sum(values) / len(values)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="a model folder (config.json + model.safetensors)")
    p.add_argument("--dtype", choices=("int8", "float16", "float32"), default="int8")
    p.add_argument("--out", type=Path, help="write here instead of replacing the folder's weights")
    p.add_argument("--check", type=Path, help="folder of line drawings: PSNR of new vs old outputs")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    old = load_model(args.folder)
    out = args.out or args.folder
    before = (args.folder / WEIGHTS_NAME).stat().st_size
    with tempfile.TemporaryDirectory() as scratch:
        saved_old = args.folder  # with --out the folder stays as it is; in place, keep a copy of the old weights
        if args.out is None or args.out.resolve() == args.folder.resolve():
            saved_old = Path(scratch) / "old"
            shutil.copytree(args.folder, saved_old)
        metadata = {key: value for key, value in old.metadata.items() if key not in ("model_type", "format_version")}
        metadata.pop("weights_dtype", None)
        save_model(old, out, metadata, dtype=getattr(torch, args.dtype))
        if args.out and (args.folder / CARD_NAME).is_file() and not (out / CARD_NAME).exists():
            shutil.copy(args.folder / CARD_NAME, out / CARD_NAME)
        new = load_model(out)
        report = {"bytes_before": before, "bytes_after": (out / WEIGHTS_NAME).stat().st_size,
                  "output_difference": output_difference(old, new)}
        if args.check:
            report["drawings_psnr_db"] = round(drawings_psnr(saved_old, out, args.check), 2)
    print(f"{out}: {report['bytes_before'] / 1e6:.2f} MB -> {report['bytes_after'] / 1e6:.2f} MB ({args.dtype}); "
          f"outputs moved by {report['output_difference']}"
          + (f"; PSNR new vs old on {args.check}: {report['drawings_psnr_db']} dB" if args.check else ""))
    return report


if __name__ == "__main__":
    main()
