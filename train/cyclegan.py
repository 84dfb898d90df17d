"""Train a CycleGAN (Zhu et al., ICCV 2017) on two unaligned folders of photos.

    python -m train.cyclegan --a DIR [DIR ...] --b DIR [DIR ...] --domains cat,bengal \
        [--b-glob 'Bengal_*'] [--exclude heldout.txt] [--size 128] [--steps N | --epochs E | --time-budget MIN]

Two ResNet generators (pix2pix_demo.models.resnet: G maps A -> B, F maps B -> A), two unconditional
PatchGAN discriminators (D_B judges B photos and G's outputs, D_A judges A photos and F's), and the
paper's objective: the GAN losses (LSGAN by default), the cycle loss λ·(‖F(G(a)) − a‖₁ + ‖G(F(b)) − b‖₁)
with λ = 10, and the identity loss 0.5·λ·(‖G(b) − b‖₁ + ‖F(a) − a‖₁), which keeps colours where
nothing needs to change. The discriminators are updated on a pool of the last 50 generated images
(Shrivastava et al. 2017), not only the newest one. Adam(2e-4, β₁ 0.5); the learning rate stays,
then decays linearly to 0 over the second half of the run (--decay-start).

The pretrained-feature recipe (train.harness.pretrained, issue 26) plugs in as in train.pix2pix and
train.srgan: --d-features lite0 adds, per domain, unconditional projected heads over a frozen
EfficientNet-Lite0 (hinge loss, DiffAugment; --no-patchgan judges with them alone), and
--lambda-perceptual puts the perceptual distance on the cycle (F(G(a)) vs a, G(F(b)) vs b: unpaired
translation has no other pairs). --init A2B B2A starts both generators from exported models (a
fine-tune; the discriminators start fresh).

Images are random crops: each photo is resized so its short side is a random value in
[size, size·jitter], cropped to size², and flipped half of the time. Every "epoch" visits each A
photo once, with a random B photo beside it (the folders need not be the same size).

Training state goes to runs/NAME/ (checkpoint.pt with both generators, both discriminators, their
optimisers, the image pools and the RNG; log.jsonl; samples/: rows a | G(a) | F(G(a)) and
b | F(b) | G(F(b))); --resume continues. Both directions are exported as model folders loadable by
`pix2pix_demo.load_model`: OUT/<a>2<b> and OUT/<b>2<a> for --domains a,b. Multi-GPU: torchrun, as
train.pix2pix (the two generators run as one DistributedDataParallel module, the two discriminators
as another).
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import random
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from pix2pix_demo.data import read_name_list, to_tensor
from pix2pix_demo.imaging import ImageError, open_image, to_rgb
from pix2pix_demo.losses import GAN_LOSSES, GANLoss, gradient_penalty
from pix2pix_demo.models import PatchGANConfig, PatchGANDiscriminator
from pix2pix_demo.models.resnet import ResnetConfig, ResnetGenerator
from pix2pix_demo.features import perceptual_loss
from pix2pix_demo.hub import ModelLoadError, load_model
from pix2pix_demo.projected import hinge_discriminator_loss
from pix2pix_demo.threads import use_threads
from train import harness
from train.harness import pretrained
from train.harness.pretrained import (feature_loss_options, feature_pass, generator_terms, make_feature_losses,
                                      make_projected_heads, parse_weights)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
ARCHITECTURE_OPTIONS = ("base_channels", "num_blocks", "upsampling", "norm", "d_layers", "d_channels", "d_norm",
                        "ema", "patchgan", "d_features")  # a checkpoint without the last two had the PatchGANs only


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--a", nargs="+", required=True, metavar="DIR", help="folder(s) of domain A photos")
    data.add_argument("--b", nargs="+", required=True, metavar="DIR", help="folder(s) of domain B photos")
    data.add_argument("--a-glob", default="*", help="file-name pattern of the A photos")
    data.add_argument("--b-glob", default="*", help="file-name pattern of the B photos, e.g. 'Bengal_*'")
    data.add_argument("--a-files", help="text file of A names to train on (others are skipped)")
    data.add_argument("--b-files", help="text file of B names to train on (others are skipped)")
    data.add_argument("--exclude", action="append", default=[], metavar="FILE",
                      help="text file of names never to train on, in either domain (a held-out list; repeatable)")
    data.add_argument("--domains", default="a,b", help="the two domains' names: exports OUT/<a>2<b> and OUT/<b>2<a>")
    data.add_argument("--jitter", type=float, default=1.12, help="random resize factor before cropping (286/256)")
    data.add_argument("--limit", type=int, default=None, help="use only this many photos per domain (smoke tests)")
    run = p.add_argument_group("run")
    run.add_argument("--name", default="cyclegan", help="runs/NAME holds the checkpoint, log and samples")
    run.add_argument("--out", default="weights", help="export folder for the two generators")
    run.add_argument("--runs", default="runs")
    run.add_argument("--size", type=int, default=128, help="training crop size")
    harness.add_run_arguments(run, log_every=20, checkpoint_every=250, sample_every=250,
                              device=True, export_dtypes=("float32", "float16"))
    run.add_argument("--epochs", type=float, default=None, help="passes over the A photos (instead of --steps)")
    run.add_argument("--batch-size", type=int, default=1)
    run.add_argument("--workers", type=int, default=0, help="data-loading processes")
    model = p.add_argument_group("networks")
    model.add_argument("--base-channels", type=int, default=64, help="ngf")
    model.add_argument("--num-blocks", type=int, default=9, help="residual blocks (paper: 9 at 256², 6 at 128²)")
    model.add_argument("--upsampling", choices=("transpose", "resize"), default="transpose")
    model.add_argument("--norm", choices=("instance", "batch", "none"), default="instance")
    model.add_argument("--d-layers", type=int, default=3, help="PatchGAN n_layers (3 = 70×70 patches)")
    model.add_argument("--d-channels", type=int, default=64, help="ndf")
    model.add_argument("--d-norm", choices=("instance", "batch", "none"), default="instance")
    model.add_argument("--patchgan", action=argparse.BooleanOptionalAction, default=True,
                       help="the two PatchGANs; --no-patchgan with --d-features lite0 judges with the projected heads only")
    model.add_argument("--init", nargs=2, type=Path, default=None, metavar=("A2B_DIR", "B2A_DIR"),
                       help="start G and F from these exported models (their architecture; the Ds start fresh)")
    loss = p.add_argument_group("losses and optimiser")
    loss.add_argument("--gan-loss", choices=GAN_LOSSES, default="lsgan")
    loss.add_argument("--lambda-cycle", type=float, default=10.0, help="λ of the cycle loss")
    loss.add_argument("--lambda-identity", type=float, default=0.5,
                      help="identity loss weight as a fraction of λ (0.5: 5 with λ = 10; 0 = off)")
    loss.add_argument("--lambda-gp", type=float, default=10.0, help="gradient penalty weight (wgan-gp)")
    loss.add_argument("--pool-size", type=int, default=50, help="generated images kept for D (0 = newest only)")
    loss.add_argument("--lr", type=float, default=2e-4)
    loss.add_argument("--lr-d", type=float, default=None, help="discriminators' learning rate (default --lr)")
    loss.add_argument("--beta1", type=float, default=0.5)
    loss.add_argument("--decay-start", type=float, default=0.5, help="linear LR decay to 0 after this fraction")
    loss.add_argument("--ema", type=float, default=0.0, help="export an EMA of the generators' weights (0 = off)")
    pretrained.add_arguments(p)  # --d-features, --lambda-perceptual (on the cycle here), --diffaugment, ...
    return p


# --- data -------------------------------------------------------------------------------------------

def list_photos(folders, pattern: str = "*", names: set[str] | None = None, excluded: set[str] = frozenset(),
                limit: int | None = None) -> list[Path]:
    """Image files matching `pattern` in `folders`, sorted; a name list keeps (or `excluded` drops) files
    by name with or without the suffix, as the held-out lists write them."""
    files = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"Data folder {folder} does not exist.")
        for path in sorted(folder.glob(pattern)):
            if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
                continue
            keys = {path.name, path.stem}
            if (names is None or keys & names) and not keys & excluded:
                files.append(path)
    return files[:limit] if limit else files


def load_photos(files, short_side: int) -> list[np.ndarray]:
    """RGB uint8 arrays, shrunk so the short side is at most `short_side` (augmentation never needs more).
    Unreadable files are skipped with a warning."""
    photos = []
    for path in files:
        try:
            image = to_rgb(open_image(path))
        except ImageError as error:
            print(f"Skipping {path}: {error}")
            continue
        scale = short_side / min(image.size)
        if scale < 1:
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                 Image.LANCZOS)
        photos.append(np.asarray(image))
    return photos


def random_crop(array: np.ndarray, size: int, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Resize so the short side is a random value in [size, size·jitter], crop size², flip half of the time."""
    height, width = array.shape[:2]
    short = size * rng.uniform(1.0, jitter) if jitter > 1 else size
    scale = short / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    image = Image.fromarray(array).resize((new_w, new_h), Image.BICUBIC)
    left, top = int(rng.integers(0, new_w - size + 1)), int(rng.integers(0, new_h - size + 1))
    crop = np.asarray(image.crop((left, top, left + size, top + size)))
    return crop[:, ::-1] if rng.random() < 0.5 else crop


def center_crop(array: np.ndarray, size: int) -> torch.Tensor:
    """A deterministic centre crop (short side resized to size) as a tensor, for sample grids."""
    image = Image.fromarray(array)
    scale = size / min(image.size)
    image = image.resize((max(size, round(image.width * scale)), max(size, round(image.height * scale))), Image.BICUBIC)
    left, top = (image.width - size) // 2, (image.height - size) // 2
    return to_tensor(np.asarray(image.crop((left, top, left + size, top + size))))


class UnpairedDataset(torch.utils.data.Dataset):
    """Item i: a random crop of A photo i and of a random B photo (unaligned), each (3, size, size) in [-1, 1].
    The randomness depends on (seed, epoch, index) only, so a resumed run sees the same crops."""

    def __init__(self, photos_a, photos_b, size: int, jitter: float = 1.12, seed: int = 0):
        self.photos_a, self.photos_b = photos_a, photos_b
        self.size, self.jitter, self.seed = size, jitter, seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.photos_a)

    def __getitem__(self, index: int):
        rng = np.random.default_rng((self.seed, self.epoch, index))
        b = self.photos_b[int(rng.integers(len(self.photos_b)))]
        return (to_tensor(random_crop(self.photos_a[index], self.size, self.jitter, rng)),
                to_tensor(random_crop(b, self.size, self.jitter, rng)))


# --- networks and the objective ---------------------------------------------------------------------

class ImagePool:
    """The last `size` generated images (Shrivastava et al. 2017, as in CycleGAN): each new image is
    returned as is or, half of the time once the pool is full, swapped for a stored older one."""

    def __init__(self, size: int = 50):
        self.size = size
        self.images: list[torch.Tensor] = []

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif random.random() < 0.5:
                index = random.randrange(self.size)
                out.append(self.images[index].clone())
                self.images[index] = image.clone()
            else:
                out.append(image)
        return torch.cat(out)

    def state(self) -> torch.Tensor | None:
        return torch.cat(self.images).half().cpu() if self.images else None

    def load(self, state: torch.Tensor | None, device) -> None:
        self.images = [] if state is None else [image[None].float().to(device) for image in state]


class CycleGenerators(nn.Module):
    """G: A -> B and F: B -> A, run together (one DDP module): the translations, the cycles and, when
    asked, the identity mappings G(b) and F(a)."""

    def __init__(self, config: ResnetConfig):
        super().__init__()
        self.a2b, self.b2a = ResnetGenerator(config), ResnetGenerator(config)

    def forward(self, real_a, real_b, identity: bool = True) -> dict[str, torch.Tensor]:
        fake_b, fake_a = self.a2b(real_a), self.b2a(real_b)
        out = {"fake_b": fake_b, "fake_a": fake_a, "rec_a": self.b2a(fake_b), "rec_b": self.a2b(fake_a)}
        if identity:
            out["idt_b"], out["idt_a"] = self.a2b(real_b), self.b2a(real_a)
        return out


class CycleDiscriminators(nn.Module):
    """D_A (judges A photos) and D_B (judges B photos), run together."""

    def __init__(self, config: PatchGANConfig):
        super().__init__()
        self.a, self.b = PatchGANDiscriminator(config), PatchGANDiscriminator(config)

    def forward(self, images_a, images_b):
        return self.a(images_a), self.b(images_b)


def generator_config(args) -> ResnetConfig:
    return ResnetConfig(base_channels=args.base_channels, num_blocks=args.num_blocks, upsampling=args.upsampling,
                        norm=args.norm)


def discriminator_config(args) -> PatchGANConfig:
    return PatchGANConfig(in_channels=3, base_channels=args.d_channels, n_layers=args.d_layers, norm=args.d_norm)


def parse_domains(text: str) -> tuple[str, str]:
    names = [part.strip() for part in text.split(",")]
    if len(names) != 2 or not all(names) or names[0] == names[1]:
        raise SystemExit(f"--domains expects two different names such as cat,bengal; got {text!r}")
    for name in names:
        if not all(ch.isalnum() or ch in "-_" for ch in name):
            raise SystemExit(f"--domains: {name!r} must be letters, digits, '-' or '_' (it names a folder)")
    return names[0], names[1]


def save_sample_grid(path: Path, generators: CycleGenerators, inputs_a, inputs_b):
    """Rows a | G(a) | F(G(a)), then b | F(b) | G(F(b))."""
    with harness.evaluating(generators):
        out = generators(inputs_a, inputs_b, identity=False)
    rows = [torch.cat(images, dim=2) for images in zip(inputs_a.cpu(), out["fake_b"].cpu(), out["rec_a"].cpu())]
    rows += [torch.cat(images, dim=2) for images in zip(inputs_b.cpu(), out["fake_a"].cpu(), out["rec_b"].cpu())]
    harness.save_grid(path, rows)


def main(args) -> tuple[Path, Path] | None:
    device, rank, world_size = harness.setup_distributed(args.device)
    is_main = rank == 0
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    torch.manual_seed(args.seed + rank)
    random.seed(args.seed + rank)
    domain_a, domain_b = parse_domains(args.domains)
    export_ab, export_ba = Path(args.out) / f"{domain_a}2{domain_b}", Path(args.out) / f"{domain_b}2{domain_a}"
    run = harness.Run(args, "train.cyclegan", exports=[export_ab, export_ba], is_main=is_main, python_rng=True)
    if args.steps is None and args.epochs is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps, --epochs or --time-budget.")

    excluded = set().union(*(read_name_list(path) for path in args.exclude)) if args.exclude else set()
    try:
        files_a = list_photos(args.a, args.a_glob, read_name_list(args.a_files) if args.a_files else None,
                              excluded, args.limit)
        files_b = list_photos(args.b, args.b_glob, read_name_list(args.b_files) if args.b_files else None,
                              excluded, args.limit)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    short_side = math.ceil(args.size * max(args.jitter, 1.0))
    photos_a, photos_b = load_photos(files_a, short_side), load_photos(files_b, short_side)
    if not photos_a or not photos_b:
        raise SystemExit(f"No photos: {len(photos_a)} in A ({', '.join(args.a)}, {args.a_glob}), {len(photos_b)} in "
                         f"B ({', '.join(args.b)}, {args.b_glob}).")
    initial = None
    if args.init is not None:  # both generators' architecture from the exported pair (also when resuming)
        try:
            initial = [load_model(folder) for folder in args.init]
        except ModelLoadError as error:
            raise SystemExit(f"--init: {error}") from None
        if not all(isinstance(model, ResnetGenerator) for model in initial):
            raise SystemExit(f"--init {' '.join(map(str, args.init))}: both must be ResNet generators (a CycleGAN pair).")
        if initial[0].config != initial[1].config:
            raise SystemExit("--init: the two models have different architectures.")
        config = initial[0].config
        args.base_channels, args.num_blocks, args.upsampling, args.norm = (config.base_channels, config.num_blocks,
                                                                           config.upsampling, config.norm)
    try:
        g_config, d_config = generator_config(args), discriminator_config(args)
    except ValueError as error:
        raise SystemExit(f"Network options: {error}") from None
    if args.size % g_config.multiple or args.size < 2 * g_config.multiple:
        raise SystemExit(f"--size {args.size} must be a multiple of {g_config.multiple} and at least {2 * g_config.multiple}.")

    dataset = UnpairedDataset(photos_a, photos_b, args.size, args.jitter, args.seed)
    sampler = (torch.utils.data.distributed.DistributedSampler(dataset, world_size, rank, seed=args.seed)
               if world_size > 1 else torch.utils.data.RandomSampler(dataset))
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler,
                                         drop_last=len(dataset) >= args.batch_size, num_workers=args.workers,
                                         pin_memory=device.type == "cuda")
    steps_per_epoch = max(1, len(loader))
    run.total_steps = args.steps if args.steps is not None else (
        math.ceil(args.epochs * steps_per_epoch) if args.epochs is not None else None)

    generators = CycleGenerators(g_config).to(device)
    if initial is not None and not args.resume:
        generators.a2b.load_state_dict(initial[0].float().state_dict())
        generators.b2a.load_state_dict(initial[1].float().state_dict())
    discriminators = CycleDiscriminators(d_config).to(device) if args.patchgan else None
    # the pretrained-feature recipe: frozen Lite0 features; projected heads for B (judge G's outputs) and
    # for A (judge F's), unconditional; None when not asked for
    features, heads_b, opt_pb = make_feature_losses(args, device, condition_channels=0)
    heads_a, opt_pa = make_projected_heads(args, device, 0, seed_offset=1) if heads_b is not None else (None, None)
    perceptual_weights = parse_weights(args.perceptual_weights)
    ema = copy.deepcopy(generators).eval().requires_grad_(False) if args.ema > 0 else None
    opt_g = torch.optim.Adam(generators.parameters(), lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = (torch.optim.Adam(discriminators.parameters(), lr=args.lr_d or args.lr, betas=(args.beta1, 0.999))
             if discriminators is not None else None)
    gan = GANLoss(args.gan_loss)
    pool_a, pool_b = ImagePool(args.pool_size), ImagePool(args.pool_size)
    use_identity = args.lambda_identity > 0

    run.track(generators=generators, discriminators=discriminators, opt_g=opt_g, opt_d=opt_d, ema=ema,
              heads_a=heads_a, heads_b=heads_b, opt_pa=opt_pa, opt_pb=opt_pb)
    run.extra_state = lambda: {"pool_a": pool_a.state(), "pool_b": pool_b.state()}
    no_heads = ["d_features (the checkpoint has no projected heads)"]
    state = run.resume(ARCHITECTURE_OPTIONS,
                       changes=lambda state: no_heads if heads_b is not None and "heads_b" not in state else [])
    if state is not None:
        pool_a.load(state.get("pool_a"), device)
        pool_b.load(state.get("pool_b"), device)
    g_plain, d_plain = generators, discriminators
    if world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        generators = DistributedDataParallel(generators, device_ids=ids)
        if discriminators is not None:
            discriminators = DistributedDataParallel(discriminators, device_ids=ids)

    # two photos of each domain, spread over the folders, for the sample grids
    pick = lambda photos: [photos[round(i * (len(photos) - 1) / 2)] for i in (0, 1)]  # noqa: E731
    samples_a = torch.stack([center_crop(p, args.size) for p in pick(photos_a)]).to(device)
    samples_b = torch.stack([center_crop(p, args.size) for p in pick(photos_b)]).to(device)
    if world_size > 1 and heads_b is not None:
        raise SystemExit("--d-features with torchrun is not supported in train.cyclegan yet (one process).")
    if is_main:
        judges = ([f"each PatchGAN {harness.count(d_plain.a) / 1e6:.2f} M ({d_config.receptive_field}×"
                   f"{d_config.receptive_field} patches)"] if d_plain is not None else [])
        if heads_b is not None:
            judges.append(f"projected heads {harness.count(heads_b) / 1e6:.2f} M per domain over frozen Lite0 features")
        if args.lambda_perceptual:
            judges.append(f"{args.lambda_perceptual} × perceptual cycle loss (frozen Lite0 features)")
        print(f"A ({domain_a}): {len(photos_a)} photos, B ({domain_b}): {len(photos_b)} photos; {world_size} process(es) "
              f"on {device}; each G {harness.count(g_plain.a2b) / 1e6:.2f} M params; {'; '.join(judges)}"
              f"{'; from ' + ' and '.join(map(str, args.init)) if args.init else ''}.")
    key_g, key_d = ("loss_gan_ab", "loss_d_b") if d_plain is not None else ("loss_g_projected_b", "loss_dp_b")
    run.start(sample=lambda path: save_sample_grid(path, ema or g_plain, samples_a, samples_b),
              postfix=lambda losses: dict(cyc=f"{losses['loss_cycle']:.3f}", g=f"{losses[key_g]:.3f}",
                                          d=f"{losses[key_d]:.3f}"))
    generators.train()
    if discriminators is not None:
        discriminators.train()
    for real_a, real_b in run.batches(loader, dataset, sampler, steps_per_epoch):
        lr_scale = harness.linear_decay(run.progress(), args.decay_start)
        for group in opt_g.param_groups:
            group["lr"] = args.lr * lr_scale
        for optimizer in (opt_d, opt_pa, opt_pb):
            if optimizer is not None:
                harness.set_lr(optimizer, (args.lr_projected if optimizer is not opt_d and args.lr_projected
                                           else args.lr_d or args.lr) * lr_scale)
        real_a, real_b = real_a.to(device, non_blocking=True), real_b.to(device, non_blocking=True)

        # --- generators: fool both Ds (raw modules, frozen, so DDP does not sync them here), cycle, identity
        if d_plain is not None:
            d_plain.requires_grad_(False)
        out = generators(real_a, real_b, identity=use_identity)
        zero = torch.zeros((), device=device)
        loss_gan_ab = gan.generator_loss(d_plain.b(out["fake_b"])) if d_plain is not None else zero
        loss_gan_ba = gan.generator_loss(d_plain.a(out["fake_a"])) if d_plain is not None else zero
        loss_cycle = (out["rec_a"] - real_a).abs().mean() + (out["rec_b"] - real_b).abs().mean()
        loss_identity = ((out["idt_b"] - real_b).abs().mean() + (out["idt_a"] - real_a).abs().mean()
                         if use_identity else zero)
        loss_g = (loss_gan_ab + loss_gan_ba + args.lambda_cycle * loss_cycle
                  + args.lambda_cycle * args.lambda_identity * loss_identity)
        extra = {}
        if heads_b is not None:  # per domain: one DiffAugment draw for a real photo and the output, the heads
            for name, heads, opt_p, real, fake in (("b", heads_b, opt_pb, real_b, out["fake_b"]),
                                                   ("a", heads_a, opt_pa, real_a, out["fake_a"])):
                feats_real, feats_fake, _ = feature_pass(features, real, real, fake, args.diffaugment)
                heads.requires_grad_(True)  # learn first, on the same features (as train.srgan)
                loss_dp = hinge_discriminator_loss(heads(feats_real), heads([f.detach() for f in feats_fake]))
                opt_p.zero_grad(set_to_none=True)
                loss_dp.backward()
                opt_p.step()
                extra[f"loss_dp_{name}"] = loss_dp.item()
                terms = {}
                loss_g = loss_g + generator_terms(args, fake, real, feats_fake, feats_real, heads, None,
                                                  perceptual_weights, terms, paired=False)
                extra[f"loss_g_projected_{name}"] = terms["loss_g_projected"]
        if args.lambda_perceptual:  # the cycle's pairs: the round trip should look like the photo to the network
            loss_pc = sum(perceptual_loss(features(rec), [f.detach() for f in features(real)], perceptual_weights)
                          for rec, real in ((out["rec_a"], real_a), (out["rec_b"], real_b)))
            loss_g = loss_g + args.lambda_perceptual * loss_pc
            extra["loss_perceptual_cycle"] = loss_pc.item()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()

        # --- discriminators: real photos vs generated ones drawn from the pools (one call for both Ds)
        losses = {}
        if d_plain is not None:
            d_plain.requires_grad_(True)
            fake_a, fake_b = pool_a.query(out["fake_a"]), pool_b.query(out["fake_b"])
            n = real_a.shape[0]
            scores_a, scores_b = discriminators(torch.cat([real_a, fake_a]), torch.cat([real_b, fake_b]))
            loss_d_a = gan.discriminator_loss(scores_a[:n], scores_a[n:])
            loss_d_b = gan.discriminator_loss(scores_b[:n], scores_b[n:])
            if args.gan_loss == "wgan-gp":
                loss_d_a = loss_d_a + gradient_penalty(d_plain.a, real_a, fake_a, args.lambda_gp)
                loss_d_b = loss_d_b + gradient_penalty(d_plain.b, real_b, fake_b, args.lambda_gp)
            # the paper halves D's objective (D learns slower than G); GANLoss's lsgan/vanilla already do
            opt_d.zero_grad(set_to_none=True)
            (loss_d_a + loss_d_b).backward()
            opt_d.step()
            losses = {"loss_d_a": loss_d_a.item(), "loss_d_b": loss_d_b.item()}

        losses.update({"loss_gan_ab": loss_gan_ab.item(), "loss_gan_ba": loss_gan_ba.item(),
                       "loss_cycle": loss_cycle.item(), "loss_identity": loss_identity.item(), **extra})
        run.end_step(losses, ema=(ema, g_plain, args.ema), epoch=run.epoch, lr=args.lr * lr_scale)
    run.finish()
    result = None
    if is_main:
        final = copy.deepcopy(ema or g_plain).float().cpu()
        training = {"command": run.command(),
                    "steps": run.step, "epochs": round(run.step / steps_per_epoch, 2), "batch_size": args.batch_size,
                    "world_size": world_size, "spent_s": round(run.spent(), 1), "budget_clock": args.budget_clock,
                    "hardware": harness.hardware_description(device), "torch": torch.__version__,
                    "gan_loss": args.gan_loss, "lambda_cycle": args.lambda_cycle,
                    "lambda_identity": args.lambda_identity, "pool_size": args.pool_size,
                    "discriminator": dataclasses.asdict(d_config) if args.patchgan else None, "ema": args.ema,
                    **feature_loss_options(args), **({"init": [str(f) for f in args.init]} if args.init else {})}
        data = {"a": {"domain": domain_a, "folders": [str(f) for f in args.a], "glob": args.a_glob,
                      "files": args.a_files, "photos": len(photos_a)},
                "b": {"domain": domain_b, "folders": [str(f) for f in args.b], "glob": args.b_glob,
                      "files": args.b_files, "photos": len(photos_b)},
                "exclude": args.exclude,
                # "<data set>/<folder>" of each folder, for the model card's data notes (pix2pix_demo.cards)
                "sources": [f"{Path(f).resolve().parent.name}/{Path(f).resolve().name}" for f in [*args.a, *args.b]]}
        dtype = getattr(torch, args.export_dtype)
        for network, source, target, folder, partner in ((final.a2b, domain_a, domain_b, export_ab, export_ba),
                                                          (final.b2a, domain_b, domain_a, export_ba, export_ab)):
            metadata = {"task": "image-to-image", "kind": "cyclegan",
                        "label": f"{source.capitalize()} → {target} (CycleGAN)",
                        "domains": {"source": source, "target": target}, "partner": partner.name,
                        "resolution": args.size, "data": data, "training": training, "metrics": {}}
            run.export(network, folder, metadata, dtype=dtype)
        result = (export_ab, export_ba)
        print(f"Exported {export_ab} and {export_ba} after {run.step} steps, {run.spent() / 60:.1f} min.")
    if world_size > 1:
        dist.destroy_process_group()
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
