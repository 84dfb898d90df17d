"""Enclosed regions of a line drawing, and whether a picture paints them white (issue 26's "holes").

A drawing of a handbag encloses its handle hole; a shoe's drawing encloses the opening. In the photo
such a region is either white background seen through (a hole) or part of the object (filled). The
region finder is the library's (`pix2pix_demo.holes.enclosed_regions`): the lines are the pixels darker
than 128, thickened by 1 px (a 3x3 dilation: a 1-px erosion of everything else, so lines that nearly touch
close); the regions are the 4-connected components of the rest that touch no border, kept from MIN_PIXELS
pixels on. A region is white in a picture when the mean over its pixels of the darkest channel is at least
WHITE (230).

On `edges2products` these rules give 2,028 enclosed regions in the 400 val pairs (215 white in the
photo) and 6,180 in the 2,000 training pairs (938 white, in 763 pictures), the counts of session 16's
scratch measurement. Used by `train.eval.pix2pix --holes` (what share of each class a model paints
white) and `train.pix2pix --lambda-holes` (the L1 weighted more on the white ones).

As a script it fits the hole guess the pipeline applies (`pix2pix_demo.holes`, session 20): a table of
the training pairs' regions (the drawing's geometry and what the model paints there, `region_features`)
labelled white / filled, a logistic regression fitted on part of the pictures, its threshold chosen on the
rest, the result written as the model's config "holes":

    python -m train.holes --model weights/edges2products --data ../shared/data/edges2products/train \
        --direction BtoA --out runs/holes --write-config
"""

from __future__ import annotations

import numpy as np

# the finder and the guess live in the library (MIN_PIXELS re-exported: the tests read it here)
from pix2pix_demo.holes import (FEATURES, MIN_PIXELS, WHITE, HoleSettings, enclosed_regions,  # noqa: F401
                                region_features)
from pix2pix_demo.imaging import darkest_channel


def region_whiteness(labels: np.ndarray, count: int, picture) -> np.ndarray:
    """(count,) float: the mean of the darkest channel of `picture` (0..255) over each region 1..count."""
    if count == 0:
        return np.zeros(0)
    flat = labels.ravel()
    sums = np.bincount(flat, weights=darkest_channel(picture).ravel().astype(np.float64), minlength=count + 1)
    sizes = np.bincount(flat, minlength=count + 1)
    return sums[1:] / np.maximum(sizes[1:], 1)


def white_holes(drawing, photo) -> np.ndarray:
    """HxW bool: the enclosed regions of `drawing` that are white in `photo` (the same size)."""
    labels, count = enclosed_regions(drawing)
    white = np.concatenate([[False], region_whiteness(labels, count, photo) >= WHITE])
    return white[labels]


def hole_scores(drawing, photo, output) -> list[dict]:
    """One dict per enclosed region of `drawing`: its size, whether it is white in `photo` ("white") and
    the share of its pixels `output` paints white (darkest channel >= WHITE, "painted")."""
    labels, count = enclosed_regions(drawing)
    if count == 0:
        return []
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count + 1)[1:]
    white = region_whiteness(labels, count, photo) >= WHITE
    painted = np.bincount(flat, weights=(darkest_channel(output).ravel() >= WHITE).astype(np.float64),
                          minlength=count + 1)[1:] / sizes
    return [{"pixels": int(s), "white": bool(w), "painted": float(p)} for s, w, p in zip(sizes, white, painted)]


def summarize(scores: list[dict]) -> dict:
    """The hole measure over many pictures' `hole_scores`, for the regions white in the photo and for the
    filled ones: how many there are ("regions"), the mean over them of the share of their pixels painted
    white ("painted_white": each region counts once, as session 16 measured), the same pooled over their
    pixels (big regions weigh more), the median region's share and how many are mostly (> half) painted
    white."""
    result = {}
    for name, white in (("white", True), ("filled", False)):
        chosen = [s for s in scores if s["white"] == white]
        shares = [s["painted"] for s in chosen]
        pixels = sum(s["pixels"] for s in chosen)
        result[name] = {
            "regions": len(chosen),
            "painted_white": round(float(np.mean(shares)), 4) if chosen else None,
            "pixels_painted_white": round(sum(s["painted"] * s["pixels"] for s in chosen) / pixels, 4) if pixels else None,
            "median_painted": round(float(np.median(shares)), 4) if chosen else None,
            "mostly_white": sum(p > 0.5 for p in shares),
        }
    return result


# --- the hole guess: a table of the training pairs' regions, a logistic regression, its threshold ---------

# the features fitted by default: the drawing's geometry only. What the model paints on its own training pairs
# is no guide to what it paints on new drawings: it paints the training pairs' white regions white far more
# (session 20: median 57 % of a region's pixels, mean 50 %; on the 400 val pairs median 0.6 %, mean 39.5 %),
# so a fit on "painted" / "brightness" trusts them more than new drawings deserve
GEOMETRY = ("log_area", "band_mean", "band_max", "band_near6", "band_near12", "depth_mean", "compactness", "log_aspect",
            "extent", "rel_y", "off_centre", "inner_lines", "share_of_object", "regions")

def region_table(pairs, pipe=None, progress: int = 0) -> dict:
    """The enclosed regions of many (drawing, photo) PIL pairs: {"features": (n, F), "white": (n,) bool,
    "picture": (n,) int, "pixels": (n,) int}. `pipe` (a Pix2PixPipeline): its picture of each drawing (default
    colour, evaluation mode, the hole guess left out) gives the "painted" / "brightness" features."""
    from pix2pix_demo.imaging import resize_to

    rows, white, picture, pixels = [], [], [], []
    for index, (drawing, photo) in enumerate(pairs):
        output = pipe(drawing, holes=False) if pipe is not None else None
        size = output.size if output is not None else drawing.size
        drawing_array = np.asarray(resize_to(drawing, size).convert("RGB"))
        labels, count, features = region_features(drawing_array, None if output is None else np.asarray(output))
        if count:
            rows.append(features)
            white.append(region_whiteness(labels, count, np.asarray(resize_to(photo, size).convert("RGB"))) >= WHITE)
            picture.append(np.full(count, index))
            pixels.append(np.bincount(labels.ravel(), minlength=count + 1)[1:])
        if progress and (index + 1) % progress == 0:
            print(f"{index + 1} pictures, {sum(len(r) for r in rows)} regions", flush=True)
    def stack(parts, dtype, width=None):
        return np.concatenate(parts).astype(dtype) if parts else np.zeros((0, width) if width else 0, dtype)

    return {"features": stack(rows, np.float32, len(FEATURES)), "white": stack(white, bool),
            "picture": stack(picture, np.int64), "pixels": stack(pixels, np.int64)}


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(mean, scale, weights, bias): an L2-regularised logistic regression on standardised `x` (LBFGS, float64)."""
    import torch

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    z = torch.from_numpy((x - mean) / scale).double()
    target = torch.from_numpy(y.astype(np.float64))
    weights = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([weights, bias], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(z @ weights + bias, target) + l2 * (weights ** 2).sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return mean, scale, weights.detach().numpy(), float(bias.detach())


def fit_mlp(x: np.ndarray, y: np.ndarray, hidden: int = 8, l2: float = 1e-3, steps: int = 1500, seed: int = 0):
    """(mean, scale, hidden_weights HxF, hidden_bias H, weights H, bias): a logistic regression over a tanh layer
    of `hidden` units on standardised `x` (full-batch Adam, lr 0.01, weight decay `l2`, float64, fixed seed)."""
    import torch

    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 1e-6, scale, 1.0)
    z = torch.from_numpy((x - mean) / scale).double()
    target = torch.from_numpy(y.astype(np.float64))
    generator = torch.Generator().manual_seed(seed)
    first = torch.nn.Linear(x.shape[1], hidden).double()
    last = torch.nn.Linear(hidden, 1).double()
    with torch.no_grad():
        for layer in (first, last):
            bound = 1 / np.sqrt(layer.in_features)
            layer.weight.copy_(torch.rand(layer.weight.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
            layer.bias.copy_(torch.rand(layer.bias.shape, generator=generator, dtype=torch.float64) * 2 * bound - bound)
    parameters = [*first.parameters(), *last.parameters()]
    optimiser = torch.optim.Adam(parameters, lr=1e-2, weight_decay=l2)
    for _ in range(steps):
        optimiser.zero_grad()
        logit = last(torch.tanh(first(z)))[:, 0]
        torch.nn.functional.binary_cross_entropy_with_logits(logit, target).backward()
        optimiser.step()
    return (mean, scale, first.weight.detach().numpy(), first.bias.detach().numpy(), last.weight.detach().numpy()[0],
            float(last.bias.detach()))


def precision_recall(probabilities: np.ndarray, white: np.ndarray, threshold: float) -> dict:
    """At `threshold`: the white regions guessed holes (recall), the guesses that are white (precision) and
    the filled regions guessed holes (false positive rate)."""
    chosen = probabilities >= threshold
    hits = int((chosen & white).sum())
    return {"threshold": round(float(threshold), 3), "guessed": int(chosen.sum()),
            "precision": round(hits / max(int(chosen.sum()), 1), 3), "recall": round(hits / max(int(white.sum()), 1), 3),
            "filled_guessed": round(float((chosen & ~white).sum() / max(int((~white).sum()), 1)), 4)}


def fit_guess(table: dict, features=None, holdout: int = 4, max_filled: float = 0.01, l2: float = 1e-3,
              hidden: int = 0) -> dict:
    """Fit the guess (a logistic regression; with `hidden` units, over a tanh layer) on the pictures whose index is not a multiple of `holdout`, pick on the others the lowest
    threshold (of 0.05 .. 0.95) whose share of filled regions guessed holes is at most `max_filled`; return the
    config "holes" entry with a "fit" report (log loss, precision / recall on the held-out pictures)."""
    names = tuple(features or GEOMETRY)
    columns = [FEATURES.index(n) for n in names]
    x, y = table["features"][:, columns].astype(np.float64), table["white"]
    held = table["picture"] % holdout == 0
    if hidden:
        mean, scale, hidden_weights, hidden_bias, weights, bias = fit_mlp(x[~held], y[~held], hidden, l2=l2)
    else:
        mean, scale, weights, bias = fit_logistic(x[~held], y[~held], l2=l2)
    entry = {"features": list(names), "mean": [round(float(v), 5) for v in mean],
             "scale": [round(float(v), 5) for v in scale], "weights": [round(float(v), 4) for v in weights],
             "bias": round(bias, 4)}
    if hidden:
        entry.update(hidden_weights=[[round(float(v), 4) for v in row] for row in hidden_weights],
                     hidden_bias=[round(float(v), 4) for v in hidden_bias])
    settings = HoleSettings.from_config({**entry, "threshold": 0.5})
    full = np.zeros((len(x), len(FEATURES)))
    full[:, columns] = x
    p = settings.probabilities(full[held])
    yh = y[held]
    loss = float(-np.mean(np.where(yh, np.log(np.maximum(p, 1e-12)), np.log(np.maximum(1 - p, 1e-12)))))
    base = yh.mean()
    base_loss = float(-(base * np.log(base) + (1 - base) * np.log(1 - base))) if 0 < base < 1 else 0.0
    grid = [round(t, 2) for t in np.arange(0.05, 0.96, 0.05)]
    table_rows = [precision_recall(p, yh, t) for t in grid]
    threshold = next((r["threshold"] for r in table_rows if r["filled_guessed"] <= max_filled), 0.95)
    entry.update(threshold=threshold, feather=2.0, fit={
        "regions": int((~held).sum()), "white": int(y[~held].sum()), "held_out_regions": int(held.sum()),
        "held_out_white": int(yh.sum()), "held_out_log_loss": round(loss, 4), "base_rate_log_loss": round(base_loss, 4),
        "l2": l2, "hidden": hidden, "max_filled": max_filled, "at_threshold": precision_recall(p, yh, threshold), "table": table_rows})
    return entry


def main(argv=None):
    import argparse
    import json
    from pathlib import Path

    p = argparse.ArgumentParser(description="Fit the hole guess (pix2pix_demo.holes) on a paired drawing dataset.")
    p.add_argument("--model", required=True, help="the pix2pix model folder whose pictures give the painted features "
                                                  "(and whose config --write-config sets)")
    p.add_argument("--data", required=True)
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="BtoA")
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--out", default="runs/holes", help="folder for the region table (table.npz) and fit.json")
    p.add_argument("--table", default=None, help="reuse a table.npz instead of building one")
    p.add_argument("--features", default=None, help="comma list of features (default: GEOMETRY, the drawing's)")
    p.add_argument("--max-filled", type=float, default=0.01,
                   help="the threshold: the lowest whose held-out filled regions guessed holes are at most this share")
    p.add_argument("--l2", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=8, help="tanh units before the logistic output (0: a plain "
                                                          "logistic regression)")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--write-config", action="store_true", help="store the guess as the model's config \"holes\"")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.num_threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.table:
        table = dict(np.load(args.table))
    else:
        from PIL import Image

        from pix2pix_demo.data import load_pairs
        from pix2pix_demo.pipelines import Pix2PixPipeline

        arrays, _ = load_pairs(args.data, None, args.direction, limit=args.limit)
        pipe = Pix2PixPipeline.from_pretrained(args.model)
        pairs = ((Image.fromarray(a), Image.fromarray(b)) for a, b in arrays)
        table = region_table(pairs, pipe, progress=200)
        np.savez_compressed(out / "table.npz", **table)
    entry = fit_guess(table, args.features.split(",") if args.features else None, max_filled=args.max_filled, l2=args.l2,
                      hidden=args.hidden)
    entry["note"] = (f"train.holes: a logistic regression" + (f" over {args.hidden} tanh units" if args.hidden else "")
                     + ("" if args.features else " on the drawing's geometry") + f", fitted on {entry['fit']['regions']} enclosed regions of "
                     f"{args.data} (3 of 4 pictures), threshold chosen on the other pictures' "
                     f"{entry['fit']['held_out_regions']} regions (filled guessed holes <= {args.max_filled:g})")
    (out / "fit.json").write_text(json.dumps(entry, indent=2))
    print(json.dumps({k: v for k, v in entry.items() if k not in ("mean", "scale")}, indent=1))
    if args.write_config:
        write_holes_config(args.model, {k: v for k, v in entry.items() if k != "fit"} | {"fit": entry["fit"]["at_threshold"]})


def write_holes_config(folder, holes: dict) -> None:
    """Set a model folder's config "holes" to `holes`, each of its keys on one line (the coefficients stay a few
    lines), the rest of the file as json.dumps(indent=2) writes it, its characters unescaped as written by hand."""
    import json
    from pathlib import Path

    from pix2pix_demo.hub import CONFIG_NAME, atomic_write_bytes

    path = Path(folder) / CONFIG_NAME
    config = json.loads(path.read_text(encoding="utf-8"))
    config["holes"] = "@@HOLES@@"
    lines = [f'    {json.dumps(key)}: {json.dumps(value, ensure_ascii=False, separators=(", ", ": "))}'
             for key, value in holes.items()]
    text = json.dumps(config, indent=2, ensure_ascii=False).replace('"@@HOLES@@"', "{\n" + ",\n".join(lines) + "\n  }")
    assert json.loads(text)["holes"] == json.loads(json.dumps(holes))
    atomic_write_bytes(path, (text + "\n").encode("utf-8"))


if __name__ == "__main__":
    main()
