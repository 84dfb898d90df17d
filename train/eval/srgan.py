"""Enhance ×4 measured: bicubic, SRGAN models and SinGAN's super-resolution on held-out photos (PSNR, SSIM,
KID on 256² windows of the full-size outputs, CPU ms), tables and crop grids.

    python -m train.srgan --data ../shared/data --evaluate weights/srgan-x4 [OTHER] [--per-source 30] [--grid G]

The command line is `train.srgan`'s (its "evaluation" options); this module holds what it runs.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from pix2pix_demo.features import kernel_inception_distance, kid_spread, load_lite0, pooled_features
from pix2pix_demo.hub import load_model, update_config
from pix2pix_demo.imaging import open_image, to_rgb
from pix2pix_demo.superres import bicubic, downscale, enhance
from train.data.photos import EVAL_SOURCES, KID_WINDOW, list_photos, part_of

def heldout_photos(root: Path, per_source: int) -> list[tuple[str, Path, str]]:
    """[(source, file, part)]: the first `per_source` held-out photos of each EVAL_SOURCES folder."""
    photos = []
    for folder, names, part in EVAL_SOURCES:
        files = list_photos(root / folder, root / names if names else None, keep=True)
        photos += [(folder, path, part) for path in files[:per_source]]
    return photos


def shaved_metrics(output: Image.Image, target: Image.Image, border: int = 4) -> dict:
    """PSNR (dB) and SSIM on RGB in [0, 1] without a `border`-px frame (train.eval.pix2pix's definitions)."""
    from train.eval.pix2pix import image_metrics

    box = (border, border, target.width - border, target.height - border)
    metrics = image_metrics(output.crop(box), target.crop(box))
    return {"psnr": metrics["psnr"], "ssim": metrics["ssim"]}


def kid_windows(image: Image.Image, side: int = KID_WINDOW) -> list[Image.Image]:
    """The windows KID sees of one picture, at its own resolution (nothing is shrunk, so the detail an
    enlargement adds is what the network judges): a side² window at each corner, 1, 2 or 4 of them
    (overlapping on sides under 2·side; a side shorter than `side` is taken whole)."""
    def starts(length: int) -> list[int]:
        return [0] if length <= side else [0, length - side]

    return [image.crop((left, top, min(left + side, image.width), min(top + side, image.height)))
            for top in starts(image.height) for left in starts(image.width)]


def kid_network():
    """The frozen Lite0 with its pooled head (pix2pix_demo.features), or a SystemExit saying how to get it."""
    try:
        return load_lite0(with_head=True)
    except ModuleNotFoundError as error:
        raise SystemExit(f"{error} (or measure without KID: --no-kid)") from None


def kid_report(net_features: dict, target_features: list, photos_of: dict, sources: list) -> dict:
    """{method: {"kid_x1000", "kid_x1000_spread", "per_source": {source: kid_x1000}}}: each method's
    windows against the photos' windows of the same photos (KID and its spread over half-size subsets, ×1000)."""
    report = {}
    for name, rows in net_features.items():
        indices = photos_of[name]
        if len(indices) < 2:
            continue
        fake = torch.cat(rows)
        real = torch.cat([target_features[i] for i in indices])
        row = {"kid_x1000": round(1000 * kernel_inception_distance(fake, real), 2),
               "kid_x1000_spread": round(1000 * kid_spread(fake, real), 2), "windows": len(fake), "per_source": {}}
        for source in dict.fromkeys(sources[i] for i in indices):
            mine = [k for k, i in enumerate(indices) if sources[i] == source]
            if len(mine) >= 2:
                row["per_source"][source] = round(1000 * kernel_inception_distance(
                    torch.cat([rows[k] for k in mine]), torch.cat([target_features[indices[k]] for k in mine])), 2)
        report[name] = row
    return report


def timed(method, image):
    start = time.process_time()
    result = method(image)
    return result, (time.process_time() - start) * 1000


def evaluate(args) -> dict:
    """PSNR / SSIM / KID / CPU ms of bicubic, each --evaluate model and (on fewer photos) SinGAN; a table."""
    if args.data is None and not (args.pictures or args.enlarge):
        raise SystemExit("--evaluate needs --data (the shared data folder with the held-out photos), --pictures or "
                         "--enlarge.")
    torch.set_num_threads(args.num_threads or 1)
    models = {str(folder): load_model(folder) for folder in args.evaluate}
    methods = {"bicubic": bicubic, **{name: (lambda image, m=model: enhance(m, image)) for name, model in models.items()}}
    if args.enlarge:
        return enlarge_grid(args, methods)
    photos = ([("pictures", path, "whole") for path in args.pictures] if args.pictures
              else heldout_photos(args.data, args.per_source))
    singan_photos = set()
    if args.singan is not None:
        from pix2pix_demo.singan import super_resolve

        singan = load_model(args.singan)
        methods["singan"] = lambda image: super_resolve(singan, image, 4, seed=0)
        by_source: dict[str, list] = {}
        for source, path, _ in photos:
            by_source.setdefault(source, []).append(path)
        if args.pictures:  # a few chosen pictures: every one is measured and goes into the grid
            args.singan_per_source = max(args.singan_per_source, len(photos))
        singan_photos = {path for paths in by_source.values() for path in paths[:args.singan_per_source]}
    scores = {name: [] for name in methods}
    net = kid_network() if args.kid else None
    kid_features = {name: [] for name in methods}  # per method: one (windows, 1280) tensor per photo it ran on
    kid_photos = {name: [] for name in methods}  # ...and those photos' indices
    target_features = []
    grid_rows = []
    grid_photos = {path for source in dict.fromkeys(s for s, _, _ in photos)  # the first two of each source
                   for path in [p for s, p, _ in photos if s == source][:len(photos) if args.pictures else 2]}
    for index, (source, path, part) in enumerate(photos):
        high, low = downscale(part_of(open_image(path), part), 4)
        outputs = {}
        for name, method in methods.items():
            if name == "singan" and path not in singan_photos:
                continue
            output, ms = timed(method, low)
            outputs[name] = output
            scores[name].append({"source": source, "ms": ms, "pixels_out": output.width * output.height,
                                 **shaved_metrics(output, high)})
            if net is not None:
                kid_features[name].append(pooled_features(net, kid_windows(output)))
                kid_photos[name].append(index)
        if net is not None:
            target_features.append(pooled_features(net, kid_windows(high)))
        if args.grid and path in grid_photos:  # a method left out on this photo: a white cell
            grid_rows.append(crop_row(low, [outputs[name] if name in outputs else Image.new("RGB", high.size, "white")
                                            for name in methods], high))
        print(f"{index + 1}/{len(photos)} {path.name}", end="\r", flush=True)
    report = {name: summarize(rows) for name, rows in scores.items() if rows}
    if net is not None:
        kids = kid_report(kid_features, target_features, kid_photos, [source for source, _, _ in photos])
        for name, row in kids.items():
            per_source = row.pop("per_source")
            report[name].update(row)
            for source, kid in per_source.items():
                report[name]["per_source"][source]["kid_x1000"] = kid
    print()
    print(json.dumps(report, indent=2))
    print(markdown_table(report))
    if args.grid and grid_rows:
        save_rows(grid_rows, args.grid, ["low-res (nearest x4)", *[short_name(n) for n in methods], "original"])
        print(f"Grid: {args.grid}")
    if args.save_metrics and not args.pictures:
        for name in models:
            update_config(name, metrics={"heldout-x4": {**{k: v for k, v in report[name].items() if k != "per_source"},
                                                        "bicubic_psnr": report["bicubic"]["psnr"],
                                                        "bicubic_ssim": report["bicubic"]["ssim"],
                                                        "data": str(args.data), "files": "heldout photos",
                                                        "photos": report[name]["photos"]}})
    return report


def enlarge_grid(args, methods: dict) -> dict:
    """Each --enlarge picture ×4 by every method, no ground truth: rows of crops (input, bicubic, models)
    at the spot with the most detail; two crops per picture."""
    if not args.grid:
        raise SystemExit("--enlarge makes a grid: say where with --grid PATH.")
    rows = []
    for path in args.enlarge:
        image = to_rgb(open_image(path))
        outputs = [method(image) for method in methods.values()]
        for side in (128, 256):  # a close-up (shown 2× nearest) and a 1:1 view
            _, *models, bicubic_crop = crop_row(image, outputs[1:], outputs[0], side=side)  # window: bicubic's detail
            rows.append([bicubic_crop, *models])
    save_rows(rows, args.grid, ["bicubic x4", *[short_name(n) for n in list(methods)[1:]]], cell=256)
    print(f"Grid: {args.grid}")
    return {}


def summarize(rows: list[dict]) -> dict:
    megapixels = sum(r["pixels_out"] for r in rows) / 1e6
    per_source = {}
    for source in dict.fromkeys(r["source"] for r in rows):
        mine = [r for r in rows if r["source"] == source]
        per_source[source] = {"photos": len(mine), "psnr": round(statistics.fmean(r["psnr"] for r in mine), 3),
                              "ssim": round(statistics.fmean(r["ssim"] for r in mine), 4)}
    return {"photos": len(rows), "psnr": round(statistics.fmean(r["psnr"] for r in rows), 3),
            "ssim": round(statistics.fmean(r["ssim"] for r in rows), 4),
            "cpu_ms_per_image": round(statistics.fmean(r["ms"] for r in rows), 1),
            "cpu_ms_per_megapixel_out": round(sum(r["ms"] for r in rows) / megapixels, 1), "per_source": per_source}


def markdown_table(report: dict) -> str:
    sources = list(next(iter(report.values()))["per_source"])
    with_kid = any("kid_x1000" in row for row in report.values())
    per = "KID / PSNR / SSIM" if with_kid else "PSNR / SSIM"
    header = ["method", "photos", *(["KID ×1000 ↓"] if with_kid else []), "PSNR (dB)", "SSIM",
              *[f"{per} {s.split('/')[0]}" for s in sources], "CPU ms per MP out"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, row in report.items():
        cells = [short_name(name), str(row["photos"])]
        if with_kid:
            cells.append(f"{row['kid_x1000']:.1f} ± {row['kid_x1000_spread']:.1f}" if "kid_x1000" in row else "–")
        cells += [f"{row['psnr']:.2f}", f"{row['ssim']:.4f}"]
        for s in sources:
            mine = row["per_source"].get(s)
            if mine is None:
                cells.append("–")
                continue
            kid = ([f"{mine['kid_x1000']:.1f}" if "kid_x1000" in mine else "–"] if with_kid else [])
            cells.append(" / ".join([*kid, f"{mine['psnr']:.2f}", f"{mine['ssim']:.3f}"]))
        cells.append(f"{row['cpu_ms_per_megapixel_out']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def short_name(name: str) -> str:
    return Path(name).name if "/" in name else name


def crop_row(low: Image.Image, outputs: list, high: Image.Image, side: int = 96) -> list[Image.Image]:
    """The same `side`² window (around the most detailed spot) of the low-res input, each output and
    the original, for a grid."""
    gray = np.asarray(high.convert("L"), dtype=np.float32)
    best, box = -1.0, (0, 0)
    step = max(8, side // 2)
    for top in range(0, max(1, high.height - side + 1), step):
        for left in range(0, max(1, high.width - side + 1), step):
            detail = float(np.abs(np.diff(gray[top:top + side, left:left + side], axis=1)).mean())
            if detail > best:
                best, box = detail, (left, top)
    left, top = box
    window = (left, top, left + side, top + side)
    low_big = low.resize((low.width * 4, low.height * 4), Image.NEAREST)
    return [low_big.crop(window), *[out.crop(window) for out in outputs], high.crop(window)]


def save_rows(rows: list[list[Image.Image]], path: Path, titles: list[str], cell: int = 192) -> None:
    """Rows of equally sized crops (enlarged to `cell` px, nearest), a title line on top."""
    from PIL import ImageDraw

    columns = max(len(row) for row in rows)
    grid = Image.new("RGB", (columns * (cell + 4) - 4, 18 + len(rows) * (cell + 4) - 4), "white")
    draw = ImageDraw.Draw(grid)
    for c, title in enumerate(titles[:columns]):
        draw.text((c * (cell + 4) + 2, 3), title, fill=(0, 0, 0))
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            grid.paste(image.resize((cell, cell), Image.NEAREST), (c * (cell + 4), 18 + r * (cell + 4)))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
