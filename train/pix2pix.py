"""Train a pix2pix model on paired images.

    python -m train.pix2pix --data DIR --name NAME [--out weights] [--size 256] [--steps N | --epochs E]

DIR is one of (see pix2pix_demo.data): side-by-side AB images (--direction AtoB|BtoA),
DIR/A + DIR/B folders with matching names, or a folder of photos whose edge maps are
computed by the library's edge extractor. Training state goes to runs/NAME/ (checkpoint.pt,
log.jsonl, samples/); the finished generator is exported to OUT/NAME/ (config.json +
model.safetensors). Multi-GPU / multi-node: launch the same command with torchrun, e.g.

    torchrun --nproc_per_node 4 -m train.pix2pix --data DIR --name NAME
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch.nn.parallel import DistributedDataParallel
from train import harness
from train.harness import pretrained
from train.harness.pretrained import (feature_loss_options, feature_pass, generator_terms, make_feature_losses,
                                     make_projected_heads, parse_weights, zoom_pass)
from train.holes import white_holes

from pix2pix_demo.data import (LAYOUTS, PairedDataset, dataset_close_ups, dataset_edge_method, dataset_is_cutout,
                               load_pairs, read_name_list, to_tensor)
from pix2pix_demo.losses import (ENERGY_LOSSES, GAN_LOSSES, BEGANLoss, EBGANLoss, GANLoss, feature_matching,
                                 gradient_penalty, pull_away_term)
from pix2pix_demo.models import (PRESETS, AutoEncoderDiscriminator, AutoEncoderDiscriminatorConfig, PatchGANConfig,
                                 PatchGANDiscriminator, UNetConfig, UNetGenerator)
from pix2pix_demo.photo_tasks import (FILL_HOLES, IN_CHANNELS, OUT_CHANNELS, TASKS, PhotoTaskDataset, TaskGenerator,
                                      display)
from pix2pix_demo.projected import hinge_discriminator_loss
from pix2pix_demo.threads import use_threads


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--data", required=True, help="dataset folder")
    data.add_argument("--task", choices=("pairs",) + TASKS, default="pairs",
                      help="pairs: the dataset's pairs (or a photo folder's edge maps); colourize / fill-in: pairs made "
                           "on the fly from photos (grey -> photo; photo with a random erased region + the mask -> "
                           "photo: pix2pix_demo.photo_tasks). --data is then a folder of photos, or the shared data "
                           "folder: every photo set less its held-out list (train.data.photos.TASK_TRAIN_SOURCES)")
    data.add_argument("--fill-hole", choices=FILL_HOLES, default="grey",
                      help="--task fill-in: what the U-Net sees in the erased pixels: mid grey, or OpenCV's Telea fill "
                           "(a coarse prior; the exported config says \"hole\" and photo_tasks.fill_in does the same)")
    data.add_argument("--turns", action="store_true",
                      help="--task colourize / fill-in: also transpose half of the square training crops (with the "
                           "left-right flip: all eight orientations), so the network learns no preferred direction")
    data.add_argument("--scenes", type=float, default=0.0, metavar="SHARE",
                      help="--task colourize / fill-in on the shared data folder: also train on the scene photos "
                           "with sky, water, grass and trees (train.data.photos.SCENE_SOURCES), each listed so often, "
                           "as random square windows of 50-100 %% of its short side, that they make up SHARE of the "
                           "pairs (e.g. 0.25; 0: none)")
    data.add_argument("--hole-losses", action="store_true",
                      help="--task fill-in: L1, the low-frequency L1 and the perceptual loss averaged over the erased "
                           "region of each picture (not over the whole picture, where the kept pixels are exact and "
                           "dilute them by the hole's share)")
    data.add_argument("--layout", choices=LAYOUTS, default=None, help="dataset layout (default: detected)")
    data.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    data.add_argument("--files", help="text file of names to train on (others are skipped)")
    data.add_argument("--exclude", help="text file of names never to train on (e.g. a held-out list)")
    data.add_argument("--edge-method", default=None, help="edge extractor for a folder of photos")
    data.add_argument("--augment-edges", action="store_true", help="hand-drawn-style augmentation of input edges")
    data.add_argument("--drawing-styles", action="store_true",
                      help="objects on white: also train on sparse drawings, silhouettes without inner lines and "
                           "head-only drawings made from each pair (pix2pix_demo.edges.vary_drawing)")
    data.add_argument("--close-ups", type=float, default=0.0, metavar="P",
                      help="with --drawing-styles: this share of pairs become close-ups (a window around the head "
                           "enlarged so the frame cuts the cat, its edges extracted again), for photos of cats "
                           "filling the frame")
    data.add_argument("--max-side", type=int, default=512, help="shrink larger images on load")
    data.add_argument("--jitter", type=float, default=1.12, help="random resize factor before cropping (286/256)")
    data.add_argument("--coat", action="store_true",
                      help="condition G on a coat colour (cut-out cats on white): targets are randomly recoloured "
                           "and each one's mean fur colour is given to G (pix2pix_demo.coat)")
    data.add_argument("--coat-palette", choices=("cats", "products"), default="cats",
                      help="with --coat: the named colours the model offers (pix2pix_demo.coat.PALETTES); "
                           "the first is its default")
    data.add_argument("--coat-recolour", type=float, default=0.7, metavar="P",
                      help="with --coat: the share of targets recoloured (0 = only the photos' own colours, "
                           "e.g. products, whose colours already vary)")
    run = p.add_argument_group("run")
    run.add_argument("--name", required=True)
    run.add_argument("--out", default="weights", help="export folder for the finished generator")
    run.add_argument("--runs", default="runs", help="folder for checkpoints, logs and samples")
    run.add_argument("--size", type=int, default=256, help="training crop size (the model's resolution)")
    run.add_argument("--progressive", default=None, metavar="SIZE:FRACTION",
                     help="train at SIZE (e.g. 128) for the first FRACTION of the run, then at --size")
    harness.add_run_arguments(run, log_every=20, checkpoint_every=500, sample_every=500,
                              device=True, export_dtypes=("float32", "float16", "int8"))
    run.add_argument("--epochs", type=float, default=None, help="passes over the data (instead of --steps)")
    run.add_argument("--batch-size", type=int, default=1)
    run.add_argument("--workers", type=int, default=0,
                     help="data-loading processes (0: in the training process; a GPU wants several)")
    run.add_argument("--init-from", default=None, metavar="MODEL",
                     help="start G from an exported model folder of the same architecture (fine-tuning)")
    run.add_argument("--compile", action="store_true", help="torch.compile the networks (CUDA)")
    model = p.add_argument_group("generator (a preset, optionally overridden)")
    model.add_argument("--preset", choices=sorted(PRESETS), default="pix2pix-paper")
    model.add_argument("--base-channels", type=int, help="ngf")
    model.add_argument("--num-downsamplings", type=int)
    model.add_argument("--max-channels", type=int)
    model.add_argument("--norm", choices=("batch", "instance", "none"))
    model.add_argument("--dropout", type=float)
    model.add_argument("--separable", action=argparse.BooleanOptionalAction, default=None)
    model.add_argument("--upsampling", choices=("transpose", "resize", "bilinear"),
                       help="transpose: 4x4 stride-2 transposed conv (paper); resize: nearest x2 + 3x3 conv; bilinear: "
                            "bilinear x2 + 3x3 conv (the same parameters as resize: --init-from may switch between them)")
    model.add_argument("--g-attention", default=None, metavar="LEVELS",
                       help="SAGAN self-attention after these decoder levels, e.g. 2 or 2,3 (level i works at "
                            "size/2^i: 2 = 32x32 at 128²)")
    model.add_argument("--g-noise", default=None, metavar="LEVELS",
                       help="StyleGAN per-pixel noise after these decoder levels, e.g. 1,2 (level i works at size/2^i: "
                            "randomness for fur-like texture; fixed noise at inference, so outputs stay deterministic)")
    disc = p.add_argument_group("discriminator and losses")
    disc.add_argument("--d-layers", type=int, default=3, help="PatchGAN n_layers: 0=1x1, 1=16x16, 3=70x70, 5=286x286")
    disc.add_argument("--d-channels", type=int, default=64, help="ndf")
    disc.add_argument("--d-norm", choices=("batch", "instance", "none"), default="batch")
    disc.add_argument("--d-scales", type=int, default=1,
                      help="pix2pixHD multi-scale D: this many PatchGANs, on the pair at full size, 1/2, 1/4 ...")
    disc.add_argument("--spectral-norm", action="store_true")
    disc.add_argument("--d-attention", default="", metavar="LAYERS",
                      help="SAGAN self-attention after these PatchGAN layers, e.g. 1 (layer n works at size/2^(n+1))")
    disc.add_argument("--gan-loss", choices=GAN_LOSSES + ENERGY_LOSSES, default="vanilla",
                      help="ebgan and began use an auto-encoder discriminator (--d-layers = its down-samplings)")
    disc.add_argument("--lambda-gan", type=float, default=1.0, help="weight of the adversarial term in G's loss")
    disc.add_argument("--lambda-l1", type=float, default=100.0)
    disc.add_argument("--lambda-holes", type=float, default=0.0, metavar="W",
                      help="line drawings (--task pairs): weigh the L1 and the low-frequency L1 1+W times on each "
                           "training pair's enclosed regions that are white in the photo (handle holes, shoe "
                           "openings: train.holes.white_holes, found on the drawing before --augment-edges), so the "
                           "model learns to keep them open (0: off)")
    disc.add_argument("--lambda-fm", type=float, default=0.0,
                      help="pix2pixHD feature matching: L1 between D's features of the real and the generated pair, "
                           "summed over D's layers (a perceptual loss from our own D; no VGG weights offline)")
    disc.add_argument("--lambda-gp", type=float, default=10.0, help="gradient penalty weight (wgan-gp)")
    disc.add_argument("--d-latent", type=int, default=16, help="code channels of the auto-encoder D (ebgan, began)")
    disc.add_argument("--ebgan-margin", type=float, default=0.1, help="EBGAN margin m on the fake energy (mean MSE)")
    disc.add_argument("--ebgan-pt-weight", type=float, default=0.1, help="EBGAN pull-away term weight (needs batch > 1)")
    disc.add_argument("--began-gamma", type=float, default=0.5, help="BEGAN diversity ratio γ")
    disc.add_argument("--began-lambda-k", type=float, default=0.001, help="BEGAN learning rate of k_t")
    disc.add_argument("--lr", type=float, default=2e-4)
    disc.add_argument("--lr-d", type=float, default=None, help="discriminator learning rate (default --lr)")
    disc.add_argument("--beta1", type=float, default=0.5)
    disc.add_argument("--decay-start", type=float, default=0.5, help="linear LR decay to 0 after this fraction")
    disc.add_argument("--d-warmup", type=int, default=0, metavar="STEPS",
                      help="train only D for the first STEPS steps (G's weights frozen): a fresh D on a fine-tuned G first "
                           "learns to tell its outputs from photos, instead of pulling a trained G off course")
    disc.add_argument("--ema", type=float, default=0.0, help="export an EMA of G's weights (e.g. 0.999; 0 = off)")
    disc.add_argument("--patchgan", action=argparse.BooleanOptionalAction, default=True,
                      help="the PatchGAN on (input, output) pairs; --no-patchgan with --d-features uses only the "
                           "projected discriminator")
    pretrained.add_arguments(p)
    return p


def generator_config(args) -> UNetConfig:
    config = dataclasses.replace(PRESETS[args.preset])
    overrides = {"base_channels": args.base_channels, "num_downsamplings": args.num_downsamplings,
                 "max_channels": args.max_channels, "norm": args.norm, "dropout": args.dropout,
                 "separable": args.separable, "upsampling": args.upsampling,
                 "attention_levels": args.g_attention, "noise_levels": args.g_noise}
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    task = getattr(args, "task", "pairs")
    if task != "pairs":
        config = dataclasses.replace(config, in_channels=IN_CHANNELS[task], out_channels=OUT_CHANNELS[task])
    if getattr(args, "coat", False):
        from pix2pix_demo.coat import PALETTES

        default = next(iter(PALETTES[getattr(args, "coat_palette", "cats")].values()))
        config = dataclasses.replace(config, condition_channels=3, condition_default=list(default))
    return config


def init_generator(generator, source) -> list[str]:
    """Copy an exported generator's weights into `generator` (fine-tuning). Where this run's layer takes
    more input channels (a condition added, e.g. --coat), the old weights fill the first channels and the
    new ones start at zero, so the first step computes exactly what the source model did. Returns the
    names of the widened tensors."""
    own, widened = generator.state_dict(), []
    for name, value in source.state_dict().items():
        target = own[name]
        if value.shape != target.shape:
            dims = [d for d in range(value.dim()) if value.shape[d] != target.shape[d]]
            if len(dims) != 1 or value.shape[dims[0]] > target.shape[dims[0]]:
                raise ValueError(f"{name}: {tuple(value.shape)} in the source, {tuple(target.shape)} here")
            grown = torch.zeros_like(target)
            grown.narrow(dims[0], 0, value.shape[dims[0]]).copy_(value)
            value = grown
            widened.append(name)
        own[name] = value
    generator.load_state_dict(own)
    return widened


def discriminator_config(args, g_config: UNetConfig):
    """The discriminator's config: a PatchGAN, or for the energy losses an auto-encoder (same input)."""
    # the pair D sees: input + picture (a photo task's U-Net predicts chroma or RGB; compose makes RGB of it)
    in_channels = g_config.in_channels + (3 if getattr(args, "task", "pairs") != "pairs" else g_config.out_channels)
    if args.gan_loss in ENERGY_LOSSES:
        if args.d_attention or args.lambda_fm or args.d_scales > 1:
            raise SystemExit("--d-attention, --d-scales and --lambda-fm apply to the PatchGAN; ebgan and began use an "
                             "auto-encoder D.")
        return AutoEncoderDiscriminatorConfig(
            in_channels=in_channels, out_channels=g_config.out_channels, base_channels=args.d_channels,
            num_downsamplings=args.d_layers, latent_channels=args.d_latent,
            energy="mse" if args.gan_loss == "ebgan" else "l1", spectral_norm=args.spectral_norm)
    return PatchGANConfig(in_channels=in_channels, base_channels=args.d_channels, n_layers=args.d_layers,
                          norm=args.d_norm, spectral_norm=args.spectral_norm, attention_layers=args.d_attention,
                          num_scales=args.d_scales)


def make_gan_loss(args):
    if args.gan_loss == "ebgan":
        return EBGANLoss(margin=args.ebgan_margin)
    if args.gan_loss == "began":
        return BEGANLoss(gamma=args.began_gamma, lambda_k=args.began_lambda_k)
    return GANLoss(args.gan_loss)


def parse_progressive(spec: str | None, final_size: int) -> tuple[int, float]:
    """'128:0.5' -> (128, 0.5); None -> (final_size, 0.0)."""
    if not spec:
        return final_size, 0.0
    try:
        size, fraction = spec.split(":")
        return int(size), float(fraction)
    except ValueError:
        raise SystemExit(f"--progressive expects SIZE:FRACTION such as 128:0.5, got {spec!r}") from None


ARCHITECTURE_OPTIONS = ("preset", "base_channels", "num_downsamplings", "max_channels", "norm", "separable",
                        "upsampling", "d_layers", "d_channels", "d_norm", "spectral_norm", "ema", "g_attention",
                        "d_attention", "d_latent", "gan_loss", "coat", "d_scales", "g_noise", "d_features", "patchgan", "task")


def architecture_changes(saved: dict, args) -> list[str]:
    """The options that shape the networks and differ between a checkpoint's args and this run's."""
    return harness.architecture_changes(saved, args, ARCHITECTURE_OPTIONS)


def save_sample_grid(path: Path, generator, inputs, targets):
    """Rows of input | output | target (a photo task's input drawn as a picture: photo_tasks.display)."""
    with harness.evaluating(generator):
        outputs = generator(inputs)
    harness.save_grid(path, [torch.cat([a, o, b], dim=2)
                             for a, o, b in zip(display(inputs).cpu(), outputs.float().cpu(), targets.cpu())])


def load_task_photos(args, excluded: set[str]) -> tuple[list[np.ndarray], list[str], list[str], dict | None]:
    """--task colourize / fill-in: the photos (RGB uint8, shrunk so the short side is at most what the jitter
    crops from), their names, the source folders (the shared sets less their held-out lists, or --data) and,
    with --scenes, what the scene photos add (they come last, each listed scene_repeats times and shrunk only
    to what their smallest window needs)."""
    from pix2pix_demo.imaging import open_image
    from train.data.photos import (SCENE_SOURCES, SCENE_WINDOW, TASK_TRAIN_SOURCES, is_shared_root, list_photos,
                                   part_of, scene_photos, scene_repeats, task_photos)

    root = Path(args.data)
    if is_shared_root(root):
        found = task_photos(root, TASK_TRAIN_SOURCES)
        sources = [f"{folder} (less {names})" if names else folder for folder, names, _, _ in TASK_TRAIN_SOURCES]
    elif root.is_dir():
        found = [(str(root), path, "whole") for path in list_photos(root, None, True)
                 if path.name not in excluded and path.stem not in excluded]
        sources = [str(root)]
    else:
        raise SystemExit(f"Data folder {root} does not exist.")
    if not found:
        raise SystemExit(f"No photos in {root}.")
    scenes, repeats = [], 0
    if args.scenes:
        if not 0 < args.scenes < 1:
            raise SystemExit(f"--scenes is a share of the pairs, in (0, 1): got {args.scenes}.")
        if not is_shared_root(root):
            raise SystemExit("--scenes needs the shared data folder as --data (it holds the scene photos).")
        scenes = scene_photos(root)
        if not scenes:
            raise SystemExit(f"--scenes: no scene photos in {', '.join(str(root / f) for f in SCENE_SOURCES)}.")
        repeats = scene_repeats(len(found), len(scenes), args.scenes)
    short = math.ceil(args.size * max(1.0, args.jitter)) + 2
    photos, names = [], []
    for i, (folder, path, part) in enumerate(found + scenes):
        scene = i >= len(found)
        image = part_of(open_image(path), part)
        scale = (short / SCENE_WINDOW if scene else short) / min(image.size)
        if scale < 1:
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
        photos += [np.asarray(image)] * (repeats if scene else 1)
        names += [f"{folder}/{path.name}"] * (repeats if scene else 1)
    extra = None
    if scenes:
        extra = {"folders": list(SCENE_SOURCES), "images": len(scenes), "windows_per_image": repeats,
                 "share": round(len(scenes) * repeats / len(photos), 4), "window": [SCENE_WINDOW, 1.0]}
        counts = {folder: sum(f == folder for f, _, _ in scenes) for folder in SCENE_SOURCES}
        sources = sources + [f"{folder} (scenes: {n} photos x {repeats} random windows)" for folder, n in counts.items() if n]
    return photos, names, sources, extra


def scene_windows(pairs: int, scenes: dict | None) -> list[float] | None:
    """PhotoTaskDataset's windows for load_task_photos' pairs: the whole photo, then the scenes' windows."""
    if not scenes:
        return None
    listed = scenes["images"] * scenes["windows_per_image"]
    return [1.0] * (pairs - listed) + [scenes["window"][0]] * listed


def task_samples(photos: list[np.ndarray], task: str, size: int, hole: str = "grey") -> tuple[torch.Tensor, torch.Tensor]:
    """Four fixed (input, target) pairs spread over the photos for the sample grids (fixed masks)."""
    from pix2pix_demo.photo_tasks import centre_crop, random_mask, task_input

    ids = sorted({round(i * (len(photos) - 1) / 3) for i in range(4)})
    crops = [centre_crop(photos[i], size) for i in ids]
    masks = [random_mask(size, size, np.random.default_rng(i)) if task == "fill-in" else None for i in ids]
    return (torch.stack([task_input(task, crop, mask, hole) for crop, mask in zip(crops, masks)]),
            torch.stack([to_tensor(crop) for crop in crops]))


def main(args) -> Path | None:
    if args.turns and args.task == "pairs":
        raise SystemExit("--turns is for --task colourize / fill-in (line drawings have an up and a down).")
    if args.lambda_holes and args.task != "pairs":
        raise SystemExit("--lambda-holes is for line drawings (--task pairs).")
    if args.lambda_holes < 0:
        raise SystemExit(f"--lambda-holes is a weight, at least 0: got {args.lambda_holes}.")
    device, rank, world_size = harness.setup_distributed(args.device)
    is_main = rank == 0
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    torch.manual_seed(args.seed + rank)
    names = read_name_list(args.files) if args.files else None
    excluded = read_name_list(args.exclude) if args.exclude else set()
    run = harness.Run(args, "train.pix2pix", exports=[Path(args.out) / args.name], is_main=is_main)
    task_sources = scene_data = None
    if args.scenes and args.task == "pairs":
        raise SystemExit("--scenes is for --task colourize / fill-in.")
    if args.task != "pairs":
        pairs, kept, task_sources, scene_data = load_task_photos(args, excluded)
    else:
        try:
            pairs, kept = load_pairs(args.data, args.layout, args.direction, names, args.edge_method, args.max_side,
                                     exclude=excluded)
        except FileNotFoundError as error:
            raise SystemExit(str(error)) from None
    try:
        g_config = generator_config(args)
    except ValueError as error:
        raise SystemExit(f"Generator options: {error}") from None
    low_size, low_fraction = parse_progressive(args.progressive, args.size)
    for size in {args.size, low_size}:
        if size % g_config.multiple:
            raise SystemExit(f"Training size {size} is not divisible by 2**num_downsamplings = {g_config.multiple}; "
                             f"use --num-downsamplings {int(math.log2(size))} or less.")
    if args.close_ups and not args.drawing_styles:
        raise SystemExit("--close-ups needs --drawing-styles (close-ups are one of its drawing styles).")
    if not 0 <= args.close_ups < 1:
        raise SystemExit(f"--close-ups is a share of the pairs, in [0, 1): got {args.close_ups}.")
    if args.task != "pairs" and (args.coat or args.augment_edges or args.drawing_styles):
        raise SystemExit("--coat, --augment-edges and --drawing-styles are for line drawings, not --task " + args.task)
    if args.task != "pairs":
        dataset = PhotoTaskDataset(pairs, args.task, size=low_size if low_fraction > 0 else args.size,
                                   jitter=args.jitter, seed=args.seed, hole=args.fill_hole, turns=args.turns,
                                   windows=scene_windows(len(pairs), scene_data))
    else:
        dataset = PairedDataset(pairs, size=low_size if low_fraction > 0 else args.size, jitter=args.jitter,
                                augment_edges=args.augment_edges, seed=args.seed, coat=args.coat,
                                drawing_styles=args.drawing_styles, close_ups=args.close_ups,
                                recolour=args.coat_recolour, holes=white_holes if args.lambda_holes else None)
    sampler = (torch.utils.data.distributed.DistributedSampler(dataset, world_size, rank, seed=args.seed)
               if world_size > 1 else torch.utils.data.RandomSampler(dataset))
    # with --workers, each epoch's worker processes copy the dataset as it is then (its size for the
    # progressive schedule, its epoch for the augmentation seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                                         drop_last=len(dataset) >= args.batch_size, num_workers=args.workers,
                                         pin_memory=device.type == "cuda", persistent_workers=False)
    steps_per_epoch = max(1, len(loader))
    if args.steps is None and args.epochs is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps, --epochs or --time-budget.")
    total_steps = args.steps if args.steps is not None else (
        math.ceil(args.epochs * steps_per_epoch) if args.epochs is not None else None)
    run.total_steps = total_steps

    generator = UNetGenerator(g_config).to(device)
    if args.task != "pairs":  # the U-Net and its task's compose (what the losses see is a picture)
        generator = TaskGenerator(generator, args.task)
    try:
        d_config = discriminator_config(args, g_config)
    except ValueError as error:
        raise SystemExit(f"Discriminator options: {error}") from None
    discriminator = (AutoEncoderDiscriminator if isinstance(d_config, AutoEncoderDiscriminatorConfig)
                     else PatchGANDiscriminator)(d_config).to(device)
    channels_last = device.type in ("cuda", "cpu")
    if channels_last:
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    ema = copy.deepcopy(generator).eval().requires_grad_(False) if args.ema > 0 else None
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=args.lr_d or args.lr, betas=(args.beta1, 0.999))
    features, projected, opt_p = make_feature_losses(args, device, zoom=True)
    zoom_heads, opt_z = (make_projected_heads(args, device, seed_offset=2) if projected is not None
                         and args.projected_zoom_crops else (None, None))
    gan = make_gan_loss(args)

    if args.init_from and not args.resume:
        init_from(args, generator, ema, g_config, is_main)
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, projected=projected,
              opt_p=opt_p, ema=ema, zoom_heads=zoom_heads, opt_z=opt_z)
    if isinstance(gan, BEGANLoss):
        run.extra_state = lambda: {"began_k": gan.k}
    no_heads = ["d_features (the checkpoint has no projected heads)"]
    state = run.resume(ARCHITECTURE_OPTIONS, check_first=False,
                       changes=lambda state: no_heads if projected is not None and "projected" not in state else [])
    if state is not None and isinstance(gan, BEGANLoss) and "began_k" in state:
        gan.k = state["began_k"]
    if world_size > 1:
        generator = DistributedDataParallel(generator, device_ids=[device.index] if device.type == "cuda" else None)
        discriminator = DistributedDataParallel(discriminator, device_ids=[device.index] if device.type == "cuda" else None)
    if args.compile:
        generator, discriminator = torch.compile(generator), torch.compile(discriminator)

    g_plain = harness.unwrap(getattr(generator, "_orig_mod", generator))
    d_plain = harness.unwrap(getattr(discriminator, "_orig_mod", discriminator))
    # four pairs spread over the data set (neighbours are often variants of one photo)
    if args.task != "pairs":
        sample_inputs, sample_targets = (t.to(device) for t in task_samples(pairs, args.task, args.size, args.fill_hole))
    else:
        sample_ids = sorted({round(i * (len(pairs) - 1) / 3) for i in range(4)})
        sample_inputs = torch.stack([dataset_center(pairs[i][0], args.size) for i in sample_ids]).to(device)
        sample_targets = torch.stack([dataset_center(pairs[i][1], args.size) for i in sample_ids]).to(device)
    if is_main:
        print(f"{len(pairs)} pairs, {world_size} process(es) on {device}; G {harness.count(g_plain) / 1e6:.2f} M params, "
              f"D {harness.count(d_plain) / 1e6:.2f} M params ({describe_discriminator(d_config)}).")
    run.start(sample=lambda path: save_sample_grid(path, ema or g_plain, sample_inputs, sample_targets),
              postfix=lambda losses: dict(d=f"{losses['loss_d']:.3f}", g=f"{losses['loss_g_gan']:.3f}",
                                          l1=f"{losses['loss_l1']:.4f}"))
    train_step = Pix2PixStep(args, device, generator, discriminator, d_plain, opt_g, opt_d, gan, features,
                             projected, opt_p, (zoom_heads, opt_z))
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    generator.train()
    discriminator.train()
    for batch in run.batches(loader, dataset, sampler, steps_per_epoch):
        real_a, real_b, *rest = batch  # then the coat colour (--coat), then the white holes (--lambda-holes)
        holes = rest.pop().to(device) if args.lambda_holes else None
        condition = rest
        fraction = run.progress()
        new_size = low_size if fraction < low_fraction else args.size
        if new_size != dataset.size:
            dataset.size = new_size  # takes effect from the next batch the loader builds
        lr_scale = harness.linear_decay(fraction, args.decay_start)
        harness.set_lr(opt_g, args.lr * lr_scale)
        harness.set_lr(opt_d, (args.lr_d or args.lr) * lr_scale)
        if opt_p is not None:
            harness.set_lr(opt_p, (args.lr_projected or args.lr_d or args.lr) * lr_scale)
        if opt_z is not None:
            harness.set_lr(opt_z, (args.lr_projected or args.lr_d or args.lr) * lr_scale)
        real_a = real_a.to(device, memory_format=memory_format, non_blocking=True)
        real_b = real_b.to(device, memory_format=memory_format, non_blocking=True)
        condition = condition[0].to(device) if condition else None
        losses = train_step(real_a, real_b, condition, warming_up=run.step < args.d_warmup, holes=holes)
        run.end_step(losses, ema=(ema, g_plain, args.ema), epoch=run.epoch, size=dataset.size, lr=args.lr * lr_scale)
    run.finish()
    result = None
    if is_main:
        wall = run.spent()
        final = copy.deepcopy(ema or g_plain).to(memory_format=torch.contiguous_format).float().cpu()
        if args.task != "pairs":
            final = final.unet  # the exported model is the U-Net; photo_tasks.colourize / fill_in compose
            data = {"path": str(args.data), "sources": task_sources, "photos": len(set(kept)), "exclude": args.exclude,
                    "pairs": f"made on the fly (pix2pix_demo.photo_tasks, task {args.task})", "turns": args.turns,
                    **({"scenes": scene_data} if scene_data else {})}
        else:
            data = {"path": str(args.data), "layout": args.layout or "auto", "direction": args.direction,
                    "pairs": len(pairs), "files": args.files, "exclude": args.exclude,
                    "edge_method": dataset_edge_method(args.data, args.layout, args.edge_method),
                    "augment_edges": args.augment_edges, "coat": args.coat, "drawing_styles": args.drawing_styles,
                    "close_ups": args.close_ups or dataset_close_ups(args.data), "cutout": dataset_is_cutout(args.data)}
        metadata = {
            "task": "image-to-image" if args.task == "pairs" else args.task,
            **({"kind": "photo-task"} if args.task != "pairs" else {}),  # its own tab, not the Draw tab's list
            **({"hole": args.fill_hole} if args.task == "fill-in" else {}),
            "resolution": args.size,
            "pad_fill": 1.0,
            "data": data,
            "training": {
                "command": run.command(),
                "steps": run.step, "batch_size": args.batch_size, "world_size": world_size,
                "wall_time_s": round(wall, 1), "budget_clock": args.budget_clock,
                "hardware": harness.hardware_description(device), "init_from": args.init_from,
                "torch": torch.__version__, "gan_loss": args.gan_loss, "lambda_l1": args.lambda_l1,
                **({"lambda_holes": args.lambda_holes, "holes": "train.holes.white_holes: enclosed regions of the "
                    "drawing (lines < 128 thickened 1 px, 4-connected, off the border, >= 150 px) whose darkest "
                    "channel averages >= 230 in the photo"} if args.lambda_holes else {}),
                **({"hole_losses": args.hole_losses} if args.task == "fill-in" else {}),
                "lambda_gan": args.lambda_gan, "lambda_fm": args.lambda_fm, "d_warmup_steps": args.d_warmup, **energy_loss_options(args, gan),
                "discriminator": dataclasses.asdict(d_config) if args.patchgan else None, "ema": args.ema,
                "progressive": args.progressive, **feature_loss_options(args),
            },
            "metrics": {},
        }
        if args.coat:
            from pix2pix_demo.coat import PALETTES

            metadata["coats"] = {name: list(rgb) for name, rgb in PALETTES[args.coat_palette].items()}
        metadata.update(harness.carried_settings(args.init_from))  # kind, label, fur, ... of the model it fine-tunes
        result = run.export(final, Path(args.out) / args.name, metadata, dtype=getattr(torch, args.export_dtype))
        print(f"Exported {result} after {run.step} steps, {wall / 60:.1f} min.")
    if world_size > 1:
        dist.destroy_process_group()
    return result


def init_from(args, generator, ema, g_config, is_main: bool) -> None:
    """--init-from: start G (and its EMA) from an exported model of the same architecture."""
    from pix2pix_demo.hub import load_model

    source = load_model(args.init_from)
    # a condition or noise may be added (their weights start at 0: the first step computes what the source did)
    ignore = {"condition_channels", "condition_default", "noise_levels"}
    theirs = {k: v for k, v in dataclasses.asdict(source.config).items() if k not in ignore}
    ours = {k: v for k, v in dataclasses.asdict(g_config).items() if k not in ignore}
    # nearest and bilinear resize + 3x3 conv have the same parameters: a model may switch (then fine-tune)
    if {theirs.get("upsampling"), ours.get("upsampling")} <= {"resize", "bilinear"}:
        theirs["upsampling"] = ours["upsampling"]
    if (theirs != ours or source.config.condition_channels not in (0, g_config.condition_channels)
            or not set(source.config.noise_levels) <= set(g_config.noise_levels)):
        raise SystemExit(f"--init-from {args.init_from}: its architecture {dataclasses.asdict(source.config)} "
                         f"differs from this run's {dataclasses.asdict(g_config)}; pass the same generator options.")
    widened = init_generator(getattr(generator, "unet", generator), source)
    if ema is not None:
        ema.load_state_dict(generator.state_dict())
    if is_main:
        print(f"Generator initialised from {args.init_from}"
              + (f" ({len(widened)} layers widened for the condition, new weights 0)." if widened else "."))


class Pix2PixStep:
    """One training step: the projected heads (with --d-features), the PatchGAN on (input, output) pairs,
    then G against both, with L1 and the optional low-frequency, feature-matching and perceptual terms.
    AMP on CUDA: bfloat16 where supported (no loss scaling needed), else float16 with a scaler."""

    def __init__(self, args, device, generator, discriminator, d_plain, opt_g, opt_d, gan, features, projected, opt_p,
                 zoom=(None, None)):
        self.args, self.device, self.gan = args, device, gan
        self.generator, self.discriminator, self.d_plain = generator, discriminator, d_plain
        self.opt_g, self.opt_d, self.features, self.projected, self.opt_p = opt_g, opt_d, features, projected, opt_p
        self.zoom_heads, self.opt_z = zoom  # --projected-zoom-crops: heads over enlarged windows
        self.perceptual_weights = parse_weights(args.perceptual_weights)  # checked once, not every step
        self.use_amp = device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)

    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp)

    def __call__(self, real_a, real_b, condition, warming_up: bool, holes: torch.Tensor | None = None) -> dict:
        """--d-warmup (`warming_up`): D only, G frozen (its losses are still measured and logged). `holes`
        (N,1,H,W, 1 = an enclosed region white in the photo, with --lambda-holes): the L1 and low-frequency
        L1 weigh those pixels 1 + lambda_holes times."""
        args, gan, scaler, device, d_plain = self.args, self.gan, self.scaler, self.device, self.d_plain
        projected, opt_p = self.projected, self.opt_p
        with self.autocast(), torch.set_grad_enabled(not warming_up):
            fake_b = self.generator(real_a, condition)
        # --- the frozen network's features of the (equally augmented) target and output
        extra = {}  # energies, k_t, M_global, pull-away term, feature losses: logged with the losses
        feats_real = feats_fake = ink = zoomed = None
        if self.features is not None:
            with self.autocast(), torch.set_grad_enabled(not warming_up):
                # the projected heads are told the input's ink, or for fill-in where the photo was erased
                erased = (real_a[:, 3:4] + 1) / 2 if getattr(args, "task", "pairs") == "fill-in" else None
                feats_real, feats_fake, ink = feature_pass(self.features, real_a, real_b, fake_b, args.diffaugment,
                                                           condition=erased)
                zoomed = zoom_pass(self.features, real_a, real_b, fake_b, args, condition=erased)
        if projected is not None:  # --- projected discriminator: heads over the frozen features
            projected.requires_grad_(True)
            with self.autocast():
                loss_dp = hinge_discriminator_loss(projected(feats_real, ink),
                                                   projected([f.detach() for f in feats_fake], ink))
            opt_p.zero_grad(set_to_none=True)
            scaler.scale(loss_dp).backward()
            scaler.step(opt_p)
            extra["loss_d_projected"] = loss_dp.item()
        if self.zoom_heads is not None and zoomed is not None:  # --- the same over the zoom windows
            self.zoom_heads.requires_grad_(True)
            zoom_real, zoom_fake, zoom_ink = zoomed
            with self.autocast():
                loss_dz = hinge_discriminator_loss(self.zoom_heads(zoom_real, zoom_ink),
                                                   self.zoom_heads([f.detach() for f in zoom_fake], zoom_ink))
            self.opt_z.zero_grad(set_to_none=True)
            scaler.scale(loss_dz).backward()
            scaler.step(self.opt_z)
            extra["loss_d_zoom"] = loss_dz.item()
        # --- discriminator: real pairs vs generated pairs
        real_pair = torch.cat([real_a, real_b], 1)
        if args.patchgan:
            d_plain.requires_grad_(True)
            with self.autocast():
                fake_pair = torch.cat([real_a, fake_b.detach()], 1)
                d_real, d_fake = self.discriminator(real_pair), self.discriminator(fake_pair)
                loss_d = gan.discriminator_loss(d_real, d_fake)
            if args.gan_loss == "wgan-gp":
                loss_d = loss_d + gradient_penalty(self.discriminator, real_pair.float(), fake_pair.float(),
                                                   args.lambda_gp)
            self.opt_d.zero_grad(set_to_none=True)
            scaler.scale(loss_d).backward()
            scaler.step(self.opt_d)
        else:
            loss_d = torch.zeros((), device=device)
        if args.gan_loss in ENERGY_LOSSES and args.patchgan:
            extra = {"energy_real": d_real.detach().mean().item(), "energy_fake": d_fake.detach().mean().item()}
        if isinstance(gan, BEGANLoss) and args.patchgan:
            extra["m_global"] = gan.update(d_real, d_fake)
            extra["k_t"] = gan.k
        # --- generator: fool D (the raw module, frozen, so DDP does not sync D here) + L1
        d_plain.requires_grad_(False)
        with self.autocast(), torch.set_grad_enabled(not warming_up):
            if not args.patchgan:
                loss_g_gan = torch.zeros((), device=device)
            elif args.gan_loss == "ebgan":
                energy, codes = d_plain(torch.cat([real_a, fake_b], 1), return_features=True)
                pull_away = pull_away_term(codes)
                loss_g_gan = gan.generator_loss(energy) + args.ebgan_pt_weight * pull_away
                extra["pull_away"] = pull_away.item()
            elif args.lambda_fm:
                loss_fm, fake_logits = feature_matching(d_plain, torch.cat([real_a, fake_b], 1), real_pair)
                loss_g_gan = gan.generator_loss(fake_logits)
                extra["loss_fm"] = loss_fm.item()
            else:
                loss_g_gan = gan.generator_loss(d_plain(torch.cat([real_a, fake_b], 1)))
            region = hole_region(args, real_a)
            if region is None:
                loss_l1 = (fake_b.float() - real_b).abs().mean()
            else:  # each picture's mean over its erased pixels
                loss_l1 = ((fake_b.float() - real_b).abs() * region).sum((1, 2, 3)) / (3 * region.sum((1, 2, 3)))
                loss_l1 = loss_l1.mean()
            loss_g = args.lambda_gan * loss_g_gan + args.lambda_l1 * loss_l1
            if holes is not None:
                loss_g = loss_g + holes_terms(args, fake_b, real_b, holes, extra)
            if "loss_fm" in extra:
                loss_g = loss_g + args.lambda_fm * loss_fm
            loss_g = loss_g + generator_terms(args, fake_b, real_b, feats_fake, feats_real, projected, ink,
                                              self.perceptual_weights, extra,
                                              region=None if region is None else (region, ink),
                                              zoom=None if zoomed is None else (zoomed, self.zoom_heads))
        if not warming_up:
            self.opt_g.zero_grad(set_to_none=True)
            scaler.scale(loss_g).backward()
            scaler.step(self.opt_g)
        scaler.update()
        return {"loss_d": loss_d.item(), "loss_g_gan": loss_g_gan.item(), "loss_l1": loss_l1.item(), **extra}


def holes_terms(args, fake_b, real_b, holes, extra: dict) -> torch.Tensor:
    """--lambda-holes: the extra weight on the white enclosed regions, lambda_holes times the L1 (and the
    low-frequency L1) summed over those pixels (blocks: the share of the block that is hole) and divided by
    all pixels, so with the plain terms each hole pixel weighs 1 + lambda_holes. Logs loss_holes (the L1 part,
    unweighted)."""
    from train.harness.pretrained import lowpass

    diff = (fake_b.float() - real_b).abs()
    loss_holes = (diff * holes).mean()
    extra["loss_holes"] = loss_holes.item()
    loss = args.lambda_holes * args.lambda_l1 * loss_holes
    if args.lambda_lowfreq:
        pool, kind = args.lowfreq_pool, getattr(args, "lowfreq_filter", "box")
        low = (lowpass(fake_b.float(), pool, kind) - lowpass(real_b, pool, kind)).abs()
        loss = loss + args.lambda_holes * args.lambda_lowfreq * (low * lowpass(holes, pool, kind)).mean()
    return loss


def hole_region(args, real_a: torch.Tensor) -> torch.Tensor | None:
    """--hole-losses with --task fill-in: the erased pixels (N,1,H,W, 1 = erased; pictures with none count
    whole), else None."""
    if getattr(args, "task", "pairs") != "fill-in" or not getattr(args, "hole_losses", False):
        return None
    region = (real_a[:, 3:4] > 0).float()
    empty = region.sum((1, 2, 3), keepdim=True) == 0
    return torch.where(empty, torch.ones_like(region), region)


def dataset_center(array, size: int) -> torch.Tensor:
    """A deterministic centre crop (short side resized to size) for sample grids."""
    image = Image.fromarray(array)
    scale = size / min(image.size)
    image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.BICUBIC)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return to_tensor(np.asarray(image.crop((left, top, left + size, top + size))))


def describe_discriminator(config) -> str:
    if isinstance(config, AutoEncoderDiscriminatorConfig):
        return f"auto-encoder, energy = {config.energy} reconstruction error"
    attention = f", self-attention after layer(s) {list(config.attention_layers)}" if config.attention_layers else ""
    return f"{config.receptive_field}×{config.receptive_field} patches{attention}"


def energy_loss_options(args, gan) -> dict:
    """The EBGAN / BEGAN settings for the exported config (none for the other losses)."""
    if args.gan_loss == "ebgan":
        return {"ebgan": {"margin": args.ebgan_margin, "pull_away_weight": args.ebgan_pt_weight}}
    if args.gan_loss == "began":
        return {"began": {"gamma": args.began_gamma, "lambda_k": args.began_lambda_k, "final_k": gan.k}}
    return {}


if __name__ == "__main__":
    main(get_args_parser().parse_args())
