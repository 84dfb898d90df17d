"""Compare SinGAN models trained on the same image: sample grids and patch statistics.

    python -m train.eval.singan weights/singan-balloons runs/sg/w/singan-plain10 \
        --image ../shared/data/singan/Input/Images/balloons.png --grid runs/sg/compare.png --json

For every model: the reconstruction PSNR (fixed noise -> training image, dB) and the sliced
Wasserstein distance (SWD, Karras et al. 2018, the ProGAN patch metric) between 7x7 patches of
random samples and of the training image, per level of a Laplacian pyramid (finest first),
x1000. Lower SWD = the samples' patch statistics are closer to the image's. It needs no
downloaded network (SIFID would need Inception weights); read it together with the grid, as
it cannot tell a plausible rearrangement from a copy. Next to it: the high-frequency ratio
(Laplacian energy of the samples / of the training image at the finest scale; close to 1 = as
sharp as the photo, well under 1 = soft) and SinGAN's diversity (per-pixel std across the
samples / std of the image; 0 = all samples identical), the border step (a dark or light frame line
along the image border, as zero padding draws: percent of the luminance range, the photo's own value
beside it), and the high-frequency ratio per scale of samples and of the reconstruction (where along
the pyramid detail is lost), and the samples' mean PSNR against the photo (copying: a copy scores 30+ dB).
--finish adds a row per model of its samples finished from the photo (pix2pix_demo.singan.finish_from_photo).

The grid has one row per model: the reconstruction, then samples with seeds 1..N (the same
seeds for every model). Label text comes from --labels (default: the folder names).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import image_to_tensor, open_image, tensor_to_image, to_rgb
from pix2pix_demo.singan import image_pyramid, sample


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """(1, C, H, W) -> `levels` band-pass images, finest first (the last is the low-pass rest)."""
    out = []
    for _ in range(levels - 1):
        down = F.avg_pool2d(x, 2)
        up = F.interpolate(down, size=x.shape[-2:], mode="bilinear", align_corners=False)
        out.append(x - up)
        x = down
    out.append(x)
    return out


def patches(x: torch.Tensor, size: int = 7, count: int = 2048, generator=None) -> torch.Tensor:
    """`count` random size x size patches of (1, C, H, W), flattened: (count, C*size*size)."""
    unfolded = F.unfold(x, size).squeeze(0).T  # (L, C*size*size)
    index = torch.randint(0, unfolded.shape[0], (count,), generator=generator)
    return unfolded[index]


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int = 256, generator=None) -> float:
    """SWD between two point sets (N, D): mean over random unit directions of the 1-D W1 distance."""
    proj = torch.randn(a.shape[1], directions, generator=generator)
    proj = proj / proj.norm(dim=0, keepdim=True)
    pa, pb = (a @ proj).sort(0).values, (b @ proj).sort(0).values
    return float((pa - pb).abs().mean())


def swd(real: torch.Tensor, fakes: list[torch.Tensor], levels: int = 3, seed: int = 0) -> list[float]:
    """SWD x1000 per Laplacian level (finest first) between patches of `real` and of `fakes`.
    Patches are normalised with the real image's per-level mean/std (as in ProGAN)."""
    generator = torch.Generator().manual_seed(seed)
    real_levels = laplacian_pyramid(real, levels)
    fake_levels = [laplacian_pyramid(f, levels) for f in fakes]
    result = []
    for level in range(levels):
        per_fake = max(1, 4096 // len(fakes))
        r = patches(real_levels[level], count=per_fake * len(fakes), generator=generator)
        f = torch.cat([patches(fl[level], count=per_fake, generator=generator) for fl in fake_levels])
        mean, std = r.mean(0, keepdim=True), r.std(0, keepdim=True) + 1e-8
        result.append(1000 * sliced_wasserstein((r - mean) / std, (f - mean) / std, generator=generator))
    return result


def laplacian_energy(x: torch.Tensor) -> float:
    """Mean squared 3x3 Laplacian of the luminance of (1, 3, H, W) in [-1, 1] (border excluded)."""
    luma = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) * 0.5  # [-0.5, 0.5]: a [0, 1] range
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)
    return float(F.conv2d(luma, kernel).pow(2).mean())


def high_frequency_ratio(real: torch.Tensor, fakes: list[torch.Tensor]) -> float:
    """Laplacian energy of the samples (mean) / of the real image, both at the finest scale.
    1 = as much fine detail as the photo; a soft (watercolour) sample is well under 1, noise above."""
    return float(np.mean([laplacian_energy(f) for f in fakes]) / max(laplacian_energy(real), 1e-12))


def border_step(x: torch.Tensor, depth: int = 3) -> float:
    """How strongly (1, 3, H, W) in [-1, 1] is framed: per edge, the luminance of the outermost pixel line
    minus that of the lines 1..depth inside it, averaged along the edge (texture averages out, a dark or light
    frame line does not), absolute, mean over the four edges, x100 in [0, 1] units (percent of full range).
    Zero padding draws such a frame; compare with the photo's own value (a sky's gradient scores too)."""
    luma = (0.299 * x[0, 0] + 0.587 * x[0, 1] + 0.114 * x[0, 2]) * 0.5
    edges = [luma, luma.flip(0), luma.T, luma.T.flip(0)]  # top, bottom, left, right edge as row 0
    steps = [float((e[0] - e[1:depth + 1].mean(0)).mean().abs()) for e in edges]
    return 100 * float(np.mean(steps))


def diversity(real: torch.Tensor, fakes: list[torch.Tensor]) -> float:
    """SinGAN's diversity measure: the per-pixel standard deviation across the samples, averaged over
    pixels and channels, divided by the standard deviation of the real image's pixel values. 0 = every
    sample is the same image; rearranged copies of the image score well above 0."""
    stack = torch.cat([f if f.shape == real.shape else F.interpolate(f, size=real.shape[-2:], mode="bilinear",
                                                                     align_corners=False) for f in fakes])
    return float(stack.std(0).mean() / max(float(real.std()), 1e-12))


def psnr_to_photo(real: torch.Tensor, fakes: list[torch.Tensor]) -> float:
    """Mean PSNR (dB) of the samples against the photo (same size only): a copy of the photo scores
    high (30+), a rearrangement of its content low (~15-20)."""
    same = [f for f in fakes if f.shape == real.shape]
    if not same:
        return float("nan")
    return float(np.mean([10 * np.log10(4 / max(float(F.mse_loss(f, real)), 1e-10)) for f in same]))


def sample_metrics(real: torch.Tensor, fakes: list[torch.Tensor]) -> dict:
    """SWD per level (finest first), its mean, the high-frequency ratio and diversity of `fakes` vs `real`,
    the samples' mean PSNR against the photo (copying), and the border step (frame) of the samples
    (mean) and of `real`."""
    levels = [round(v, 1) for v in swd(real, fakes)]
    return {"swd_x1000": levels, "swd_mean": round(float(np.mean(levels)), 1),
            "hf_ratio": round(high_frequency_ratio(real, fakes), 3), "diversity": round(diversity(real, fakes), 3),
            "psnr_to_photo": round(psnr_to_photo(real, fakes), 2),
            "border_step": round(float(np.mean([border_step(f) for f in fakes])), 2),
            "border_step_photo": round(border_step(real), 2)}


def evaluate_finish(folder: str, image: Image.Image, num_samples: int = 8,
                    **refine_options) -> tuple[dict, list[Image.Image]]:
    """The same metrics for the model's samples finished from the photo (pix2pix_demo.singan's
    finish_from_photo; seeds 1..N): with the photo the model keeps, or, for a model saved without one,
    `image` at the model's size (what the model would give had it kept it). `cpu_s_per_sample` is the
    finish's CPU time per sample; refine_options: gpnn.refine's keywords instead of the finish's defaults.
    The first grid image is the photo."""
    import time

    from pix2pix_demo.singan import finish_from_photo, photo

    model = load_model(folder)
    shape = model.config.shapes[-1]
    real = image_pyramid(image, [shape])[0]
    kept = photo(model)
    exemplar = kept if kept is not None else tensor_to_image(real)
    plain = [sample(model, seed=s) for s in range(1, num_samples + 1)]
    started = time.process_time()
    samples = [finish_from_photo(model, p, exemplar, **refine_options) for p in plain]
    seconds = (time.process_time() - started) / num_samples
    metrics = {"model": f"{folder} + finish" + ("" if kept is not None else " (photo given)")
               + (f" {refine_options}" if refine_options else ""),
               "size": f"{shape[1]}x{shape[0]}", "scales": model.num_scales, "rec_psnr": None,
               **sample_metrics(real, [image_to_tensor(s) for s in samples]), "cpu_s_per_sample": round(seconds, 2)}
    return metrics, [exemplar] + samples


def evaluate(folder: str, image: Image.Image, num_samples: int = 8) -> tuple[dict, list[Image.Image]]:
    model = load_model(folder)
    shape = model.config.shapes[-1]
    real = image_pyramid(image, [shape])[0]
    rec = model.reconstruct().cpu().clamp(-1, 1)
    mse = float(F.mse_loss((rec + 1) / 2, (real + 1) / 2))
    samples = [sample(model, seed=s) for s in range(1, num_samples + 1)]
    fakes = [image_to_tensor(s) for s in samples]
    training = model.metadata.get("training", {})
    metrics = {"model": folder, "size": f"{shape[1]}x{shape[0]}", "scales": model.num_scales,
               "hf_ratio_per_scale": per_scale_sharpness(model, image),
               "rec_psnr": round(10 * np.log10(1 / max(mse, 1e-10)), 2), **sample_metrics(real, fakes),
               "budget": training.get("time_budget_min"), "budget_clock": training.get("budget_clock"),
               "cpu_time_s": training.get("cpu_time_s"), "wall_time_s": training.get("wall_time_s"),
               "iterations": training.get("iterations")}
    return metrics, [tensor_to_image(rec)] + samples


def per_scale_sharpness(model, image: Image.Image, num_samples: int = 6) -> dict:
    """Where detail is lost: the high-frequency ratio at every scale (coarse -> fine) of random samples
    through that scale (seeds 1..N) and of the reconstruction, each against the image at that scale."""
    from pix2pix_demo.singan import random_sample_tensor

    shapes = model.scale_shapes()
    reals = image_pyramid(image, shapes)
    samples, reconstruction = [], []
    with torch.no_grad():
        for n in range(model.num_scales):
            fakes = [random_sample_tensor(model, n, torch.Generator().manual_seed(s)).cpu()
                     for s in range(1, num_samples + 1)]
            samples.append(round(high_frequency_ratio(reals[n], fakes), 2))
            reconstruction.append(round(high_frequency_ratio(reals[n], [model.reconstruct(end_scale=n).cpu()]), 2))
    return {"samples": samples, "reconstruction": reconstruction}


def evaluate_gpnn(image: Image.Image, size: int, num_samples: int = 8) -> tuple[dict, list[Image.Image]]:
    """The same metrics for GPNN samples (pix2pix_demo.gpnn, no training) of `image` at `size` px (long
    side), seeds 1..N; `cpu_s_per_sample` is this process's CPU time per sample. The first grid image is
    the training image itself (GPNN has no reconstruction)."""
    import time

    from pix2pix_demo import gpnn

    image = to_rgb(image)
    started = time.process_time()
    samples = [gpnn.generate(image, seed=s, max_side=size) for s in range(1, num_samples + 1)]
    seconds = (time.process_time() - started) / num_samples
    shape = [samples[0].height, samples[0].width]
    real = image_pyramid(image, [shape])[0]
    metrics = {"model": "GPNN (no training)", "size": f"{shape[1]}x{shape[0]}", "scales": None, "rec_psnr": None,
               **sample_metrics(real, [image_to_tensor(s) for s in samples]), "cpu_s_per_sample": round(seconds, 2)}
    return metrics, [tensor_to_image(real)] + samples


def make_grid(rows: list[list[Image.Image]], labels: list[str], columns: int, height: int = 120) -> Image.Image:
    """Rows of images under their labels, every image scaled to `height` (0: the first image's own height,
    so the samples are shown pixel for pixel, as a sharpness comparison needs)."""
    label_h, gap = 18, 3
    height = height or rows[0][0].height
    scaled = [[im.resize((max(1, round(im.width * height / im.height)), height), Image.LANCZOS) for im in row[:columns]]
              for row in rows]
    width = max(sum(im.width + gap for im in row) for row in scaled)
    grid = Image.new("RGB", (width, len(rows) * (height + label_h + gap)), "white")
    draw = ImageDraw.Draw(grid)
    for r, (row, label) in enumerate(zip(scaled, labels)):
        y = r * (height + label_h + gap)
        draw.text((2, y + 3), label, fill="black")
        x = 0
        for im in row:
            grid.paste(im, (x, y + label_h))
            x += im.width + gap
    return grid


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("models", nargs="+", help="model folders (or Hub repo ids) trained on --image")
    p.add_argument("--image", required=True, help="the training image the models share")
    p.add_argument("--samples", type=int, default=8, help="random samples per model for the metric")
    p.add_argument("--grid", default=None, help="write a PNG grid here (reconstruction + samples per model)")
    p.add_argument("--grid-columns", type=int, default=5, help="images per grid row (reconstruction included)")
    p.add_argument("--grid-height", type=int, default=120,
                   help="row height of the grid in px (0: the models' own size, no rescaling)")
    p.add_argument("--labels", nargs="*", default=None, help="row labels, one per model")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--finish", action="store_true",
                   help="add a row per model of its samples finished from the photo (the model's own, else --image)")
    p.add_argument("--finish-from-side", type=int, default=None,
                   help="with --finish: the finish's first level (short side, px) instead of its default")
    p.add_argument("--finish-alpha", default=None,
                   help="with --finish: its completeness weight (a number, or 'none': plain nearest patches)")
    p.add_argument("--gpnn", action="store_true",
                   help="add a row of GPNN samples (patch nearest neighbours, no training) at the first model's size")
    return p


def finish_options(args) -> dict:
    """gpnn.refine keywords from --finish-from-side / --finish-alpha (only those given)."""
    options = {}
    if getattr(args, "finish_from_side", None) is not None:
        options["from_side"] = args.finish_from_side
    alpha = getattr(args, "finish_alpha", None)
    if alpha is not None:
        options["alpha"] = None if str(alpha).lower() == "none" else float(alpha)
    return options


def main(args) -> list[dict]:
    if args.labels and len(args.labels) != len(args.models):
        raise SystemExit(f"--labels: {len(args.labels)} given for {len(args.models)} models.")
    image = to_rgb(open_image(args.image))
    results, rows = [], []
    names = args.labels or [Path(m).name for m in args.models]
    labels = []
    for folder, name in zip(args.models, names):
        metrics, images = evaluate(folder, image, args.samples)
        results.append(metrics)
        rows.append(images)
        labels.append(name)
        if args.finish:
            metrics, images = evaluate_finish(folder, image, args.samples, **finish_options(args))
            results.append(metrics)
            rows.append(images)
            labels.append(f"{name} + finish")
    if args.gpnn:
        size = max(int(v) for v in results[0]["size"].split("x"))
        metrics, images = evaluate_gpnn(image, size, args.samples)
        results.append(metrics)
        rows.append(images)
        labels = [*labels, "GPNN"]
    if args.grid:
        labels = [f"{label}  (" + (f"rec {m['rec_psnr']} dB, " if m["rec_psnr"] else "")
                  + f"SWD {m['swd_mean']}, HF {m['hf_ratio']}, div {m['diversity']}, to photo {m['psnr_to_photo']} dB)"
                  for label, m in zip(labels, results)]
        Path(args.grid).parent.mkdir(parents=True, exist_ok=True)
        make_grid(rows, labels, args.grid_columns, args.grid_height).save(args.grid)
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        for m in results:
            source = (f"{m['scales']} scales, rec PSNR {m['rec_psnr']} dB" if m["rec_psnr"] is not None
                      else f"{m['cpu_s_per_sample']} CPU-s per sample")
            print(f"{m['model']}: {m['size']}, {source}, SWD x1000 {m['swd_x1000']} (mean {m['swd_mean']}), "
                  f"high-frequency ratio {m['hf_ratio']}, diversity {m['diversity']}, "
                  f"PSNR to the photo {m['psnr_to_photo']} dB, "
                  f"border step {m['border_step']} (photo {m['border_step_photo']})"
                  + (f", budget {m['budget']} min ({m['budget_clock']})" if m.get("budget") else ""))
            if "hf_ratio_per_scale" in m:
                print(f"  high-frequency ratio per scale, coarse -> fine: samples {m['hf_ratio_per_scale']['samples']}, "
                      f"reconstruction {m['hf_ratio_per_scale']['reconstruction']}")
    return results


if __name__ == "__main__":
    main(get_args_parser().parse_args())
