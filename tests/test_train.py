"""Training and evaluation CLIs on a generated 16-pair dataset (no ../shared, no network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import load_model
from pix2pix_demo.data import detect_layout, load_pairs
from pix2pix_demo.app_benchmark import free_port

REPO = Path(__file__).resolve().parent.parent
TINY_ARGS = ["--size", "32", "--batch-size", "4", "--base-channels", "8", "--num-downsamplings", "5",
             "--max-channels", "32", "--d-layers", "1", "--d-channels", "8", "--jitter", "1.0",
             "--log-every", "5", "--sample-every", "1000", "--checkpoint-every", "10", "--num-threads", "1"]


def make_pairs(folder: Path, count: int = 16, layout: str = "ab") -> Path:
    """Circles: A = black outline on white, B = a filled yellow disc on a plain colour."""
    rng = np.random.default_rng(0)
    for i in range(count):
        x, y, r = (int(v) for v in rng.integers(6, 20, 3))
        a = Image.new("RGB", (32, 32), "white")
        ImageDraw.Draw(a).ellipse([x, y, x + r, y + r], outline="black", width=2)
        b = Image.new("RGB", (32, 32), (40, 60, 160))
        ImageDraw.Draw(b).ellipse([x, y, x + r, y + r], fill=(250, 210, 0))
        if layout == "ab":
            ab = Image.new("RGB", (64, 32))
            ab.paste(a, (0, 0))
            ab.paste(b, (32, 0))
            folder.mkdir(parents=True, exist_ok=True)
            ab.save(folder / f"{i:02d}.png")
        else:
            (folder / "A").mkdir(parents=True, exist_ok=True)
            (folder / "B").mkdir(parents=True, exist_ok=True)
            a.save(folder / "A" / f"{i:02d}.png")
            b.save(folder / "B" / f"{i:02d}.jpg")
    return folder


def run_cli(module: str, *args: str, env_extra: dict | None = None, check: bool = True, launcher=None):
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env_extra or {})}
    command = (launcher or [sys.executable, "-m"]) + [module, *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    if check and result.returncode != 0:
        raise AssertionError(f"{module} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]


def test_layouts_are_detected_and_read_the_same(tmp_path):
    ab = make_pairs(tmp_path / "ab", 4, "ab")
    folders = make_pairs(tmp_path / "folders", 4, "folders")
    assert detect_layout(ab) == "ab" and detect_layout(folders) == "folders"
    pairs_ab, _ = load_pairs(ab)
    pairs_folders, names = load_pairs(folders, exclude={"01"})
    assert "01.png" not in names and len(pairs_folders) == 3
    assert np.array_equal(pairs_ab[0][0], pairs_folders[0][0])  # A is the same PNG either way
    swapped, _ = load_pairs(ab, direction="BtoA")
    assert np.array_equal(swapped[0][0], pairs_ab[0][1])


@pytest.mark.slow
def test_training_lowers_l1_exports_resumes_and_evaluates(tmp_path):
    data = make_pairs(tmp_path / "data")
    out, runs = tmp_path / "weights", tmp_path / "runs"
    common = ["--data", str(data), "--name", "circles", "--out", str(out), "--runs", str(runs), *TINY_ARGS,
              "--lr", "1e-3", "--decay-start", "1.0"]
    run_cli("train.pix2pix", *common, "--steps", "60")
    log = read_log(runs / "circles")
    first, last = log[0]["loss_l1"], np.mean([r["loss_l1"] for r in log[-3:]])
    assert last < 0.7 * first, f"L1 did not drop: {first:.3f} -> {last:.3f}"
    config = json.loads((out / "circles" / "config.json").read_text())
    assert config["training"]["steps"] == 60 and "train.pix2pix" in config["training"]["command"]
    assert config["resolution"] == 32 and config["training"]["wall_time_s"] > 0
    assert list((runs / "circles" / "samples").glob("*.png"))

    # resume: continues from the saved step instead of starting again
    result = run_cli("train.pix2pix", *common, "--steps", "80", "--resume")
    assert "Resumed" in result.stdout and "at step 60" in result.stdout
    steps = [r["step"] for r in read_log(runs / "circles")]
    assert steps[-1] == 80 and steps.count(5) == 1  # the early steps were not repeated
    assert load_model(out / "circles").metadata["training"]["steps"] == 80

    evaluation = run_cli("train.eval.pix2pix", "--model", str(out / "circles"), "--data", str(data), "--json",
                         "--grid", str(tmp_path / "grid.png"), "--save-metrics", "train-set")
    metrics = json.loads(evaluation.stdout)
    assert metrics["pairs"] == 16 and 0 <= metrics["l1"] < 0.5 and metrics["psnr"] > 8 and -1 <= metrics["ssim"] <= 1
    grid = Image.open(tmp_path / "grid.png")
    assert grid.width > 2 * grid.height / 8  # three columns per row
    assert load_model(out / "circles").metadata["metrics"]["train-set"]["pairs"] == 16


def test_evaluate_restricts_to_a_file_list(tmp_path):
    data = make_pairs(tmp_path / "data", 6, "folders")
    from pix2pix_demo import save_model
    from pix2pix_demo.models import UNetConfig, UNetGenerator

    save_model(UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=5, max_channels=8)), tmp_path / "m",
               {"resolution": 32})
    (tmp_path / "list.txt").write_text("00.png\n03.png\n")
    from train.eval.pix2pix import main as evaluate_main

    evaluate_main(["--model", str(tmp_path / "m"), "--data", str(data), "--files", str(tmp_path / "list.txt"),
                   "--grid", str(tmp_path / "g.png"), "--grid-columns", "input,output"])
    assert Image.open(tmp_path / "g.png").height < 2 * 192 + 10  # two rows


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(tmp_path):
    data = make_pairs(tmp_path / "data", 8)
    common = ["--data", str(data), "--name", "nan", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
              *TINY_ARGS]
    run_cli("train.pix2pix", *common, "--steps", "10")
    checkpoint = tmp_path / "r" / "nan" / "checkpoint.pt"
    before = checkpoint.read_bytes()
    result = run_cli("train.pix2pix", *common, "--steps", "20", "--resume", "--lr", "1e30", check=False)
    assert result.returncode != 0
    assert "NaN" in result.stderr and "last good checkpoint" in result.stderr
    assert checkpoint.read_bytes() == before  # untouched: still the step-10 state
    assert torch.load(checkpoint, weights_only=True)["step"] == 10


def test_cli_errors_are_clear(tmp_path):
    result = run_cli("train.pix2pix", "--data", str(tmp_path / "missing"), "--name", "x", "--steps", "1", check=False)
    assert result.returncode != 0 and "does not exist" in result.stderr
    data = make_pairs(tmp_path / "data", 4)
    result = run_cli("train.pix2pix", "--data", str(data), "--name", "x", "--size", "48", "--steps", "1",
                     "--runs", str(tmp_path / "r"), "--out", str(tmp_path / "w"), check=False)
    assert "not divisible" in result.stderr



@pytest.mark.slow
def test_two_process_torchrun_on_cpu(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun comes with torch"
    data = make_pairs(tmp_path / "data", 16)
    run_cli("train.pix2pix", "--data", str(data), "--name", "ddp", "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "r"), *TINY_ARGS, "--steps", "6", "--device", "cpu",
            launcher=[torchrun, "--nproc_per_node", "2", "--master_port", str(free_port()), "-m"])
    config = json.loads((tmp_path / "w" / "ddp" / "config.json").read_text())
    assert config["training"]["world_size"] == 2 and config["training"]["steps"] == 6


def test_edge_augmentation_keeps_lines_when_training_below_the_stored_size(tmp_path):
    """Augmenting after a down-scale once broke 1-px lines into dots (the model then ignored its
    input): the augmented input must keep roughly as much line as the plain one."""
    from pix2pix_demo.data import PairedDataset

    edges = Image.new("RGB", (128, 128), "white")
    draw = ImageDraw.Draw(edges)
    for offset in range(10, 120, 20):  # 1-px lines, as the edge extractor draws them
        draw.line([(offset, 5), (offset, 122)], fill="black", width=1)
    pair = (np.asarray(edges), np.asarray(edges))
    plain = PairedDataset([pair], size=64, jitter=1.0, flip=False)
    augmented = PairedDataset([pair], size=64, jitter=1.0, flip=False, augment_edges=True)
    plain_ink = (plain[0][0] < 0.5).float().mean()
    for seed in range(5):
        augmented.seed = seed
        assert (augmented[0][0] < 0.5).float().mean() > 0.4 * plain_ink


def test_make_edges_dataset_writes_pairs_and_records_the_extractor(tmp_path):
    from pix2pix_demo.data import dataset_edge_method

    source = tmp_path / "photos" / "sub"
    source.mkdir(parents=True)
    for i in range(3):
        photo = Image.new("RGB", (96, 64), (220, 220, 210))
        ImageDraw.Draw(photo).rectangle([10 + 5 * i, 12, 60, 50], fill=(60, 40, 150))
        photo.save(source / f"p{i}.jpg")
    (tmp_path / "skip.txt").write_text("p2.jpg\n")
    out = tmp_path / "dataset"
    run_cli("train.data.edges", str(tmp_path / "photos"), str(out), "--size", "48", "--variants", "2",
            "--method", "canny", "--exclude", str(tmp_path / "skip.txt"), "--workers", "1")
    edges, photos = sorted((out / "A").glob("*.png")), sorted((out / "B").glob("*.png"))
    assert [p.name for p in edges] == ["sub-p0.png", "sub-p0__v1.png", "sub-p1.png", "sub-p1__v1.png"]
    assert [p.name for p in photos] == [p.name for p in edges]
    first = Image.open(edges[0])
    assert first.mode == "L" and min(first.size) == 48 and Image.open(photos[0]).mode == "RGB"
    assert set(np.unique(np.asarray(first))) <= {0, 255} and (np.asarray(first) == 0).any()
    info = json.loads((out / "dataset.json").read_text())
    assert info["edge_method"] == "canny" and info["pairs"] == 4 and len(info["edge_settings"]) == 2
    # what train.pix2pix records in the model config (the app's Photo tab follows it)
    assert dataset_edge_method(out) == "canny"
    assert dataset_edge_method(make_pairs(tmp_path / "ab")) is None  # real edge maps: unknown
    assert dataset_edge_method(source, edge_method="hed-like") == "hed-like"  # a folder of photos
