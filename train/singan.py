"""Train a SinGAN on one image and export it as weights/singan-NAME/.

    python -m train.singan --image PATH --name NAME [--max-size 250] [--min-size 12]
        [--scale-factor 0.75] [--time-budget MIN] [--iters 1000] [--device auto] [--resume]
        [--out weights] [--runs runs]

runs/NAME/ gets checkpoint.pt (resume state: weights, optimisers, RNG, progress; plain tensors
loaded with weights_only=True), log.jsonl and a sample grid per scale (scale_N.png: the
reconstruction, then random samples). OUT/singan-NAME/ gets config.json + model.safetensors +
README.md (model card).

The training loop, its budget clock (split across scales) and its checkpoints live in the library
(`pix2pix_demo.singan.training.train_singan`: the app's "Train on my image" runs the same loop); from the
shared harness (train.harness) this script takes what a run around that loop needs: the progress bar, the
clean-up of files an interrupted checkpoint write left, the resume check that names a changed architecture
option, the command line and hardware recorded with the export.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from PIL import Image

from pix2pix_demo.cards import write_model_card
from pix2pix_demo.hub import resolve_device, save_model
from pix2pix_demo.imaging import ImageError, open_image, tensor_to_image
from pix2pix_demo.singan import TrainOptions, critic_layers, critic_rows, random_sample_tensor, sample, train_singan
from pix2pix_demo.singan_options import LAYOUTS, PADDING_MODES, PLANS
from pix2pix_demo.threads import use_threads
from train.harness import (architecture_changes, command_line, hardware_description, refuse_other_architecture,
                           remove_unfinished_writes, tqdm)

# the options a checkpoint cannot continue under when they change (the pyramid, the networks' shapes and padding)
ARCHITECTURE_OPTIONS = ("max_size", "min_size", "scale_factor", "channels", "padding", "fine_padding",
                        "fine_padding_from", "coarse_critic_layers", "coarse_critic_side", "coarse_critic_rows",
                        "keep_photo", "layout", "layout_scale")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    d = TrainOptions()
    p.add_argument("--image", required=True, help="the training image")
    p.add_argument("--name", required=True, help="model name: exported as OUT/singan-NAME")
    p.add_argument("--max-size", type=int, default=d.max_size, help="long side of the finest scale (px)")
    p.add_argument("--min-size", type=int, default=d.min_size, help="short side of the coarsest scale (px)")
    p.add_argument("--scale-factor", type=float, default=d.scale_factor, help="ratio between scales")
    p.add_argument("--time-budget", type=float, default=None, metavar="MIN",
                   help="minutes for the whole pyramid, split across scales (default: --iters per scale)")
    p.add_argument("--budget-clock", choices=("wall", "cpu"), default=d.budget_clock,
                   help="what --time-budget counts: wall time, or this process's CPU time (fair on a shared machine)")
    p.add_argument("--iters", type=int, default=d.iters, help="iterations per scale (at most, with --time-budget)")
    p.add_argument("--min-iters", type=int, default=d.min_iters, help="iterations per scale at least")
    p.add_argument("--channels", type=int, default=d.channels, help="conv width of every scale (nfc)")
    p.add_argument("--crop-size", type=int, default=d.crop_size, help="train larger scales on crops of this size (0: off)")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--gp-every", type=int, default=d.gp_every,
                   help="gradient penalty every N-th D step (lazy regularisation; 1 = plain SinGAN)")
    p.add_argument("--coarse-refresh", type=int, default=d.coarse_refresh,
                   help="draw a new coarse sample every N iterations (1 = plain SinGAN)")
    p.add_argument("--fine-weight", type=float, default=d.fine_weight,
                   help="time-budget share of the finest scale relative to the coarsest (1 = equal shares)")
    p.add_argument("--fine-lr-mult", type=float, default=d.fine_lr_mult,
                   help="learning rate of the finest scale = lr x this (geometric from the coarsest)")
    p.add_argument("--noise-amp", type=float, default=d.noise_amp, help="sigma_n = this x RMSE(reconstruction)")
    p.add_argument("--fine-noise-amp", type=float, default=d.fine_noise_amp,
                   help="--noise-amp of the scales from --fine-noise-from on (default: --noise-amp everywhere)")
    p.add_argument("--fine-noise-from", type=int, default=d.fine_noise_from, metavar="K",
                   help="index of the first scale that uses --fine-noise-amp (0 = the coarsest)")
    p.add_argument("--rec-weight", type=float, default=d.reconstruction_weight, help="reconstruction loss weight (alpha)")
    p.add_argument("--plan", choices=PLANS, default=d.plan,
                   help="iterations per scale from timing this machine (measured) or from a fixed cost model of "
                        "the project's CPU (model: the same run whatever the load); auto = model on the CPU, "
                        "measured on a GPU")
    p.add_argument("--d-steps", type=int, default=d.d_steps, help="critic steps per iteration (SinGAN: 3)")
    p.add_argument("--g-steps", type=int, default=d.g_steps, help="generator steps per iteration (SinGAN: 3)")
    p.add_argument("--gp-norm", choices=("image", "pixel", "coarsest"), default=d.gp_norm,
                   help="gradient-penalty norm: of the whole image (a weak critic at large scales), per pixel (the "
                        "SinGAN code), or the whole image's rescaled to the coarsest scale's size")
    p.add_argument("--padding", choices=PADDING_MODES, default=d.padding,
                   help="padding of every 3x3 conv of G and D (zeros leave a frame along the border)")
    p.add_argument("--fine-padding", choices=(*PADDING_MODES, "same"), default=d.fine_padding,
                   help="padding of the scales from --fine-padding-from on instead of --padding (default: zeros at "
                        "the coarse scales for the layout, reflect at the fine ones: no frame; same = --padding)")
    p.add_argument("--fine-padding-from", type=int, default=None, metavar="K",
                   help="index of the first scale that uses --fine-padding (0 = the coarsest; default: the scale "
                        "above --layout-scale with the warp layout, 5 with --layout noise)")
    p.add_argument("--concurrent", type=int, default=d.concurrent, metavar="K",
                   help="ConSinGAN's concurrent stages: train the generators of the K scales below each scale with it")
    p.add_argument("--concurrent-lr-scale", type=float, default=d.concurrent_lr_scale,
                   help="learning rate of the generator d scales below = lr x this^d (with --concurrent)")
    p.add_argument("--coarse-critic-layers", type=int, default=d.coarse_critic_layers, metavar="L",
                   help="the critic's conv layers (receptive field 2L+1 px) at the scales whose short side is under "
                        "--coarse-critic-side: a patch critic smaller than the picture, so samples get new layouts "
                        "(0 = the generator's layers everywhere: the photo's layout)")
    p.add_argument("--coarse-critic-side", type=int, default=d.coarse_critic_side, metavar="PX",
                   help="short side (px) under which a scale uses --coarse-critic-layers")
    p.add_argument("--coarse-critic-rows", action=argparse.BooleanOptionalAction, default=d.coarse_critic_rows,
                   help="the critic of the scales under --coarse-critic-side also sees each pixel's row (its height "
                        "in the picture): pieces of ground stay below, the layout may change across the picture")
    p.add_argument("--layout", choices=LAYOUTS, default=d.layout,
                   help="where random samples' layouts come from: 'warp' = the reconstruction through "
                        "--layout-scale warped at random along the width (objects moved, widened, narrowed, mirrored "
                        "in at an edge; nothing floats), the scales above trained on such layouts; 'noise' = "
                        "SinGAN's (scale 0 from noise)")
    p.add_argument("--layout-scale", type=int, default=d.layout_scale, metavar="K",
                   help="the scale whose reconstruction is warped (--layout warp)")
    p.add_argument("--layout-shift", type=float, default=d.layout_shift,
                   help="std of the warp's shift, in picture widths")
    p.add_argument("--layout-stretch", type=float, default=d.layout_stretch,
                   help="std of the log of the warp's local horizontal stretch")
    p.add_argument("--layout-height", type=float, default=d.layout_height,
                   help="std of the log of the warp's vertical stretch (anchored at the bottom row)")
    p.add_argument("--layout-edge", type=float, default=d.layout_edge, metavar="WIDTHS",
                   help="how far (picture widths) the warp may read past the picture's left / right edge, where it "
                        "sees the picture mirrored (negative: as far as --layout-shift takes it)")
    p.add_argument("--layout-gap", type=float, default=d.layout_gap, metavar="WIDTHS",
                   help="random samples: past the picture's left / right edge the warp first sees the edge column "
                        "repeated for this many picture widths, then the mirror (an object near the edge and its "
                        "mirror image stand at least this far apart; 0 = the mirror right at the edge, as before "
                        "session 18); recorded for sampling, training keeps the mirror at the edge")
    p.add_argument("--no-photo", action="store_true",
                   help="leave the training photo out of the saved model (it is kept by default, at the finest "
                        "scale's size, for the sharp finish: sample(..., finish=True)); use it before publishing "
                        "a model of a photo you may not share")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--num-threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    p.add_argument("--resume", action="store_true", help="continue from runs/NAME/checkpoint.pt")
    p.add_argument("--out", default="weights", help="export folder")
    p.add_argument("--runs", default="runs", help="folder for checkpoints, logs and sample grids")
    p.add_argument("--label", default=None, help="display name in the app")
    p.add_argument("--notes", default="", help="what the samples look like (added to the model card)")
    return p


def sample_grid(model, scale: int, count: int = 4) -> Image.Image:
    """The reconstruction at `scale`, then `count` random samples, side by side."""
    images = [tensor_to_image(model.reconstruct(end_scale=scale))]
    images += [tensor_to_image(random_sample_tensor(model, scale, torch.Generator().manual_seed(seed)))
               for seed in range(1, count + 1)]
    width, height = images[0].size
    grid = Image.new("RGB", ((width + 2) * len(images), height), "white")
    for index, image in enumerate(images):
        grid.paste(image, (index * (width + 2), 0))
    return grid


def card_text(name: str, shapes, notes: str = "", keeps_photo: bool = False) -> str:
    """The SinGAN-specific part of the model card (the rest comes from config.json)."""
    h, w = shapes[-1]
    return (f"## Samples\n\nThe pyramid has {len(shapes)} scales from {shapes[0][1]}×{shapes[0][0]} to {w}×{h} px. "
            f"`sample(model, seed=s)` gives a new {w}×{h} image with the training image's patches rearranged "
            f"(the layout from the coarse scales: with the warp layout, the photo's own objects moved, widened or "
            f"narrowed; textures from the finer scales); `width_factor=2` makes a panorama. "
            + ("`sample(model, seed=s, finish=True)` rebuilds the fine texture from the training photo's own patches "
               f"(sharper). **The model holds its training photo** ({w}×{h} px, buffer `photo`) for that: whoever "
               "downloads the model gets the photo (train with `--no-photo` to leave it out). "
               if keeps_photo else "Saved without its training photo (`--no-photo`): no finish from the photo. ")
            + f"Per-scale sample grids of this run: `runs/{name}/scale_N.png` (reconstruction first, then random "
            f"samples).\n\nApplications: `pix2pix_demo.singan` sample, edit, harmonize, paint, super_resolve, animate."
            + (f"\n\n**Observed samples:** {notes}" if notes else ""))


def check_resume(checkpoint: Path, options: TrainOptions) -> None:
    """--resume: refuse a missing checkpoint, and one trained with other architecture options (naming each
    change, as every trainer's harness does), before any work."""
    if not checkpoint.is_file():
        raise SystemExit(f"--resume: no checkpoint at {checkpoint}")
    saved = torch.load(checkpoint, map_location="cpu", weights_only=True)["stats"]["options"]
    refuse_other_architecture(checkpoint, architecture_changes(saved, options, ARCHITECTURE_OPTIONS))


def main(args) -> Path:
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    try:
        image = open_image(args.image)
    except ImageError as error:
        raise SystemExit(f"error: {error}") from None
    options = TrainOptions(max_size=args.max_size, min_size=args.min_size, scale_factor=args.scale_factor,
                           channels=args.channels, iters=args.iters, min_iters=min(args.min_iters, args.iters),
                           time_budget=args.time_budget, budget_clock=args.budget_clock, lr=args.lr,
                           crop_size=args.crop_size, gp_every=args.gp_every, coarse_refresh=args.coarse_refresh,
                           seed=args.seed, device=args.device, fine_weight=args.fine_weight,
                           fine_lr_mult=args.fine_lr_mult, noise_amp=args.noise_amp,
                           fine_noise_amp=args.fine_noise_amp, fine_noise_from=args.fine_noise_from,
                           reconstruction_weight=args.rec_weight, d_steps=args.d_steps, g_steps=args.g_steps,
                           gp_norm=args.gp_norm, plan=args.plan, padding=args.padding,
                           fine_padding=None if args.fine_padding == "same" else args.fine_padding,
                           fine_padding_from=args.fine_padding_from, concurrent=args.concurrent,
                           concurrent_lr_scale=args.concurrent_lr_scale,
                           coarse_critic_layers=args.coarse_critic_layers or None,
                           coarse_critic_side=args.coarse_critic_side, coarse_critic_rows=args.coarse_critic_rows,
                           channels_last=args.channels_last, keep_photo=not args.no_photo, layout=args.layout,
                           layout_scale=args.layout_scale, layout_shift=args.layout_shift,
                           layout_stretch=args.layout_stretch, layout_height=args.layout_height,
                           layout_edge=None if args.layout_edge < 0 else args.layout_edge,
                           layout_gap=args.layout_gap)
    run_dir = Path(args.runs) / args.name
    run_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(args.out) / f"singan-{args.name}"
    stale = remove_unfinished_writes(run_dir, folder)
    if stale:
        print(f"Removed {len(stale)} unfinished file(s) of an interrupted run: {', '.join(p.name for p in stale)}")
    checkpoint = run_dir / "checkpoint.pt"
    if args.resume:
        check_resume(checkpoint, options)
    elif checkpoint.exists():
        checkpoint.unlink()  # a fresh run; --resume keeps it
    log_file = (run_dir / "log.jsonl").open("a")
    bars: dict[int, tqdm] = {}

    def progress(scale, iteration, fraction, preview):
        bar = bars.get(scale)
        if bar is None:
            for old in bars.values():
                old.close()
            bars.clear()
            bar = bars[scale] = tqdm(desc=f"scale {scale}", unit="it", leave=True, dynamic_ncols=True)
        bar.update(iteration - bar.n)
        bar.set_postfix(total=f"{fraction:.0%}")

    def on_scale_end(model, scale, scale_stats):
        sample_grid(model, scale).save(run_dir / f"scale_{scale}.png")
        log_file.write(json.dumps(scale_stats) + "\n")
        log_file.flush()

    device = resolve_device(args.device)
    try:
        model, stats = train_singan(image, options, progress=progress, checkpoint=checkpoint, resume=args.resume,
                                    log=tqdm.write, on_scale_end=on_scale_end)
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None
    finally:
        for bar in bars.values():
            bar.close()
    command = command_line("train.singan")
    image_path = Path(args.image)
    metadata = {
        "label": args.label or f"SinGAN: {args.name}",
        "resolution": max(stats["shapes"][-1]),
        "data": {"path": str(image_path), "image": image_path.name, "size": f"{image.size[0]}x{image.size[1]}"},
        "training": {"command": command, "wall_time_s": stats["budget_seconds"]
                     if options.budget_clock == "wall" else stats["wall_seconds_this_run"],
                     "cpu_time_s": stats["cpu_seconds_this_run"], "hardware": hardware_description(device),
                     "budget_clock": options.budget_clock, "time_budget_min": options.time_budget,
                     "scales": stats["num_scales"], "iterations": [s["iterations"] for s in stats["scales"]],
                     "critic_layers": [critic_layers(options, shape) for shape in stats["shapes"]],
                     "critic_rows": [critic_rows(options, shape) for shape in stats["shapes"]],
                     "torch": torch.__version__, "date": time.strftime("%Y-%m-%d")},
        "noise_amp": [round(s["noise_amp"], 5) for s in stats["scales"]],
    }
    if "sample-images" in image_path.parts:
        metadata["license"] = "cc0-1.0" if image_path.stem == "chelsea" else "other"
        metadata["data"]["licence"] = "see ../shared/data/sample-images/SOURCE.md (chelsea: CC0, scikit-image)"
    save_model(model.cpu(), folder, metadata)
    write_model_card(folder, extra_markdown=card_text(args.name, stats["shapes"], args.notes,
                                                            model.config.keeps_photo))
    sample(model, seed=0).save(run_dir / "sample_final.png")
    if model.config.keeps_photo:  # the same seed finished from the photo (a few seconds), to compare
        sample(model, seed=0, finish=True).save(run_dir / "sample_final_finished.png")
    tqdm.write(f"exported {folder} ({stats['budget_seconds']:.0f} s on the {options.budget_clock} clock, "
               f"{stats['wall_seconds_this_run']:.0f} s wall, {stats['cpu_seconds_this_run']:.0f} s CPU)")
    log_file.write(json.dumps({"final": stats}) + "\n")
    log_file.close()
    return folder


if __name__ == "__main__":
    main(get_args_parser().parse_args())
