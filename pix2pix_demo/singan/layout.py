"""Where a random sample's layout comes from (issue 30, session 14; docs/singan.md, "New scenes").

"noise" (SinGAN's; every model saved before session 14): scale 0 draws the layout from noise. With a critic that
sees the whole 12-px coarsest picture it copies the photo's layout; with issue 30's 7-px coarse critic it draws
shapeless blobs there, and the next scales turn each blob into an object wherever it sits (volcano, 5 CPU-min:
5 of 8 samples with a cone floating in the sky).

"warp" (`TrainOptions.layout`'s default since session 14): the layout is the model's own reconstruction through
scale `layout_scale`, warped at random, and the scales above it add new detail from their noise as usual. The
warp works along the picture's width: a smooth monotone stretch (objects widened or narrowed where it is larger
or smaller than 1) of a window of the picture that is shifted at random; beyond the picture's left and right
edges the window sees the picture mirrored, so what stood near an edge may come in twice (a model trained since
session 17 reads at most `layout_edge` = 0.08 picture widths past an edge: farther, Marina Bay's last tower came
back as its own twin and the roof's cantilever as a stub in the sky; a model saved since session 18 samples with
`layout_gap` = 0.1: past an edge the edge column for 0.1 widths, then the mirror, so an object near the edge and its
mirror image stand apart instead of fusing into one wide object with a hole; training keeps the mirror at the
edge). The whole picture may also be made a little
taller or lower, anchored at the bottom row (above the top row: the top row; `layout_height`, 0 since session 17:
a taller layout got a second roof at the photo's height from the scales above). Columns stay
columns and rows stay rows: objects keep standing on the ground, horizons and roofs stay straight, nothing
floats. `train_singan` trains the scales above `layout_scale` on such warped layouts (`random_sample_tensor`), so
they render them. The layout is the photo's, moved and stretched: new arrangements of the photo's objects, not
new objects (those come from the scales above at their own size).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..models.singan import SinGAN

KNOTS = 6  # control values of the horizontal stretch across a picture of the training image's aspect
SPAN_STD = 0.11  # std of the log of the window's width (clamped to 0.8..1.25 of the picture)


def layout_scale(model: SinGAN) -> int | None:
    """The scale whose warped reconstruction starts a random sample (None: the model's layout is "noise", or it
    has too few scales to have one above the warped one)."""
    if model.config.layout != "warp" or model.num_scales < 2:
        return None
    return min(int(model.config.layout_scale), model.num_scales - 2)


def _smooth(n: int, knots: int, generator: torch.Generator) -> torch.Tensor:
    """A smooth random curve over n points: `knots` N(0, 1) values, linearly interpolated."""
    values = torch.randn(1, 1, knots, generator=generator)
    if n == 1:
        return values[0, 0, :1]
    return F.interpolate(values, size=n, mode="linear", align_corners=True)[0, 0]


def warp_grid(source_shape, out_shape, generator: torch.Generator, shift: float = 0.25, stretch: float = 0.3,
              height: float = 0.1, edge: float | None = None, gap: float = 0.0) -> torch.Tensor:
    """A random warp as a `grid_sample` grid (1, h, w, 2) (CPU, float32): where each pixel of an `out_shape`
    (h, w) picture reads a `source_shape` (h, w) one, in [-1, 1] coordinates (beyond -1 / 1 horizontally the
    picture is to be read mirrored, `padding_mode="reflection"`; vertically the grid stays within it).

    Horizontally: x_source = left + span * S(x), S a monotone map of [0, 1] onto itself whose slope is
    exp(stretch * a smooth N(0, 1) curve) (objects widened or narrowed), span the window's width (the output's
    aspect over the source's, times exp(N(0, 0.11)) clamped to 0.8..1.25), left centred then shifted by
    shift * N(0, 1) picture widths, then, if `edge` is not None, kept from reading more than `edge` picture widths
    past the picture's left or right edge beyond what a window wider than the picture must (the shift is clamped;
    the random numbers drawn are the same). Past the left or right edge the window first reads the edge column
    for `gap` picture widths, then the picture mirrored (the grid then holds the mirror's own coordinates beyond
    -1 / 1 shifted by the gap), so an object near an edge and its mirror image stand at least `gap` apart.
    Vertically: one stretch exp(height * N(0, 1)) anchored at the bottom row."""
    src_h, src_w = (int(v) for v in source_shape)
    h, w = (int(v) for v in out_shape)
    aspect = (w / h) / (src_w / src_h)
    zoom, offset, tall = (float(v) for v in torch.randn(3, generator=generator))
    span = min(1.25, max(0.8, math.exp(SPAN_STD * zoom))) * aspect
    left = (1 - span) / 2 + shift * offset
    if edge is not None:
        left = min(max(0.0, 1 - span) + edge, max(min(0.0, 1 - span) - edge, left))
    vertical = math.exp(height * tall)
    rate = torch.exp(stretch * _smooth(w, max(2, round(KNOTS * aspect)), generator))
    cumulative = torch.cumsum(rate, 0) - rate[0]
    position = cumulative / cumulative[-1] if w > 1 else torch.full((1,), 0.5)
    x = left + span * position
    if gap > 0:
        x = torch.where(x > 1, 1 + (x - 1 - gap).clamp(min=0), torch.where(x < 0, (x + gap).clamp(max=0), x))
    gx = -1 + 2 * x
    rows = torch.linspace(-1, 1, h) if h > 1 else torch.ones(1)
    gy = (1 - (1 - rows) * vertical).clamp(-1, 1)
    return torch.stack([gx.view(1, w).expand(h, w), gy.view(h, 1).expand(h, w)], dim=-1)[None]


@torch.no_grad()
def warped_layout(model: SinGAN, generator: torch.Generator, shapes=None, gap: float | None = None
                  ) -> tuple[torch.Tensor, int]:
    """(layout, L): the model's reconstruction through scale L = layout_scale(model), warped at random
    (`warp_grid` with the model's config, random numbers from `generator`) to shapes[L] (the training shapes
    by default; another output size reads a wider or narrower window of the picture). The model must have
    the "warp" layout. `gap`: past an edge, the edge column for that many picture widths before the mirror
    (None: the config's `layout_gap`, what samples use; training passes 0, see `layout_gap`)."""
    scale = layout_scale(model)
    if scale is None:
        raise ValueError("This model draws its layouts from noise (layout 'noise'); it has no warped layout.")
    shapes = shapes or model.scale_shapes()
    base = model.reconstruct(end_scale=scale)
    config = model.config
    grid = warp_grid(base.shape[-2:], shapes[scale], generator, config.layout_shift, config.layout_stretch,
                     config.layout_height, config.layout_edge,
                     config.layout_gap if gap is None else gap).to(base.device, base.dtype)
    return F.grid_sample(base, grid, mode="bilinear", padding_mode="reflection", align_corners=True), scale
