"""Train a StarGAN: one generator that translates a photo into any of several domains.

    python -m train.stargan --name cats-stargan --size 128 --time-budget 30 --budget-clock cpu --num-threads 1 \
        --domain cat=../shared/data/cats/train --domain cat=../shared/data/cats/test \
        --domain "abyssinian=../shared/data/cats-masked/images:Abyssinian_*.jpg" \
        --domain "bengal=../shared/data/cats-masked/images:Bengal_*.jpg" \
        --exclude ../shared/data/cats/heldout.txt --exclude ../shared/data/cats-masked/heldout.txt

Each `--domain NAME=DIR[:GLOB]` adds the pictures of DIR (those matching GLOB, default all) to domain
NAME (repeat a name to give it several folders); the domains' order is the order of first mention.
`--exclude FILE` leaves out every picture a name list names (with or without extension): the held-out
sets. Each batch draws every picture's domain with equal probability, so 1760 cat photos do not drown
160 Abyssinians. Pictures are decoded once, shrunk to a short side of size·jitter, then cropped at a
random side in [size, size·jitter], resized to size and flipped half the time.

The recipe of the paper (Choi et al., CVPR 2018): D (pix2pix_demo.models.stargan.StarGANDiscriminator)
learns real/fake per patch and, on real pictures, their domain (cross-entropy); G
(StarGANGenerator: the ResNet generator + one-hot target planes) learns to fool D, to make D classify
G(x, c_trg) as c_trg, and to get x back from G(G(x, c_trg), c_org) (L1, λ_rec = 10; λ_cls = 1). The
target is drawn among the domains other than the picture's own. `--lambda-id` adds CycleGAN's identity
loss, G(x, c_org) ≈ x (not in the StarGAN paper), which keeps a photo's colours early in a short run. `--gan-loss wgan-gp --n-critic 5`
is the paper's objective; the default here is LSGAN with one D step per G step, because with a budget
of a few hundred steps five D steps per G step would leave G a fifth of them.

The pretrained-feature recipe (train.harness.pretrained, issue 26) plugs in as in train.cyclegan:
--d-features lite0 adds projected heads over a frozen EfficientNet-Lite0 told the domain (one-hot
planes): real pictures with their own domain are "real", G's outputs with their target and real
pictures with a wrong domain are "fake" (so the heads must read the domain); --no-patchgan drops the
paper's D and its classifier (the heads then carry the domain alone); --lambda-perceptual scores the
reconstruction G(G(x, c_trg), c_org) against x on the frozen features.

Not in the paper: `--judge cat` (needs --labels with masks) shows every judge (D, its domain classifier,
the projected heads) only the cat's change: the composite mask·G(x, c) + (1 − mask)·x, the output inside the
segmenter's cat pasted onto the photo's own room, and the reconstruction starts from that composite. So
recolouring the room gains the generator nothing (with whole pictures a global colour cast was the cheapest
way to look like "a photo of that domain"); --lambda-bg keeps the room of G's own output near the photo.
`--teacher recolour` (needs --labels with masks and r, g, b columns; not in the paper) distils the classical
recolour into G: for a crop x and its target coat c, `coat.recolour_coat(x, centre of c, the crop's cat
probability)` (the centre: the mean coat of c's labelled photos, as `train.eval.coat_stargan` aims its
"recolour" at) is a pseudo-paired target, and G(x, c) is pulled to it by --lambda-teacher × L1 and, with
--lambda-perceptual / --lambda-lowfreq, by the recipe's perceptual and low-frequency terms
(`pretrained.generator_terms`, paired; the reconstruction then gets no perceptual term). The teacher changes
the whole coat and only the cat from the first step; the adversarial and classification terms, relatively
smaller, may add realism beyond it.
`--init-from MODEL` starts G (and its EMA) from an exported StarGAN of the same architecture, the judges new,
on a fresh schedule (a --resume of a finished run barely moves: its learning rate has decayed).

Training state goes to runs/NAME/ (checkpoint.pt with G, D, optimisers, EMA, step; log.jsonl; samples/);
--resume continues it; the generator (its EMA with --ema) is exported to OUT/NAME (config.json +
model.safetensors), the domains in its config.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import fnmatch
import platform
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from train import harness

from pix2pix_demo.data import IMAGE_SUFFIXES, read_name_list
from pix2pix_demo.hub import resolve_device
from pix2pix_demo.imaging import image_to_tensor, to_rgb
from pix2pix_demo.losses import GANLoss, gradient_penalty
from pix2pix_demo.models.stargan import (StarGANConfig, StarGANDiscriminator, StarGANDiscriminatorConfig,
                                         StarGANGenerator)
from pix2pix_demo.features import perceptual_loss
from pix2pix_demo.projected import hinge_discriminator_loss
from pix2pix_demo.threads import use_threads
from train.harness import pretrained
from train.harness.pretrained import (feature_loss_options, feature_pass, generator_terms, make_feature_losses,
                                      parse_weights)

GAN_LOSSES = ("lsgan", "wgan-gp", "hinge", "vanilla")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--domain", action="append", default=[], metavar="NAME=DIR[:GLOB]",
                      help="pictures of a domain (repeatable; a name may be given several folders)")
    data.add_argument("--labels", default=None, metavar="CSV",
                      help="pictures and their domains from a labels file (train.data.coat_domains writes one: columns "
                           "path, domain (empty: not used), mask (a cat-probability PNG, relative to the file)); "
                           "with or instead of --domain")
    data.add_argument("--exclude", action="append", default=[], metavar="FILE",
                      help="a text file of picture names never to train on (repeatable), e.g. a held-out list")
    data.add_argument("--domain-label", action="append", default=[], metavar="NAME=TEXT",
                      help="how the app names a domain (stored in config.json)")
    data.add_argument("--limit", type=int, default=None, help="at most this many pictures per domain (smoke tests)")
    data.add_argument("--jitter", type=float, default=1.25,
                      help="pictures are stored at a short side of size·jitter and cropped at a random side in "
                           "[size, size·jitter] (the random resize)")
    run = p.add_argument_group("run")
    run.add_argument("--name", required=True)
    run.add_argument("--out", default="weights", help="export folder for the finished generator")
    run.add_argument("--runs", default="runs", help="folder for checkpoints, logs and samples")
    run.add_argument("--size", type=int, default=128, help="training crop side")
    harness.add_run_arguments(run, log_every=10, checkpoint_every=50, sample_every=100,
                              device=True, export_dtypes=("float32", "float16"), export_dtype="float16")
    run.add_argument("--batch-size", type=int, default=4)
    run.add_argument("--init-from", default=None, metavar="MODEL",
                     help="start G (and its EMA) from an exported StarGAN of the same architecture and domains; "
                          "the judges start new, on a fresh schedule (ignored with --resume)")
    model = p.add_argument_group("networks")
    model.add_argument("--base-channels", type=int, default=32, help="G's ngf")
    model.add_argument("--num-blocks", type=int, default=6, help="G's residual blocks")
    model.add_argument("--upsampling", choices=("resize", "transpose"), default="resize",
                       help="G's up-sampling: nearest resize + conv (no checkerboard) or the paper's transposed conv")
    model.add_argument("--residual", action="store_true",
                       help="G predicts a change to the photo (out = x + G, starting at zero: the photo unchanged); "
                            "not in the paper")
    model.add_argument("--output", choices=("image", "colour"), default="image",
                       help="G's output: the picture (or with --residual a change to it), or 'colour': a per-pixel "
                            "lightness gain/offset, chroma gain and warm-axis offset that cannot invent hues; not in "
                            "the paper")
    model.add_argument("--conditional-norm", action="store_true",
                       help="every norm layer of G gets a per-domain scale and shift (conditional instance norm), "
                            "not only the first; not in the paper")
    model.add_argument("--d-channels", type=int, default=32, help="D's ndf")
    model.add_argument("--d-layers", type=int, default=3, help="D's PatchGAN layers (3: 70×70 patches)")
    model.add_argument("--spectral-norm", action="store_true", help="spectral norm on D's layers")
    model.add_argument("--patchgan", action=argparse.BooleanOptionalAction, default=True,
                       help="the paper's D (PatchGAN + domain classifier); --no-patchgan with --d-features lite0 "
                            "judges with the domain-conditioned projected heads only")
    losses = p.add_argument_group("losses and optimisation")
    losses.add_argument("--gan-loss", choices=GAN_LOSSES, default="lsgan")
    losses.add_argument("--n-critic", type=int, default=1, help="D steps per G step (the paper: 5, with wgan-gp)")
    losses.add_argument("--lambda-cls", type=float, default=1.0)
    losses.add_argument("--lambda-rec", type=float, default=10.0)
    losses.add_argument("--lambda-id", type=float, default=0.0,
                        help="identity mapping: L1 between G(x, its own domain) and x (not in the StarGAN paper; "
                             "CycleGAN's identity loss, which keeps colours; 0 = off)")
    losses.add_argument("--lambda-bg", type=float, default=0.0,
                        help="keep the background: L1 between G(x, c_trg) and x weighted by 1 - the cat probability "
                             "of the --labels masks (not in the paper; 0 = off)")
    losses.add_argument("--judge", choices=("whole", "cat"), default="whole",
                        help="what D, its classifier and the projected heads see of G's output: the whole picture, "
                             "or 'cat': mask·G(x) + (1 - mask)·x with the --labels masks, so only the cat's change "
                             "is judged (not in the paper)")
    losses.add_argument("--teacher", choices=("none", "recolour"), default="none",
                        help="pseudo-paired targets: 'recolour' = coat.recolour_coat of the crop into the target coat "
                             "(the domain's mean labelled coat) on the --labels mask; G(x, c) is pulled to it "
                             "(not in the paper)")
    losses.add_argument("--lambda-teacher", type=float, default=10.0, help="weight of the L1 to the --teacher target")
    losses.add_argument("--lambda-gp", type=float, default=10.0)
    losses.add_argument("--lr", type=float, default=2e-4, help="G's learning rate (Adam)")
    losses.add_argument("--lr-d", type=float, default=None, help="D's learning rate (default --lr)")
    losses.add_argument("--lr-code", type=float, default=1.0,
                        help="learning-rate multiplier for the domain-code layers of --conditional-norm")
    losses.add_argument("--beta1", type=float, default=0.5)
    losses.add_argument("--decay-start", type=float, default=0.5, help="linear LR decay to 0 after this fraction")
    losses.add_argument("--ema", type=float, default=0.0, help="export an EMA of G's weights (e.g. 0.999; 0 = off)")
    pretrained.add_arguments(p)  # --d-features, --lambda-perceptual (on the reconstruction here), --diffaugment, ...
    return p


# ---------------------------------------------------------------- data


def parse_domains(specs: list[str]) -> dict[str, list[tuple[Path, str]]]:
    """["cat=DIR", "bengal=DIR:Bengal_*.jpg"] -> {"cat": [(DIR, "*")], "bengal": [(DIR, "Bengal_*.jpg")]}."""
    domains: dict[str, list[tuple[Path, str]]] = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        name = name.strip()
        if not sep or not name or not where:
            raise SystemExit(f"--domain expects NAME=DIR[:GLOB], got {spec!r}")
        folder, pattern = where, "*"
        if not Path(where).is_dir() and ":" in where:  # DIR:GLOB (a folder whose name has ':' stays whole)
            folder, pattern = where.rsplit(":", 1)
        domains.setdefault(name, []).append((Path(folder), pattern or "*"))
    return domains


def parse_labels(specs: list[str], domains) -> dict[str, str]:
    labels = {}
    for spec in specs:
        name, sep, text = spec.partition("=")
        if not sep or name.strip() not in domains:
            raise SystemExit(f"--domain-label expects NAME=TEXT with NAME one of {', '.join(domains)}; got {spec!r}")
        labels[name.strip()] = text.strip()
    return labels


def read_labels(path) -> tuple[dict[str, list[Path]], dict[Path, Path]]:
    """A labels CSV (train.data.coat_domains) -> ({domain: picture files}, {picture: its mask PNG}); rows
    with an empty domain are left out; domains in order of first appearance."""
    import csv

    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"--labels: {path} is not a file.")
    domains: dict[str, list[Path]] = {}
    masks: dict[Path, Path] = {}
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"path", "domain"} <= set(reader.fieldnames):
            raise SystemExit(f"--labels: {path} needs the columns path and domain (and optionally mask).")
        for row in reader:
            domain = (row.get("domain") or "").strip()
            if not domain:
                continue
            picture = Path(row["path"])
            domains.setdefault(domain, []).append(picture)
            if row.get("mask"):
                masks[picture] = path.parent / row["mask"]
    if not domains:
        raise SystemExit(f"--labels: {path} gives no picture a domain.")
    return domains, masks


def list_domain_files(domains: dict, excluded: set[str], limit: int | None = None,
                      labelled: dict[str, list[Path]] | None = None) -> dict[str, list[Path]]:
    """{domain: sorted picture files} without the excluded names (from the --domain folders and, when
    given, `labelled`: read_labels' files); SystemExit for a missing folder or an empty domain."""
    files = {}
    for name in dict.fromkeys([*domains, *(labelled or {})]):
        sources = domains.get(name, [])
        found = [p for p in (labelled or {}).get(name, []) if p.name not in excluded and p.stem not in excluded]
        if labelled and name in labelled:
            missing = [p for p in found if not p.is_file()]
            if missing:
                raise SystemExit(f"--labels: {len(missing)} picture(s) of {name} do not exist, e.g. {missing[0]}")
        for folder, pattern in sources:
            if not folder.is_dir():
                raise SystemExit(f"--domain {name}: {folder} is not a folder.")
            found += [p for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES
                      and fnmatch.fnmatch(p.name, pattern) and p.name not in excluded and p.stem not in excluded]
        found = sorted(dict.fromkeys(found))
        if not found:
            where = ", ".join([f"{f}:{g}" for f, g in sources] + (["--labels"] if labelled and name in labelled else []))
            raise SystemExit(f"--domain {name}: no pictures in {where} (after --exclude).")
        files[name] = found[:limit] if limit else found
    return files


def load_short_side(path: Path, short_side: int, mask: Path | None = None) -> np.ndarray:
    """A picture as RGB uint8, resized so its short side is `short_side`; with `mask` (a grey PNG of
    any size, e.g. a segmenter's probability) the mask resized to the same size as a 4th channel."""
    with Image.open(path) as image:
        image.draft("RGB", (short_side * 2, short_side * 2))  # JPEG: decode at a reduced size, much faster
        image = to_rgb(image)
    scale = short_side / min(image.size)
    size = (max(short_side, round(image.width * scale)), max(short_side, round(image.height * scale)))
    rgb = np.asarray(image.resize(size, Image.LANCZOS if scale < 1 else Image.BICUBIC))
    if mask is None:
        return rgb
    with Image.open(mask) as grey:
        grey = np.asarray(grey.convert("L").resize(size, Image.BILINEAR))
    return np.concatenate([rgb, grey[..., None]], axis=2)


class DomainPictures:
    """Every domain's pictures in memory; `batch` draws domains uniformly, then a picture of each, and
    returns random resized crops (N, 3, size, size) in [-1, 1], their domain indices (N,) and, when
    `masks` ({picture: mask PNG}) covers every picture, the same crops of the masks (N, 1, size, size)
    in [0, 1] (else None)."""

    def __init__(self, files: dict[str, list[Path]], size: int, jitter: float = 1.25,
                 masks: dict[Path, Path] | None = None):
        self.names = list(files)
        self.size, self.stored = size, max(size, round(size * jitter))
        masks = masks or {}
        self.has_masks = bool(masks) and all(path in masks for paths in files.values() for path in paths)
        self.pictures = [[load_short_side(path, self.stored, masks[path] if self.has_masks else None)
                          for path in paths] for paths in files.values()]

    def _tensors(self, array: np.ndarray, resize: bool, flip: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        image = Image.fromarray(np.ascontiguousarray(array[..., :3]))
        mask = Image.fromarray(np.ascontiguousarray(array[..., 3])) if array.shape[2] == 4 else None
        if resize:
            image = image.resize((self.size, self.size), Image.BILINEAR)
            mask = mask.resize((self.size, self.size), Image.BILINEAR) if mask is not None else None
        if flip:
            image = image.transpose(Image.FLIP_LEFT_RIGHT)
            mask = mask.transpose(Image.FLIP_LEFT_RIGHT) if mask is not None else None
        mask = torch.from_numpy(np.asarray(mask, dtype=np.float32) / 255)[None] if mask is not None else None
        return image_to_tensor(image)[0], mask

    def crop(self, array: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor | None]:
        height, width = array.shape[:2]
        side = int(rng.integers(self.size, min(self.stored, height, width) + 1))
        top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
        return self._tensors(array[top:top + side, left:left + side], side != self.size, rng.random() < 0.5)

    def batch(self, batch_size: int, rng: np.random.Generator):
        labels = rng.integers(0, len(self.names), batch_size)
        crops = [self.crop(self.pictures[d][int(rng.integers(len(self.pictures[d])))], rng) for d in labels]
        masks = torch.stack([mask for _, mask in crops]) if self.has_masks else None
        return torch.stack([image for image, _ in crops]), torch.from_numpy(labels).long(), masks

    def centre(self, domain: int, index: int) -> torch.Tensor:
        """A deterministic centre crop (for sample grids)."""
        array = self.pictures[domain][index]
        height, width = array.shape[:2]
        side = self.size
        top, left = (height - side) // 2, (width - side) // 2
        return self._tensors(array[top:top + side, left:left + side], False, False)[0]


def teacher_centres(labels_csv, domains) -> dict[int, np.ndarray]:
    """--teacher recolour: {domain index: the mean coat (RGB 0..1) of the domain's labelled pictures}, the
    centres train.eval.coat_stargan's recolour aims at."""
    from train.eval.coat_stargan import domain_centres

    try:
        centres = domain_centres(Path(labels_csv), list(domains))
    except (KeyError, ValueError) as error:
        raise SystemExit(f"--teacher recolour needs the r, g, b columns of --labels ({error}).") from None
    return dict(enumerate(centres.values()))


def recolour_targets(real: torch.Tensor, cat: torch.Tensor, target: torch.Tensor, centres: dict) -> torch.Tensor:
    """--teacher recolour: each picture (N,3,H,W in [-1, 1]) recoloured by `coat.recolour_coat` into its target
    domain's centre on its cat probability `cat` (N,1,H,W in [0, 1]); where the probability is 0 the picture
    itself (exactly)."""
    from pix2pix_demo.coat import recolour_coat

    photos = ((real.detach().float().cpu().permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy()
    masks = cat.detach().float().cpu()[:, 0].numpy()
    out = np.stack([recolour_coat(photo, centres[int(t)], mask) for photo, t, mask in zip(photos, target.tolist(), masks)])
    teacher = torch.from_numpy(out).permute(0, 3, 1, 2).float().to(real.device) / 127.5 - 1
    return torch.where(cat.to(real.device) > 0, teacher, real)


def judged_composite(output: torch.Tensor, photo: torch.Tensor, cat: torch.Tensor) -> torch.Tensor:
    """--judge cat: G's output inside the cat (probability `cat`, N,1,H,W in [0, 1]) on the photo's own room;
    the gradient reaches G only through the cat."""
    return cat * output + (1 - cat) * photo


def other_domains(labels: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    """For each label a random *different* domain (every translation changes something)."""
    shift = torch.randint(1, count, labels.shape, generator=generator)
    return (labels + shift) % count


# ---------------------------------------------------------------- training


ARCHITECTURE_OPTIONS = ("base_channels", "num_blocks", "upsampling", "residual", "output", "conditional_norm", "d_channels",
                        "d_layers", "spectral_norm", "ema", "size", "patchgan", "d_features")


def save_sample_grid(path: Path, generator, inputs: torch.Tensor, domains: int) -> None:
    """One row per input: the input, then its translation into every domain."""
    with harness.evaluating(generator):
        columns = [inputs] + [generator(inputs, torch.full((len(inputs),), d, dtype=torch.long, device=inputs.device))
                              for d in range(domains)]
    harness.save_grid(path, [torch.cat([column[i] for column in columns], dim=2).cpu() for i in range(len(inputs))])


def main(args) -> Path | None:
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    if args.steps is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps or --time-budget.")
    labelled, masks = read_labels(args.labels) if args.labels else ({}, {})
    if len({*parse_domains(args.domain), *labelled}) < 2:
        raise SystemExit("StarGAN needs two or more domains: --domain NAME=DIR[:GLOB] (repeatable) or --labels CSV.")
    if args.size % 4:
        raise SystemExit(f"--size {args.size} must be divisible by 4 (the generator down-samples twice).")
    if args.n_critic < 1:
        raise SystemExit("--n-critic must be 1 or more.")
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    domains = parse_domains(args.domain)
    labels = parse_labels(args.domain_label, {*domains, *labelled})
    # labelled domains in the order of their --domain-label (else of the file)
    labelled = {name: labelled[name] for name in sorted(labelled, key=lambda n: list(labels).index(n) if n in labels else len(labels))}
    excluded = set().union(*(read_name_list(path) for path in args.exclude)) if args.exclude else set()
    files = list_domain_files(domains, excluded, args.limit, labelled)
    run = harness.Run(args, "train.stargan", exports=[Path(args.out) / args.name])

    g_config = StarGANConfig(domains=tuple(files), generator={"base_channels": args.base_channels,
                                                              "num_blocks": args.num_blocks,
                                                              "upsampling": args.upsampling},
                              residual=args.residual, conditional_norm=args.conditional_norm, output=args.output)
    d_config = StarGANDiscriminatorConfig(num_domains=len(files), base_channels=args.d_channels,
                                          n_layers=args.d_layers, spectral_norm=args.spectral_norm)
    generator = StarGANGenerator(g_config).to(device)
    discriminator = StarGANDiscriminator(d_config).to(device) if args.patchgan else None
    # the pretrained-feature recipe: frozen Lite0 features, projected heads told the domain (one-hot planes)
    features, heads, opt_p = make_feature_losses(args, device, condition_channels=len(files))
    perceptual_weights = parse_weights(args.perceptual_weights)
    ema = copy.deepcopy(generator).eval().requires_grad_(False) if args.ema > 0 else None
    lr_d = args.lr_d or args.lr
    # the domain-code layers of the conditional norms start at zero; Adam moves a weight by about lr per step,
    # so at lr 2e-4 a few hundred steps leave the four domains' scales and shifts within a few hundredths
    code = [p for name, p in generator.named_parameters() if name.endswith(".code.weight")]
    rest = [p for name, p in generator.named_parameters() if not name.endswith(".code.weight")]
    opt_g = torch.optim.Adam([{"params": rest, "base_lr": args.lr}]
                             + ([{"params": code, "base_lr": args.lr * args.lr_code}] if code else []),
                             lr=args.lr, betas=(args.beta1, 0.999))
    opt_d = (torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=(args.beta1, 0.999))
             if discriminator is not None else None)
    gan = GANLoss(args.gan_loss)
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, ema=ema,
              projected=heads, opt_p=opt_p)
    run.extra_state = lambda: {"domains": list(files), "d_config": dataclasses.asdict(d_config)}
    other_domains_ = lambda state: ([f"domains {state.get('domains')} in the checkpoint, {list(files)} now"]  # noqa: E731
                                    if state.get("domains") != list(files) else []) + (
        ["d_features (the checkpoint has no projected heads)"] if heads is not None and "projected" not in state else [])
    run.resume(ARCHITECTURE_OPTIONS, changes=other_domains_)
    if args.init_from and not args.resume:
        harness.init_generator_from(args.init_from, generator, ema)

    load_start = time.time()
    data = DomainPictures(files, args.size, args.jitter, masks)
    for option, used in (("--lambda-bg", args.lambda_bg > 0), ("--judge cat", args.judge == "cat"),
                         ("--teacher recolour", args.teacher == "recolour")):
        if used and not data.has_masks:
            raise SystemExit(f"{option} needs a mask for every picture: --labels with a mask column "
                             "(train.data.coat_domains).")
    centres = teacher_centres(args.labels, files) if args.teacher == "recolour" else None
    counts = ", ".join(f"{name}: {len(paths)}" for name, paths in files.items())
    judges = ([f"D {harness.count(discriminator) / 1e6:.2f} M params ({discriminator.receptive_field}² patches + a "
               f"{len(files)}-way domain classifier), {args.gan_loss}"] if discriminator is not None else [])
    if heads is not None:
        judges.append(f"projected heads {harness.count(heads) / 1e6:.2f} M over frozen Lite0 features, told the domain")
    if args.lambda_perceptual:
        judges.append(f"{args.lambda_perceptual} × perceptual {'loss to the teacher' if centres else 'reconstruction loss'} "
                      "(frozen Lite0 features)")
    if centres:
        judges.append(f"teacher: {args.lambda_teacher} × L1 to the classical recolour into the target coat")
    print(f"Pictures ({counts}) loaded in {time.time() - load_start:.0f} s; {device}; "
          f"G {harness.count(generator) / 1e6:.2f} M params; {'; '.join(judges)}; "
          f"{args.n_critic} D step(s) per G step.", flush=True)
    sample_inputs = torch.stack([data.centre(d, i) for d in range(len(files))
                                 for i in sorted({0, len(data.pictures[d]) // 2})]).to(device)
    run.start(sample=lambda path: save_sample_grid(path, ema or generator, sample_inputs, len(files)), mininterval=30)
    threads = torch.get_num_threads()
    generator.train()
    if discriminator is not None:
        discriminator.train()
    sums: dict[str, float] = {}

    def planes(domains: torch.Tensor) -> torch.Tensor:  # one-hot domain planes, what the heads are told
        return F.one_hot(domains, len(files)).float()[:, :, None, None].expand(-1, -1, args.size, args.size)

    while not run.done():
        step = run.step
        lr_scale = harness.linear_decay(run.progress(), args.decay_start)
        for group in opt_g.param_groups:
            group["lr"] = group["base_lr"] * lr_scale
        for optimizer in (opt_d, opt_p):
            if optimizer is not None:
                harness.set_lr(optimizer, (args.lr_projected if optimizer is opt_p and args.lr_projected else lr_d)
                               * lr_scale)
        rng = np.random.default_rng((args.seed, step))  # the batch depends only on the step: resumes repeat it
        real, original, cat = data.batch(args.batch_size, rng)
        real, original = real.to(device), original.to(device)
        target = other_domains(original.cpu(), len(files), torch.Generator().manual_seed(args.seed * 100003 + step)).to(device)
        train_g = step % args.n_critic == 0

        # --- D: real/fake per patch, and the domain of real pictures
        with torch.set_grad_enabled(train_g):
            output = generator(real, target)
            # what the judges see: G's whole output, or (--judge cat) its change inside the cat on the photo's room
            fake = output if args.judge == "whole" else judged_composite(output, real, cat.to(device))
        losses = {}
        if discriminator is not None:
            src_real, cls_real = discriminator(real)
            src_fake, _ = discriminator(fake.detach())
            d_adv = gan.discriminator_loss(src_real, src_fake)
            d_cls = F.cross_entropy(cls_real, original)
            loss_d = d_adv + args.lambda_cls * d_cls
            if args.gan_loss == "wgan-gp":
                loss_d = loss_d + gradient_penalty(lambda x: discriminator(x)[0], real, fake, args.lambda_gp)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            losses = {"d_adv": d_adv.item(), "d_cls": d_cls.item(),
                      "d_acc_real": (cls_real.argmax(1) == original).float().mean().item()}
        feats_real = feats_fake = None
        if heads is not None:  # one DiffAugment draw for the real pictures and G's outputs, the frozen features
            feats_real, feats_fake, _ = feature_pass(features, real, real, fake, args.diffaugment)
            heads.requires_grad_(True)
            real_logits = heads(feats_real, planes(original))
            loss_dp = (hinge_discriminator_loss(real_logits, heads([f.detach() for f in feats_fake], planes(target)))
                       + sum(F.relu(1 + w).mean() for w in heads(feats_real, planes(target))))  # a real picture, wrong domain
            opt_p.zero_grad(set_to_none=True)
            loss_dp.backward()
            opt_p.step()
            losses["d_projected"] = loss_dp.item()

        # --- G: fool D, be classified as the target, and come back to the original
        if train_g:
            loss_g = 0.0
            if discriminator is not None:
                discriminator.requires_grad_(False)
                src, cls = discriminator(fake)
                g_adv = gan.generator_loss(src)
                g_cls = F.cross_entropy(cls, target)
                loss_g = g_adv + args.lambda_cls * g_cls
                losses.update(g_adv=g_adv.item(), g_cls=g_cls.item(),
                              g_acc_fake=(cls.argmax(1) == target).float().mean().item())
            rec = generator(fake, original)
            g_rec = (rec - real).abs().mean()
            loss_g = loss_g + args.lambda_rec * g_rec
            if heads is not None:
                terms = {}
                loss_g = loss_g + generator_terms(args, fake, real, feats_fake, feats_real, heads, planes(target),
                                                  perceptual_weights, terms, paired=False)
                losses["g_projected"] = terms["loss_g_projected"]
            if centres is not None:  # --teacher: G(x, c) towards the classical recolour of x into c
                teacher = recolour_targets(real, cat, target, centres)
                g_teacher = (output - teacher).abs().mean()
                loss_g = loss_g + args.lambda_teacher * g_teacher
                losses["g_teacher"] = g_teacher.item()
                if args.lambda_perceptual or args.lambda_lowfreq:  # the recipe's paired terms, the teacher the target
                    feats_teacher = feats_output = None
                    if args.lambda_perceptual:
                        feats_teacher, feats_output, _ = feature_pass(features, real, teacher, output, args.diffaugment)
                    terms = {}
                    loss_g = loss_g + generator_terms(args, output, teacher, feats_output, feats_teacher, None, None,
                                                      perceptual_weights, terms)
                    losses.update({key.replace("loss_", "g_") + "_teacher": value for key, value in terms.items()})
            elif args.lambda_perceptual:  # the reconstruction should look like the picture to the frozen network
                with torch.no_grad():
                    feats_x = features(real)
                g_perc = perceptual_loss(features(rec), feats_x, perceptual_weights)
                loss_g = loss_g + args.lambda_perceptual * g_perc
                losses["g_perceptual_rec"] = g_perc.item()
            if args.lambda_bg > 0:  # the background (1 - cat probability) of G's own output stays as it was
                background = 1 - cat.to(device)
                g_bg = ((output - real).abs() * background).sum() / (3 * background.sum()).clamp(min=1)
                loss_g = loss_g + args.lambda_bg * g_bg
                losses["g_bg"] = g_bg.item()
            if args.lambda_id > 0:  # translating into its own domain changes nothing
                g_id = (generator(real, original) - real).abs().mean()
                loss_g = loss_g + args.lambda_id * g_id
                losses["g_id"] = g_id.item()
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            if discriminator is not None:
                discriminator.requires_grad_(True)
            losses.update(g_rec=g_rec.item(), change=(output.detach() - real).abs().mean().item())
        run.advance(losses, ema=(ema, generator, args.ema) if train_g else None, ema_step=step // args.n_critic)
        for key, value in losses.items():
            sums[key] = sums.get(key, 0.0) + value
            sums[key + "#"] = sums.get(key + "#", 0) + 1
        if run.due(args.log_every, first=True):  # means over the steps since the last record
            record = {"step": run.step, "lr": round(args.lr * lr_scale, 7), "elapsed_s": round(run.spent(), 1),
                      **{k: round(v / sums[k + "#"], 5) for k, v in sums.items() if not k.endswith("#")}}
            sums = {}
            run.write_log(record)
            run.bar.set_postfix(d=f"{record.get('d_adv', record.get('d_projected', float('nan'))):.3f}",
                                g=f"{record.get('g_adv', record.get('g_projected', float('nan'))):.3f}",
                                rec=f"{record.get('g_rec', float('nan')):.3f}")
        run.after_step()
    run.finish()
    final = copy.deepcopy(ema or generator).float().cpu().eval()
    spent = run.spent()
    metadata = {
        "task": "domain-translation",
        "label": "StarGAN: " + ", ".join(labels.get(name, name) for name in files),
        "resolution": args.size,
        # crops of side size..size·jitter of pictures stored at short side size·jitter were resized to
        # size: a whole picture's short side appeared at size..size·jitter px. Translate at the middle.
        "inference_short_side": round(args.size * (1 + args.jitter) / 2),
        "domain_labels": {name: labels.get(name, name) for name in files},
        "data": {"domains": {name: {"sources": [f"{display_path(f)}:{g}" if g != "*" else display_path(f)
                                                for f, g in domains.get(name, [])]
                                    + (["--labels"] if name in labelled else []), "pictures": len(files[name])}
                             for name in files},
                 "sources": list(dict.fromkeys([display_path(f) for sources in domains.values() for f, _ in sources]
                                               + [display_path(p.parent) for paths in labelled.values() for p in paths])),
                 **({"labels": "train.data.coat_domains: " + ", ".join(f"{n} {len(labelled[n])}" for n in labelled)
                     + " pictures labelled by their cat's measured coat colour (segmenter core); the "
                       "segmenter's cat probability as the --lambda-bg mask"} if labelled else {}),
                 "exclude": [display_path(Path(path)) for path in args.exclude],
                 "sampling": "domains drawn uniformly per picture",
                 "augmentation": f"random crop of side {args.size}..{data.stored} of the picture at short side "
                                 f"{data.stored}, resized to {args.size}, flipped half the time"},
        "training": {
            "command": run.command(),
            "steps": run.step, "batch_size": args.batch_size, "spent_s": round(spent, 1),
            **({"wall_time_s": round(spent, 1)} if args.budget_clock == "wall" else {}),
            "budget_clock": args.budget_clock, "threads": threads,
            "hardware": f"{platform.machine()} CPU" if device.type == "cpu" else str(device),
            "torch": torch.__version__, "gan_loss": args.gan_loss, "n_critic": args.n_critic,
            "lambda_cls": args.lambda_cls, "lambda_rec": args.lambda_rec, "lambda_id": args.lambda_id, "lambda_bg": args.lambda_bg, "lr": args.lr, "lr_code": args.lr_code, "lr_d": lr_d,
            "ema": args.ema, "discriminator": dataclasses.asdict(d_config) if args.patchgan else None,
            "judge": args.judge, "init_from": args.init_from,
            **({"teacher": {"method": "recolour (coat.recolour_coat on the --labels mask)",
                            "lambda_teacher": args.lambda_teacher,
                            "coats": {name: [round(float(v), 4) for v in centres[i]] for i, name in enumerate(files)}}}
               if centres else {}),
            **feature_loss_options(args)},
        "metrics": {},
    }
    metadata.update(harness.carried_settings(args.init_from))  # a fine-tune keeps its name and measured coats
    out = run.export(final, Path(args.out) / args.name, metadata, dtype=getattr(torch, args.export_dtype))
    print(f"Exported {out} after {run.step} steps, {run.spent() / 60:.1f} min ({args.budget_clock} clock).")
    return out


def display_path(folder: Path) -> str:
    """A data folder as the model card knows it: from the shared data set's name on ("cats/train"),
    else as given."""
    from pix2pix_demo.cards import DATA_NOTES

    parts = Path(folder).parts
    for i, part in enumerate(parts):
        if part in DATA_NOTES:
            return Path(*parts[i:]).as_posix()
    return str(folder)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
