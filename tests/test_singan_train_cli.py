"""python -m train.singan on the shared harness: a seeded tiny run is reproducible (same log.jsonl without the
clock readings, same exported tensors), a resume with another architecture is refused naming the option, and
the temporary file a killed checkpoint write left is removed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from pix2pix_demo.singan import reference_image

CLOCKS = {"seconds", "budget_seconds", "wall_seconds_this_run", "cpu_seconds_this_run"}


def without_clocks(value):
    if isinstance(value, dict):
        return {k: without_clocks(v) for k, v in value.items() if k not in CLOCKS}
    if isinstance(value, list):
        return [without_clocks(v) for v in value]
    return value


def train(tmp_path: Path, name: str, *extra: str) -> Path:
    from train import singan as trainer

    image = tmp_path / "image.png"
    if not image.exists():
        reference_image(48).resize((48, 40)).save(image)
    torch.set_num_threads(1)
    args = ["--image", str(image), "--name", name, "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "runs"),
            "--max-size", "40", "--min-size", "12", "--iters", "3", "--min-iters", "3", "--channels", "8",
            "--device", "cpu", "--num-threads", "1", *extra]
    return trainer.main(trainer.get_args_parser().parse_args(args))


def curve(tmp_path: Path, name: str) -> list:
    lines = (tmp_path / "runs" / name / "log.jsonl").read_text().splitlines()
    return [without_clocks(json.loads(line)) for line in lines]


def same_tensors(a: Path, b: Path) -> bool:
    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


@pytest.mark.slow
def test_a_seeded_singan_run_is_reproducible_and_the_harness_guards_its_run(tmp_path):
    first = train(tmp_path, "first", "--seed", "3")
    again = train(tmp_path, "again", "--seed", "3")
    other = train(tmp_path, "other", "--seed", "4")
    assert curve(tmp_path, "first") == curve(tmp_path, "again")
    assert len(curve(tmp_path, "first")) == json.loads((first / "config.json").read_text())["training"]["scales"] + 1
    assert same_tensors(first, again)
    assert not same_tensors(first, other) and curve(tmp_path, "first") != curve(tmp_path, "other")

    # a resume under another architecture is refused before any work, naming the option
    with pytest.raises(SystemExit, match="--channels 8 in the checkpoint, 12 now"):
        train(tmp_path, "first", "--seed", "3", "--resume", "--channels", "12")
    with pytest.raises(SystemExit, match="no checkpoint"):
        train(tmp_path, "never-trained", "--resume")

    # a checkpoint write killed halfway leaves .checkpoint.pt.*.tmp (hub.atomic_write_bytes): the next run removes it
    stale = tmp_path / "runs" / "first" / ".checkpoint.pt.123.tmp"
    stale.write_bytes(b"\0" * 1000)
    train(tmp_path, "first", "--seed", "3", "--resume")  # finished: continues nothing, exports the same model
    assert not stale.exists()
    assert same_tensors(first, again)
