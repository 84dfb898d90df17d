"""`--resume` safety shared by the training scripts: a checkpoint continues only with the options that
shaped its networks (else the weights would not fit, or worse, fit and mean something else)."""

from __future__ import annotations

from pathlib import Path


def architecture_changes(saved: dict, args, names) -> list[str]:
    """"--option OLD in the checkpoint, NEW now" for each of `names` that differs between a checkpoint's
    saved args and this run's (options the checkpoint does not record are taken as unchanged)."""
    return [f"--{name.replace('_', '-')} {saved[name]!r} in the checkpoint, {getattr(args, name)!r} now"
            for name in names if name in saved and saved[name] != getattr(args, name)]


def refuse_other_architecture(checkpoint_path: Path, changes: list[str]) -> None:
    """SystemExit naming every change, when there are any."""
    if changes:
        raise SystemExit(f"--resume: {checkpoint_path} holds a different architecture ({'; '.join(changes)}). "
                         "Pass the checkpoint's options to continue it, or choose another --name for a new run.")
