"""SAGAN's self-attention block (Zhang et al. 2019, "Self-Attention Generative Adversarial Networks").

Every position of a feature map looks at every other one, so a layer can relate distant parts of an
image (a facade's windows to each other) that convolutions only connect after many layers:

    q = W_q x,  k = W_k x  (1×1 convs to C/8 channels),   v = W_v x  (1×1 conv, C channels)
    β_ij = softmax_j(q_iᵀ k_j)        (no 1/√d scaling, as in the paper)
    y_i = x_i + γ · Σ_j β_ij v_j      (γ learnable, 0 at the start: the block begins as the identity)

The attention matrix has (H·W)² entries per image: at 32×32 that is one million, cheap; at 128×128
it is 268 million, so place the block on the coarser levels (the U-Net's inner decoder levels, a
PatchGAN's second or third layer).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


def parse_positions(value, name: str) -> tuple[int, ...]:
    """A config's attention positions as a sorted tuple of ints (JSON gives lists, the CLI '2,3')."""
    if isinstance(value, str):
        value = [part for part in value.replace(" ", "").split(",") if part]
    try:
        positions = tuple(sorted({int(v) for v in value}))
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a list of integers such as (2,) or '2,3', got {value!r}") from None
    return positions


class SelfAttention2d(nn.Module):
    """(N, C, H, W) -> (N, C, H, W): x + γ · attention(x). `wrap` wraps each 1×1 conv (e.g. spectral_norm)."""

    def __init__(self, channels: int, reduction: int = 8, wrap: Callable[[nn.Module], nn.Module] = lambda m: m):
        super().__init__()
        inner = max(1, channels // reduction)
        self.query = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.key = wrap(nn.Conv2d(channels, inner, 1, bias=False))
        self.value = wrap(nn.Conv2d(channels, channels, 1, bias=False))
        self.gamma = nn.Parameter(torch.zeros(1))

    def attention_map(self, x: torch.Tensor) -> torch.Tensor:
        """(N, H·W, H·W): row i is where position i (row-major) looks; rows sum to 1."""
        q = self.query(x).flatten(2)  # (N, C/8, HW)
        k = self.key(x).flatten(2)
        # explicit softmax (not scaled_dot_product_attention): WGAN-GP differentiates it twice
        return torch.softmax(q.transpose(1, 2) @ k, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        v = self.value(x).flatten(2)  # (N, C, HW)
        out = v @ self.attention_map(x).transpose(1, 2)  # out[:, :, i] = Σ_j β_ij v[:, :, j]
        return x + self.gamma * out.view(n, c, h, w)
