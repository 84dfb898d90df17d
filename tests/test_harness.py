"""train.harness: a seeded tiny run is deterministic, and a resumed run continues exactly as the
uninterrupted one (same log, same exported weights)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from test_train import TINY_ARGS, make_pairs

CLOCKS = {"elapsed_s", "spent_s"}


def curve(run_dir: Path) -> list[dict]:
    """log.jsonl without the clock readings (they differ from run to run)."""
    return [{k: v for k, v in json.loads(line).items() if k not in CLOCKS}
            for line in (run_dir / "log.jsonl").read_text().splitlines()]


def weights(folder: Path) -> dict:
    return load_file(str(folder / "model.safetensors"))


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def pix2pix(tmp_path: Path, data: Path, name: str, *extra: str) -> Path:
    from train import pix2pix as trainer

    args = ["--data", str(data), "--name", name, "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "runs"),
            *TINY_ARGS, "--log-every", "1", "--checkpoint-every", "4", "--sample-every", "3", "--decay-start", "1.0",
            "--ema", "0.9", "--g-noise", "1", *extra]
    trainer.main(trainer.get_args_parser().parse_args(args))
    return tmp_path / "w" / name


def test_a_seeded_run_is_deterministic_and_resume_continues_it_exactly(tmp_path):
    data = make_pairs(tmp_path / "data")  # 16 pairs, batch 4: an epoch is 4 steps
    straight = pix2pix(tmp_path, data, "straight", "--steps", "12")
    again = pix2pix(tmp_path, data, "again", "--steps", "12")
    assert curve(tmp_path / "runs" / "straight") == curve(tmp_path / "runs" / "again")
    assert same_weights(weights(straight), weights(again))
    assert len(curve(tmp_path / "runs" / "straight")) == 12

    pix2pix(tmp_path, data, "resumed", "--steps", "8")  # stops at an epoch boundary...
    assert torch.load(tmp_path / "runs" / "resumed" / "checkpoint.pt", weights_only=True)["step"] == 8
    resumed = pix2pix(tmp_path, data, "resumed", "--steps", "12", "--resume")  # ...and goes on
    assert curve(tmp_path / "runs" / "resumed") == curve(tmp_path / "runs" / "straight")
    assert same_weights(weights(resumed), weights(straight))
    # the sample grids of the same steps (and one more, where the first part ended)
    names = lambda run: {p.name for p in (tmp_path / "runs" / run / "samples").iterdir()}  # noqa: E731
    assert names("resumed") == names("straight") | {"step_0000008.png"}


def test_a_different_seed_gives_a_different_run(tmp_path):
    data = make_pairs(tmp_path / "data", 8)
    one = pix2pix(tmp_path, data, "one", "--steps", "3")
    two = pix2pix(tmp_path, data, "two", "--steps", "3", "--seed", "1")
    assert curve(tmp_path / "runs" / "one") != curve(tmp_path / "runs" / "two")
    assert not same_weights(weights(one), weights(two))


def test_the_batches_stop_before_drawing_one_more():
    """The run ends without starting another epoch: the last checkpoint's RNG is the next step's."""
    from types import SimpleNamespace

    from train.harness import Run

    args = SimpleNamespace(runs="unused", name="x", steps=4, time_budget=None, resume=False, budget_clock="wall")
    run = Run(args, "train.test", is_main=False)
    drawn = []

    class Loader(list):
        def __iter__(self):
            drawn.append(torch.rand(()))  # a new epoch draws from the RNG, as a DataLoader does
            return super().__iter__()

    for batch in run.batches(Loader([1, 2])):
        run.advance()
    assert run.step == 4 and run.epoch == 1 and len(drawn) == 2


def test_a_trainer_that_draws_batches_by_step_resumes_exactly_at_any_step(tmp_path):
    """train.detail (batches drawn from (seed, step), noise from torch's RNG): 5 steps + 4 resumed = 9 steps."""
    from test_detail import make_pairs as make_photo_pairs

    from train.detail import get_args_parser, main

    make_photo_pairs(tmp_path / "pairs")

    def detail(name: str, *extra: str) -> Path:
        main(get_args_parser().parse_args([
            "--pairs", str(tmp_path / "pairs"), "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / name),
            "--name", name, "--crop", "32", "--batch-size", "4", "--channels", "8", "--blocks", "1",
            "--d-channels", "8", "--d-layers", "2", "--log-every", "1", "--checkpoint-every", "3", *extra]))
        return tmp_path / name

    straight = detail("straight", "--steps", "9")
    detail("resumed", "--steps", "5")
    resumed = detail("resumed", "--steps", "9", "--resume")
    assert curve(tmp_path / "runs" / "resumed") == curve(tmp_path / "runs" / "straight")
    assert same_weights(weights(resumed), weights(straight))
