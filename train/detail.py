"""Train the texture stage (`pix2pix_demo.models.detail`): smooth pix2pix cats in, cats with fur out.

    python -m train.detail --pairs runs/data/cats-v7 --stage1 weights/edges2cats --name cats-fur \
        --time-budget 60 --budget-clock cpu --out weights/edges2cats-fur

What it learns from (`--pairs`: a `train.data.edges` folder; its B/ pictures, cats cut out onto
white, are the real photos; the `__v1`/`__v2` edge variants are skipped): random `--crop`² crops, half
of them recoloured to another coat (`pix2pix_demo.coat.random_recolour`, the recolouring pix2pix's
`--coat` training uses). Each crop's input is one of

- **the first stage's own output** (share `--stage1-share`): `--stage1` (a pix2pix model with a coat
  input) run once on the pair's edges, told the photo's own colour, cached in runs/NAME/stage1/. Its
  shapes do not line up with the photo pixel for pixel, so these crops are unpaired;
- **the photo made smooth**: shrunk by a random factor in `--degrade` and enlarged again, a stand-in
  for the first stage's smooth shading that lines up with the photo.

Losses for the generator: `--lambda-lf` × L1 between the average-pooled output and input (`--lf-pool`
4: keep the picture: shape, shading, colour, eyes), `--lambda-pair` × L1 to the photo on the paired
crops, and the adversarial loss of an unconditional PatchGAN that compares the output with real cat
crops (it only sees texture and local structure, `--d-layers` sets its patch). Training state goes to runs/NAME/
(checkpoint.pt, log.jsonl); --resume continues after any interruption; the generator is
exported to --out (float16) at the end.
"""

from __future__ import annotations

import argparse
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pix2pix_demo.coat import coat_colour, random_recolour, recolour_photo
from pix2pix_demo.losses import GANLoss
from pix2pix_demo.models import PatchGANConfig, PatchGANDiscriminator
from pix2pix_demo.models.detail import DetailConfig, DetailGenerator
from train import harness
from pix2pix_demo.threads import use_threads

ARCHITECTURE_OPTIONS = ("channels", "blocks", "noise_channels", "d_channels", "d_layers", "spectral_norm")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--pairs", type=Path, required=True, help="a make_edges_dataset folder (A/ edges, B/ photos)")
    data.add_argument("--stage1", type=Path, default=None,
                      help="the pix2pix model whose outputs the stage refines (its outputs on A/ are inputs)")
    data.add_argument("--stage1-share", type=float, default=0.5, help="share of crops whose input is --stage1's output")
    data.add_argument("--degrade", type=float, nargs=2, default=(2.0, 4.0), metavar=("MIN", "MAX"),
                      help="the photo made smooth: shrunk by a factor in this range, enlarged again")
    data.add_argument("--recolour", type=float, default=0.5, help="share of crops recoloured to another coat")
    data.add_argument("--limit", type=int, default=None, help="use only this many photos (smoke tests)")
    run = p.add_argument_group("run")
    run.add_argument("--name", default="detail")
    run.add_argument("--out", type=Path, default=None, help="export the generator here at the end")
    run.add_argument("--runs", type=Path, default=Path("runs"))
    harness.add_run_arguments(run, log_every=25, checkpoint_every=100)
    model = p.add_argument_group("model and losses")
    model.add_argument("--crop", type=int, default=128)
    model.add_argument("--batch-size", type=int, default=8)
    model.add_argument("--channels", type=int, default=32)
    model.add_argument("--blocks", type=int, default=5)
    model.add_argument("--noise-channels", type=int, default=1)
    model.add_argument("--lr", type=float, default=2e-4)
    model.add_argument("--lr-d", type=float, default=2e-4)
    model.add_argument("--gan-loss", choices=("vanilla", "lsgan", "hinge"), default="hinge")
    model.add_argument("--lambda-adv", type=float, default=1.0)
    model.add_argument("--lambda-lf", type=float, default=20.0, help="L1 between the pooled output and input")
    model.add_argument("--lf-pool", type=int, default=4,
                       help="average-pooling factor of that loss: structures smaller than this may change")
    model.add_argument("--lambda-pair", type=float, default=2.0, help="L1 to the photo on the paired crops")
    model.add_argument("--lambda-style", type=float, default=0.0,
                       help="style loss on the paired crops: Gram matrices of fixed random conv features (0 = off)")
    model.add_argument("--d-channels", type=int, default=32)
    model.add_argument("--d-layers", type=int, default=3, help="PatchGAN layers (2: 34², 3: 70² patches)")
    model.add_argument("--spectral-norm", action=argparse.BooleanOptionalAction, default=True)
    return p


# ---------------------------------------------------------------- data


def photo_names(pairs: Path) -> list[str]:
    """The B/ pictures of a make_edges_dataset folder, without the edge variants (same photo)."""
    folder = pairs / "B"
    if not folder.is_dir():
        raise SystemExit(f"{pairs} has no B/ folder of photos (make it with python -m train.data.edges).")
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg") and "__v" not in p.stem)
    if not names:
        raise SystemExit(f"No photos in {folder}.")
    return names


def stage1_outputs(model_dir: Path, pairs: Path, names: list[str], cache: Path) -> None:
    """Run the first stage on every pair's edges, told the photo's own coat colour; cached PNGs."""
    from pix2pix_demo.pipelines import Pix2PixPipeline

    cache.mkdir(parents=True, exist_ok=True)
    missing = [name for name in names if not (cache / name).is_file()]
    if not missing:
        return
    pipe = Pix2PixPipeline.from_pretrained(model_dir)
    print(f"First stage on {len(missing)} edge pictures -> {cache}", flush=True)
    for name in missing:
        photo = np.asarray(Image.open(pairs / "B" / name).convert("RGB"))
        coat = [float(v) for v in coat_colour(photo)] if pipe.coats else None
        pipe(Image.open(pairs / "A" / name), coat=coat, keep_input_size=True).save(cache / name)


def load_pictures(folder: Path, names: list[str]) -> np.ndarray:
    return np.stack([np.asarray(Image.open(folder / name).convert("RGB")) for name in names])


def degrade(crop: np.ndarray, factor: float) -> np.ndarray:
    """Shrink by `factor`, enlarge back (bicubic): the photo without its fine texture."""
    side = crop.shape[0]
    small = Image.fromarray(crop).resize((max(2, round(side / factor)),) * 2, Image.BILINEAR)
    return np.asarray(small.resize((side, side), Image.BICUBIC))


def as_tensor(batch: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(batch).astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1


def make_batch(photos: np.ndarray, stage1: np.ndarray | None, args, rng: np.random.Generator):
    """(inputs, photos, paired mask): crops that are not mostly white, flipped and recoloured at random."""
    inputs, reals, paired = [], [], []
    side = photos.shape[1]
    while len(reals) < args.batch_size:
        index = int(rng.integers(len(photos)))
        for _ in range(5):  # prefer crops with some cat in them
            top, left = (int(rng.integers(0, side - args.crop + 1)) for _ in range(2))
            real = photos[index, top:top + args.crop, left:left + args.crop]
            if (real.min(axis=2) < 230).mean() > 0.25:
                break
        use_stage1 = stage1 is not None and rng.random() < args.stage1_share
        source = stage1[index, top:top + args.crop, left:left + args.crop] if use_stage1 else None
        if rng.random() < 0.5:
            real = real[:, ::-1]
            source = source[:, ::-1] if source is not None else None
        if rng.random() < args.recolour:
            params = random_recolour(rng, keep=0.0)
            real = recolour_photo(np.ascontiguousarray(real), **params)
            source = recolour_photo(np.ascontiguousarray(source), **params) if source is not None else None
        real = np.ascontiguousarray(real)
        inputs.append(np.ascontiguousarray(source) if source is not None
                      else degrade(real, float(rng.uniform(*args.degrade))))
        reals.append(real)
        paired.append(source is None)
    return as_tensor(inputs), as_tensor(reals), torch.tensor(paired)


def low_pass(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    return F.avg_pool2d(x, factor)


class RandomFeatures(torch.nn.Module):
    """A fixed, randomly initialised 3-level conv net (no weights to download: none exist offline). The Gram
    matrices of even random features describe a texture well (Ustyuzhaninov et al., ICLR 2017), so they
    stand in for VGG's in a style loss (Gatys et al.; EnhanceNet's texture loss for super-resolution)."""

    def __init__(self, channels: int = 64, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.convs = torch.nn.ModuleList()
        inputs = 3
        for _ in range(3):
            conv = torch.nn.Conv2d(inputs, channels, 5, padding=2)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / (inputs * 25) ** 0.5)
                conv.bias.zero_()
            conv.requires_grad_(False)
            self.convs.append(conv)
            inputs = channels

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for index, conv in enumerate(self.convs):
            x = F.relu(conv(x if index == 0 else F.avg_pool2d(x, 2)))
            features.append(x)
        return features


def gram(features: torch.Tensor) -> torch.Tensor:
    """Each picture's channel covariance (the Gram matrix of mean-free features: texture, not colour)."""
    n, c, h, w = features.shape
    flat = features.reshape(n, c, h * w)
    flat = flat - flat.mean(dim=2, keepdim=True)
    return flat @ flat.transpose(1, 2) / (h * w)


def style_loss(extractor: RandomFeatures, fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of the Gram matrices of each level's random features, picture by picture."""
    with torch.no_grad():
        real_features = extractor(real)
    return sum(F.mse_loss(gram(f), gram(r)) for f, r in zip(extractor(fake), real_features))


# ---------------------------------------------------------------- training


def main(args) -> Path | None:
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    if args.steps is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps or --time-budget.")
    if args.crop % args.lf_pool or args.crop % 2:
        raise SystemExit(f"--crop {args.crop} must be even and a multiple of --lf-pool {args.lf_pool}.")
    names = photo_names(args.pairs)[:args.limit]
    run_dir = args.runs / args.name
    run_dir.mkdir(parents=True, exist_ok=True)
    photos = load_pictures(args.pairs / "B", names)
    if photos.shape[1] < args.crop or photos.shape[2] < args.crop:
        raise SystemExit(f"The photos ({photos.shape[2]}×{photos.shape[1]}) are smaller than --crop {args.crop}.")
    stage1 = None
    if args.stage1 is not None:
        stage1_outputs(args.stage1, args.pairs, names, run_dir / "stage1")
        stage1 = load_pictures(run_dir / "stage1", names)
    torch.manual_seed(args.seed)
    config = DetailConfig(channels=args.channels, num_blocks=args.blocks, noise_channels=args.noise_channels)
    generator = DetailGenerator(config)
    d_config = PatchGANConfig(in_channels=3, base_channels=args.d_channels, n_layers=args.d_layers,
                              norm="none" if args.spectral_norm else "instance", spectral_norm=args.spectral_norm)
    discriminator = PatchGANDiscriminator(d_config)
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=args.lr_d, betas=(0.5, 0.999))
    gan = GANLoss(args.gan_loss)
    extractor = RandomFeatures() if args.lambda_style else None
    run = harness.Run(args, "train.detail", exports=[args.out] if args.out else [], time_key="spent_s")
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d)
    run.resume(ARCHITECTURE_OPTIONS)
    threads = torch.get_num_threads()
    print(f"{len(names)} photos{' + first-stage outputs' if stage1 is not None else ''}; G "
          f"{harness.count(generator) / 1e6:.3f} M params, D {harness.count(discriminator) / 1e6:.2f} M "
          f"({d_config.receptive_field}² patches).", flush=True)
    run.start(bar=False)
    generator.train()
    discriminator.train()
    while not run.done():
        rng = np.random.default_rng((args.seed, run.step))
        inputs, reals, paired = make_batch(photos, stage1, args, rng)
        fake = generator(inputs)
        loss_d = gan.discriminator_loss(discriminator(reals), discriminator(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        adv = gan.generator_loss(discriminator(fake))
        lf = F.l1_loss(low_pass(fake, args.lf_pool), low_pass(inputs, args.lf_pool))
        pair = F.l1_loss(fake[paired], reals[paired]) if paired.any() else fake.new_zeros(())
        loss_g = args.lambda_adv * adv + args.lambda_lf * lf + args.lambda_pair * pair
        style = fake.new_zeros(())
        if args.lambda_style and paired.any():
            style = style_loss(extractor, fake[paired], reals[paired])
            loss_g = loss_g + args.lambda_style * style
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        run.advance()
        if run.due(args.log_every, first=True):
            record = {"step": run.step, "d": loss_d.item(), "adv": adv.item(), "lf": lf.item(), "pair": pair.item(),
                      **({"style": style.item()} if args.lambda_style else {}),
                      "spent_s": round(run.spent(), 1)}
            run.write_log({k: round(v, 5) if isinstance(v, float) else v for k, v in record.items()}, echo=True)
        run.after_step()
    run.finish()
    if args.out is None:
        return None
    generator.eval()
    metadata = {
        "task": "texture", "label": "texture stage (fur)", "resolution": 256,
        "data": {"pairs": str(args.pairs), "photos": len(names), "stage1": str(args.stage1) if args.stage1 else None,
                 "stage1_share": args.stage1_share, "degrade": list(args.degrade), "recolour": args.recolour},
        "training": {"command": run.command(),
                     "steps": run.step, "batch_size": args.batch_size, "crop": args.crop,
                     "spent_s": round(run.spent(), 1), "budget_clock": args.budget_clock, "threads": threads,
                     "torch": torch.__version__, "hardware": f"{platform.machine()} CPU", "gan_loss": args.gan_loss,
                     "lambda_adv": args.lambda_adv, "lambda_lf": args.lambda_lf, "lf_pool": args.lf_pool,
                     "lambda_style": args.lambda_style,
                     "lambda_pair": args.lambda_pair,
                     "lr": args.lr, "lr_d": args.lr_d, "discriminator": asdict(d_config)},
        "metrics": {}}
    out = run.export(generator, args.out, metadata, dtype=torch.float16)
    print(f"Exported {out} after {run.step} steps ({run.spent() / 60:.1f} min on the {args.budget_clock} clock).")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
