"""GPNN: random samples and retargeting of one image by patch nearest neighbours, no training.

    from pix2pix_demo.gpnn import generate
    picture = generate(image, seed=1)                      # PIL in / PIL out, seconds on a CPU
    wide = generate(image, seed=1, width_factor=2.0)      # retargeting / panorama

Granot, Feinstein, Shocher, Bagon, Irani, "Drop the GAN: In Defense of Patches Nearest Neighbors
as Single Image Generative Models", CVPR 2022. Coarse to fine over an image pyramid (ratio 0.75):

- the coarsest level starts from the image at that size (resized to the output's aspect) plus
  Gaussian noise; the noise decides the new layout (SinGAN's z_0);
- at every level each 7x7 patch of the current output (queries) is replaced by the training
  patch whose *key* is nearest: keys are patches of the image blurred to the level below (so a
  blurry up-sampled query finds its sharp counterpart), values are the sharp patches at this
  level; overlapping values are averaged (fold). Further iterations at the same level use the
  sharp patches as keys;
- GPNN's completeness score: a query's distance to a key is divided by (alpha + the key's
  distance to its nearest query), so keys that many queries already use are penalised and every
  part of the image tends to appear.

Changes for the CPU (documented; the paper runs exact search on a GPU): nearest neighbours are
searched in the top PCA components of the key patches (exact search in that subspace, chunked so
memory stays flat), and the finest levels run fewer iterations than the coarse ones. The working
image is at most `MAX_SIDE` px on its long side (larger uploads are shrunk first), which bounds
time and memory whatever the input; outputs are at most `MAX_OUTPUT_SIDE` px long.

Defaults (measured on the SinGAN volcano image, 6 seeds, `train.eval.singan`'s metrics): the
paper's noise 0.75 with alpha 0.005 gave near copies of the image here (diversity 0.02: our
distances are sums over patches in [-1, 1], so alpha is on another scale); noise 2.0 with alpha 0.05
moves and repeats the volcano (diversity 0.18) at a high-frequency ratio of 0.90 (the photo: 1).

Deterministic for a given seed (noise from a seeded CPU generator, single-threaded-safe ops);
bad inputs raise ValueError with a user-facing message.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .imaging import check_aspect, image_to_tensor, open_image, tensor_to_image, to_rgb

MAX_SIDE = 320  # long side of the working image (uploads are shrunk to this first)
DEFAULT_SIDE = 250
MAX_OUTPUT_SIDE = 1024  # long side of a (retargeted) output
MIN_SIDE = 24  # the smallest short side accepted (a few 7x7 patches at the coarsest level)
PATCH = 7
EXACT_PAIRS = 1.2e8  # levels with more query x key pairs search locally (see _local_nearest)
SEARCH_RADIUS = 4
_CHUNK = 1024  # queries per block of the local search (x candidates x PCA dims floats)
_BLOCK_ELEMENTS = 262_144  # floats per block of the exact search (1 MB: it stays in the cache)
# fill_hole's bound: a hole of more pixels is rebuilt at the scale where it has this many (then enlarged into the
# hole); 128^2, about one 32-px stroke across a 512-px photo (16.3k px), which keeps its full-size finish
MAX_HOLE = 16_384


def _level_shapes(height: int, width: int, coarse: int, ratio: float) -> list[tuple[int, int]]:
    """[(h, w)] coarse -> fine: the finest is (height, width), the coarsest has its short side ~coarse."""
    short = min(height, width)
    steps = max(0, math.ceil(math.log(coarse / short) / math.log(ratio))) if short > coarse else 0
    factor = (coarse / short) ** (1 / steps) if steps else 1.0
    return [(max(PATCH, round(height * factor ** (steps - n))), max(PATCH, round(width * factor ** (steps - n))))
            for n in range(steps + 1)]


def _resize(x: torch.Tensor, shape) -> torch.Tensor:
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    down = shape[0] < x.shape[-2] or shape[1] < x.shape[-1]
    return F.interpolate(x, size=tuple(shape), mode="bicubic", align_corners=False, antialias=down).clamp(-1, 1)


def _patches(x: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) -> (L, C*7*7), every 7x7 patch (stride 1, no padding)."""
    return F.unfold(x, PATCH).squeeze(0).T.contiguous()


def _patch_weight(sigma: float | None) -> torch.Tensor:
    """(49,) the weight of each pixel of a 7x7 patch when overlapping patches are averaged: 1 (sigma None) or
    a Gaussian of its distance to the patch's centre (sigma in px)."""
    if sigma is None:
        return torch.ones(PATCH * PATCH)
    r = torch.arange(PATCH, dtype=torch.float32) - PATCH // 2
    return torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * max(float(sigma), 1e-3) ** 2)).flatten()


def _fold(values: torch.Tensor, shape, sigma: float | None = None) -> torch.Tensor:
    """(L, C*7*7) patches -> (1, C, H, W), overlapping patches averaged: uniformly (sigma None) or
    weighted by a Gaussian of each pixel's distance to its patch's centre (sigma in px; small sigma
    takes each pixel mostly from the patch centred on it: sharper, less blending)."""
    h, w = shape
    channels = values.shape[1] // (PATCH * PATCH)
    weight = _patch_weight(sigma)
    # the weight each pixel gets in all: one channel's fold (the same for every channel)
    count = F.fold(weight[:, None].expand(-1, len(values)).unsqueeze(0), (h, w), PATCH)
    weights = weight.repeat(channels)[None, :]  # (1, C*49), unfold's channel-major order
    return F.fold((values * weights).T.unsqueeze(0), (h, w), PATCH) / count


def _project(keys: torch.Tensor, queries: torch.Tensor, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keys and queries in the top `dims` PCA components of the keys (exact when dims >= C*7*7)."""
    if dims >= keys.shape[1]:
        return keys, queries
    mean = keys.mean(0, keepdim=True)
    centred = keys - mean
    # eigenvectors of the (D x D) covariance: cheap (D = 147) and deterministic
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    basis = vectors[:, -dims:]
    return centred @ basis, (queries - mean) @ basis


def _augmented(queries: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows with which one matrix product gives squared distances: [q, |q|², 1] · [-2k, 1, |k|²] = |q - k|²
    (no temporaries of the size of the distance matrix besides the product itself)."""
    ones_q, ones_k = torch.ones(len(queries), 1), torch.ones(len(keys), 1)
    return (torch.cat([queries, (queries * queries).sum(1, keepdim=True), ones_q], 1),
            torch.cat([-2 * keys, ones_k, (keys * keys).sum(1, keepdim=True)], 1))


def _nearest(queries: torch.Tensor, keys: torch.Tensor, alpha: float | None) -> torch.Tensor:
    """For every query row, the index of its key: argmin_k D(q, k) / (alpha + min_q' D(q', k))
    (GPNN's completeness-normalised score), or plain argmin_k D(q, k) when alpha is None. Exact; each
    block of distances is one matrix product (`_augmented`) followed by one reduction."""
    q, k = _augmented(queries, keys)
    rows = max(64, _BLOCK_ELEMENTS // max(1, len(keys)))  # a block of distances stays small (cache-sized)
    blocks = range(0, len(q), rows)
    if alpha is None:
        return torch.cat([(q[s:s + rows] @ k.T).argmin(1) for s in blocks])
    nearest_query = torch.full((len(keys),), float("inf"))
    for s in blocks:
        nearest_query = torch.minimum(nearest_query, (q[s:s + rows] @ k.T).amin(0))
    # dividing a key's distances by (alpha + its nearest query's) = scaling its augmented row
    k = k * (1.0 / (alpha + nearest_query.clamp(min=0)))[:, None]
    return torch.cat([(q[s:s + rows] @ k.T).argmin(1) for s in blocks])


def _propagate(previous, query_grid, key_grid, centred: bool = False) -> torch.Tensor:
    """Search centres (Lq, 2) on key_grid for the queries on query_grid, from the previous match
    (index, its query grid, its key grid): each query looks where its counterpart below matched. centred: map
    patch centres between the sizes (exact; the default, kept for session 19's finish, scales grid positions
    by the grids' ratio: ~3 px off 48 px from the match)."""
    index, (ph, pw), (pkh, pkw) = previous
    qh, qw = query_grid
    kh, kw = key_grid
    if centred:  # query grid -> its centre pixel -> that pixel below -> its match's pixel -> key grid here
        c = PATCH // 2
        i = (torch.arange(qh, dtype=torch.float64) + c + 0.5) * (ph + 2 * c) / (qh + 2 * c) - 0.5 - c
        j = (torch.arange(qw, dtype=torch.float64) + c + 0.5) * (pw + 2 * c) / (qw + 2 * c) - 0.5 - c
        ip, jp = i.round().clamp(0, ph - 1).long(), j.round().clamp(0, pw - 1).long()
        matched = index.view(ph, pw)[ip][:, jp]
        si = ((matched // pkw) + (i - ip)[:, None] + c + 0.5) * (kh + 2 * c) / (pkh + 2 * c) - 0.5 - c
        sj = ((matched % pkw) + (j - jp)[None, :] + c + 0.5) * (kw + 2 * c) / (pkw + 2 * c) - 0.5 - c
        return torch.stack([si.round().clamp(0, kh - 1).long().flatten(), sj.round().clamp(0, kw - 1).long().flatten()], 1)
    i, j = torch.arange(qh, dtype=torch.float64), torch.arange(qw, dtype=torch.float64)
    ip = (i * ph / qh).round().clamp(0, ph - 1).long()
    jp = (j * pw / qw).round().clamp(0, pw - 1).long()
    matched = index.view(ph, pw)[ip][:, jp]
    si = (matched // pkw).double() * (kh / pkh) + (i - ip.double() * qh / ph)[:, None]
    sj = (matched % pkw).double() * (kw / pkw) + (j - jp.double() * qw / pw)[None, :]
    return torch.stack([si.round().clamp(0, kh - 1).long().flatten(), sj.round().clamp(0, kw - 1).long().flatten()], 1)


def _window(centres: torch.Tensor, radius: int, key_grid) -> torch.Tensor:
    """(Lq, 2) centres on key_grid -> (Lq, (2 radius + 1)^2) indices of the keys around them (clamped)."""
    kh, kw = key_grid
    steps = torch.arange(-radius, radius + 1)
    rows = (centres[:, 0:1] + steps[None]).clamp_(0, kh - 1) * kw  # (Lq, 2r+1)
    cols = (centres[:, 1:2] + steps[None]).clamp_(0, kw - 1)
    return (rows[:, :, None] + cols[:, None, :]).view(len(centres), -1)


def _coherent(index: torch.Tensor, query_grid, key_grid) -> torch.Tensor:
    """PatchMatch's propagation: for every query, its four neighbours' matches shifted back by the step to
    that neighbour (a query next to a copied piece of the photo is offered the continuation of that piece).
    index: (Lq,) matches of the queries on query_grid; -> (Lq, 4) key indices (clamped at the borders)."""
    qh, qw = query_grid
    kh, kw = key_grid
    rows, cols = (index // kw).view(qh, qw), (index % kw).view(qh, qw)
    result = []
    for di, dj in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        # the neighbour at (i + di, j + dj) matched (r, c): offer (r - di, c - dj)
        r = torch.roll(rows, (-di, -dj), (0, 1)) - di
        c = torch.roll(cols, (-di, -dj), (0, 1)) - dj
        result.append((r.clamp(0, kh - 1) * kw + c.clamp(0, kw - 1)).flatten())
    return torch.stack(result, 1)


def _local_nearest(queries: torch.Tensor, keys: torch.Tensor, candidates: torch.Tensor,
                   valid: torch.Tensor | None = None) -> torch.Tensor:
    """For every query, the nearest of its candidate keys ((Lq, K) indices into keys). valid: (len(keys),)
    bool, the keys that may be chosen (others score +inf; a query whose candidates are all invalid gets -1)."""
    key_norms = (keys * keys).sum(1)
    if valid is not None:
        key_norms = key_norms.masked_fill(~valid, float("inf"))
    result = torch.empty(len(queries), dtype=torch.long)
    for start in range(0, len(queries), _CHUNK):
        stop = start + _CHUNK
        index = candidates[start:stop]
        # |k|² - 2 k·q (|q|² is the same for all of a query's candidates)
        score = torch.baddbmm(key_norms[index].unsqueeze(2), keys[index], queries[start:stop, :, None],
                              alpha=-2).squeeze(2)
        where = score.argmin(1, keepdim=True)
        chosen = index.gather(1, where).squeeze(1)
        if valid is not None:  # all of a query's candidates invalid: its best score is +inf
            chosen = chosen.masked_fill(~torch.isfinite(score.gather(1, where).squeeze(1)), -1)
        result[start:stop] = chosen
    return result


def _input(image, max_side: int) -> Image.Image:
    if image is None:
        raise ValueError("Please provide an image.")
    image = to_rgb(check_aspect(open_image(image)))
    if max(image.size) > max_side:
        scale = max_side / max(image.size)
        image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.LANCZOS)
    if min(image.size) < MIN_SIDE:
        raise ValueError(f"The image is too small or too narrow: {image.width}×{image.height} px at most "
                         f"{max_side} px long; its short side must be at least {MIN_SIDE} px.")
    return image


@torch.no_grad()
def generate(image, seed: int = 0, width_factor: float = 1.0, height_factor: float = 1.0, *,
             max_side: int = DEFAULT_SIDE, noise: float = 2.0, alpha: float | None = 0.05,
             coarse: int = 14, ratio: float = 0.75, iterations: int = 4, fine_iterations: int = 1,
             pca_dims: int = 24) -> Image.Image:
    """A new image made of `image`'s patches (GPNN). The image is first shrunk to `max_side` px
    (at most MAX_SIDE) on its long side; the result has that size times width_factor / height_factor
    (0.25..4, long side at most MAX_OUTPUT_SIDE). noise: std (in [-1, 1] units) of the noise added at
    the coarsest level (0 = a blurred copy of the image, larger = more new layouts). alpha: GPNN's
    completeness weight (None = plain nearest neighbours). iterations per level (the finest three
    levels use fine_iterations). Deterministic per seed."""
    if not MIN_SIDE <= int(max_side) <= MAX_SIDE:
        raise ValueError(f"max_side must be between {MIN_SIDE} and {MAX_SIDE} px, got {max_side}.")
    for name, value in (("width_factor", width_factor), ("height_factor", height_factor)):
        if not 0.25 <= float(value) <= 4.0:
            raise ValueError(f"{name} must be between 0.25 and 4, got {value}.")
    if not 0.0 <= float(noise) <= 3.0:
        raise ValueError(f"noise must be between 0 and 3, got {noise}.")
    if not 1 <= int(iterations) <= 20 or not 1 <= int(fine_iterations) <= 20:
        raise ValueError(f"iterations must be between 1 and 20, got {iterations} and {fine_iterations}.")
    if not 0.5 <= float(ratio) <= 0.9:
        raise ValueError(f"ratio must be between 0.5 and 0.9, got {ratio}.")
    image = _input(image, int(max_side))
    width, height = image.size
    out_w, out_h = round(width * float(width_factor)), round(height * float(height_factor))
    if max(out_w, out_h) > MAX_OUTPUT_SIDE:
        shrink = MAX_OUTPUT_SIDE / max(out_w, out_h)
        out_w, out_h = round(out_w * shrink), round(out_h * shrink)
    if min(out_w, out_h) < MIN_SIDE:
        raise ValueError(f"The output would be {out_w}×{out_h} px; its short side must be at least {MIN_SIDE} px.")

    coarse = max(PATCH + 2, min(int(coarse), min(height, width, out_h, out_w)))
    source_shapes = _level_shapes(height, width, coarse, float(ratio))
    # the output's pyramid: the same number of levels and factors, scaled to the output size
    output_shapes = [(max(PATCH, round(h * out_h / height)), max(PATCH, round(w * out_w / width)))
                     for h, w in source_shapes]
    full = image_to_tensor(image)
    sources = [_resize(full, shape) for shape in source_shapes]
    generator = torch.Generator().manual_seed(int(seed))
    x = _resize(sources[0], output_shapes[0])
    x = x + float(noise) * torch.randn(x.shape, generator=generator)
    x = _synthesise(x, sources, source_shapes, output_shapes, 0, alpha=alpha, iterations=int(iterations),
                    fine_iterations=int(fine_iterations), pca_dims=int(pca_dims))
    return tensor_to_image(x.clamp(-1, 1))


def _synthesise(x: torch.Tensor, sources, source_shapes, output_shapes, first: int, *, alpha, iterations: int,
                fine_iterations: int, pca_dims: int, sigma: float | None = None, radius: int = SEARCH_RADIUS,
                same_level_radius: int | None = None, coherence: bool = False,
                exact_pairs: float = EXACT_PAIRS) -> torch.Tensor:
    """GPNN's coarse-to-fine loop from level `first` up: x (at any size) is up-sampled to each level's
    output shape and rebuilt from that level's patches of `sources`. sigma: the fold of the very last
    pass (see _fold; None = GPNN's plain average). The large levels search locally: `radius` around
    where the level below matched; a further pass at the same level `same_level_radius` (None: `radius`)
    around its own last match, plus (coherence) its neighbours' matches shifted (PatchMatch)."""
    levels = len(source_shapes)
    previous = None
    for level in range(first, levels):
        shape = output_shapes[level]
        x = _resize(x, shape)
        values = _patches(sources[level])
        # keys for the first pass: the image blurred to the level below, so a blurry up-sampled
        # query is matched to the sharp patch that belongs there
        blurred = sources[level] if level == 0 else _resize(sources[level - 1], source_shapes[level])
        steps = fine_iterations if level >= levels - 3 else iterations
        key_grid = (source_shapes[level][0] - PATCH + 1, source_shapes[level][1] - PATCH + 1)
        query_grid = (shape[0] - PATCH + 1, shape[1] - PATCH + 1)
        for step in range(steps):
            keys = _patches(blurred) if step == 0 else values
            queries = _patches(x)
            k, q = _project(keys, queries, pca_dims)
            if previous is None or len(q) * len(k) <= exact_pairs:
                index = _nearest(q, k, alpha)
            else:  # large levels: search around where the level below matched (no completeness term)
                centres = _propagate(previous, query_grid, key_grid)
                same = step > 0 and same_level_radius is not None
                candidates = _window(centres, same_level_radius if same else radius, key_grid)
                if step > 0 and coherence:
                    candidates = torch.cat([candidates, _coherent(previous[0], query_grid, key_grid)], 1)
                index = _local_nearest(q, k, candidates)
            previous = (index, query_grid, key_grid)
            last = level == levels - 1 and step == steps - 1
            x = _fold(values[index], shape, sigma if last else None)
    return x


@torch.no_grad()
def refine(picture, image, *, from_side: int = 40, alpha: float | None = 0.5, ratio: float = 0.75,
           iterations: int = 2, fine_iterations: int = 2, pca_dims: int = 24, sigma: float | None = 0.5,
           coarse: int = 14, radius: int = 3, same_level_radius: int | None = 1, coherence: bool = True,
           exact_pairs: float = 3e7) -> Image.Image:
    """`picture`'s layout, rebuilt from `image`'s own patches (GPNN's levels from the one whose short
    side is at least `from_side` px up): e.g. a SinGAN sample keeps its new arrangement and gets the
    photo's hairs, leaves and sparks instead of the generator's soft strokes. `image` is the photo the
    picture imitates, at the picture's scale (its size where the picture is 1:1; a wider picture
    = a retargeted sample); both are shrunk to at most MAX_OUTPUT_SIDE px long first (the time grows
    with the picture's pixels: ~1.5 s for 250 x 166, ~3 s for 500 x 166 on one CPU thread). sigma: the last
    pass's patch blending (see _fold; None = GPNN's plain average, softer); alpha: GPNN's completeness weight
    at the small levels (those with at most `exact_pairs` query x key pairs: exact search). Above them the
    search is local (`_synthesise`): `radius` around where the level below matched, then at the same level
    `same_level_radius` around the last match plus the neighbours' matches shifted (`coherence`, PatchMatch's
    propagation). Deterministic.

    The defaults are SinGAN's finish from the photo (`pix2pix_demo.singan.finish_from_photo`), measured on
    four images x 6 samples of 5-CPU-minute models (README, "Finish from the photo"): from 40 px (32 and 55
    alike; from 80 px up worse: the picture is already soft there, and soft queries find soft patches);
    sigma 0.5 (a plain average blurred: the cat's HF ratio 0.60 -> 0.95); alpha 0.5 (0.05 scored alike but
    pasted pieces of the background into the cat's fur on 2x-wide samples, twice as many queries as patches).
    The search settings (issue 28: the finish took ~15 CPU-s at the app's default 500 x 166) are the fast ones:
    exact search only up to 3e7 pairs (was 1.2e8), radius 3 (was 4), the second pass at a level radius 1 +
    coherence (was radius 4); on singan-chelsea's 2x-wide samples the result is within ~29.5 dB of the old
    settings' with the same HF ratio and SWD (docs/singan.md); `radius=4, same_level_radius=None,
    coherence=False, exact_pairs=1.2e8` gives the old results back."""
    if not PATCH + 2 <= int(from_side) <= MAX_SIDE:
        raise ValueError(f"from_side must be between {PATCH + 2} and {MAX_SIDE} px, got {from_side}.")
    picture, image = _input(picture, MAX_OUTPUT_SIDE), _input(image, MAX_OUTPUT_SIDE)
    width, height = image.size
    out_w, out_h = picture.size
    coarse = max(PATCH + 2, min(int(coarse), min(height, width, out_h, out_w)))
    source_shapes = _level_shapes(height, width, coarse, float(ratio))
    output_shapes = [(max(PATCH, round(h * out_h / height)), max(PATCH, round(w * out_w / width)))
                     for h, w in source_shapes]
    first = next((n for n, shape in enumerate(output_shapes) if min(shape) >= int(from_side)),
                 len(output_shapes) - 1)
    full = image_to_tensor(image)
    sources = [_resize(full, shape) for shape in source_shapes]
    x = _synthesise(image_to_tensor(picture), sources, source_shapes, output_shapes, first, alpha=alpha,
                    iterations=int(iterations), fine_iterations=int(fine_iterations), pca_dims=int(pca_dims),
                    sigma=sigma, radius=int(radius), same_level_radius=same_level_radius, coherence=bool(coherence),
                    exact_pairs=float(exact_pairs))
    return tensor_to_image(x.clamp(-1, 1))


def _dilate(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    """(H, W) bool grown by `pixels` px (a square neighbourhood)."""
    if pixels <= 0:
        return mask
    return F.max_pool2d(mask[None, None].float(), 2 * pixels + 1, 1, pixels)[0, 0] > 0


def _patch_touches(mask: torch.Tensor) -> torch.Tensor:
    """(H, W) bool -> (H-6, W-6) bool: whether the 7x7 patch at each grid position has a True pixel."""
    return F.max_pool2d(mask[None, None].float(), PATCH, 1)[0, 0] > 0


def _pixels_of(grid_index: torch.Tensor, shape) -> torch.Tensor:
    """(L,) patch-grid indices of an image of `shape` -> (L, 49) flat pixel indices of each 7x7 patch
    (row-major, as unfold orders a channel's pixels)."""
    width = shape[1]
    grid_width = width - PATCH + 1
    corner = (grid_index // grid_width) * width + grid_index % grid_width
    steps = torch.arange(PATCH)
    offsets = (steps[:, None] * width + steps[None, :]).flatten()
    return corner[:, None] + offsets[None, :]


def _some_patches(x: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """(1, C, H, W) and (L, 49) pixel indices -> (L, C*49) patches in unfold's channel-major order."""
    flat = x[0].reshape(x.shape[1], -1)
    return flat[:, pixels].permute(1, 0, 2).reshape(len(pixels), -1)


def _fold_some(values: torch.Tensor, pixels: torch.Tensor, x: torch.Tensor, where: torch.Tensor,
               sigma: float | None) -> torch.Tensor:
    """`x` with its pixels in `where` ((H, W) bool) set to the (sigma-weighted, see _fold) mean of the
    patches `values` (L, C*49) at `pixels` (L, 49) that cover them (every pixel in `where` must be covered)."""
    channels = x.shape[1]
    weight = _patch_weight(sigma)
    size = x.shape[-2] * x.shape[-1]
    targets = pixels.flatten()
    total = torch.zeros(channels, size).index_add_(1, targets, (values.view(len(values), channels, -1) * weight)
                                                   .permute(1, 0, 2).reshape(channels, -1))
    count = torch.zeros(size).index_add_(0, targets, weight.repeat(len(values)))
    flat = x[0].reshape(channels, -1).clone()
    inside = where.flatten()
    flat[:, inside] = total[:, inside] / count[inside].clamp(min=1e-8)
    return flat.view_as(x[0])[None]


def _spread(difference: torch.Tensor, band: torch.Tensor, inside: torch.Tensor, sigma: float) -> torch.Tensor:
    """(1, C, H, W) differences known on `band` -> their Gaussian-weighted mean (sigma px; 4 sigma where the
    band is too far for sigma) at the pixels `inside`, 0 elsewhere."""
    import cv2

    weight = band.float().numpy()
    values = (difference[0] * band).permute(1, 2, 0).contiguous().numpy()
    result = None
    for scale in (4 * sigma, sigma):
        total = cv2.GaussianBlur(values, (0, 0), scale, borderType=cv2.BORDER_CONSTANT).reshape(values.shape)
        count = cv2.GaussianBlur(weight, (0, 0), scale, borderType=cv2.BORDER_CONSTANT)[..., None]
        mean = total / np.maximum(count, 1e-12)
        result = mean if result is None else np.where(count > 1e-3, mean, result)
    spread = torch.from_numpy(result).permute(2, 0, 1)[None].float()
    return spread * inside


@torch.no_grad()
def fill_hole(picture: torch.Tensor, hole, *, levels: int = 2, ratio: float = 0.5, iterations: int = 1,
              ring: int = 48, radius: int = 2, sigma: float | None = 0.5, pca_dims: int = 24,
              exact_pairs: float = 2e7, lowpass: float = 0.0, seam: float = 4.0,
              blurred_keys: bool = False, alpha: float | None = None, exemplar: dict | None = None,
              max_hole: int | None = MAX_HOLE) -> torch.Tensor:
    """The hole of `picture` rebuilt from the picture's own patches OUTSIDE the hole (content-aware fill:
    GPNN's coarse-to-fine nearest neighbours with a key mask). picture: (1, C, H, W) in [-1, 1], the photo
    with a first fill in its hole (e.g. a network's); hole: (H, W) bool, True = to rebuild. -> the same
    picture with only the hole's pixels changed.

    Over `levels` scales (`ratio` apart, the finest the picture's own), in a window around the hole: the
    coarsest level starts from the first fill shrunk, so the layout of colours comes from it; at every level
    each 7x7 patch that touches the (shrunk) hole is replaced by the nearest patch (in `pca_dims` PCA
    components) lying at least 3 px outside it and centred at most `ring` px (full size; at least 14 px at a
    level) from it; the overlapping patches are averaged (the very last pass weighted by `sigma`, see `_fold`)
    and the pixels outside the hole put back. A level's first pass matches against the level below enlarged
    (blurry query, sharp value: GPNN), further ones (`iterations`) against the sharp patches (`blurred_keys`:
    the blurred ones again). Search is exact while a level has at most `exact_pairs` query x key pairs or is
    the first searched one (its keys then thinned to every other row and column), else around where the
    level below matched (`radius`) plus, after the first pass, the neighbours' matches shifted (PatchMatch).
    `alpha`: GPNN's completeness weight in the exact search (None: plain nearest; a number favours keys no
    query uses yet). So every filled pixel is a weighted mean of kept pixels; a level too small to hold kept
    patches passes its input on, and with no kept patch near the hole the picture comes back unchanged.

    Two ways to bring the result's tone in line (a patch fill of a smooth gradient can only use values the
    surroundings have, and may come out lighter or bluer than the hole should be): `seam` > 0 spreads the
    last pass's mismatch with the kept pixels in a 3-px band around the hole (its patches continued there) into
    the hole (a Gaussian-weighted mean of the band's mismatches, sigma `seam` px, 4x that where the band is
    far) and adds it, a cheap gradient-domain blend; `lowpass` > 0 takes the result's low frequencies (a
    Gaussian of sigma `lowpass` px) from the first fill instead. Deterministic.

    The defaults are fill-in's texture finish (weights/fill-in's config "texture", docs/photo-tasks.md session
    19): on scikit-image's chelsea, coffee, astronaut, grass and brick with 32-px strokes and 60-px boxes, 3
    levels pasted pieces of fur into smooth backgrounds (the 7x7 patches at 1/4 size see past the stroke) but
    carried brick's mortar lines across; 2 iterations or blurred keys throughout made fills smoother; a
    completeness alpha (0.5) put wood grain into the saucer and pieces of the shuttle into the backdrop;
    without the seam a smooth gradient's fill showed as a lighter or bluer band.

    `exemplar` (`fill_exemplar`'s keywords; levels >= 2): the coarsest query is first filled by fill_exemplar
    and the next level looks exactly where it matched (centred `_propagate`): lines cross the hole.

    Time bound (issue 29, docs/photo-tasks.md session 21): `max_hole` (default MAX_HOLE; None: no bound). A hole of
    more pixels is rebuilt with all of the above on the window shrunk by sqrt(max_hole / hole pixels) (the hole
    there: every pixel its area touched; `ring` scaled alike, at least 14 px), and that result, enlarged
    (bicubic), goes into the hole only: kept pixels stay exact, the fill is softer than a full-size one, and where
    the kept frame is too thin at that scale for a whole patch (e.g. a box over 80 % of a 512-px photo) the first
    fill comes back unchanged. So the work (exemplar steps, queries x keys) is about that of a max_hole-pixel
    hole whatever the mask. Queries whose local window holds no valid key search every key, or every n-th one
    where they x the keys would pass `exact_pairs`."""
    hole = torch.as_tensor(hole, dtype=torch.bool)
    if picture.dim() != 4 or tuple(picture.shape[-2:]) != tuple(hole.shape):
        raise ValueError(f"fill_hole: picture {tuple(picture.shape)} and hole {tuple(hole.shape)} do not match.")
    if not 1 <= int(levels) <= 6 or not 1 <= int(iterations) <= 8 or not 0.3 <= float(ratio) <= 0.9:
        raise ValueError(f"fill_hole: levels 1..6, iterations 1..8, ratio 0.3..0.9 (got {levels}, {iterations}, {ratio}).")
    if not hole.any() or hole.all():
        return picture.clone()
    height, width = hole.shape
    rows, cols = torch.nonzero(hole, as_tuple=True)
    # a hole of more than max_hole pixels: the finish runs shrunk by `scale` (see below), its window as wide there
    scale = math.sqrt(int(max_hole) / len(rows)) if max_hole is not None and len(rows) > int(max_hole) else 1.0
    ring_here = int(ring) if scale == 1.0 else max(2 * PATCH, round(int(ring) * scale))  # the same reach in the photo
    margin = math.ceil((ring_here + PATCH + 3) / scale)
    top, bottom = max(0, int(rows.min()) - margin), min(height, int(rows.max()) + 1 + margin)
    left, right = max(0, int(cols.min()) - margin), min(width, int(cols.max()) + 1 + margin)
    crop = picture[..., top:bottom, left:right].float()
    crop_hole = hole[top:bottom, left:right]
    ch, cw = crop_hole.shape
    if min(ch, cw) < PATCH + 2:
        return picture.clone()
    import cv2

    if scale < 1.0:
        # a big hole: the whole finish on the window shrunk until the hole has max_hole pixels (those the hole's
        # area touches there), its result enlarged into the hole; kept pixels stay exact
        shape = (max(PATCH + 2, round(ch * scale)), max(PATCH + 2, round(cw * scale)))
        small_hole = F.interpolate(crop_hole[None, None].float(), size=shape, mode="area")[0, 0] > 0
        start = _resize(crop, shape)
        small = fill_hole(start, small_hole, levels=levels, ratio=ratio, iterations=iterations,
                          ring=ring_here, radius=radius, sigma=sigma, pca_dims=pca_dims, exact_pairs=exact_pairs,
                          lowpass=lowpass, seam=seam, blurred_keys=blurred_keys, alpha=alpha, exemplar=exemplar,
                          max_hole=None)
        if torch.equal(small, start):  # nothing to copy from at that scale: the first fill as it was, not blurred
            return picture.clone()
        out = picture.clone()
        out[..., top:bottom, left:right] = torch.where(crop_hole, _resize(small, (ch, cw)), crop).to(out.dtype)
        return out
    shapes = []
    for n in range(int(levels)):
        factor = float(ratio) ** (int(levels) - 1 - n)
        shapes.append((max(PATCH + 2, round(ch * factor)), max(PATCH + 2, round(cw * factor))))
    sources = [_resize(crop, shape) for shape in shapes]
    x, previous = None, None
    for level, shape in enumerate(shapes):
        finest = level == len(shapes) - 1
        factor = shape[0] / ch
        if finest:
            update = crop_hole
        else:  # a level pixel is rebuilt if its area held any of the hole (+1 px for the resampling's reach)
            update = _dilate(F.interpolate(crop_hole[None, None].float(), size=shape, mode="area")[0, 0] > 0, 1)
        source = sources[level]
        grid = (shape[0] - PATCH + 1, shape[1] - PATCH + 1)
        distance = torch.from_numpy(cv2.distanceTransform((~update).numpy().astype("uint8"), cv2.DIST_L2, 3))
        centre_distance = distance[PATCH // 2:PATCH // 2 + grid[0], PATCH // 2:PATCH // 2 + grid[1]]
        valid = (~_patch_touches(_dilate(update, 3)) & (centre_distance <= max(ring * factor, 2 * PATCH))).flatten()
        asks = _patch_touches(update).flatten()
        if previous is None and int(asks.sum()) * int(valid.sum()) > exact_pairs:  # an exact level, too many
            on_lattice = torch.zeros(grid, dtype=torch.bool)  # keys: every other row and column of them
            on_lattice[::2, ::2] = True
            valid = valid & on_lattice.flatten()
        x = source.clone() if x is None else torch.where(update, _resize(x, shape), source)
        if exemplar is not None and level == 0 and not finest:  # the coarsest level: structure first
            options = {"ring": max(round(ring * factor), 2 * PATCH), **exemplar}
            x = fill_exemplar(x, update, **options)  # then the level's own search, from it
        if not valid.any() or not asks.any():
            if finest:
                return picture.clone()
            previous = None  # a level too small for kept patches: the first fill goes on to the next
            continue
        ask_rows, valid_rows = torch.nonzero(asks).squeeze(1), torch.nonzero(valid).squeeze(1)
        ask_pixels, valid_pixels = _pixels_of(ask_rows, shape), _pixels_of(valid_rows, shape)
        # grid index -> row of the valid keys (the last row: a dummy for invalid ones)
        lookup = torch.full((grid[0] * grid[1],), len(valid_rows), dtype=torch.long)
        lookup[valid_rows] = torch.arange(len(valid_rows))
        usable = torch.ones(len(valid_rows) + 1, dtype=torch.bool)
        usable[-1] = False
        values = _some_patches(source, valid_pixels)
        blurred = _resize(sources[level - 1], shape) if level > 0 else source
        index = torch.arange(grid[0] * grid[1])  # every patch's match: itself, but for the queries
        for step in range(int(iterations)):
            keys = _some_patches(blurred, valid_pixels) if step == 0 or blurred_keys else values
            queries = _some_patches(x, ask_pixels)
            k, q = _project(keys, queries, int(pca_dims))
            if previous is None or len(ask_rows) * len(valid_rows) <= exact_pairs:
                found = _nearest(q, k, alpha)
            else:
                candidates = _window(_propagate(previous, grid, grid, exemplar is not None)[ask_rows], int(radius), grid)
                if step > 0:
                    candidates = torch.cat([candidates, _coherent(previous[0], grid, grid)[ask_rows]], 1)
                found = _local_nearest(q, torch.cat([k, k.new_zeros(1, k.shape[1])]), lookup[candidates], usable)
                lost = found < 0
                if lost.any():  # no valid key around: search all of them (every n-th past exact_pairs) for these
                    stride = max(1, math.ceil(int(lost.sum()) * len(k) / exact_pairs))
                    found[lost] = _nearest(q[lost], k[::stride], None) * stride
            index = index.clone()
            index[ask_rows] = valid_rows[found]
            previous = (index, grid, grid)
            last = finest and step == int(iterations) - 1
            if last and seam > 0:
                band = _dilate(update, 3) & ~update
                continued = _fold_some(values[found], ask_pixels, x, band, sigma)
                x = _fold_some(values[found], ask_pixels, x, update, sigma)
                x = x + _spread(crop - continued, band, update, float(seam))
            else:
                x = _fold_some(values[found], ask_pixels, x, update, sigma if last else None)
    if lowpass > 0:
        difference = (crop - x)[0].permute(1, 2, 0).contiguous().numpy()
        x = x + torch.from_numpy(cv2.GaussianBlur(difference, (0, 0), float(lowpass), borderType=cv2.BORDER_REFLECT)
                                 .reshape(difference.shape)).permute(2, 0, 1)[None]
    out = picture.clone()
    out[..., top:bottom, left:right] = torch.where(crop_hole, x, crop).to(out.dtype)
    return out


def _box(x: np.ndarray, size: int) -> np.ndarray:
    """Sums over size x size squares (zeros outside)."""
    import cv2

    return cv2.boxFilter(x, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)


@torch.no_grad()
def fill_exemplar(picture: torch.Tensor, hole, *, patch: int = 9, ring: int = 48, window: int = 32,
                  guide: float = 3.0, tolerance: float = 0.2, guide_mean: float = 1.0, guide_blur: float = 2.0,
                  seam: float = 4.0) -> torch.Tensor:
    """`picture`'s hole ((1, C, H, W) in [-1, 1], a first fill in the hole: the guide; hole (H, W) bool) filled
    by exemplar copying in structure order (Criminisi, Perez & Toyama 2004): the front pixel of highest
    confidence x (isophote strength along the front's normal + 0.01) first, its patch's unknown pixels copied from
    the kept patch (outside the hole, within `ring` px of it, `window` px of the target) minimising the mean
    squared difference on its known pixels + `guide` x the mean squared excess over `tolerance` of the unknown
    ones' differences to the blurred (`guide_blur`) first fill + `guide_mean` x their mean colour's squared
    difference; then fill_hole's seam. Deterministic. Defaults: docs/photo-tasks.md session 21."""
    import cv2

    hole = torch.as_tensor(hole, dtype=torch.bool)
    if picture.dim() != 4 or tuple(picture.shape[-2:]) != tuple(hole.shape):
        raise ValueError(f"fill_exemplar: picture {tuple(picture.shape)} and hole {tuple(hole.shape)} do not match.")
    if int(patch) % 2 == 0 or not 3 <= int(patch) <= 21:
        raise ValueError(f"fill_exemplar: patch must be odd, 3..21 (got {patch}).")
    if not hole.any() or hole.all():
        return picture.clone()
    p, half = int(patch), int(patch) // 2
    height, width = hole.shape
    rows, cols = torch.nonzero(hole, as_tuple=True)
    margin = int(ring) + p + 3
    top, bottom = max(0, int(rows.min()) - margin), min(height, int(rows.max()) + 1 + margin)
    left, right = max(0, int(cols.min()) - margin), min(width, int(cols.max()) + 1 + margin)
    crop = picture[0, :, top:bottom, left:right].float()
    crop_hole = hole[top:bottom, left:right].numpy()
    channels, ch, cw = crop.shape
    if min(ch, cw) < p + 2:
        return picture.clone()
    # padded by half a patch (neither known nor to fill), channels last
    image = np.pad(crop.permute(1, 2, 0).numpy(), ((half, half), (half, half), (0, 0)))
    guide_image = np.pad(cv2.GaussianBlur(crop.permute(1, 2, 0).numpy(), (0, 0), max(float(guide_blur), 1e-3))
                         .reshape(ch, cw, channels), ((half, half), (half, half), (0, 0)))
    inside = np.pad(np.ones((ch, cw), bool), half)
    known = np.pad(~crop_hole, half)
    todo = inside & ~known
    confidence = known.astype(np.float32)
    # keys: patches wholly kept, centred within `ring` px of the hole (padded coordinates of the centre)
    distance = cv2.distanceTransform(np.pad(~crop_hole, half, constant_values=True).astype(np.uint8), cv2.DIST_L2, 3)
    whole = cv2.erode((known & inside).astype(np.uint8), np.ones((p, p), np.uint8), borderValue=0) > 0
    keys = whole & (distance <= int(ring))
    if not keys.any():
        return picture.clone()
    continued = np.zeros_like(image)  # the chosen patches' values on the kept pixels they overlapped
    overlaps = np.zeros(known.shape, np.float32)
    # every key's patch once (kept pixels never change), (keys, p*p, C); key_id: a centre's row in it
    key_rows, key_cols = np.nonzero(keys)
    key_id = np.full(known.shape, -1, np.int64)
    key_id[key_rows, key_cols] = np.arange(len(key_rows))
    windows = np.lib.stride_tricks.sliding_window_view(image, (p, p), axis=(0, 1))  # (H-p+1, W-p+1, C, p, p)
    key_patches = torch.from_numpy(np.ascontiguousarray(windows[key_rows - half, key_cols - half]
                                                        .transpose(0, 2, 3, 1)).reshape(len(key_rows), -1))
    ones3 = np.ones((3, 3), np.uint8)
    area = float(p * p)
    priority = np.full(known.shape, -1.0, np.float32)
    context = p + 8  # how far the priority of a pixel looks

    def update(y0, y1, x0, x1):
        a0, a1 = max(0, y0 - context), min(known.shape[0], y1 + context)
        b0, b1 = max(0, x0 - context), min(known.shape[1], x1 + context)
        k = known[a0:a1, b0:b1].astype(np.uint8)
        inner = (slice(y0 - a0, y1 - a0), slice(x0 - b0, x1 - b0))
        front = (todo[a0:a1, b0:b1] & (cv2.dilate(k, ones3) > 0))[inner]
        result = np.full(front.shape, -1.0, np.float32)
        if front.any():
            valid = (cv2.erode(k, ones3, borderValue=0) > 0).astype(np.float32)
            grey = image[a0:a1, b0:b1].mean(2)
            gx = cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3) / 8 * valid
            gy = cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=3) / 8 * valid
            count = np.maximum(_box(valid, p)[inner][front], 1.0)
            jxx, jyy, jxy = (_box(g, p)[inner][front] / count for g in (gx * gx, gy * gy, gx * gy))
            soft = cv2.GaussianBlur(k.astype(np.float32), (0, 0), 1.5)
            nx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)[inner][front]
            ny = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)[inner][front]
            norm = np.maximum(np.hypot(nx, ny), 1e-6)
            nx, ny = nx / norm, ny / norm
            data = np.sqrt(np.maximum(jyy * nx * nx - 2 * jxy * nx * ny + jxx * ny * ny, 0.0))
            conf = _box(confidence[a0:a1, b0:b1], p)[inner][front] / area
            result[front] = conf * (data + 0.01)
        priority[y0:y1, x0:x1] = result

    update(0, known.shape[0], 0, known.shape[1])
    while todo.any():
        best = int(np.argmax(priority))
        y, x = divmod(best, known.shape[1]) if priority.flat[best] >= 0 else map(int, np.argwhere(todo)[0])
        sl = (slice(y - half, y + half + 1), slice(x - half, x + half + 1))
        have, want = known[sl] & inside[sl], todo[sl]
        # candidates: key centres within `window` px (more if none there)
        reach = int(window)
        while True:
            y0, y1 = max(half, y - reach), min(known.shape[0] - half, y + reach + 1)
            x0, x1 = max(half, x - reach), min(known.shape[1] - half, x + reach + 1)
            allowed = keys[y0:y1, x0:x1]
            if allowed.any() or reach > max(known.shape):
                break
            reach *= 2
        # the candidates' patches: the mean squared difference on the known pixels, the unknown part's mean
        # colour against the first fill's, and each unknown pixel's difference to it beyond `tolerance`
        ids = torch.from_numpy(key_id[y0:y1, x0:x1][allowed])  # row-major: ties go to the first, as before
        have_cols = torch.from_numpy(np.flatnonzero(np.repeat(have.ravel(), channels)))
        want_cols = torch.from_numpy(np.flatnonzero(np.repeat(want.ravel(), channels)))
        target = torch.from_numpy(image[sl].reshape(-1))
        wanted = torch.from_numpy(guide_image[sl].reshape(-1)).index_select(0, want_cols)  # (unknown pixels x C)
        candidates = key_patches.index_select(0, ids)  # (K, p*p*C), pixel-major
        score = (candidates.index_select(1, have_cols) - target.index_select(0, have_cols)).square_().sum(1)
        score /= max(1, len(have_cols) // channels)
        unknown = candidates.index_select(1, want_cols)
        colour = (unknown - wanted).view(len(ids), -1, channels).mean(1)  # the unknown part's mean colour difference
        score += float(guide_mean) * colour.square_().sum(1)
        if guide > 0:
            score += float(guide) / (len(want_cols) // channels) * (
                unknown.sub_(wanted).abs_().sub_(float(tolerance)).clamp_(min=0).square_().sum(1))
        chosen = int(ids[int(torch.argmin(score))])
        ky, kx = int(key_rows[chosen]), int(key_cols[chosen])
        source = image[ky - half:ky + half + 1, kx - half:kx + half + 1]
        filled = float(confidence[sl].sum()) / area
        image[sl] = np.where(want[..., None], source, image[sl])
        continued[sl] += np.where(have[..., None], source, 0)
        overlaps[sl] += have
        confidence[sl] = np.where(want, filled, confidence[sl])
        known[sl] |= want
        todo[sl] &= ~want
        reach = p + 6  # the pixels whose patch, gradients or normal saw the change
        update(max(0, y - reach), min(known.shape[0], y + reach + 1), max(0, x - reach), min(known.shape[1], x + reach + 1))
    result = torch.from_numpy(image[half:-half, half:-half]).permute(2, 0, 1)[None].contiguous()
    if seam > 0:
        inner = torch.from_numpy(crop_hole)
        band = _dilate(inner, 3) & ~inner & torch.from_numpy(overlaps[half:-half, half:-half] > 0)
        mean = torch.from_numpy(continued[half:-half, half:-half] / np.maximum(overlaps[half:-half, half:-half], 1)[..., None])
        result = result + _spread(crop[None] - mean.permute(2, 0, 1)[None], band, inner, float(seam))
    out = picture.clone()
    out[0, :, top:bottom, left:right] = torch.where(torch.from_numpy(crop_hole), result[0], crop).to(out.dtype)
    return out
