"""How many torch CPU threads a training should use (issue 28: training on a busy machine).

On this project's 2-core machine, shared with other jobs, torch's default (one intra-op thread per core)
collapsed: `python -m train.singan` went from 17 iterations/s at scale 0 to 1.4-2.2 s per iteration at
scale 3 (the threads wait for each other at every barrier while another job holds a core), and the live
drawing path measured a 256² pass at 745-1389 ms with 2 threads against 42-63 ms with 1 in the same minute.
So, unless a number is asked for, a training uses at most half the cores (a machine that becomes busy
later costs it at most that half), and fewer when the 1-minute load average already takes them; never
fewer than one. Every trainer and "Train on my image" say which number they picked and why.
"""

from __future__ import annotations

import os


def choose_threads(requested: int | None = None) -> tuple[int, str]:
    """(threads, why): `requested` when given (> 0), else max(1, min(cores // 2, cores - load average))."""
    if requested:
        return int(requested), "asked for"
    cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not on every platform
        load = 0.0
    threads = max(1, min(cores // 2, cores - round(load)))
    return threads, f"auto: {cores} cores, load average {load:.1f}; at most half the cores, fewer when busy"


def use_threads(requested: int | None = None) -> str:
    """Set torch's intra-op threads by `choose_threads`; returns 'N torch threads (why)' for logs."""
    import torch

    threads, why = choose_threads(requested)
    torch.set_num_threads(threads)
    return f"{threads} torch thread{'s' if threads != 1 else ''} ({why})"
