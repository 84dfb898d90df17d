"""Colourize and fill-in measured on held-out photos in one run, each against its baselines (issue 29).

    python -m train.eval.photo_tasks --data ../shared/data --colourize weights/colourize --fill-in weights/fill-in \\
        [--per-source 60] [--out runs/s15-tasks/eval] [--json]
    python -m train.eval.photo_tasks --pictures a.png b.jpg --colourize ... --fill-in ... --grid-only --out DIR

Photos: TASK_EVAL_SOURCES (cats/test's held-out list, cats-masked's held-out list, edges2products/val,
facades/val and /test), at most --per-source of each spread over the folder, long side shrunk to --side.

- colourize vs the grey input itself and a constant-hue tint (the grey photo with the mean chroma of 200
  training photos: the best single colour): PSNR / SSIM to the photo, KID x1000 against the photos (whole
  pictures), colourfulness (Hasler & Suesstrunk 2003) beside the photos' own; and that the result's grey
  version is the input (luma_exact).
- fill-in vs OpenCV's inpaint (Telea, radius 5) on the same masks (photo_tasks.random_mask, seeded per photo):
  PSNR and SSIM inside the mask, KID x1000 on the square window around each mask (output's window vs the
  photo's), and that every unerased pixel is kept (kept_exact). --fill-texture 'off' 'model' '{"levels": 2}' ...
  measures the fill-in model's variants with and without the texture finish (photo_tasks.texture_options) on the
  same masks in one run: each one's PSNR / SSIM / KID, its paired PSNR difference to the first variant (mean and
  standard error over the photos) and its KID difference on the even- and odd-numbered photos' halves
  (fill_in.variants; fill_in's own *_model numbers are then the first variant's).

Grids (grey | tint | colourized | photo; erased | Telea | filled | photo) go to --out; with --pictures (e.g. the
CC0 sample images) only the grids are made.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pix2pix_demo import photo_tasks as pt
from pix2pix_demo.features import kernel_inception_distance, kid_spread, load_lite0, pooled_features
from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import open_image, to_rgb
from train.data.photos import TASK_EVAL_SOURCES, TASK_TRAIN_SOURCES, part_of, task_photos
from train.eval.pix2pix import ssim


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, help="the shared data folder (held-out photos)")
    p.add_argument("--pictures", type=Path, nargs="+", help="instead of --data: these pictures, grids only")
    p.add_argument("--colourize", help="a colourize model folder")
    p.add_argument("--fill-in", dest="fill_in", help="a fill-in model folder")
    p.add_argument("--per-source", type=int, default=60, help="photos of each held-out folder")
    p.add_argument("--side", type=int, default=320, help="long side the photos are shrunk to")
    p.add_argument("--grid-rows", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="the masks' seed")
    p.add_argument("--out", type=Path, default=Path("runs/photo-tasks-eval"))
    p.add_argument("--no-kid", dest="kid", action="store_false")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.add_argument("--fill-texture", dest="fill_texture", nargs="+", metavar="SPEC",
                   help="fill-in variants measured side by side on the same masks: 'model' (the model's config "
                        "as it is), 'off' (no texture finish) or a JSON dict of photo_tasks.texture_options "
                        "(e.g. '{\"levels\": 2}'); the first is the reference of the paired differences")
    return p


def texture_variants(specs) -> list[tuple[str, object]]:
    """--fill-texture's specs -> [(label, fill_in's texture argument)]; none given: the model as it is."""
    variants = []
    for spec in specs or ["model"]:
        if spec == "model":
            variants.append(("model", "model"))
        elif spec == "off":
            variants.append(("off", None))
        else:
            try:
                texture = json.loads(spec)
            except json.JSONDecodeError:
                raise SystemExit(f"--fill-texture: {spec!r} is not 'model', 'off' or a JSON dict.") from None
            pt.texture_options(texture)  # refused here, with its message, rather than on the first photo
            variants.append((spec, texture))
    if len({label for label, _ in variants}) != len(variants):
        raise SystemExit("--fill-texture: the same variant twice.")
    return variants


def paired_halves(fakes, reference, reals) -> dict:
    """KID x1000 of `fakes` minus that of `reference` (both against `reals`, the same photos; pooled features,
    one row a photo), on the even- and the odd-numbered photos: the mean of the two differences and half
    their gap (a paired spread)."""
    differences = []
    for half in (slice(0, None, 2), slice(1, None, 2)):
        differences.append(1000 * (kernel_inception_distance(fakes[half], reals[half])
                                   - kernel_inception_distance(reference[half], reals[half])))
    return {"kid_x1000_minus_reference": round(statistics.fmean(differences), 2),
            "halves_gap": round(abs(differences[0] - differences[1]) / 2, 2)}


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk's M: sqrt(sd_rg² + sd_yb²) + 0.3 sqrt(mean_rg² + mean_yb²) (0 for grey)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    diff = (a.astype(np.float64) - b.astype(np.float64)) / 255.0
    mse = float((diff[where] if where is not None else diff).__pow__(2).mean())
    return 10 * np.log10(1.0 / max(mse, 1e-10))


def ssim_of(a: np.ndarray, b: np.ndarray, where: np.ndarray | None = None) -> float:
    def tensor(x):
        return torch.from_numpy(x.astype(np.float32) / 255.0).permute(2, 0, 1)[None]

    return ssim(tensor(a), tensor(b), weight=None if where is None else torch.from_numpy(where.astype(np.float32)))


def mean_chroma(root: Path, count: int = 200) -> np.ndarray:
    """(Cb - 128, Cr - 128) averaged over `count` training photos: the constant tint's colour."""
    values = []
    for _, path, part in task_photos(root, TASK_TRAIN_SOURCES, per_source=count // len(TASK_TRAIN_SOURCES)):
        ycc = np.asarray(part_of(open_image(path), part).convert("YCbCr"), dtype=np.float64)
        values.append(ycc[..., 1:].reshape(-1, 2).mean(axis=0) - 128.0)
    return np.mean(values, axis=0)


def tint(grey: np.ndarray, chroma: np.ndarray) -> np.ndarray:
    return pt.recombine(grey, np.broadcast_to(chroma, grey.shape + (2,)))


telea = pt.telea  # OpenCV's inpaint (Telea, radius 5): the baseline, and a "hole": "telea" model's prior


def mask_window(mask: np.ndarray, margin: int = 8, least: int = 64) -> tuple[int, int, int, int]:
    """The square box around a mask's pixels (a margin around them, at least `least` px, inside the picture)."""
    ys, xs = np.nonzero(mask)
    height, width = mask.shape
    side = min(max(least, int(np.ptp(ys)) + 1 + 2 * margin, int(np.ptp(xs)) + 1 + 2 * margin), height, width)
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    top = int(np.clip(cy - side // 2, 0, height - side))
    left = int(np.clip(cx - side // 2, 0, width - side))
    return left, top, left + side, top + side


def shrink(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    return image if scale >= 1 else image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def timed(function, *args, **kwargs):
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, (time.process_time() - start) * 1000


def save_grid(rows: list[list[np.ndarray]], path: Path, cell: int = 200, labels: list[str] | None = None) -> None:
    from PIL import ImageDraw

    path.parent.mkdir(parents=True, exist_ok=True)
    head = 18 if labels else 0
    fitted = [[Image.fromarray(c).convert("RGB") for c in row] for row in rows]
    heights = [round(cell * row[0].height / row[0].width) for row in fitted]
    grid = Image.new("RGB", (cell * len(rows[0]), head + sum(heights)), "white")
    draw = ImageDraw.Draw(grid)
    for i, label in enumerate(labels or []):
        draw.text((i * cell + 4, 3), label, fill=(0, 0, 0))
    top = head
    for row, height in zip(fitted, heights):
        for i, picture in enumerate(row):
            grid.paste(picture.resize((cell, height), Image.LANCZOS), (i * cell, top))
        top += height
    grid.save(path)


def kid(net, fakes: list[np.ndarray], reals: list[np.ndarray]) -> dict:
    x = pooled_features(net, [Image.fromarray(f) for f in fakes])
    y = pooled_features(net, [Image.fromarray(r) for r in reals])
    return {"kid_x1000": round(1000 * kernel_inception_distance(x, y), 2), "kid_x1000_spread": round(1000 * kid_spread(x, y), 2)}


def summarise(rows: list[dict]) -> dict:
    keys = [k for k in rows[0] if isinstance(rows[0][k], (int, float, bool)) and not isinstance(rows[0][k], bool)]
    return {k: round(statistics.fmean(r[k] for r in rows), 3) for k in keys}


def evaluate(args) -> dict:
    torch.set_num_threads(args.num_threads)
    if not (args.colourize or args.fill_in):
        raise SystemExit("Give --colourize and/or --fill-in.")
    if args.pictures:
        photos = [("pictures", path, "whole") for path in args.pictures]
    elif args.data:
        photos = task_photos(args.data, TASK_EVAL_SOURCES, per_source=args.per_source)
    else:
        raise SystemExit("Give --data (the shared data folder) or --pictures.")
    colour_model = load_model(args.colourize) if args.colourize else None
    fill_model = load_model(args.fill_in) if args.fill_in else None
    for model, task in ((colour_model, "colourize"), (fill_model, "fill-in")):
        if model is not None and pt.model_task(model) != task:
            raise SystemExit(f"That --{task} model is a {pt.model_task(model)} model.")
    chroma = mean_chroma(args.data) if args.data and colour_model is not None else np.array([-6.0, 8.0])
    grid_every = max(1, len(photos) // args.grid_rows)
    col = {"grey": [], "tint": [], "model": [], "photo": []}
    col_rows, fill_rows, col_grid, fill_grid = [], [], [], []
    variants = texture_variants(args.fill_texture) if fill_model is not None else []
    fill = {"telea": [], "model": [], "photo": []}
    windows = {label: [] for label, _ in variants}  # each variant's windows around the masks
    variant_rows = {label: [] for label, _ in variants}
    for index, (source, path, part) in enumerate(photos):
        photo = np.asarray(to_rgb(shrink(part_of(open_image(path), part), args.side)))
        grey = pt.luma(photo)
        row = {"source": source}
        if colour_model is not None:
            grey_rgb = np.repeat(grey[..., None], 3, axis=2)
            tinted = tint(grey, chroma)
            ours, ms = timed(pt.colourize, colour_model, Image.fromarray(grey))
            ours = np.asarray(ours)
            outputs = {"grey": grey_rgb, "tint": tinted, "model": ours}
            result = {"source": source, "ms": ms, "luma_exact": bool((pt.luma(ours) == grey).all()),
                      "colourfulness_photo": colourfulness(photo)}
            for name, out in outputs.items():
                result[f"psnr_{name}"] = psnr(out, photo)
                result[f"ssim_{name}"] = ssim_of(out, photo)
                result[f"colourfulness_{name}"] = colourfulness(out)
                col[name].append(out)
            col["photo"].append(photo)
            col_rows.append(result)
            if index % grid_every == 0:
                col_grid.append([grey_rgb, tinted, ours, photo])
        if fill_model is not None:
            mask = pt.random_mask(*photo.shape[:2], np.random.default_rng((args.seed, index)))
            classic = telea(photo, mask)
            box = mask_window(mask)
            outs = []
            for number, (label, texture) in enumerate(variants):
                out, ms = timed(pt.fill_in, fill_model, Image.fromarray(photo), mask, texture=texture)
                out = np.asarray(out)
                outs.append(out)
                row = {"ms": ms, "kept_exact": bool((out[~mask] == photo[~mask]).all()),
                       "psnr": psnr(out, photo, mask), "ssim": ssim_of(out, photo, mask)}
                variant_rows[label].append(row)
                windows[label].append(out[box[1]:box[3], box[0]:box[2]])
                if number == 0:
                    ours = out
            result = {"source": source, "ms": variant_rows[variants[0][0]][-1]["ms"], "cover": float(mask.mean()),
                      "kept_exact": all(rows[-1]["kept_exact"] for rows in variant_rows.values())}
            for name, out in (("telea", classic), ("model", ours)):
                result[f"psnr_{name}"] = psnr(out, photo, mask)
                result[f"ssim_{name}"] = ssim_of(out, photo, mask)
                fill[name].append(out[box[1]:box[3], box[0]:box[2]])
            fill["photo"].append(photo[box[1]:box[3], box[0]:box[2]])
            fill_rows.append(result)
            if index % grid_every == 0:
                fill_grid.append([np.asarray(pt.mask_overlay(Image.fromarray(photo), mask, opacity=1.0)), classic,
                                  *outs, photo])
        print(f"{index + 1}/{len(photos)} {path.name}", end="\r", flush=True)
    print()
    args.out.mkdir(parents=True, exist_ok=True)
    report = {"photos": len(photos), "sources": sorted({s for s, _, _ in photos}), "side": args.side,
              "command": "python -m train.eval.photo_tasks " + " ".join(getattr(args, "argv", []) or [])}
    net = load_lite0(with_head=True) if args.kid and not args.pictures else None
    if colour_model is not None:
        save_grid(col_grid, args.out / "colourize-grid.png", labels=["grey input", "constant tint", "colourized", "photo"])
        summary = summarise(col_rows)
        report["colourize"] = {"model": args.colourize, "tint_chroma_cb_cr": [round(float(c), 2) for c in chroma],
                               "luma_exact_all": all(r["luma_exact"] for r in col_rows), **summary}
        if net is not None:
            for name in ("grey", "tint", "model"):
                report["colourize"][f"kid_{name}"] = kid(net, col[name], col["photo"])
    if fill_model is not None:
        labels = ["filled in"] if len(variants) == 1 else [f"texture {label}" for label, _ in variants]
        save_grid(fill_grid, args.out / "fill-in-grid.png", labels=["erased (mask)", "OpenCV Telea", *labels, "photo"])
        summary = summarise(fill_rows)
        report["fill_in"] = {"model": args.fill_in, "kept_exact_all": all(r["kept_exact"] for r in fill_rows), **summary}
        if net is not None:
            for name in ("telea", "model"):
                report["fill_in"][f"kid_{name}"] = kid(net, fill[name], fill["photo"])
        if args.fill_texture:
            reference = variants[0][0]
            report["fill_in"]["variants"] = {}
            if net is not None:
                features = {label: pooled_features(net, [Image.fromarray(w) for w in windows[label]]) for label, _ in variants}
                reals = pooled_features(net, [Image.fromarray(w) for w in fill["photo"]])
            for label, _ in variants:
                rows = variant_rows[label]
                entry = {"kept_exact_all": all(r["kept_exact"] for r in rows), **summarise(rows)}
                gains = [r["psnr"] - q["psnr"] for r, q in zip(rows, variant_rows[reference])]
                entry["psnr_minus_reference"] = round(statistics.fmean(gains), 3)
                entry["psnr_minus_reference_se"] = round(statistics.stdev(gains) / len(gains) ** 0.5, 3) if len(gains) > 1 else 0.0
                if net is not None:
                    entry["kid"] = {"kid_x1000": round(1000 * kernel_inception_distance(features[label], reals), 2),
                                    "kid_x1000_spread": round(1000 * kid_spread(features[label], reals), 2)}
                    if label != reference and len(rows) > 1:
                        entry["kid_paired_halves"] = paired_halves(features[label], features[reference], reals)
                report["fill_in"]["variants"][label] = entry
    (args.out / "results.json").write_text(json.dumps(report, indent=2))
    return report


def main(argv=None):
    import sys

    args = get_args_parser().parse_args(argv)
    args.argv = sys.argv[1:] if argv is None else list(argv)
    report = evaluate(args)
    print(json.dumps(report, indent=2) if args.json else json.dumps(report))


if __name__ == "__main__":
    main()
