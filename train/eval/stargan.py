"""Measure a StarGAN cat-looks model on held-out photos (and a CycleGAN direction at the same task).

    python -m train.eval.stargan weights/cats-stargan --data ../shared/data \
        --checkpoint runs/cats-stargan/checkpoint.pt --cyclegan bengal=weights/cat2bengal \
        --grid runs/stargan/heldout-grid.png --save-metrics
    python -m train.eval.stargan weights/cats-stargan --pictures examples/photos/chelsea.png \
        --grid docs/images/stargan-chelsea.png            # no data needed: one row per picture

Held-out sets (never trained on): the 200 cat photos of cats/heldout.txt, the 40 Abyssinian_* and 40
Bengal_* photos of cats-masked/heldout.txt. Every photo is shrunk to the model's working scale (short
side `inference_short_side`) and centre-cropped to `resolution`² (128²).

For each translation into a domain T (the held-out cats into abyssinian and bengal; the held-out
Abyssinians and Bengals into cat):
- domain closeness: the sliced Wasserstein distance (SWD ×1000, train.eval.singan's patch metric: 7×7
  patches of a 3-level Laplacian pyramid, normalised by the real set's statistics; mean over levels)
  between the translated pictures and the real held-out photos of T. Lower = closer. Next to it the
  identity baseline (the untranslated inputs against the same photos: what doing nothing scores) and
  a reference (40 *training* photos of T against the same held-out photos: how close other real photos
  of T get). A model must beat the identity.
- colour closeness: the same distance between the sets' pixel colours alone (RGB points, not normalised),
  with the same identity baseline and reference. The Abyssinian's look is mostly a colour (a ruddy,
  ticked coat), which the patch SWD barely separates from ordinary cats.
- content kept: SSIM and L1 between input and output, both shrunk to 64² (1 = the same picture).
- the discriminator's own opinion (with --checkpoint): how often its domain classifier calls the output
  T, and its accuracy on the real held-out photos. It is our own D, trained with this G: not an
  independent judge.
- CPU ms per 256² image (one thread), the generator alone.
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
from PIL import Image, ImageDraw

from pix2pix_demo.data import list_images, read_name_list
from pix2pix_demo.hub import load_model, update_config
from pix2pix_demo.imaging import image_to_tensor, open_image, tensor_to_image, to_rgb
from pix2pix_demo.models.stargan import (StarGANDiscriminator, StarGANDiscriminatorConfig, domain_index,
                                         translate)
from train.eval.pix2pix import ssim
from train.eval.singan import laplacian_pyramid, patches, sliced_wasserstein

# domain -> (folder, held-out list, file-name glob) under --data
HELDOUT = {"cat": ("cats/test", "cats/heldout.txt", "*"),
           "abyssinian": ("cats-masked/images", "cats-masked/heldout.txt", "Abyssinian_*"),
           "bengal": ("cats-masked/images", "cats-masked/heldout.txt", "Bengal_*")}
TRAIN_REFERENCE = {"cat": ("cats/train", "*"), "abyssinian": ("cats-masked/images", "Abyssinian_*"),
                   "bengal": ("cats-masked/images", "Bengal_*")}


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", type=Path, help="a StarGAN model folder")
    p.add_argument("--data", type=Path, default=None, help="the shared data folder (held-out photos)")
    p.add_argument("--checkpoint", type=Path, default=None, help="the run's checkpoint.pt: its D's opinion too")
    p.add_argument("--cyclegan", action="append", default=[], metavar="TARGET=FOLDER",
                   help="a single-direction model from cat into TARGET, measured alongside (repeatable)")
    p.add_argument("--grid", type=Path, default=None)
    p.add_argument("--grid-rows", type=int, default=4, help="held-out cats in the grid (and half as many of each breed)")
    p.add_argument("--pictures", type=Path, nargs="+", help="no measuring: a grid of these pictures in every domain")
    p.add_argument("--save-metrics", action="store_true", help="store the results in the model's config.json")
    p.add_argument("--num-threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="also write the report here")
    return p


def domain_files(root: Path, domain: str, heldout: bool) -> list[Path]:
    if heldout:
        folder, names_file, pattern = HELDOUT[domain]
        names = read_name_list(root / names_file)
        files = [p for p in list_images(root / folder) if p.name in names or p.stem in names]
    else:
        folder, pattern = TRAIN_REFERENCE[domain]
        held = read_name_list(root / HELDOUT[domain][1])
        files = [p for p in list_images(root / folder) if p.name not in held and p.stem not in held]
    return [p for p in files if Path(p.name).match(pattern)]


def centre_crop(image: Image.Image, short_side: int, side: int) -> torch.Tensor:
    """The photo at the working scale (short side `short_side`), centre-cropped to side² -> (1, 3, side, side)."""
    image = to_rgb(image)
    scale = short_side / min(image.size)
    image = image.resize((max(side, round(image.width * scale)), max(side, round(image.height * scale))),
                         Image.LANCZOS if scale < 1 else Image.BICUBIC)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image_to_tensor(image.crop((left, top, left + side, top + side)))


def set_swd(real: list[torch.Tensor], fake: list[torch.Tensor], levels: int = 3, seed: int = 0,
            total: int = 8192) -> float:
    """SWD ×1000 between two sets of (1, 3, H, W) pictures in [-1, 1]: 7×7 patches of each Laplacian level
    (finest first), normalised with the real set's per-level mean and std; the mean over levels."""
    generator = torch.Generator().manual_seed(seed)
    values = []
    for level in range(levels):
        def sample(images):  # `total` patches, as evenly spread over the pictures as the count allows
            per_image = -(-total // len(images))
            drawn = torch.cat([patches(laplacian_pyramid((x + 1) / 2, levels)[level], count=per_image,
                                       generator=generator) for x in images])
            return drawn[torch.randperm(len(drawn), generator=generator)[:total]]
        r, f = sample(real), sample(fake)
        mean, std = r.mean(0, keepdim=True), r.std(0, keepdim=True) + 1e-8
        values.append(1000 * sliced_wasserstein((r - mean) / std, (f - mean) / std, generator=generator))
    return float(np.mean(values))


def colour_swd(real: list[torch.Tensor], fake: list[torch.Tensor], seed: int = 0, total: int = 16384) -> float:
    """SWD ×1000 between the two sets' pixel colours (RGB in [0, 1], no normalisation): how far the colour
    distribution is from the real photos', apart from any texture."""
    generator = torch.Generator().manual_seed(seed)

    def sample(images):
        pixels = torch.cat([((x + 1) / 2).flatten(2)[0].T for x in images])
        return pixels[torch.randint(0, len(pixels), (total,), generator=generator)]

    return 1000 * sliced_wasserstein(sample(real), sample(fake), directions=64, generator=generator)


def content_kept(inputs: list[torch.Tensor], outputs: list[torch.Tensor]) -> dict:
    """Mean SSIM and L1 (on [0, 1]) between each input and its output, both shrunk to 64²."""
    ssims, l1s = [], []
    for x, y in zip(inputs, outputs):
        a = F.interpolate((x + 1) / 2, size=(64, 64), mode="area")
        b = F.interpolate((y + 1) / 2, size=(64, 64), mode="area")
        ssims.append(ssim(a, b))
        l1s.append(float((a - b).abs().mean()))
    return {"ssim_64": round(statistics.fmean(ssims), 4), "l1_64": round(statistics.fmean(l1s), 4)}


def cpu_ms(run, x: torch.Tensor, repeats: int = 5) -> float:
    run(x)  # warm-up
    start = time.process_time()
    for _ in range(repeats):
        run(x)
    return round((time.process_time() - start) / repeats * 1000, 1)


def load_discriminator(checkpoint: Path) -> StarGANDiscriminator:
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    discriminator = StarGANDiscriminator(StarGANDiscriminatorConfig(**state["d_config"]))
    discriminator.load_state_dict(state["discriminator"])
    return discriminator.eval()


def run_cyclegan(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model(x).clamp(-1, 1)


def evaluate(args) -> dict:
    model = load_model(args.model)
    domains = model.config.domains
    side = int(model.metadata.get("resolution") or 128)
    short = int(model.metadata.get("inference_short_side") or side)
    held = {d: [centre_crop(open_image(p), short, side) for p in domain_files(args.data, d, True)] for d in domains}
    reference = {d: [centre_crop(open_image(p), short, side) for p in domain_files(args.data, d, False)[:40]]
                 for d in domains}
    print("held-out photos: " + ", ".join(f"{d}: {len(v)}" for d, v in held.items()), flush=True)
    cyclegans = {}
    for spec in args.cyclegan:
        target, _, folder = spec.partition("=")
        cyclegans[target] = (folder, load_model(folder))
    discriminator = load_discriminator(args.checkpoint) if args.checkpoint else None

    # what is translated into what: cats into each breed, each breed into cat
    tasks = [("cat", t) for t in domains if t != "cat"] + [(s, "cat") for s in domains if s != "cat"]
    report = {"model": str(args.model), "crop": f"{side}² centre crop at short side {short}",
              "heldout_photos": {d: len(v) for d, v in held.items()}, "translations": {}}
    outputs_by_task = {}
    for source, target in tasks:
        inputs = held[source]
        methods = {"stargan": lambda x, t=target: translate(model, x, t)}
        if source == "cat" and target in cyclegans:
            methods[f"cyclegan ({Path(cyclegans[target][0]).name})"] = \
                lambda x, m=cyclegans[target][1]: run_cyclegan(m, x)
        row = {"identity_swd": round(set_swd(held[target], inputs), 1),
               "reference_swd": round(set_swd(held[target], reference[target]), 1),
               "identity_colour_swd": round(colour_swd(held[target], inputs), 1),
               "reference_colour_swd": round(colour_swd(held[target], reference[target]), 1)}
        for name, method in methods.items():
            outputs = [method(x) for x in inputs]
            outputs_by_task[(source, target, name)] = outputs
            result = {"swd": round(set_swd(held[target], outputs), 1),
                      "colour_swd": round(colour_swd(held[target], outputs), 1), **content_kept(inputs, outputs)}
            if discriminator is not None:
                with torch.no_grad():
                    calls = [int(discriminator(y)[1].argmax(1)) for y in outputs]
                result["d_says_target"] = round(statistics.fmean(c == domain_index(model, target) for c in calls), 3)
            row[name] = result
        report["translations"][f"{source} -> {target}"] = row
        print(f"{source} -> {target}: {json.dumps(row)}", flush=True)

    torch.manual_seed(0)
    x256 = torch.rand(1, 3, 256, 256) * 2 - 1
    report["cpu_ms_per_256px"] = {"stargan": cpu_ms(lambda x: translate(model, x, domains[-1]), x256),
                                  **{f"cyclegan ({Path(f).name})": cpu_ms(lambda x, m=m: run_cyclegan(m, x), x256)
                                     for f, m in cyclegans.values()}}
    if discriminator is not None:
        with torch.no_grad():
            accuracy = {d: round(statistics.fmean(int(discriminator(x)[1].argmax(1)) == i for x in held[d]), 3)
                        for i, d in enumerate(domains)}
        report["d_accuracy_on_heldout_real"] = accuracy
        report["d_accuracy_balanced"] = round(statistics.fmean(accuracy.values()), 3)
    if args.grid:
        save_heldout_grid(args, model, held, outputs_by_task, cyclegans)
    return report


def label_row(draw: ImageDraw.ImageDraw, titles: list[str], cell: int) -> None:
    for c, title in enumerate(titles):
        draw.text((c * (cell + 4) + 2, 3), title, fill=(0, 0, 0))


def save_grid(rows: list[list[Image.Image | None]], titles: list[str], path: Path, cell: int = 128) -> None:
    """Rows of pictures, each shown `cell` px wide (aspect kept), a title line on top; None = a blank cell."""
    columns = max(len(row) for row in rows)
    heights = [max(round(cell * im.height / im.width) for im in row if im is not None) for row in rows]
    grid = Image.new("RGB", (columns * (cell + 4) - 4, 18 + sum(heights) + 4 * (len(rows) - 1)), "white")
    label_row(ImageDraw.Draw(grid), titles, cell)
    top = 18
    for row, height in zip(rows, heights):
        for c, image in enumerate(row):
            if image is not None:
                grid.paste(image.resize((cell, round(cell * image.height / image.width)), Image.LANCZOS),
                           (c * (cell + 4), top))
        top += height + 4
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)
    print(f"Grid: {path}")


def save_heldout_grid(args, model, held, outputs_by_task, cyclegans) -> None:
    """Rows: held-out photos of each domain; columns: the photo, then it translated into every domain
    (its own domain too), then the CycleGAN model's output where there is one."""
    domains = model.config.domains
    extra = [f"cyclegan->{t}" for t in cyclegans]
    rows = []
    for d in domains:
        count = args.grid_rows if d == "cat" else max(1, args.grid_rows // 2)
        picks = np.linspace(0, len(held[d]) - 1, count).round().astype(int)
        for i in picks:
            x = held[d][i]
            row = [tensor_to_image(x)] + [tensor_to_image(translate(model, x, t)) for t in domains]
            for t in cyclegans:
                key = next((k for k in outputs_by_task if k[:2] == (d, t) and k[2].startswith("cyclegan")), None)
                row.append(tensor_to_image(outputs_by_task[key][i]) if key else None)
            rows.append(row)
    save_grid(rows, ["input", *[f"to {t}" for t in domains], *extra], args.grid)


def picture_grid(args) -> None:
    """Each --pictures photo (at the model's working scale) in every domain: a grid a README can show."""
    from pix2pix_demo.models.stargan import translate_image

    model = load_model(args.model)
    rows = []
    for path in args.pictures:
        image = to_rgb(open_image(path))
        outputs = [translate_image(model, image, t) for t in model.config.domains]
        rows.append([image.resize(outputs[0].size, Image.LANCZOS), *outputs])
    labels = model.metadata.get("domain_labels") or {}
    width = rows[0][0].width
    save_grid(rows, ["photo", *[labels.get(t, t) for t in model.config.domains]], args.grid, cell=width)


def card_metrics(report: dict) -> dict:
    """The StarGAN numbers of a report, flat enough for a model card: {"cat_to_bengal": {...}, ...}."""
    metrics = {}
    for task, row in report["translations"].items():
        ours = row["stargan"]
        metrics[task.replace(" -> ", "_to_")] = {
            "swd": ours["swd"], "identity_swd": row["identity_swd"], "reference_swd": row["reference_swd"],
            "colour_swd": ours["colour_swd"], "identity_colour_swd": row["identity_colour_swd"],
            "ssim_64": ours["ssim_64"], "l1_64": ours["l1_64"],
            **({"d_says_target": ours["d_says_target"]} if "d_says_target" in ours else {})}
    metrics["cpu_ms_per_256px"] = report["cpu_ms_per_256px"]["stargan"]
    if "d_accuracy_balanced" in report:
        metrics["own_d_accuracy_on_real_heldout"] = report["d_accuracy_balanced"]
    return metrics


def main(argv=None) -> dict:
    args = get_args_parser().parse_args(argv)
    torch.set_num_threads(args.num_threads)
    if args.pictures:
        if not args.grid:
            raise SystemExit("--pictures makes a grid: say where with --grid PATH.")
        picture_grid(args)
        return {}
    if args.data is None:
        raise SystemExit("--data (the shared data folder with the held-out photos) is needed to measure.")
    report = evaluate(args)
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.save_metrics:
        update_config(args.model, metrics={"heldout": card_metrics(report)})
    return report


if __name__ == "__main__":
    main()
