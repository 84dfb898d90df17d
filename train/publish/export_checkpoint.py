"""Export the generator of a pix2pix run's checkpoint (e.g. one still training) as a model folder.

    python -m train.publish.export_checkpoint runs/NAME --out runs/NAME/export [--raw] [--export-dtype float16]

`train.pix2pix` exports only when a run ends; this writes what `runs/NAME/checkpoint.pt` holds now:
the EMA of G's weights when the run keeps one (else G itself; `--raw` forces G), rebuilt from the
options stored in the checkpoint, with a config.json that says which step it is. The folder loads with
`load_model` / `Pix2PixPipeline.from_pretrained` and can be judged with `train.eval.pix2pix` before the run
ends.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from pix2pix_demo.hub import save_model
from pix2pix_demo.models import UNetGenerator


def export(run_dir, out, raw: bool = False, dtype: str = "float32") -> Path:
    from train.pix2pix import generator_config

    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise SystemExit(f"No checkpoint at {path}.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    args = argparse.Namespace(**state["args"])
    for name in ("coat", "g_attention"):  # options newer than some checkpoints
        if not hasattr(args, name):
            setattr(args, name, False if name == "coat" else None)
    generator = UNetGenerator(generator_config(args))
    weights = state["generator"] if raw or "ema" not in state else state["ema"]
    generator.load_state_dict(weights)
    metadata = {
        "task": "image-to-image", "resolution": args.size, "pad_fill": 1.0,
        "data": {"path": str(args.data), "direction": args.direction, "augment_edges": args.augment_edges,
                 "coat": getattr(args, "coat", False)},
        "training": {"exported_from": str(path), "steps": state["step"], "elapsed_s": round(state["elapsed_s"], 1),
                     "weights": "G" if raw or "ema" not in state else f"EMA {args.ema}",
                     "gan_loss": args.gan_loss, "lambda_l1": args.lambda_l1},
        "metrics": {},
    }
    if getattr(args, "coat", False):
        from pix2pix_demo.coat import PALETTES

        palette = PALETTES[getattr(args, "coat_palette", "cats")]
        metadata["coats"] = {name: list(rgb) for name, rgb in palette.items()}
    return save_model(generator.eval(), out, metadata, dtype=getattr(torch, dtype))


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", help="runs/NAME (holding checkpoint.pt)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--raw", action="store_true", help="export G's own weights, not their EMA")
    p.add_argument("--export-dtype", choices=("float32", "float16", "int8"), default="float32")
    args = p.parse_args(argv)
    folder = export(args.run_dir, args.out, args.raw, args.export_dtype)
    print(f"Exported {folder}")
    return folder


if __name__ == "__main__":
    main()
