"""Pack the photos of a cut-out dataset into a small folder that travels to a lent GPU machine.

    python -m train.data.pack runs/data/cats-cutout packed/cats-cutout [--quality 92] [--budget-mb 22]

Copies DST/B/<name>.png of `train.data.edges` (the cut-out photos; not the edge variants,
which the GPU machine recomputes with the same extractor) as JPEGs into OUT, with OUT/pack.json
recording where they came from and how the edges were made. `packed/` is git-ignored; the device
tool carries at most 64 MiB together with the repository's tracked files, so the pack must stay
under --budget-mb (the command fails otherwise; lower --quality). Then, on the GPU machine:

    bash train/gpu_edges2cats.sh          # PACK=packed/cats-cutout OUT=$OUT by default
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from PIL import Image

from pix2pix_demo.data import DATASET_INFO


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="a folder written by train.data.edges (A/, B/)")
    parser.add_argument("out", type=Path)
    parser.add_argument("--quality", type=int, default=92, help="JPEG quality")
    parser.add_argument("--budget-mb", type=float, default=22.0, help="fail if the pack is larger")
    return parser


def main(args) -> dict:
    photos = sorted(p for p in (args.dataset / "B").glob("*.png") if "__v" not in p.stem)
    if not photos:
        raise SystemExit(f"No {args.dataset}/B/*.png: pack a folder written by train.data.edges.")
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in photos:
        target = args.out / f"{path.stem}.jpg"
        with Image.open(path) as photo:
            photo.convert("RGB").save(target, quality=args.quality)
        total += target.stat().st_size
    info_path = args.dataset / DATASET_INFO
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    pack = {"photos": len(photos), "bytes": total, "quality": args.quality, "from": str(args.dataset),
            "edge_method": info.get("edge_method"), "variants": len(info.get("edge_settings", [])) or 1,
            "size": info.get("size"), "sources": info.get("sources", [])}
    (args.out / "pack.json").write_text(json.dumps(pack, indent=2) + "\n")
    megabytes = total / 2**20
    print(f"Packed {len(photos)} photos, {megabytes:.1f} MB, into {args.out}.")
    if megabytes > args.budget_mb:
        raise SystemExit(f"The pack is {megabytes:.1f} MB, over --budget-mb {args.budget_mb}: lower --quality.")
    return pack


if __name__ == "__main__":
    main(get_args_parser().parse_args())
