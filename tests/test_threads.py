"""Training thread counts (issue 28): torch's default, one thread per core, collapsed on a busy 2-core machine."""

from __future__ import annotations

import os

import pytest

from pix2pix_demo import threads


@pytest.mark.parametrize("cores, load, expected", [
    (2, 0.0, 1),    # this project's machine, quiet: half the cores
    (2, 7.5, 1),    # busy: never fewer than one
    (16, 0.2, 8),   # a larger machine, quiet
    (16, 12.0, 4),  # a larger machine, mostly taken
    (1, 0.0, 1),
])
def test_auto_threads_leave_room_and_shrink_under_load(monkeypatch, cores, load, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: cores)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    count, why = threads.choose_threads()
    assert count == expected
    assert f"{cores} cores" in why and f"{load:.1f}" in why


def test_a_requested_number_wins(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (30.0, 30.0, 30.0))
    assert threads.choose_threads(3) == (3, "asked for")


def test_use_threads_sets_torch_and_says_which():
    import torch

    before = torch.get_num_threads()
    try:
        assert threads.use_threads(1).startswith("1 torch thread (")
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
