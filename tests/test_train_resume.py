"""train.pix2pix killed in the middle of a checkpoint write, then resumed: no stray files, no duplicate
log lines; and --resume with other architecture options says which option changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from test_train import REPO, TINY_ARGS, make_pairs, run_cli

pytestmark = pytest.mark.slow


def steps_in_log(run_dir) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()]


def kill_during_a_checkpoint_write(command: list[str], run_dir, attempts: int = 6) -> str:
    """Start the training, SIGKILL it while a checkpoint's temporary file exists (after the first checkpoint
    is complete); retried (with
    --resume) until a kill lands inside a write. Returns the name of the temporary file left behind."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    for _ in range(attempts):
        resume = ["--resume"] if (run_dir / "checkpoint.pt").is_file() else []
        process = subprocess.Popen([sys.executable, "-m", "train.pix2pix", *command, *resume], cwd=REPO, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        try:
            while process.poll() is None and time.monotonic() < deadline:
                if run_dir.is_dir() and any(e.name.endswith(".tmp") for e in os.scandir(run_dir)) \
                        and (run_dir / "checkpoint.pt").is_file():  # a later write: one checkpoint is complete
                    os.kill(process.pid, signal.SIGKILL)
                    break
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        stray = sorted(path.name for path in run_dir.glob(".*.tmp"))
        if stray:
            return stray[0]
    pytest.fail("no kill landed inside a checkpoint write")


def test_kill_during_a_checkpoint_write_then_resume(tmp_path):
    data = make_pairs(tmp_path / "data")
    run_dir = tmp_path / "runs" / "killed"
    common = ["--data", str(data), "--name", "killed", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "w"),
              *TINY_ARGS, "--log-every", "1", "--checkpoint-every", "3"]
    stray = kill_during_a_checkpoint_write([*common, "--steps", "100000"], run_dir)
    assert stray.startswith(".checkpoint.pt.")
    saved_step = torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"]  # the last complete one
    assert max(steps_in_log(run_dir)) > saved_step  # the log ran ahead of the checkpoint

    result = run_cli("train.pix2pix", *common, "--steps", str(saved_step + 5), "--resume")
    assert "unfinished" in result.stdout and stray in result.stdout
    assert not list(run_dir.glob(".*.tmp")) and not list((tmp_path / "w" / "killed").glob(".*.tmp"))
    steps = steps_in_log(run_dir)
    assert steps == list(range(1, saved_step + 6)), steps  # every step once, in order
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["step"] == saved_step + 5


def test_resume_with_another_architecture_names_the_changed_option(tmp_path):
    data = make_pairs(tmp_path / "data", 8)
    common = ["--data", str(data), "--name", "arch", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "w"),
              *TINY_ARGS]
    run_cli("train.pix2pix", *common, "--steps", "2")
    result = run_cli("train.pix2pix", *common, "--steps", "4", "--resume", "--base-channels", "16", "--d-layers", "2",
                     check=False)
    assert result.returncode != 0
    assert "--base-channels 8 in the checkpoint, 16 now" in result.stderr
    assert "--d-layers 1 in the checkpoint, 2 now" in result.stderr
    assert "Traceback" not in result.stderr


def test_shared_resume_check_names_every_changed_architecture_option():
    from types import SimpleNamespace

    from train.harness import architecture_changes, refuse_other_architecture

    args = SimpleNamespace(channels=16, blocks=4, lr=1e-3)
    saved = {"channels": 32, "blocks": 4, "lr": 5e-4}  # lr is not an architecture option
    changes = architecture_changes(saved, args, ("channels", "blocks", "noise_channels"))
    assert changes == ["--channels 32 in the checkpoint, 16 now"]  # unrecorded options count as unchanged
    refuse_other_architecture(Path("ckpt.pt"), [])  # nothing changed: no error
    with pytest.raises(SystemExit, match=r"ckpt.pt holds a different architecture \(--channels 32 in the checkpoint"):
        refuse_other_architecture(Path("ckpt.pt"), changes)


def test_budget_timer_counts_cpu_seconds_per_thread_or_wall_time_after_what_was_spent_before():
    from train.harness import budget_timer

    wall, cpu = budget_timer("wall", 1, before=60.0), budget_timer("cpu", 2)
    time.sleep(0.2)  # sleeping costs no CPU time
    assert wall() >= 60.19 and cpu() < 0.1
    with pytest.raises(ValueError, match="wall"):
        budget_timer("gpu", 1)
