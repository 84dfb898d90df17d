"""Train the tiny learned soft-edge detector of the `"hed-learned"` edge method.

    nice -n 10 python -m train.edge_detector --data /work/shared/data/edges2products/train \
        --out weights/edges-hed-learned

Data: pix2pix "AB" pairs (left = photo, right = real HED map, black lines on white). Every
--holdout-every-th file is held out of training and used only to pick the post-processing
threshold; no validation data is touched. Training: random crops, horizontal flips, scale
jitter, colour jitter (brightness/contrast, channel shuffles, grey) so the detector does not
lean on product-photo colours; target = the HED lines blurred to a ~3 px ridge; loss =
class-balanced BCE (HED's). CPU, one thread by default (the machine is shared).
Writes config.json (architecture, command, data note, chosen post-processing, metrics),
model.safetensors and a README.md model card via pix2pix_demo.hub.save_model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from train.harness import budget_timer, command_line, tqdm

from pix2pix_demo.edges import EdgeMatch, edge_match, hed_postprocess
from pix2pix_demo.hub import CARD_NAME, atomic_write_bytes, save_model
from pix2pix_demo.models.edge_detector import EdgeDetector, EdgeDetectorConfig


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="folder of side-by-side photo|HED pairs")
    parser.add_argument("--out", type=Path, default=Path("weights/edges-hed-learned"))
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--time-budget", type=float, default=0,
                        help="stop after this many wall-clock seconds (the LR schedule follows whichever of steps / "
                             "time runs out first; 0 = steps only)")
    parser.add_argument("--init", type=Path, default=None,
                        help="start from this detector folder's weights (continue training) instead of from scratch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--holdout-every", type=int, default=20,
                        help="every N-th file is held out of training and used to pick the threshold")
    parser.add_argument("--max-files", type=int, default=0, help="use at most this many files (0 = all)")
    parser.add_argument("--stem-channels", type=int, default=EdgeDetectorConfig.stem_channels)
    parser.add_argument("--mid-channels", type=int, default=EdgeDetectorConfig.mid_channels)
    parser.add_argument("--context-channels", type=int, default=EdgeDetectorConfig.context_channels)
    parser.add_argument("--dilations", type=int, nargs="+", default=[1, 2, 4, 8])
    return parser


def load_pairs(folder: Path, max_files: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise SystemExit(f"No pix2pix pairs (*.jpg / *.png) found in {folder}.")
    if max_files:
        files = files[:max_files]
    pairs = []
    for path in tqdm(files, desc="loading pairs", leave=False):
        array = np.asarray(Image.open(path).convert("RGB"))
        half = array.shape[1] // 2
        if half < 32:
            raise SystemExit(f"{path} is too small for a side-by-side pair ({array.shape[1]}x{array.shape[0]}).")
        pairs.append((np.ascontiguousarray(array[:, :half]), array[:, half:].mean(axis=2) < 128))
    return pairs


def ridge_target(lines: np.ndarray) -> np.ndarray:
    """Boolean 1-px lines -> float32 ridge: 1 on the line, ~0.6 at 1 px, ~0.15 at 2 px."""
    blurred = cv2.GaussianBlur(lines.astype(np.float32), (0, 0), 1.0)
    return np.clip(blurred / 0.4, 0, 1)


def sample(pairs, rng: np.random.Generator, crop: int) -> tuple[np.ndarray, np.ndarray]:
    photo, lines = pairs[rng.integers(len(pairs))]
    scale = rng.uniform(0.75, 1.3)
    height, width = lines.shape
    size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    photo = cv2.resize(photo, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    coverage = cv2.resize(lines.astype(np.float32), size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    target = ridge_target(coverage > 0.3)
    top, left = rng.integers(0, size[1] - crop + 1), rng.integers(0, size[0] - crop + 1)
    photo, target = photo[top:top + crop, left:left + crop], target[top:top + crop, left:left + crop]
    if rng.random() < 0.5:
        photo, target = photo[:, ::-1], target[:, ::-1]
    photo = photo.astype(np.float32)
    photo = photo[..., rng.permutation(3)] if rng.random() < 0.5 else photo
    if rng.random() < 0.2:
        photo = np.repeat(photo.mean(axis=2, keepdims=True), 3, axis=2)
    mean = photo.mean()
    photo = (photo - mean) * rng.uniform(0.6, 1.3) + mean + rng.uniform(-40, 40)
    return np.clip(photo, 0, 255), target


def batch(pairs, rng, size: int, crop: int) -> tuple[torch.Tensor, torch.Tensor]:
    photos, targets = zip(*(sample(pairs, rng, crop) for _ in range(size)))
    photos = torch.from_numpy(np.stack(photos)).permute(0, 3, 1, 2).div(127.5).sub(1)
    return photos.contiguous(), torch.from_numpy(np.stack(targets))[:, None].contiguous()


def balanced_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """HED's class-balanced BCE with soft targets: the few line pixels weigh as much as the background."""
    positive = target.mean().clamp(1e-4, 1 - 1e-4)
    weights = torch.where(target > 0.1, 1 - positive, positive)
    return (weights * F.binary_cross_entropy_with_logits(logits, target, reduction="none")).sum() / weights.sum()


@torch.no_grad()
def choose_postprocess(model: EdgeDetector, pairs) -> tuple[dict, dict]:
    """Pick threshold / hysteresis / minimum component on held-out training pairs; best F wins."""
    softs = [model.soft_map(photo) for photo, _ in pairs]
    results = []
    grid = [dict(threshold=t, low_threshold=low, min_component=10)
            for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8) for low in (None, "half")]
    for options in tqdm(grid, desc="choosing threshold", leave=False):
        options = dict(options, low_threshold=options["threshold"] / 2 if options["low_threshold"] else None)
        total = EdgeMatch()
        for soft, (_, lines) in zip(softs, pairs):
            total = total + edge_match(hed_postprocess(soft, **options), lines, 2.0)
        results.append((total.f_score, options, total))
    f_score, options, total = max(results, key=lambda item: item[0])
    return options, dict(precision=round(total.precision, 4), recall=round(total.recall, 4), f_score=round(f_score, 4),
                         pairs=len(pairs))


CARD = """# edges-hed-learned: a tiny learned HED substitute

A {params:,}-parameter fully convolutional network that turns a photo into a soft edge map
imitating HED (Xie & Tu 2015) as used for the pix2pix edges2* data sets. It is the soft-map
stage of the `"hed-learned"` method of `pix2pix_demo.edges.extract_edges`; HED's own
post-processing (smoothing, non-maximum suppression, threshold, thinning, small-component
removal) turns it into 1-px black-on-white line drawings.

- Architecture: {architecture}
- Input: RGB in [-1, 1] at the working size (long side 256); output: edge logits, same size.
- Training data: {data_note}
- Training: `{command}` ({steps} steps, batch {batch_size}, {crop}x{crop} crops, {wall:.0f} s on CPU, seed {seed}).
- Post-processing chosen on {holdout} held-out training pairs: `{postprocess}`.
- Metrics (2-px tolerance, vs real HED lines): {metrics}

Usage:

```python
from pix2pix_demo.edges import extract_edges
lines = extract_edges(photo, "hed-learned")   # PIL L, black lines on white
```

Limitations: trained on product photos (shoes, handbags) on white backgrounds; on cluttered
scenes it still draws some background structure and strong fur markings. Research use only
(the training photos come from UT Zappos50K and Amazon handbags via the pix2pix data sets).
"""


def write_card(folder: Path, config: dict) -> None:
    text = CARD.format(params=config["parameters"], architecture=json.dumps(config["architecture"]),
                       data_note=config["data"], command=config["command"], steps=config["training"]["steps"],
                       batch_size=config["training"]["batch_size"], crop=config["training"]["crop"],
                       wall=config["training"]["wall_seconds"], seed=config["training"]["seed"],
                       holdout=config["metrics"]["holdout_train"]["pairs"], postprocess=json.dumps(config["postprocess"]),
                       metrics=json.dumps(config["metrics"]))
    atomic_write_bytes(folder / CARD_NAME, text.encode())


def main(args: argparse.Namespace) -> Path:
    torch.set_num_threads(args.threads)
    cv2.setNumThreads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    command = command_line("train.edge_detector")

    pairs = load_pairs(args.data, args.max_files)
    holdout = [pair for i, pair in enumerate(pairs) if i % args.holdout_every == 0]
    training = [pair for i, pair in enumerate(pairs) if i % args.holdout_every != 0]
    if not training or not holdout:
        raise SystemExit(f"Need at least {args.holdout_every + 1} pairs in {args.data}; found {len(pairs)}.")

    config = EdgeDetectorConfig(args.stem_channels, args.mid_channels, args.context_channels, args.dilations)
    model = EdgeDetector(config)
    previous_steps = 0
    if args.init:
        from pix2pix_demo.hub import load_local

        initial = load_local(args.init)
        if initial.config != config:
            raise SystemExit(f"--init {args.init} has architecture {initial.config}, not {config}.")
        model.load_state_dict(initial.state_dict())
        previous_steps = initial.metadata.get("training", {}).get("total_steps", initial.metadata.get("training", {}).get("steps", 0))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    spent = budget_timer("wall", args.threads)  # --time-budget here is in seconds
    model.train()
    progress = tqdm(range(args.steps), desc="training")
    running, steps_done = None, 0
    for step in progress:
        done = step / args.steps
        if args.time_budget:
            done = max(done, spent() / args.time_budget)
        if done >= 1:
            break
        # short linear warm-up, then cosine decay to 2% of the peak
        scale = min(1.0, (step + 1) / 50) * (0.02 + 0.98 * 0.5 * (1 + np.cos(np.pi * done)))
        for group in optimizer.param_groups:
            group["lr"] = args.lr * scale
        photos, targets = batch(training, rng, args.batch_size, args.crop)
        loss = balanced_bce(model(photos), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps_done = step + 1
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        progress.set_postfix(loss=f"{running:.4f}")
    wall = spent()
    model.eval()

    postprocess, holdout_metrics = choose_postprocess(model, holdout)
    print(f"post-processing {postprocess}: held-out train F {holdout_metrics['f_score']:.3f} "
          f"(P {holdout_metrics['precision']:.3f}, R {holdout_metrics['recall']:.3f})")
    metadata = {
        "label": "HED-like edges (learned)",
        "command": command,
        "data": (f"{len(training)} photo/HED pairs of {args.data.name} from {args.data} (edges2shoes + edges2handbags "
                 f"subset, pix2pix release HED maps); {len(holdout)} more (every {args.holdout_every}th file) held out "
                 "to choose the threshold; no validation data used"),
        "parameters": sum(p.numel() for p in model.parameters()),
        "training": dict(steps=steps_done, total_steps=previous_steps + steps_done, time_budget=args.time_budget, batch_size=args.batch_size, crop=args.crop, lr=args.lr, seed=args.seed,
                         threads=args.threads, wall_seconds=round(wall, 1), final_loss=round(running, 5),
                         target="HED lines blurred (Gaussian sigma 1, /0.4, clipped)", loss="class-balanced BCE"),
        "postprocess": postprocess,
        "metrics": {"holdout_train": holdout_metrics},
        "working_size": 256,
    }
    save_model(model, args.out, metadata)
    write_card(args.out, {"architecture": vars(config) | {}, **metadata})
    print(f"saved {args.out}")
    return args.out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
