"""Speed and memory, measured side by side in one run on the current device.

    python -m pix2pix_demo.benchmark [--json] [--full] [--sections pix2pix,app,singan,singan_bounds]

Section "pix2pix": batch 1 at 256², the median ms per forward pass (after warm-up) of the
paper's generator and of every pix2pix model in weights/, their parameters, the peak memory
of a fresh process that loads the model and runs it, and training images/s (one G + D step,
batch 1, 256², vanilla GAN + L1). Other sections come from the app and SinGAN modules.
Machines here are shared and noisy: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from .hub import load_local, read_config, resolve_device
from .losses import GANLoss
from .models import PRESETS, PatchGANConfig, PatchGANDiscriminator, UNetGenerator

REPO_ROOT = Path(__file__).resolve().parent.parent
# Other sections: name -> "module:function", each function(full: bool) -> dict.
EXTRA_SECTIONS = {"app": "pix2pix_demo.app_benchmark:benchmark_section",
                  "singan": "pix2pix_demo.singan:benchmark_section",
                  "singan_bounds": "pix2pix_demo.singan:bounds_section"}


def median_ms(fn, repeats: int = 15, warmup: int = 3, device=None) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        fn()
        if device is not None and device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def interleaved_forward_ms(models: dict, device, size: int = 256, repeats: int = 15, warmup: int = 2) -> dict:
    """Time the models' forward passes in turns (round r runs every model once, in a rotating
    order), so a burst of load from another process hits all of them alike. Returns
    {name: [ms per round]}: compare medians, or better the median of per-round ratios."""
    inputs = {name: torch.randn(1, m.config.in_channels, size, size, device=device) for name, m in models.items()}
    names = list(models)
    times = {name: [] for name in names}
    with torch.inference_mode():
        for model in models.values():
            model.to(device).eval()
        for round_index in range(warmup + repeats):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
                models[name](inputs[name])
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                if round_index >= warmup:
                    times[name].append((time.perf_counter() - start) * 1000)
    return times


def train_images_per_s(generator, device, size: int = 256, steps: int = 4) -> float:
    """One pix2pix training step (D then G, batch 1) repeated; images per second."""
    generator = generator.to(device).train()
    channels = generator.config.in_channels + generator.config.out_channels
    discriminator = PatchGANDiscriminator(PatchGANConfig(in_channels=channels)).to(device).train()
    opt_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    gan = GANLoss("vanilla")
    a = torch.randn(1, generator.config.in_channels, size, size, device=device)
    b = torch.randn(1, generator.config.out_channels, size, size, device=device)

    def step():
        fake = generator(a)
        loss_d = gan.discriminator_loss(discriminator(torch.cat([a, b], 1)), discriminator(torch.cat([a, fake.detach()], 1)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = gan.generator_loss(discriminator(torch.cat([a, fake], 1))) + 100 * (fake - b).abs().mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()

    ms = median_ms(step, repeats=steps, warmup=1, device=device)
    generator.eval()
    return 1000.0 / ms


def peak_memory_mb(target: str, device) -> float:
    """Peak memory of loading `target` (a preset name or model folder) and running one
    256² forward pass: GPU peak allocation on CUDA, else peak RSS of a fresh process."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        model = (UNetGenerator(PRESETS[target]) if target in PRESETS else load_local(target)).to(device).eval()
        with torch.inference_mode():
            model(torch.randn(1, model.config.in_channels, 256, 256, device=device))
        return torch.cuda.max_memory_allocated(device) / 2**20
    code = (
        "import sys, torch\n"
        "from pix2pix_demo.models import PRESETS, UNetGenerator\n"
        "from pix2pix_demo.hub import load_local\n"
        "t = sys.argv[1]\n"
        "m = (UNetGenerator(PRESETS[t]) if t in PRESETS else load_local(t)).eval()\n"
        "with torch.inference_mode(): m(torch.randn(1, m.config.in_channels, 256, 256))\n"
        # VmHWM: this process's peak resident memory (ru_maxrss would inherit the parent's peak)
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code, target], capture_output=True, text=True, check=True,
                         cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
    return int(out.stdout.strip().splitlines()[-1]) / 1024  # VmHWM is in KiB


def pix2pix_models(weights_dir: Path) -> dict[str, Path]:
    found = {}
    for folder in sorted(weights_dir.iterdir()) if weights_dir.is_dir() else []:
        try:
            if read_config(folder)["model_type"] == UNetGenerator.model_type:
                found[folder.name] = folder
        except Exception:  # not a model folder (or a broken one: the loader tests cover those)
            continue
    return found


class TwoStages(torch.nn.Module):
    """A pix2pix model followed by the texture stage its config names: what a picture costs in the app."""

    def __init__(self, first: torch.nn.Module, detail: torch.nn.Module):
        super().__init__()
        self.first, self.detail, self.config = first, detail, first.config

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.detail(self.first(x))


def texture_stages(shipped: dict, weights_dir: Path) -> dict:
    """{"NAME + STAGE": TwoStages} for every model whose config names a texture stage found in weights_dir."""
    pairs = {}
    for name, model in shipped.items():
        stage = (getattr(model, "metadata", {}) or {}).get("detail")
        if isinstance(stage, str) and (weights_dir / stage / "config.json").is_file():
            pairs[f"{name} + {stage}"] = TwoStages(model, load_local(weights_dir / stage))
    return pairs


def pix2pix_section(device, weights_dir: Path, full: bool = False) -> dict:
    paper = UNetGenerator(PRESETS["pix2pix-paper"])
    shipped = {name: load_local(folder) for name, folder in pix2pix_models(weights_dir).items()}
    with_texture = texture_stages(shipped, weights_dir)
    # forward passes of all models timed in turns (not one model after another): on a busy machine
    # the load then slows every model alike and the speed-ups stay meaningful
    times = interleaved_forward_ms({"pix2pix-paper": paper, **shipped, **with_texture}, device,
                                   repeats=21 if full else 15)
    paper_ms = statistics.median(times["pix2pix-paper"])
    result = {
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "paper_config_ms": round(paper_ms, 2),
        "paper_config_params_m": round(sum(p.numel() for p in paper.parameters()) / 1e6, 2),
        "paper_config_peak_mb": round(peak_memory_mb("pix2pix-paper", device), 1),
        "paper_config_train_images_per_s": round(train_images_per_s(paper, device), 3),
        "timing": "interleaved rounds; speed-up = median over rounds of paper ms / model ms",
        "models": {},
    }
    del paper
    for name, folder in pix2pix_models(weights_dir).items():
        model = shipped[name]
        ms = statistics.median(times[name])
        ratios = [p / m for p, m in zip(times["pix2pix-paper"], times[name])]
        result["models"][name] = {
            "ms": round(ms, 2),
            "speedup_vs_paper": round(statistics.median(ratios), 2),
            "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
            "file_mb": round((folder / "model.safetensors").stat().st_size / 2**20, 2),
            "peak_mb": round(peak_memory_mb(str(folder), device), 1),
            "train_images_per_s": round(train_images_per_s(UNetGenerator(model.config), device), 3),
        }
    for name, model in with_texture.items():  # the app's picture: the model, then its texture stage
        ratios = [p / m for p, m in zip(times["pix2pix-paper"], times[name])]
        result["with_texture"] = {**result.get("with_texture", {}), name: {
            "ms": round(statistics.median(times[name]), 2), "speedup_vs_paper": round(statistics.median(ratios), 2),
            "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2)}}
    return result


def run(sections: list[str], device="auto", weights_dir: Path = REPO_ROOT / "weights", full: bool = False) -> dict:
    device = resolve_device(device)
    results = {}
    for name in sections:
        if name == "pix2pix":
            results[name] = pix2pix_section(device, weights_dir, full)
            continue
        module_name, function = EXTRA_SECTIONS[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            results[name] = {"skipped": f"{module_name} not available ({error})"}
            continue
        results[name] = getattr(module, function)(full)
    return results


def format_report(results: dict) -> str:
    lines = []
    p2p = results.get("pix2pix")
    if p2p:
        lines.append(f"pix2pix on {p2p['device']} ({p2p['torch_threads']} threads), batch 1, 256²:")
        lines.append(f"  {'model':28s} {'ms':>8s} {'speed-up':>9s} {'params M':>9s} {'peak MB':>8s} {'train img/s':>11s}")
        lines.append(f"  {'paper preset (U-Net-256)':28s} {p2p['paper_config_ms']:8.1f} {1.0:9.2f} "
                     f"{p2p['paper_config_params_m']:9.2f} {p2p['paper_config_peak_mb']:8.0f} "
                     f"{p2p['paper_config_train_images_per_s']:11.2f}")
        for name, m in p2p["models"].items():
            lines.append(f"  {name:28s} {m['ms']:8.1f} {m['speedup_vs_paper']:9.2f} {m['params_m']:9.2f} "
                         f"{m['peak_mb']:8.0f} {m['train_images_per_s']:11.2f}")
        for name, m in (p2p.get("with_texture") or {}).items():
            lines.append(f"  {name:28s} {m['ms']:8.1f} {m['speedup_vs_paper']:9.2f} {m['params_m']:9.2f}")
    for name, section in results.items():
        if name != "pix2pix":
            lines.append(f"{name}: {json.dumps(section, indent=2)}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--full", action="store_true", help="include the slow parts (load run, SinGAN training time)")
    parser.add_argument("--sections", default="pix2pix,app,singan")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--weights", default=str(REPO_ROOT / "weights"))
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (default: torch's). On a busy machine use 1: with 2 threads on 2 loaded "
                             "cores a small model's pass took ~1.2 s instead of ~65 ms, and speed-ups meant nothing")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = run([s.strip() for s in args.sections.split(",") if s.strip()], args.device, Path(args.weights), args.full)
    results["peak_rss_mb_this_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(results, indent=2) if args.json else format_report(results))


if __name__ == "__main__":
    main()
