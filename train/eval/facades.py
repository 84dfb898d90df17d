"""Compare facades models side by side on held-out label maps: KID, L1, PSNR, SSIM, ms per image, parameters.

    python -m train.eval.facades --models weights/facades-pix2pix weights/facades-spade \
        --data ../shared/data/facades/val ../shared/data/facades/test --num-threads 1 \
        --grid runs/facades/heldout.png --random-grid docs/images/facades-random.png --save-metrics heldout

Each held-out pair (side-by-side: LEFT photo, RIGHT label map) goes through `FacadesPipeline`, as in the
app: the label map is snapped to the 12 classes and fitted (256², nearest-neighbour), the output is
compared with the photo resized to the output's size (`train.eval.pix2pix.image_metrics`: L1, PSNR, SSIM on
[0, 1] RGB). Seed 0 (each model's standard output). A "class means" baseline paints every class with
its mean photo colour over the training pairs (--train): the bar a model must clear to have learnt
more than a colour per class. KID ×1000 (as `train.eval.pix2pix`: unbiased MMD² with the cubic kernel
on the frozen EfficientNet-Lite0's pooled features, outputs vs photos; needs the training wheel,
--no-kid skips it) with its spread over half-size subsets, over all pairs and per --data folder
("per_folder": val and test separately).
"Fine detail common to all" (`common_detail`): the share of the outputs' fine detail that is the same in
every picture, the streak lattice's measure (session 20: the shipped SPADE's nearest up-sampling draws it).

--grid writes labels | model outputs | photo for the first --grid-rows pairs: it holds data-set photos
(research use only): keep it under runs/, never in the repository. --random-grid writes code-drawn
layouts (`labels.random_facade`) | model outputs (seed 0 and one variation of the last model): no
data-set image, fit for the README.
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

from pix2pix_demo.data import load_pairs
from pix2pix_demo.facades import FacadesPipeline, fit_and_pad_labels
from pix2pix_demo.hub import read_config, update_config
from pix2pix_demo.imaging import resize_to
from pix2pix_demo.labels import NUM_CLASSES, classes_to_image, prepare_labels, random_facade
from train.eval.pix2pix import image_metrics, save_grid
from train.eval import model_labels


def kid_x1000(net, outputs, targets, spread=True):
    from pix2pix_demo.features import kid_x1000 as kid

    return kid(net, outputs, targets, spread=spread)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", required=True, help="facades model folders (or Hub ids)")
    p.add_argument("--data", nargs="+", required=True, help="held-out folders of side-by-side photo|labels")
    p.add_argument("--train", default=None, help="training folder for the class-means baseline (optional)")
    p.add_argument("--limit", type=int, default=None, help="at most this many pairs per folder")
    p.add_argument("--num-threads", type=int, default=None)
    p.add_argument("--grid", default=None, help="held-out grid PNG (contains data-set photos: keep under runs/)")
    p.add_argument("--grid-rows", type=int, default=6)
    p.add_argument("--random-grid", default=None, help="grid of code-drawn layouts -> outputs (no data-set images)")
    p.add_argument("--random-seeds", default="0,3,6,8,11", help="random_facade seeds of --random-grid rows")
    p.add_argument("--variation-seed", type=int, default=7, help="the variation column of --random-grid")
    p.add_argument("--save-metrics", default=None, metavar="KEY", help="store metrics in each model's config.json")
    p.add_argument("--json", default=None, help="also write the result here")
    p.add_argument("--kid", action=argparse.BooleanOptionalAction, default=True,
                   help="KID x1000 (frozen EfficientNet-Lite0 from the training wheel)")
    return p


def class_mean_colours(folder, limit=None) -> np.ndarray:
    """(12, 3) mean photo colour of each class over the pairs in `folder` (grey where a class never occurs)."""
    sums, counts = np.zeros((NUM_CLASSES, 3)), np.zeros(NUM_CLASSES)
    arrays, _ = load_pairs(folder, "ab", "BtoA", limit=limit)
    for label_rgb, photo in arrays:
        indices, _ = prepare_labels(label_rgb)
        flat = indices.reshape(-1)
        np.add.at(sums, flat, photo.reshape(-1, 3).astype(np.float64))
        np.add.at(counts, flat, 1)
    means = np.full((NUM_CLASSES, 3), 128.0)
    seen = counts > 0
    means[seen] = sums[seen] / counts[seen, None]
    return means.round().astype(np.uint8)


def summarise(per_image: list[dict], outputs: list, targets: list, folders: list[str], net) -> dict:
    """Mean L1/PSNR/SSIM and KID ×1000 (± spread) over all pairs, and the same per data folder."""
    def block(indices):
        row = {key: round(statistics.fmean(per_image[i][key] for i in indices), 4) for key in ("l1", "psnr", "ssim")}
        if net is not None:
            row["kid_x1000"], row["kid_x1000_spread"] = kid_x1000(net, [outputs[i] for i in indices],
                                                                  [targets[i] for i in indices], spread=True)
        return row

    everything = block(range(len(per_image)))
    names = list(dict.fromkeys(folders))
    if len(names) > 1:
        everything["per_folder"] = {name: block([i for i, f in enumerate(folders) if f == name]) for name in names}
    return everything


def common_detail(images, box: int = 9, period: int = 32) -> dict:
    """The streak-lattice measure (session 13's "fine detail common to all outputs"): each picture's grey
    high-pass (grey minus its box×box mean, edges replicated), then the mean high-pass image over all of them.
    "common": the mean image's energy over the pictures' mean energy (1/len(images) for independent
    detail; a lattice drawn at fixed positions in every output raises it). "energy": the pictures' mean
    high-pass energy ([0, 1] grey units², how much fine detail there is). "row_profile" / "col_profile":
    the mean image's row / column means (a horizontal / vertical line at a fixed position is a peak);
    "row_phase" / "col_phase": their absolute values folded modulo `period` px (which position inside a
    period-px cell the lines take: a generator that up-samples 8² by nearest neighbour draws its seams
    at multiples of 32, 16, 8 px). Images: PIL images or H×W×3 uint8 arrays of one size."""
    grey = np.stack([np.asarray(image, dtype=np.float32)[..., :3].mean(axis=2) / 255 for image in images])
    pad = box // 2
    padded = np.pad(grey, ((0, 0), (pad, pad), (pad, pad)), mode="edge")
    sums = padded.cumsum(axis=1).cumsum(axis=2)
    sums = np.pad(sums, ((0, 0), (1, 0), (1, 0)))
    blurred = (sums[:, box:, box:] - sums[:, :-box, box:] - sums[:, box:, :-box] + sums[:, :-box, :-box]) / box ** 2
    high = grey - blurred
    mean = high.mean(axis=0)
    energy = float((high ** 2).mean())
    rows, cols = mean.mean(axis=1), mean.mean(axis=0)

    def fold(profile):
        usable = len(profile) // period * period
        return np.abs(profile[:usable]).reshape(-1, period).mean(axis=0)

    return {"common": float((mean ** 2).mean() / max(energy, 1e-12)), "energy": energy,
            "row_profile": rows, "col_profile": cols, "row_phase": fold(rows), "col_phase": fold(cols)}


def common_detail_pct(images) -> float | None:
    """`common_detail`'s "common" in % over the pictures of the most frequent size (the streak lattice: photos
    and lattice-free models sit near 100 / len(images))."""
    sizes = [np.asarray(image).shape[:2] for image in images]
    if not sizes:
        return None
    size = max(set(sizes), key=sizes.count)
    return round(100 * common_detail([image for image, s in zip(images, sizes) if s == size])["common"], 2)


def parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def evaluate(args) -> dict:
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    pipes = {label: FacadesPipeline.from_pretrained(m) for label, m in zip(model_labels(args.models), args.models)}
    pairs, names, folders = [], [], []
    for folder in args.data:
        arrays, kept = load_pairs(folder, "ab", "BtoA", limit=args.limit)
        pairs += arrays
        names += [f"{Path(folder).name}/{name}" for name in kept]
        folders += [Path(folder).name] * len(arrays)
    net = None
    if args.kid:
        try:
            from pix2pix_demo.features import load_lite0

            net = load_lite0()
        except ModuleNotFoundError as error:
            print(f"KID skipped: {error}")
    prepared = [prepare_labels(label_rgb)[0] for label_rgb, _ in pairs]
    means = class_mean_colours(args.train) if args.train else None
    results, outputs = {}, {name: [] for name in pipes}
    for name, pipe in pipes.items():
        pipe.from_indices(prepared[0])  # warm-up, not timed
        per_image, times, cpu_times, all_outputs, targets = [], [], [], [], []
        for index, ((_, photo), indices) in enumerate(zip(pairs, prepared)):
            start, cpu_start = time.perf_counter(), time.process_time()
            output = pipe.from_indices(indices)
            times.append((time.perf_counter() - start) * 1000)
            cpu_times.append((time.process_time() - cpu_start) * 1000 / torch.get_num_threads())
            target = resize_to(Image.fromarray(photo), output.size)
            per_image.append(image_metrics(output, target))
            all_outputs.append(output)
            targets.append(target)
            if index < args.grid_rows:
                outputs[name].append(output)
        config = read_config(pipe.model.source) if Path(str(pipe.model.source)).is_dir() else {}
        results[name] = {
            **summarise(per_image, all_outputs, targets, folders, net),
            "ms_per_image": round(statistics.median(times), 1),
            # CPU time per image and thread: what a busy machine does not inflate as much as wall time
            "cpu_ms_per_image": round(statistics.median(cpu_times), 1),
            "parameters": parameters(pipe.model),
            "model_type": pipe.model.model_type,
            "training_steps": (config.get("training") or {}).get("steps"),
            "training_cpu_s": (config.get("training") or {}).get("wall_time_s"),
            "common_detail_pct": common_detail_pct(all_outputs),
        }
    if means is not None:
        per_image, guesses, targets = [], [], []
        for (_, photo), indices in zip(pairs, prepared):
            padded, box = fit_and_pad_labels(indices, 256, 1)
            guess = Image.fromarray(means[padded])
            target = resize_to(Image.fromarray(photo), guess.size)
            per_image.append(image_metrics(guess, target))
            guesses.append(guess)
            targets.append(target)
        results["class-means baseline"] = {
            **summarise(per_image, guesses, targets, folders, net),
            "ms_per_image": None, "cpu_ms_per_image": None, "parameters": 0, "model_type": "baseline"}
    result = {"pairs": len(pairs), "data": [str(d) for d in args.data], "torch_threads": torch.get_num_threads(),
              "models": results,
              "photos_common_detail_pct": common_detail_pct([resize_to(Image.fromarray(photo), (256, 256))
                                                             for _, photo in pairs])}
    if args.grid:
        rows = []
        for index in range(min(args.grid_rows, len(pairs))):
            label_rgb, photo = pairs[index]
            first = outputs[next(iter(pipes))][index]
            rows.append([resize_to(classes_to_image(prepared[index]), first.size)]
                        + [outputs[name][index] for name in pipes] + [resize_to(Image.fromarray(photo), first.size)])
        save_grid(rows, Path(args.grid), cell=256)
        result["grid"] = args.grid
    if args.random_grid:
        rows = []
        last = list(pipes.values())[-1]
        for seed in (int(s) for s in args.random_seeds.split(",")):
            layout = random_facade(seed, 256, 256)
            rows.append([classes_to_image(layout)] + [pipe.from_indices(layout) for pipe in pipes.values()]
                        + [last.from_indices(layout, seed=args.variation_seed)])
        save_grid(rows, Path(args.random_grid), cell=256)
        result["random_grid"] = args.random_grid
    if args.save_metrics:
        for model_path, name in zip(args.models, pipes):
            if Path(str(model_path)).is_dir():
                metrics = dict(read_config(model_path).get("metrics") or {})
                metrics[args.save_metrics] = {**{k: results[name][k] for k in ("l1", "psnr", "ssim", "kid_x1000", "kid_x1000_spread",
                                                                               "ms_per_image", "cpu_ms_per_image", "per_folder")
                                                 if k in results[name]},
                                              "pairs": len(pairs), "data": " + ".join(str(d) for d in args.data),
                                              "torch_threads": torch.get_num_threads()}
                update_config(model_path, metrics=metrics)
    return result


def markdown_table(result: dict) -> str:
    folders = list(next(iter(result["models"].values())).get("per_folder", {}))
    header = "| model | KID ×1000 ↓ | L1 ↓ | PSNR (dB) ↑ | SSIM ↑ |"
    header += "".join(f" {f}: KID / PSNR / SSIM |" for f in folders) + " ms per 256² image (wall / CPU) | parameters |"
    header += f" fine detail common to all (photos {result.get('photos_common_detail_pct')} %) |"
    lines = [header, "|---" * (header.count("|") - 1) + "|"]

    def kid(row):
        return "–" if row.get("kid_x1000") is None else f"{row['kid_x1000']:.0f} ± {row['kid_x1000_spread']:.0f}"

    for name, row in result["models"].items():
        ms = "–" if row["ms_per_image"] is None else f"{row['ms_per_image']:.0f} / {row['cpu_ms_per_image']:.0f}"
        params = "–" if not row["parameters"] else f"{row['parameters'] / 1e6:.2f} M"
        per = "".join(f" {kid(row['per_folder'][f])} / {row['per_folder'][f]['psnr']:.2f} / {row['per_folder'][f]['ssim']:.4f} |"
                      for f in folders)
        common = "–" if row.get("common_detail_pct") is None else f"{row['common_detail_pct']:.1f} %"
        lines.append(f"| {name} | {kid(row)} | {row['l1']:.4f} | {row['psnr']:.2f} | {row['ssim']:.4f} |{per} {ms} | {params} "
                     f"| {common} |")
    return "\n".join(lines)


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    result = evaluate(args)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(text)
    print(markdown_table(result))


if __name__ == "__main__":
    main()
