"""SinGAN's part of `python -m pix2pix_demo.benchmark`: sample and finish times of the shipped models, and
the applications on the largest inputs the app accepts (time and memory)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..singan_options import MAX_FRAMES, MAX_INPUT_SIDE, MAX_SUPER_RESOLVE_SIDE, TrainOptions
from .applications import animate, edit, harmonize, paint, sample, super_resolve
from .training import train_singan


def shipped_models() -> dict[str, str]:
    """key -> local folder of every SinGAN in the weights folder (via the registry when present)."""
    try:
        from .. import registry

        return {key: entry.source for key, entry in registry.list_models("singan").items() if entry.local}
    except ImportError:
        from ..hub import read_config

        folders = {}
        for config in sorted((Path(__file__).resolve().parents[2] / "weights").glob("*/config.json")):
            try:
                if read_config(config.parent)["model_type"] == "singan":
                    folders[config.parent.name] = str(config.parent)
            except Exception:  # noqa: BLE001 - a broken folder is skipped, not fatal here
                continue
        return folders


def reference_image(size: int = 128) -> Image.Image:
    """A deterministic synthetic picture (blobs on a gradient) used by tests and the benchmark."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([0.3 + 0.5 * yy, 0.4 + 0.3 * xx, 0.8 - 0.4 * yy], -1)
    for _ in range(max(3, size // 10)):
        cy, cx, r = rng.random(), rng.random(), 0.03 + 0.07 * rng.random()
        colour = rng.random(3)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        rgb[blob] = colour
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")


def benchmark_section(full: bool = False) -> dict:
    """Sample time (ms, median of 3) for each shipped SinGAN, the same samples finished from the photo
    for the models that keep one (median of 2), and with `full` the training time of the 128-px
    reference image at 100 iterations per scale."""
    from ..hub import load_local, read_config

    result = {"sample_ms": {}, "threads": torch.get_num_threads()}
    for key, folder in shipped_models().items():
        model = load_local(folder)
        times = []
        for seed in range(4):
            t0 = time.perf_counter()
            sample(model, seed=seed)
            times.append((time.perf_counter() - t0) * 1000)
        shape = read_config(folder)["architecture"]["shapes"][-1]
        result["sample_ms"][key] = {"ms": round(float(np.median(times[1:])), 1), "size": f"{shape[1]}x{shape[0]}"}
        if model.config.keeps_photo:
            times = []
            for seed in range(2):
                t0 = time.perf_counter()
                sample(model, seed=seed, finish=True)
                times.append((time.perf_counter() - t0) * 1000)
            result["sample_ms"][key]["finished_ms"] = round(float(np.median(times)), 1)
    if full:
        options = TrainOptions(max_size=128, iters=100, min_iters=100, device="cpu")
        t0 = time.perf_counter()
        _, stats = train_singan(reference_image(128), options)
        result["train_reference"] = {"image": "synthetic 128x128", "iters_per_scale": 100,
                                     "scales": stats["num_scales"], "seconds": round(time.perf_counter() - t0, 1)}
    return result


def _peak_rss_growth_mb(fn) -> tuple[object, float, float]:
    """Run fn(); return (its result, seconds, peak resident-memory growth in MB during the call)."""
    import os

    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * page

    base, peak, done = rss(), [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss())
            done.wait(0.005)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    started = time.perf_counter()
    try:
        result = fn()
    finally:
        seconds = time.perf_counter() - started
        done.set()
        watcher.join()
    return result, seconds, max(0.0, (max(peak[0], rss()) - base) / 2**20)


def bounds_section(full: bool = False) -> dict:
    """The applications on the largest inputs a person can send (the app accepts up to 40 MP), with the
    shipped models: seconds, peak memory growth and result size. These are what MAX_INPUT_SIDE,
    MAX_SUPER_RESOLVE_SIDE and MAX_FRAMES bound (see the README's SinGAN limits)."""
    from ..hub import load_local

    folders = shipped_models()
    rng = np.random.default_rng(0)

    def picture(width: int, height: int) -> Image.Image:
        small = Image.fromarray(rng.integers(0, 255, (height // 50 + 1, width // 50 + 1, 3), dtype=np.uint8))
        return small.resize((width, height), Image.BILINEAR)

    def box_mask(size) -> Image.Image:
        mask = Image.new("L", size, 0)
        mask.paste(255, (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        return mask

    big = picture(4000, 2680)
    cases = {
        "edit 4000x2680": ("singan-stone", lambda m: edit(m, big, box_mask(big.size))),
        "harmonize 4000x2680": ("singan-starry_night", lambda m: harmonize(m, big, box_mask(big.size))),
        "paint 6000x6000, quantize": ("singan-cows", lambda m: paint(m, picture(6000, 6000), quantize=True)),
        "super-resolve 1200x1000 x4": ("singan-33039_LR", lambda m: super_resolve(m, picture(1200, 1000), 4)),
        f"animate {MAX_FRAMES} frames": ("singan-lightning1", lambda m: animate(m, MAX_FRAMES)),
    }
    result = {"threads": torch.get_num_threads(), "limits": {"max_input_side": MAX_INPUT_SIDE,
              "max_super_resolve_side": MAX_SUPER_RESOLVE_SIDE, "max_frames": MAX_FRAMES}, "cases": {}}
    for name, (key, run) in cases.items():
        if key not in folders:
            result["cases"][name] = f"skipped: {key} is not in the weights folder"
            continue
        model = load_local(folders[key])
        output, seconds, grown = _peak_rss_growth_mb(lambda: run(model))
        size = output.size if isinstance(output, Image.Image) else f"{len(output) / 1e6:.1f} MB GIF"
        result["cases"][name] = {"model": key, "seconds": round(seconds, 1), "peak_rss_growth_mb": round(grown),
                                 "result": f"{size[0]}x{size[1]}" if isinstance(size, tuple) else size}
    return result
