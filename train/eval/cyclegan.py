"""Measure a CycleGAN pair on held-out photos of both domains: closer to the target domain, content kept?

    python -m train.eval.cyclegan --ab weights/cat2bengal --ba weights/bengal2cat \
        --a ../shared/data/cats/test --a-files ../shared/data/cats/heldout.txt \
        --b ../shared/data/cats-masked/images --b-glob 'Bengal_*' --b-files ../shared/data/cats-masked/heldout.txt \
        [--short-side 128] [--grid runs/cyclegan/heldout.png] [--save-metrics heldout] [--json]

For each direction X -> Y, on the held-out X photos translated at the model's scale (short side
--short-side, default the model's resolution):

- domain closeness: the sliced Wasserstein distance (SWD ×1000, the ProGAN patch metric of
  train.eval.singan: 7×7 patches per level of a Laplacian pyramid, finest first, normalised by the real
  set's statistics) between the patches of the outputs and those of the real held-out Y photos. Lower
  = the outputs' local texture and colour statistics are closer to real Y photos. Next to it, the same
  distance for two baselines: the untranslated inputs (identity: the model must beat this) and the
  inputs with each channel's mean and standard deviation matched to the held-out Y photos' (a colour
  transfer told the answer's colour statistics: what a global re-tint alone gets);
- content kept: L1 and SSIM between input and output, both at 64×64 (1 = the same picture);
- cycle: L1 between the input and the round trip back, at the working size;
- speed: CPU ms per 256² image (median of 5 runs, torch threads as set).

--only-cat (issue 26) also scores what the app gives by default, the change kept on the cat our segmenter
(--segmenter) finds (`translate.keep_on_cat`, made at the photo's size, shrunk back to the working size),
next to the whole-picture output: background change and change inside the cat (mean absolute difference
to the working picture, 0..1; the true trimap's background and cat where --trimaps has the photo's, else
the segmenter's: see train.eval.only_cat) and KID ×1000 (EfficientNet-Lite0 features, ± its spread) of
each against the held-out photos of the target domain, beside doing nothing. With --grid, rows become
input | whole picture | only the cat | round trip.

--grid writes rows input | translation | round trip for a few held-out photos of each domain (keep it
under runs/: the shared photos may not be committed). --example-grid does the same for licence-clean
photos (--example), A -> B at several working sizes: input | A->B at each of --example-sides | the
round trip of the first.
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

from pix2pix_demo.data import read_name_list
from pix2pix_demo.hub import load_model, update_config
from pix2pix_demo.imaging import image_to_tensor, open_image, to_rgb
from pix2pix_demo.translate import model_short_side, prepare, run_generator
from train.cyclegan import list_photos
from train.eval import only_cat
from train.eval.pix2pix import save_grid, ssim
from train.eval.singan import laplacian_pyramid, patches, sliced_wasserstein


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--ab", required=True, help="the A -> B model folder")
    p.add_argument("--ba", required=True, help="the B -> A model folder")
    p.add_argument("--a", nargs="+", required=True, metavar="DIR", help="folder(s) of held-out A photos")
    p.add_argument("--b", nargs="+", required=True, metavar="DIR", help="folder(s) of held-out B photos")
    p.add_argument("--a-glob", default="*")
    p.add_argument("--b-glob", default="*")
    p.add_argument("--a-files", help="the held-out A names (others are skipped)")
    p.add_argument("--b-files", help="the held-out B names (others are skipped)")
    p.add_argument("--limit", type=int, default=None, help="at most this many photos per domain")
    p.add_argument("--short-side", type=int, default=None, help="working size (default: each model's resolution)")
    p.add_argument("--grid", type=Path, default=None, help="write a grid of held-out translations here")
    p.add_argument("--grid-rows", type=int, default=6, help="photos per domain in the grid")
    p.add_argument("--example", type=Path, action="append", default=[],
                   help="a licence-clean A photo (e.g. examples/photos/chelsea.png) for --example-grid (repeatable)")
    p.add_argument("--example-grid", type=Path, default=None,
                   help="rows: the example, A -> B at each --example-sides, the round trip of the first")
    p.add_argument("--example-sides", default="128,192,256", help="short sides of the --example-grid columns")
    p.add_argument("--only-cat", action="store_true",
                   help="also score the change kept on the cat (the app's default) beside the whole picture")
    p.add_argument("--segmenter", type=Path, default=Path("weights/cat-segmenter"), help="for --only-cat")
    p.add_argument("--trimaps", type=Path, default=None,
                   help="--only-cat: true masks, <photo stem>.png (Oxford-IIIT Pet trimaps: 1 cat, 2 background)")
    p.add_argument("--no-swd", action="store_true", help="skip the patch SWD (the slowest part on a busy CPU)")
    p.add_argument("--save-metrics", default=None, metavar="KEY", help="store the metrics in both models' config.json")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--json", action="store_true")
    return p


def set_swd(reals: list[torch.Tensor], fakes: list[torch.Tensor], levels: int = 3, total: int = 16384,
            seed: int = 0) -> list[float]:
    """SWD ×1000 per Laplacian level (finest first) between the 7×7 patches of two sets of (1, 3, H, W)
    images (any sizes): `total` patches from each set, spread evenly over its images."""
    generator = torch.Generator().manual_seed(seed)
    result = []
    for level in range(levels):
        sets = []
        for images in (reals, fakes):
            per_image = max(1, total // len(images))
            sets.append(torch.cat([patches(laplacian_pyramid(x, levels)[level], count=per_image, generator=generator)
                                   for x in images]))
        count = min(len(part) for part in sets)  # the same number from each (the sliced W1 compares sorted lists)
        real, fake = (part[torch.randperm(len(part), generator=generator)[:count]] for part in sets)
        mean, std = real.mean(0, keepdim=True), real.std(0, keepdim=True) + 1e-8
        result.append(1000 * sliced_wasserstein((real - mean) / std, (fake - mean) / std, generator=generator))
    return result


def colour_matched(image: Image.Image, mean: np.ndarray, std: np.ndarray) -> Image.Image:
    """Each RGB channel shifted and scaled to the given mean / standard deviation (0..255)."""
    array = np.asarray(image, dtype=np.float32)
    own_mean, own_std = array.reshape(-1, 3).mean(0), array.reshape(-1, 3).std(0) + 1e-6
    return Image.fromarray(np.clip((array - own_mean) / own_std * std + mean, 0, 255).round().astype(np.uint8))


def content_scores(source: Image.Image, output: Image.Image) -> tuple[float, float]:
    """(L1, SSIM) between two pictures at 64×64, on [0, 1]."""
    a, b = (torch.from_numpy(np.asarray(im.resize((64, 64), Image.LANCZOS), dtype=np.float32) / 255.0)
            .permute(2, 0, 1)[None] for im in (source, output))
    return float((a - b).abs().mean()), ssim(a, b)


def ms_per_image(model, side: int = 256, runs: int = 5) -> float:
    """Median CPU ms of one forward pass on a side² image (after a warm-up run)."""
    x = torch.rand(1, 3, side, side) * 2 - 1
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(runs):
            start = time.process_time()
            model(x)
            times.append((time.process_time() - start) / torch.get_num_threads() * 1000)
    return statistics.median(times)


def direction_metrics(forward, backward, sources: list[Image.Image], targets: list[Image.Image],
                      short_side: int, swd: bool = True) -> tuple[dict, list[tuple]]:
    """Metrics of `forward` on `sources` (translated into the domain of `targets`); also (input, output,
    round trip) triples for the grid."""
    inputs = [prepare(image, short_side) for image in sources]
    reals = [prepare(image, short_side) for image in targets]
    outputs = [run_generator(forward, image) for image in inputs]
    cycles = [run_generator(backward, image) for image in outputs]
    pixels = np.concatenate([np.asarray(im, dtype=np.float32).reshape(-1, 3) for im in reals])
    mean, std = pixels.mean(0), pixels.std(0)
    recoloured = [colour_matched(image, mean, std) for image in inputs]
    as_tensors = lambda images: [image_to_tensor(im) for im in images]  # noqa: E731
    real_t = as_tensors(reals) if swd else None
    swd = {name: [round(v, 1) for v in set_swd(real_t, as_tensors(images))] if swd else [float("nan")]
           for name, images in (("model", outputs), ("identity", inputs), ("colour_matched", recoloured))}
    content = [content_scores(a, b) for a, b in zip(inputs, outputs)]
    cycle_l1 = [float(np.abs(np.asarray(a, np.float32) - np.asarray(c, np.float32)).mean() / 255)
                for a, c in zip(inputs, cycles)]
    metrics = {"photos": len(sources), "target_photos": len(targets), "short_side": short_side,
               "swd_x1000_model": swd["model"], "swd_mean_model": round(float(np.mean(swd["model"])), 1),
               "swd_x1000_identity": swd["identity"], "swd_mean_identity": round(float(np.mean(swd["identity"])), 1),
               "swd_x1000_colour_matched": swd["colour_matched"],
               "swd_mean_colour_matched": round(float(np.mean(swd["colour_matched"])), 1),
               "content_l1_64": round(float(np.mean([c[0] for c in content])), 4),
               "content_ssim_64": round(float(np.mean([c[1] for c in content])), 4),
               "cycle_l1": round(float(np.mean(cycle_l1)), 4),
               "ms_per_256": round(ms_per_image(forward), 1)}
    return metrics, list(zip(inputs, outputs, cycles))


def load_photos(folders, pattern, names_file, limit) -> list[Image.Image]:
    return [to_rgb(open_image(path)) for path in photo_paths(folders, pattern, names_file, limit)]


def photo_paths(folders, pattern, names_file, limit) -> list[Path]:
    names = read_name_list(names_file) if names_file else None
    return list_photos(folders, pattern, names, limit=limit)


def only_cat_metrics(sources: list[Image.Image], paths: list[Path], triples: list[tuple], targets: list[Image.Image],
                     short_side: int, segmenter, trimaps: Path | None, kid_net) -> tuple[dict, list[Image.Image]]:
    """The whole-picture output against the change kept on the cat, on the same photos (see --only-cat);
    also the only-the-cat pictures at the photo's size (for the grid)."""
    from pix2pix_demo.cutout import segment
    from pix2pix_demo.features import kid_x1000
    from pix2pix_demo.translate import keep_on_cat, output_photo

    rows, kept, full_size, fallbacks = [], [], [], 0
    for photo, path, (working, whole, _) in zip(sources, paths, triples):
        probability = segment(segmenter, output_photo(photo))
        result = keep_on_cat(photo, working, whole, segmenter, probability=probability)
        fallbacks += not result.only_cat
        full_size.append(result.image)
        masked = only_cat.at_working_size(result.image, working)
        kept.append(masked)
        small = np.asarray(Image.fromarray(probability).resize(working.size, Image.BILINEAR))
        where = only_cat.regions(working, only_cat.trimap_for(path, trimaps), probability=small)
        if where is None:
            continue
        rows.append({"source": where.source,
                     "background": {v: only_cat.mean_change(working, out, where.background)
                                    for v, out in (("whole", whole), ("only_cat", masked))},
                     "cat": {v: only_cat.mean_change(working, out, where.cat)
                             for v, out in (("whole", whole), ("only_cat", masked))}})
    reals = [prepare(image, short_side) for image in targets]
    kid = {name: kid_x1000(kid_net, images, reals, spread=True)
           for name, images in (("identity", [t[0] for t in triples]), ("whole", [t[1] for t in triples]),
                                ("only_cat", kept))}
    metrics = {"no_sure_cat": fallbacks, "background_change": only_cat.summarise(rows, "background"),
               "cat_change": only_cat.summarise(rows, "cat"),
               "kid_x1000": {name: value[0] for name, value in kid.items()},
               "kid_spread_x1000": {name: value[1] for name, value in kid.items()}}
    return metrics, full_size


def main(argv=None) -> dict:
    args = get_args_parser().parse_args(argv)
    torch.set_num_threads(args.num_threads)
    ab, ba = load_model(args.ab), load_model(args.ba)
    paths_a = photo_paths(args.a, args.a_glob, args.a_files, args.limit)
    paths_b = photo_paths(args.b, args.b_glob, args.b_files, args.limit)
    photos_a = [to_rgb(open_image(path)) for path in paths_a]
    photos_b = [to_rgb(open_image(path)) for path in paths_b]
    if not photos_a or not photos_b:
        raise SystemExit(f"No held-out photos: {len(photos_a)} in A, {len(photos_b)} in B.")
    names = [f"{(m.metadata.get('domains') or {}).get('source', 'a')}2{(m.metadata.get('domains') or {}).get('target', 'b')}"
             for m in (ab, ba)]
    results, triples, kept = {}, {}, {}
    if args.only_cat:
        from pix2pix_demo.features import load_lite0

        segmenter, kid_net = load_model(args.segmenter).float().eval(), load_lite0()
    for name, forward, backward, sources, paths, targets in ((names[0], ab, ba, photos_a, paths_a, photos_b),
                                                             (names[1], ba, ab, photos_b, paths_b, photos_a)):
        side = args.short_side or model_short_side(forward)
        results[name], triples[name] = direction_metrics(forward, backward, sources, targets, side, swd=not args.no_swd)
        if args.only_cat:
            results[name]["only_cat"], kept[name] = only_cat_metrics(sources, paths, triples[name], targets, side,
                                                                     segmenter, args.trimaps, kid_net)
    if args.grid:
        rows = []
        for name in names:  # photos spread over each held-out set
            step = max(1, len(triples[name]) // args.grid_rows)
            for k in range(0, len(triples[name]), step)[:args.grid_rows]:
                source, whole, cycle = triples[name][k]
                rows.append([source, whole, kept[name][k], cycle] if args.only_cat else [source, whole, cycle])
        save_grid(rows, args.grid, cell=192 if args.only_cat else 160)
    if args.example_grid and args.example:
        sides = [int(side) for side in args.example_sides.split(",")]
        rows = []
        for path in args.example:
            photo = to_rgb(open_image(path))
            outputs = [run_generator(ab, prepare(photo, side)) for side in sides]
            rows.append([prepare(photo, sides[-1]), *outputs, run_generator(ba, outputs[0])])
        save_grid(rows, args.example_grid, cell=192)
    if args.save_metrics:
        for folder in (args.ab, args.ba):
            config = json.loads((Path(folder) / "config.json").read_text())
            metrics = dict(config.get("metrics") or {})
            metrics[args.save_metrics] = results
            update_config(folder, metrics=metrics)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, m in results.items():
            print(f"{name}: {m['photos']} held-out photos -> {m['target_photos']} real targets at short side "
                  f"{m['short_side']}: SWD x1000 model {m['swd_x1000_model']} (mean {m['swd_mean_model']}), identity "
                  f"{m['swd_x1000_identity']} (mean {m['swd_mean_identity']}), colour-matched "
                  f"{m['swd_x1000_colour_matched']} (mean {m['swd_mean_colour_matched']}); content at 64² L1 "
                  f"{m['content_l1_64']} SSIM {m['content_ssim_64']}; cycle L1 {m['cycle_l1']}; "
                  f"{m['ms_per_256']} CPU-ms per 256² image")
            if "only_cat" in m:
                print(f"  only the cat: {json.dumps(m['only_cat'])}")
    return results


if __name__ == "__main__":
    main()
