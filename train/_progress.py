"""`tqdm` when it is installed, else a minimal stand-in (a GPU machine may have only torch, numpy,
pillow, opencv and safetensors): the training scripts then print a line every few percent."""

from __future__ import annotations

try:
    from tqdm import tqdm
except ImportError:  # pragma: no cover - exercised only where tqdm is missing
    class tqdm:  # noqa: N801 - the name the scripts import
        def __init__(self, iterable=None, total=None, initial=0, disable=False, desc="", **_):
            self.iterable, self.total, self.n, self.disable, self.desc = iterable, total, initial, disable, desc
            self._shown = -1

        def __iter__(self):
            for item in self.iterable:
                yield item
                self.update(1)

        def update(self, count=1):
            self.n += count
            if self.disable or not self.total:
                return
            percent = int(100 * self.n / self.total) // 5 * 5
            if percent != self._shown:
                self._shown = percent
                print(f"{self.desc}: {self.n}/{self.total} ({percent}%)", flush=True)

        def set_postfix(self, **_):
            pass

        def close(self):
            pass


def stop_if_not_finite(losses: dict, step: int, checkpoint_path, bar) -> None:
    """End a training run with a message (and the last good checkpoint kept) when a loss is NaN/inf."""
    import math

    if all(math.isfinite(value) for value in losses.values()):
        return
    bar.close()
    kept = (f"the last good checkpoint ({checkpoint_path}) is kept; resume with --resume, perhaps with a lower --lr"
            if checkpoint_path.exists() else "no checkpoint was written yet")
    raise SystemExit(f"Training stopped: a loss became NaN/inf at step {step} ({losses}); {kept}.")


def budget_timer(kind: str, threads: int, before: float = 0.0):
    """A function giving the seconds a run has spent on its `--time-budget`: `before` (what a resumed run
    had spent) plus the time since this call, on the "wall" clock (time.time) or the "cpu" clock (this
    process's CPU seconds over its torch threads, so another job on a shared machine does not shorten
    the run)."""
    import time

    if kind == "cpu":
        clock = lambda: time.process_time() / threads  # noqa: E731
    elif kind == "wall":
        clock = time.time
    else:
        raise ValueError(f"budget clock must be 'wall' or 'cpu', got {kind!r}")
    start = clock()
    return lambda: before + clock() - start
