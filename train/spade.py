"""Train a SPADE generator on label map → photo pairs (the facades data).

    python -m train.spade --data ../shared/data/facades/train --name facades-spade \
        [--direction BtoA] [--size 256] [--steps N | --time-budget MIN] [--budget-clock cpu] [--num-threads 1]

DIR holds side-by-side AB images (as train.pix2pix reads them); with the facades data the label map is
on the right, so --direction BtoA (the default here) translates labels → photo. Each label map is
snapped to the 12 class indices once at load (`pix2pix_demo.labels.snap_to_classes`: JPEG-blurred
borders cleaned), then jittered with nearest-neighbour resizing (classes stay classes) and the photo
with bicubic, identically cropped and flipped.

Losses (SPADE, Park et al. 2019): hinge GAN with a PatchGAN discriminator on [one-hot labels, image]
(spectral norm), the discriminator feature-matching loss (--lambda-fm) and, because a CPU budget has
no time for the paper's 200 epochs and we have no VGG weights for its perceptual loss, an L1 term
(--lambda-l1) as pix2pix uses. Training state goes to runs/NAME/ (checkpoint.pt, log.jsonl,
samples/); the generator is exported to OUT/NAME (config.json + model.safetensors), with
`kind: facades` so the app lists it in the Facades tab.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from train import harness
from train.harness import pretrained
from train.harness.pretrained import (feature_loss_options, feature_pass, generator_terms, make_feature_losses,
                                     parse_weights)

from pix2pix_demo.data import jitter_crop_box, load_pairs, read_name_list, to_tensor
from pix2pix_demo.hub import resolve_device
from pix2pix_demo.labels import NUM_CLASSES, label_colour_tensor, one_hot_tensor, snap_to_classes
from pix2pix_demo.losses import GANLoss
from pix2pix_demo.models import PatchGANConfig, PatchGANDiscriminator
from pix2pix_demo.models.spade import UPSAMPLING_MODES, SPADEConfig, SPADEGenerator
from pix2pix_demo.projected import hinge_discriminator_loss
from pix2pix_demo.threads import use_threads

ARCHITECTURE_OPTIONS = ("base_channels", "max_channels", "num_upsamplings", "hidden_channels", "z_channels",
                        "modulation_kernel", "spectral_norm", "label_resize", "padding_mode", "upsampling", "d_layers",
                        "d_channels")
WEIGHTLESS_OPTIONS = ("upsampling",)  # options --init-from may change: they hold no weights


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", required=True, help="folder of side-by-side label|photo images")
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="BtoA",
                   help="BtoA: the label map is the right half (the facades data)")
    p.add_argument("--files", help="text file of names to train on")
    p.add_argument("--exclude", help="text file of names never to train on")
    p.add_argument("--jitter", type=float, default=1.12, help="random resize factor before cropping")
    p.add_argument("--name", required=True)
    p.add_argument("--out", default="weights")
    p.add_argument("--runs", default="runs")
    p.add_argument("--size", type=int, default=256)
    harness.add_run_arguments(p, log_every=20, checkpoint_every=200, sample_every=300,
                              device=True, export_dtypes=("float32", "float16"))
    p.add_argument("--batch-size", type=int, default=1)
    g = p.add_argument_group("generator")
    defaults = SPADEConfig()
    g.add_argument("--base-channels", type=int, default=defaults.base_channels, help="nf")
    g.add_argument("--max-channels", type=int, default=defaults.max_channels)
    g.add_argument("--num-upsamplings", type=int, default=defaults.num_upsamplings)
    g.add_argument("--hidden-channels", type=int, default=defaults.hidden_channels, help="label embedding width")
    g.add_argument("--z-channels", type=int, default=defaults.z_channels)
    g.add_argument("--modulation-kernel", type=int, choices=(1, 3), default=defaults.modulation_kernel)
    g.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=defaults.spectral_norm)
    g.add_argument("--label-resize", choices=("nearest", "area"), default=defaults.label_resize,
                   help="how each level sees the labels: one pixel per cell, or class fractions (area mean)")
    g.add_argument("--padding-mode", choices=("zeros", "replicate"), default=defaults.padding_mode,
                   help="padding of G's convolutions; zeros tell G where the border is (a layout by position)")
    g.add_argument("--upsampling", choices=UPSAMPLING_MODES, default=defaults.upsampling,
                   help="features x2 between blocks: nearest (seams at fixed cell borders: the streak lattice) or "
                        "bilinear; no weights, so --init-from a model trained with the other works")
    d = p.add_argument_group("discriminator and losses")
    d.add_argument("--d-layers", type=int, default=3)
    d.add_argument("--d-channels", type=int, default=64)
    d.add_argument("--lambda-fm", type=float, default=10.0, help="feature matching (0: off)")
    d.add_argument("--lambda-l1", type=float, default=50.0, help="L1 to the photo (0: off)")
    d.add_argument("--lambda-l2", type=float, default=0.0,
                   help="mean squared error to the photo (0: off): the conditional mean, what PSNR rewards")
    d.add_argument("--patchgan", action=argparse.BooleanOptionalAction, default=True,
                   help="the PatchGAN on [labels, image] (--no-patchgan: only the projected discriminator)")
    d.add_argument("--lr", type=float, default=2e-4, help="generator learning rate")
    d.add_argument("--lr-d", type=float, default=2e-4, help="discriminator learning rate")
    d.add_argument("--beta1", type=float, default=0.5)
    d.add_argument("--decay-start", type=float, default=0.5, help="linear LR decay to 0 after this fraction")
    d.add_argument("--ema", type=float, default=0.0, help="export an EMA of G's weights (0 = off)")
    d.add_argument("--init-from", default=None, metavar="PATH",
                   help="fine-tune on a fresh schedule (step 0, full learning rate, this run's losses and budget): "
                        "a run's checkpoint.pt gives G, its EMA and the discriminators (not the optimisers), an "
                        "exported model folder gives G and its EMA (the discriminators start new); same architecture")
    pretrained.add_arguments(p)  # the projected heads are conditioned on the class fractions
    return p


def generator_config(args) -> SPADEConfig:
    return SPADEConfig(num_classes=NUM_CLASSES, base_channels=args.base_channels, max_channels=args.max_channels,
                       num_upsamplings=args.num_upsamplings, hidden_channels=args.hidden_channels,
                       z_channels=args.z_channels, modulation_kernel=args.modulation_kernel,
                       spectral_norm=args.spectral_norm, label_resize=args.label_resize,
                       padding_mode=args.padding_mode, upsampling=args.upsampling)


class LabelPhotoDataset(torch.utils.data.Dataset):
    """(class indices (H, W) uint8, photo HxWx3 uint8) pairs -> (indices LongTensor, photo in [-1, 1]),
    resized by a random factor in [1, jitter] (labels nearest, photo bicubic), cropped and flipped alike."""

    def __init__(self, pairs, size: int = 256, jitter: float = 1.12, flip: bool = True, seed: int = 0):
        self.pairs, self.size, self.jitter, self.flip, self.seed = pairs, size, jitter, flip, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index))
        labels, photo = self.pairs[index]
        (new_w, new_h), box = jitter_crop_box(*labels.shape, self.size, self.jitter, rng)  # PairedDataset's jitter
        labels_img = Image.fromarray(labels).resize((new_w, new_h), Image.NEAREST)
        photo_img = Image.fromarray(photo).resize((new_w, new_h), Image.BICUBIC)
        labels_crop, photo_crop = np.asarray(labels_img.crop(box)), np.asarray(photo_img.crop(box))
        if self.flip and rng.random() < 0.5:
            labels_crop, photo_crop = labels_crop[:, ::-1], photo_crop[:, ::-1]
        return torch.from_numpy(labels_crop.astype(np.int64)), to_tensor(photo_crop)


def load_label_pairs(folder, direction: str, names=None, exclude=()) -> tuple[list, list[str], dict]:
    """Side-by-side pairs -> ([(class indices, photo)], names, snapping statistics)."""
    arrays, kept = load_pairs(folder, "ab", direction, names, exclude=exclude)
    pairs, foreign = [], []
    for label_rgb, photo in arrays:
        indices, report = snap_to_classes(label_rgb)
        pairs.append((indices, photo))
        foreign.append(report.foreign)
    return pairs, kept, {"mean_foreign_fraction": round(float(np.mean(foreign)), 5)}


def discriminator_features(discriminator: PatchGANDiscriminator, x: torch.Tensor) -> list[torch.Tensor]:
    """The PatchGAN's activations after each LeakyReLU, then its logits (the last item)."""
    features = []
    for layer in discriminator.net:
        x = layer(x)
        if isinstance(layer, torch.nn.LeakyReLU):
            features.append(x)
    features.append(x)
    return features


def save_samples(path: Path, generator, labels: torch.Tensor, photos: torch.Tensor, z_channels: int):
    """Rows of labels | output (z = 0) | output (random z) | photo."""
    with harness.evaluating(generator):
        one_hot = one_hot_tensor(labels).to(photos.device)
        standard = generator(one_hot)
        varied = generator(one_hot, torch.randn(len(labels), z_channels, generator=torch.Generator().manual_seed(1)).to(
            photos.device)) if z_channels else standard
    colours = label_colour_tensor(labels).to(photos.device)
    harness.save_grid(path, [torch.cat(row, dim=2)
                             for row in zip(colours.cpu(), standard.cpu(), varied.cpu(), photos.cpu())])


def main(args) -> Path:
    device = resolve_device(args.device)
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    torch.manual_seed(args.seed)
    run = harness.Run(args, "train.spade", exports=[Path(args.out) / args.name])
    if args.steps is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps or --time-budget.")
    names = read_name_list(args.files) if args.files else None
    excluded = read_name_list(args.exclude) if args.exclude else set()
    try:
        pairs, kept, snap_stats = load_label_pairs(args.data, args.direction, names, excluded)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    g_config = generator_config(args)
    if args.size % g_config.multiple:
        raise SystemExit(f"--size {args.size} is not divisible by 2**num_upsamplings = {g_config.multiple}.")
    dataset = LabelPhotoDataset(pairs, size=args.size, jitter=args.jitter, seed=args.seed)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                                         drop_last=len(dataset) >= args.batch_size)
    generator = SPADEGenerator(g_config).to(device)
    d_config = PatchGANConfig(in_channels=NUM_CLASSES + g_config.out_channels, base_channels=args.d_channels,
                              n_layers=args.d_layers, norm="none", spectral_norm=True)
    discriminator = PatchGANDiscriminator(d_config).to(device)
    ema = copy.deepcopy(generator).eval().requires_grad_(False) if args.ema > 0 else None
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=args.lr_d, betas=(args.beta1, 0.999))
    gan = GANLoss("hinge")
    features, projected, opt_p = make_feature_losses(args, device, condition_channels=NUM_CLASSES)
    perceptual_weights = parse_weights(args.perceptual_weights)
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, ema=ema,
              projected=projected, opt_p=opt_p)
    run.resume(ARCHITECTURE_OPTIONS)
    if args.init_from and not args.resume:
        init_from(args, generator=generator, ema=ema, discriminator=discriminator, projected=projected)

    sample_ids = sorted({round(i * (len(pairs) - 1) / 3) for i in range(4)})
    sample_labels = torch.stack([dataset_center(pairs[i], args.size)[0] for i in sample_ids])
    sample_photos = torch.stack([dataset_center(pairs[i], args.size)[1] for i in sample_ids]).to(device)
    print(f"{len(pairs)} pairs on {device}; G {harness.count(generator) / 1e6:.2f} M params, "
          f"D {harness.count(discriminator) / 1e6:.2f} M params; label maps snapped "
          f"(mean foreign fraction {snap_stats['mean_foreign_fraction']}).")
    run.start(sample=lambda path: save_samples(path, ema or generator, sample_labels, sample_photos,
                                               g_config.z_channels),
              postfix=lambda losses: dict(d=f"{losses['loss_d']:.3f}", g=f"{losses['loss_g_gan']:.3f}",
                                          l1=f"{losses['loss_l1']:.4f}"))
    generator.train()
    discriminator.train()
    for labels, real in run.batches(loader, dataset):
        lr_scale = harness.linear_decay(run.progress(), args.decay_start)
        harness.set_lr(opt_g, args.lr * lr_scale)
        harness.set_lr(opt_d, args.lr_d * lr_scale)
        if opt_p is not None:
            harness.set_lr(opt_p, (args.lr_projected or args.lr_d) * lr_scale)
        one_hot = one_hot_tensor(labels).to(device)
        real = real.to(device)
        z = torch.randn(real.shape[0], g_config.z_channels, device=device) if g_config.z_channels else None
        fake = generator(one_hot, z)
        extra = {}
        feats_real = feats_fake = condition = None
        if features is not None:  # the frozen network's features of the (equally augmented) photo and output
            feats_real, feats_fake, condition = feature_pass(features, one_hot, real, fake, args.diffaugment,
                                                             condition=one_hot)
        if projected is not None:  # --- projected heads over the frozen features, told the class fractions
            projected.requires_grad_(True)
            loss_dp = hinge_discriminator_loss(projected(feats_real, condition),
                                               projected([f.detach() for f in feats_fake], condition))
            opt_p.zero_grad(set_to_none=True)
            loss_dp.backward()
            opt_p.step()
            extra["loss_d_projected"] = loss_dp.item()
        # --- discriminator
        loss_d = torch.zeros((), device=device)
        if args.patchgan:
            discriminator.requires_grad_(True)
            loss_d = gan.discriminator_loss(discriminator(torch.cat([one_hot, real], 1)),
                                            discriminator(torch.cat([one_hot, fake.detach()], 1)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        # --- generator: hinge + feature matching + L1 (+ low-frequency L1, projected heads, perceptual)
        discriminator.requires_grad_(False)
        loss_g_gan = torch.zeros((), device=device)
        loss_fm = torch.zeros((), device=device)
        if args.patchgan:
            fake_features = discriminator_features(discriminator, torch.cat([one_hot, fake], 1))
            loss_g_gan = gan.generator_loss(fake_features[-1])
        if args.patchgan and args.lambda_fm:
            with torch.no_grad():
                real_features = discriminator_features(discriminator, torch.cat([one_hot, real], 1))
            loss_fm = sum((f - r).abs().mean() for f, r in zip(fake_features[:-1], real_features[:-1])) / (
                len(fake_features) - 1)
        loss_l1 = (fake - real).abs().mean()
        loss_g = loss_g_gan + args.lambda_fm * loss_fm + args.lambda_l1 * loss_l1
        if args.lambda_l2:
            loss_l2 = (fake - real).pow(2).mean()
            loss_g = loss_g + args.lambda_l2 * loss_l2
            extra["loss_l2"] = loss_l2.item()
        loss_g = loss_g + generator_terms(args, fake, real, feats_fake, feats_real, projected, condition,
                                          perceptual_weights, extra)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        losses = {"loss_d": loss_d.item(), "loss_g_gan": loss_g_gan.item(), "loss_fm": loss_fm.item(),
                  "loss_l1": loss_l1.item(), **extra}
        run.end_step(losses, ema=(ema, generator, args.ema), epoch=run.epoch, lr=args.lr * lr_scale)
    run.finish()
    wall = run.spent()
    final = copy.deepcopy(ema or generator).float().cpu()
    metadata = {
        "task": "labels-to-image",
        "kind": "facades",  # the app's Facades tab lists it (not the Draw tab)
        "resolution": args.size,
        "data": {"path": str(args.data), "layout": "ab", "direction": args.direction, "pairs": len(pairs),
                 "files": args.files, "exclude": args.exclude, "labels": "CMP facade classes (pix2pix_demo.labels)",
                 **snap_stats},
        "training": {
            "command": run.command(),
            "steps": run.step, "batch_size": args.batch_size, "wall_time_s": round(wall, 1),
            "budget_clock": args.budget_clock, "hardware": harness.hardware_description(device),
            "torch": torch.__version__, "gan_loss": "hinge", "lambda_fm": args.lambda_fm, "lambda_l1": args.lambda_l1,
            **({"lambda_l2": args.lambda_l2} if args.lambda_l2 else {}),
            "discriminator": dataclasses.asdict(d_config), "ema": args.ema, "init_from": args.init_from,
            **feature_loss_options(args),
        },
        "metrics": {},
    }
    metadata.update(harness.carried_settings(args.init_from))  # the label of the model it fine-tunes
    result = run.export(final, Path(args.out) / args.name, metadata, dtype=getattr(torch, args.export_dtype))
    print(f"Exported {result} after {run.step} steps, {wall / 60:.1f} min.")
    return result


def init_from(args, generator, ema, discriminator, projected) -> None:
    """--init-from: load the networks (never the optimisers, step or clock) of a checkpoint.pt, or G from an
    exported model folder; refuse another architecture, naming the options that differ."""
    path = Path(args.init_from)
    if path.is_file():
        state = torch.load(path, map_location="cpu", weights_only=True)
        changed = harness.architecture_changes(state.get("args", {}), args,
                                               [o for o in ARCHITECTURE_OPTIONS if o not in WEIGHTLESS_OPTIONS])
        if changed:
            raise SystemExit(f"--init-from {path}: another architecture ({'; '.join(changed)}).")
        loaded = []
        for name, module in (("generator", generator), ("ema", ema), ("discriminator", discriminator),
                             ("projected", projected)):
            if module is not None and name in state:
                module.load_state_dict(state[name])
                loaded.append(name)
        if ema is not None and "ema" not in state:
            ema.load_state_dict(generator.state_dict())
        print(f"Initialised {', '.join(loaded)} from {path} (trained {state.get('step')} steps); a fresh schedule.")
        return
    harness.init_generator_from(path, generator, ema, ignore=WEIGHTLESS_OPTIONS)


def dataset_center(pair, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A deterministic centre crop of (indices, photo) for sample grids (short side resized to size)."""
    labels, photo = pair
    height, width = labels.shape
    scale = size / min(height, width)
    new = (max(size, round(width * scale)), max(size, round(height * scale)))
    labels_img = Image.fromarray(labels).resize(new, Image.NEAREST)
    photo_img = Image.fromarray(photo).resize(new, Image.BICUBIC)
    left, top = (new[0] - size) // 2, (new[1] - size) // 2
    box = (left, top, left + size, top + size)
    return torch.from_numpy(np.asarray(labels_img.crop(box)).astype(np.int64)), to_tensor(np.asarray(photo_img.crop(box)))


if __name__ == "__main__":
    main(get_args_parser().parse_args())
