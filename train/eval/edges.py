"""How HED-like is each edge extractor? Precision / recall / F against real HED maps.

    python -m train.eval.edges --data ../shared/data/edges2products/val [--n 200] [--json]

Each pix2pix "AB" pair holds the photo on the left and its HED edge map (black lines, the
pix2pix release's post-processing) on the right. Every method in `EDGE_METHODS` draws edges
from the photo; a predicted line pixel is correct when a HED line pixel lies within
--tolerance px, and a HED pixel is recalled when a predicted one does. Counts are summed over
a fixed, evenly spaced subset of --n pairs before the scores are taken; ms/image is the
extraction CPU time (process time, one OpenCV and one torch thread, so a busy machine does not
inflate it; the first call, which loads a learned method's weights, is not timed).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from pix2pix_demo.edges import DEFAULT_EDGE_METHOD, EDGE_METHODS, EdgeMatch, edge_match, extract_edges


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/edges2products/val"))
    parser.add_argument("--n", type=int, default=200, help="number of pairs (evenly spaced over the sorted files)")
    parser.add_argument("--tolerance", type=float, default=2.0, help="match distance in pixels")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a markdown table")
    return parser


def load_pairs(folder: Path, count: int) -> list[tuple[Image.Image, np.ndarray]]:
    """Side-by-side pairs -> [(photo, HED line mask)], a fixed evenly spaced subset of `count`."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise SystemExit(f"No pix2pix pairs found in {folder}.")
    chosen = [files[i] for i in np.linspace(0, len(files) - 1, min(count, len(files))).round().astype(int)]
    pairs = []
    for path in chosen:
        array = np.asarray(Image.open(path).convert("RGB"))
        half = array.shape[1] // 2
        pairs.append((Image.fromarray(array[:, :half]), array[:, half:].mean(axis=2) < 128))
    return pairs


def evaluate(method: str, pairs, tolerance: float) -> dict:
    total, seconds = EdgeMatch(), 0.0
    extract_edges(pairs[0][0], method)  # warm-up: a learned method loads its weights once, untimed
    for photo, reference in pairs:
        start = time.process_time()
        edges = extract_edges(photo, method)
        seconds += time.process_time() - start
        total = total + edge_match(np.asarray(edges) < 128, reference, tolerance)
    return dict(method=method, precision=total.precision, recall=total.recall, f_score=total.f_score,
                ms_per_image=1000 * seconds / len(pairs), pairs=len(pairs))


def main(args: argparse.Namespace) -> None:
    cv2.setNumThreads(1)  # comparable timings on a shared machine
    import torch  # already loaded with the pix2pix_demo package; "hed-learned" runs its CNN with it

    torch.set_num_threads(1)
    pairs = load_pairs(args.data, args.n)
    rows = [evaluate(method, pairs, args.tolerance) for method in EDGE_METHODS]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    size = "x".join(map(str, pairs[0][0].size))
    print(f"{len(pairs)} pairs from {args.data}, {size} photos, tolerance {args.tolerance:g} px\n")
    print("| method | precision | recall | F | ms/image |\n|---|---|---|---|---|")
    for row in rows:
        marker = " (default)" if row["method"] == DEFAULT_EDGE_METHOD else ""
        print(f"| {row['method']}{marker} | {row['precision']:.3f} | {row['recall']:.3f} | "
              f"{row['f_score']:.3f} | {row['ms_per_image']:.1f} |")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
