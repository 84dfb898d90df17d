"""The exponential moving average of a generator's weights, shared by the trainers that export one."""

from __future__ import annotations

import torch


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, step: int, decay: float) -> None:
    """Move `ema`'s parameters towards `model`'s and copy its buffers. The decay warms up (as in Karras et
    al.): early on the average must not be dominated by the initial weights."""
    decay = min(decay, (1 + step) / (10 + step))
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1 - decay)
    for b_ema, b in zip(ema.buffers(), model.buffers()):
        b_ema.copy_(b)
