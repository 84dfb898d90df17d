"""SinGAN's options, limits and pyramid geometry: plain Python, no torch.

The app builds its SinGAN tab from these (slider ranges, the default injection scale) without importing
torch; `pix2pix_demo.singan` re-exports every name here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

PADDING_MODES = ("zeros", "reflect", "replicate")  # of SinGAN's 3x3 convs (models.singan.SinGANConfig.padding_mode)
PLANS = ("auto", "model", "measured")  # TrainOptions.plan
LAYOUTS = ("warp", "noise")  # TrainOptions.layout / SinGANConfig.layout: where a random sample's layout comes from

MAX_TRAIN_SIZE = 1024  # long side; beyond this a CPU run takes hours
MIN_IMAGE_SIZE = 25  # the smallest short side accepted for training (the paper's coarsest scale)
MAX_OUTPUT_PIXELS = 4_000_000
# The applications' bounds (each works at the model's scale; these keep time and memory flat whatever
# a person uploads): inputs to edit / harmonize / paint are shrunk to MAX_INPUT_SIDE on the long side
# first (the result has that size), super-resolution shrinks its input so the result's long side is at
# most MAX_SUPER_RESOLVE_SIDE, and an animation has at most MAX_FRAMES frames.
MAX_INPUT_SIDE = 1024
MAX_SUPER_RESOLVE_SIDE = 1024
MAX_FRAMES = 40


@dataclass
class TrainOptions:
    max_size: int = 250  # long side of the finest scale (the image is never up-scaled)
    min_size: int = 12  # short side of the coarsest scale: about the 11-px receptive field, so the
    # coarsest generator knows where every pixel sits and keeps the layout (README, SinGAN: layout); its critic
    # is smaller (coarse_critic_layers), else it copies the photo's layout
    scale_factor: float = 0.75  # r: ratio between scales (adjusted so min_size is hit exactly)
    channels: int = 32  # conv width of every G and D (nfc)
    num_layers: int = 5
    iters: int = 1000  # iterations per scale at most
    min_iters: int = 20  # per scale, even when the time budget is tight (it may then run over)
    time_budget: float | None = None  # minutes for the whole pyramid (None: `iters` per scale)
    lr: float = 5e-4  # SinGAN's value (1e-3 was better at a 25-px coarsest scale, unstable at 12 px)
    reconstruction_weight: float = 1.0  # alpha (paper: 10; 1 was sharper at 3 CPU-min, weak evidence: README)
    gp_weight: float = 0.1  # lambda of the WGAN-GP penalty (SinGAN's value)
    noise_amp: float = 0.1  # sigma_n = noise_amp * RMSE(reconstruction)
    fine_noise_amp: float | None = None  # noise_amp of the scales fine_noise_from.. instead (None: noise_amp
    # everywhere); 0.3 everywhere gave leaf-like texture on trees3 but cross-hatch grain in the volcano's sky
    fine_noise_from: int = 5  # index of the first scale that uses fine_noise_amp (0 = the coarsest)
    crop_size: int = 64  # train scales larger than this on random crops (0: full images)
    gp_every: int = 1  # lazy regularisation: the gradient penalty (x gp_every) every N-th D step
    coarse_refresh: int = 4  # new coarse sample every N iterations
    seed: int = 0
    device: str = "auto"
    channels_last: bool = False  # memory format for the convolutions
    budget_clock: str = "wall"  # "wall", or "cpu" (process CPU time: fair on a machine shared with other jobs)
    fine_weight: float = 1.0  # time-budget share of the finest scale relative to the coarsest (geometric in
    # between; 1 = an equal share of what is left for every scale)
    fine_lr_mult: float = 1.0  # learning rate of the finest scale = lr * fine_lr_mult (geometric from the coarsest)
    d_steps: int = 1  # critic steps per iteration (SinGAN: 3); the extra ones each see a fresh fake
    g_steps: int = 1  # generator steps per iteration (SinGAN: 3)
    padding: str = "zeros"  # the convs' padding (G and D): "zeros", "reflect" or "replicate"
    fine_padding: str | None = "reflect"  # the padding of scales fine_padding_from.. instead (None: `padding`
    # everywhere). Zeros at the coarse scales tell the generators where the border is (the layout: all-reflect
    # samples lose the face), zeros at the fine ones draw a light/dark frame along it; zeros to scale 4 and
    # reflect above kept the layout and removed the frame (CC0 cat 3 CPU-min, Marina Bay 5: README, Sharpness)
    fine_padding_from: int | None = None  # index of the first "fine" scale (0 = the coarsest; its short side is
    # about min_size / scale_factor**K px: 12 -> 51 px at K = 5); beyond the pyramid = `padding` everywhere.
    # None: layout_scale + 1 for the "warp" layout (the warped reconstruction is the layout, so the scales above
    # it need not know where the border is; with zeros there they drew the photo's edge objects at the edge:
    # Marina Bay's roof pieces floating in the sky, 4 of 8 broken -> 1; session 16, docs/singan.md), 5 for "noise"
    gp_norm: str = "coarsest"  # the gradient penalty's norm: "coarsest" (of the whole image's gradient,
    # rescaled to the coarsest training example's pixel count: every scale's patch critic as strong as the
    # coarsest one's; 3 CPU-min, 250 px, one run each: high-frequency ratio 0.31 -> 1.09 and 0.45 -> 0.71;
    # a 5-min run 0.45: README), "image"
    # (the default until then: the critic's per-patch gradient shrinks as 1/sqrt(pixels), so the large scales
    # get a weak critic and soft samples), "pixel" (per pixel, as the SinGAN code)
    plan: str = "auto"  # how time_budget becomes iterations per scale: "measured" (each scale times its
    # first iterations: adapts to the machine, but a busy machine changes the run: one 5-min volcano run in
    # three came out soft), "model" (a fixed cost model of this project's 2-core CPU, `iteration_plan`: the same
    # iterations whatever the load, as every sharpness measurement in the README; the time taken then varies
    # instead) or "auto" (the default: "model" when training on the CPU, "measured" on a GPU, which the cost
    # model does not describe)
    concurrent: int = 0  # ConSinGAN's concurrent stages: while scale n trains, the generators of the scales
    # n-1 .. n-concurrent are trained with it (the sample flows through them with its gradient; 0 = SinGAN)
    keep_photo: bool = True  # store the training photo (at the finest scale's size, uint8) in the model, for
    # the sharp finish (`finish_from_photo`); False to save or publish a model without the photo
    concurrent_lr_scale: float = 0.1  # the learning rate of the generator d scales below n = lr * this ** d
    coarse_critic_layers: int | None = 3  # the critic's conv layers at the scales whose short side is under
    # coarse_critic_side (None: num_layers everywhere, as before issue 30). A critic whose receptive field
    # (2 * layers + 1 = 11 px) covers the whole 12-px coarsest scale judges the whole picture and accepts only
    # the photo: every sample had the photo's layout (volcano, 5 CPU-min: diversity 0.26, 20.1 dB to the
    # photo). A 7-px critic there judges patches, while the generator (11 px, zero padding) still knows where the
    # border is: new layouts with the ground below and the sky above (diversity 0.40, 16.5 dB; docs/singan.md,
    # "New scenes"). A 25-px coarsest scale instead gave jumbled patches at this budget (14.1 dB)
    coarse_critic_side: int = 25
    coarse_critic_rows: bool = False  # the critic of those scales also sees each pixel's row (height in the
    # picture): it judges a patch together with where it sits vertically, so a piece of ground or a cone's foot
    # is refused in the sky, while the layout may still change across the picture (issue 30)
    layout: str = "warp"  # where a random sample's layout comes from (recorded in the model's config):
    # "warp" = the model's reconstruction through scale layout_scale, warped at random along the picture's width
    # (objects moved, widened or narrowed, a mirrored copy beyond the left / right edge) and a little taller or
    # lower, anchored at the bottom row; the scales above are trained on such layouts (pix2pix_demo.singan.layout).
    # "noise" = SinGAN's: scale 0 draws it from noise (with the 7-px coarse critic: new layouts, but shapeless
    # blobs there that the next scales turned into cones floating in the sky: volcano 5 of 8 broken; issue 30,
    # session 14: docs/singan.md "New scenes")
    layout_scale: int = 1  # the warped reconstruction's scale (0 = the coarsest)
    layout_shift: float = 0.25  # std of the picture's shift, in picture widths
    layout_stretch: float = 0.3  # std of the log of the local horizontal stretch
    layout_height: float = 0.0  # std of the log of the vertical stretch (anchored at the bottom row). 0 since
    # session 17 (was 0.1): a taller layout put Marina Bay's roof 1-2 px higher at scale 1, and scales 2-4, whose
    # 11-px view spans the towers, drew a second roof at the photo's height (docs/singan.md, "Session 17")
    layout_edge: float | None = 0.08  # how far (picture widths) the warp's window may read past the picture's
    # left or right edge, mirrored (None: as far as the shift takes it, the session-14 warp). Session 17: an
    # object near an edge (Marina Bay's last tower, its roof's cantilever) mirrored in far came back as a twin
    # beside itself or a roof stub in the sky; the price is fewer second cones at the volcano's edges
    layout_gap: float = 0.1  # random samples: past an edge the window first sees the edge column repeated for
    # this many picture widths, then the mirror, so an object near the edge and its mirror image stand at least
    # this far apart (session 18: a window zoomed out past the picture put Marina Bay's last tower, 7 px from the
    # edge, beside its own mirror image, drawn as one wide tower with a hole; 0 = the mirror at the edge).
    # Recorded in the config for sampling; training keeps the mirror at the edge (trained with the gap, one run
    # each: Marina's towers joined into an arch, lava floating in the volcano's sky; docs/singan.md)

    def __post_init__(self) -> None:
        if self.fine_padding_from is None:
            self.fine_padding_from = int(self.layout_scale) + 1 if self.layout == "warp" else 5

    def validate(self) -> None:
        if not MIN_IMAGE_SIZE <= self.max_size <= MAX_TRAIN_SIZE:
            raise ValueError(f"max_size must be between {MIN_IMAGE_SIZE} and {MAX_TRAIN_SIZE} px, got {self.max_size}.")
        if not 8 <= self.min_size <= self.max_size:
            raise ValueError(f"min_size must be between 8 px and max_size ({self.max_size}), got {self.min_size}.")
        if not 0.3 <= self.scale_factor <= 0.95:
            raise ValueError(f"scale_factor must be between 0.3 and 0.95, got {self.scale_factor}.")
        if not 4 <= self.channels <= 256:
            raise ValueError(f"channels must be between 4 and 256, got {self.channels}.")
        if not 1 <= self.iters <= 100_000 or not 1 <= self.min_iters <= self.iters:
            raise ValueError(f"iters must be 1..100000 and min_iters 1..iters; got {self.iters}, {self.min_iters}.")
        if not 1 <= self.gp_every <= 16:
            raise ValueError(f"gp_every must be between 1 and 16, got {self.gp_every}.")
        if not 1 <= self.coarse_refresh <= 64:
            raise ValueError(f"coarse_refresh must be between 1 and 64, got {self.coarse_refresh}.")
        if not 0.25 <= self.fine_weight <= 64:
            raise ValueError(f"fine_weight must be between 0.25 and 64, got {self.fine_weight}.")
        if not 0.1 <= self.fine_lr_mult <= 10:
            raise ValueError(f"fine_lr_mult must be between 0.1 and 10, got {self.fine_lr_mult}.")
        if not 1 <= self.d_steps <= 8 or not 1 <= self.g_steps <= 8:
            raise ValueError(f"d_steps and g_steps must be between 1 and 8, got {self.d_steps}, {self.g_steps}.")
        if self.padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {', '.join(PADDING_MODES)}, got {self.padding!r}.")
        if self.fine_padding is not None and self.fine_padding not in PADDING_MODES:
            raise ValueError(f"fine_padding must be None or one of {', '.join(PADDING_MODES)}, "
                             f"got {self.fine_padding!r}.")
        if not 0 <= self.fine_padding_from <= 64:
            raise ValueError(f"fine_padding_from must be a scale index between 0 and 64, got {self.fine_padding_from}.")
        if self.gp_norm not in ("image", "pixel", "coarsest"):
            raise ValueError(f"gp_norm must be 'image', 'pixel' or 'coarsest', got {self.gp_norm!r}.")
        if not 0 < self.noise_amp <= 2 or (self.fine_noise_amp is not None and not 0 < self.fine_noise_amp <= 2):
            raise ValueError(f"noise_amp and fine_noise_amp must be in (0, 2], got {self.noise_amp}, "
                             f"{self.fine_noise_amp}.")
        if not 0 <= self.fine_noise_from <= 64:
            raise ValueError(f"fine_noise_from must be a scale index between 0 and 64, got {self.fine_noise_from}.")
        if not 0 <= self.concurrent <= 4:
            raise ValueError(f"concurrent must be between 0 and 4 scales, got {self.concurrent}.")
        if not 0 < self.concurrent_lr_scale <= 1:
            raise ValueError(f"concurrent_lr_scale must be in (0, 1], got {self.concurrent_lr_scale}.")
        if self.coarse_critic_layers is not None and not 3 <= self.coarse_critic_layers <= self.num_layers:
            raise ValueError(f"coarse_critic_layers must be None or between 3 and num_layers ({self.num_layers}), "
                             f"got {self.coarse_critic_layers}.")
        if not 8 <= self.coarse_critic_side <= MAX_TRAIN_SIZE:
            raise ValueError(f"coarse_critic_side must be between 8 and {MAX_TRAIN_SIZE} px, got {self.coarse_critic_side}.")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}.")
        if not 0 <= self.layout_scale <= 64:
            raise ValueError(f"layout_scale must be a scale index between 0 and 64, got {self.layout_scale}.")
        for name in ("layout_shift", "layout_stretch", "layout_height"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1, got {getattr(self, name)}.")
        if self.layout_edge is not None and not 0 <= self.layout_edge <= 1:
            raise ValueError(f"layout_edge must be None or between 0 and 1 picture widths, got {self.layout_edge}.")
        if not 0 <= self.layout_gap <= 1:
            raise ValueError(f"layout_gap must be between 0 and 1 picture widths, got {self.layout_gap}.")
        if self.plan not in PLANS:
            raise ValueError(f"plan must be one of {', '.join(PLANS)}, got {self.plan!r}.")
        if self.budget_clock not in ("wall", "cpu"):
            raise ValueError(f"budget_clock must be 'wall' or 'cpu', got {self.budget_clock!r}.")
        if self.time_budget is not None and not 0 < self.time_budget <= 24 * 60:
            raise ValueError(f"time_budget must be between 0 and 1440 minutes, got {self.time_budget}.")


def pyramid_shapes(width: int, height: int, options: TrainOptions) -> tuple[list[list[int]], float]:
    """[height, width] per scale, coarse -> fine, and the actual scale factor.

    The finest scale has its long side at min(max_size, image long side); the coarsest has its
    short side at about min_size; ratios between scales are constant."""
    options.validate()
    fine = min(1.0, options.max_size / max(width, height))
    fine_h, fine_w = max(1, round(height * fine)), max(1, round(width * fine))
    floor = max(options.min_size, MIN_IMAGE_SIZE)
    if min(fine_h, fine_w) < floor:
        raise ValueError(
            f"The image is too small or too narrow: at {fine_w}×{fine_h} px its short side is under "
            f"{floor} px. Use an image whose short side is at least {floor} px "
            f"(after fitting the long side to {options.max_size} px).")
    ratio = options.min_size / min(fine_h, fine_w)
    steps = max(0, math.ceil(math.log(ratio) / math.log(options.scale_factor))) if ratio < 1 else 0
    factor = ratio ** (1 / steps) if steps else 1.0
    shapes = []
    for n in range(steps + 1):
        f = factor ** (steps - n)
        shapes.append([max(1, round(fine_h * f)), max(1, round(fine_w * f))])
    return shapes, factor


def default_injection_scale(num_scales: int, task: str) -> int:
    """Injection scales that work for a ~9-scale pyramid: editing and harmonization about a
    third of the way up, painting near the bottom (it must invent all the texture)."""
    n = num_scales
    return {"edit": max(1, n // 3), "harmonize": max(1, n // 3), "paint": max(1, n // 5)}[task]


# CPU ms per training iteration on the project's 2-core CPU (one torch thread), fitted to the logged
# per-scale times of two 3-minute 250-px runs (README, Sharpness): a fixed part, a part per pixel of
# the (cropped) training image and a part per pixel of the coarse sample redrawn every coarse_refresh
# iterations through all lower scales. Extra critic / generator steps add about 0.65 / 0.75 of a
# plain iteration's fixed and per-pixel parts (the critic's from a 4-scale run, the generator's a guess).
COST_MS_FIXED, COST_MS_PER_PIXEL, COST_MS_PER_REFRESH_PIXEL = 9.5, 0.017, 0.0009
# Reflect / replicate padding is an extra op before every conv (zeros is folded into the conv): an iteration
# at such a scale costs ~1.2x (CPU time of 3- and 5-minute runs with zeros, mixed and reflect padding).
COST_PADDING_FACTOR = 1.2
# A concurrent scale (TrainOptions.concurrent): its generator's forward and backward on the windows the crop
# above needs (both paths: ~65x65 px each below a 64-px crop), and the full-size pad + resize that carries them
# up. Fitted to 40-iteration runs of the 250-px cat with concurrent 0 / 1 / 2 (one torch thread): +55 ms per
# iteration at the fine scales with two concurrent scales, +10 ms at scale 3.
COST_MS_CONCURRENT_FIXED, COST_MS_CONCURRENT_PER_PIXEL, COST_MS_CONCURRENT_PER_FULL_PIXEL = 2.5, 0.0047, 0.00005


def padding_at(scale: int, padding: str, fine_padding: str | None, fine_padding_from: int) -> str:
    """The padding of scale `scale`'s convs: `fine_padding` from scale `fine_padding_from` on (when set), else
    `padding` (the cost model below and models.singan.SinGANConfig ask here)."""
    return fine_padding if fine_padding is not None and scale >= fine_padding_from else padding


def upsample_needs(start: int, length: int, source: int, target: int) -> tuple[int, int]:
    """[a, b): the rows (or columns) of a `source`-long axis that bilinear resizing (align_corners=False) to
    `target` reads for the output rows [start, start + length), with one row of slack on each side."""
    s = source / target
    a = math.floor((start + 0.5) * s - 0.5) - 1
    b = math.floor((start + length - 0.5) * s - 0.5) + 3
    return max(0, a), min(source, b)


def concurrent_window_size(length: int, source: int, target: int, radius: int) -> int:
    """The fixed size of the window a concurrent scale computes for `length` rows of the scale above: what
    `upsample_needs` can ask for, plus the generator's receptive radius on each side (at most the axis)."""
    return min(source, math.ceil(length * source / target) + 5 + 2 * radius)


def concurrent_window(start: int, length: int, source: int, target: int, radius: int) -> tuple[int, int]:
    """(start, size) of the window on a `source`-long axis whose generator output is exact wherever the scale
    above (`target` long) reads it for its rows [start, start + length): the rows `upsample_needs` plus the
    receptive radius (a conv's padding at the window's cut edges only reaches `radius` rows in), shifted to lie
    inside the axis. The size depends on `length` only, so the random and reconstruction paths batch."""
    size = concurrent_window_size(length, source, target, radius)
    a, b = upsample_needs(start, length, source, target)
    a, b = max(0, a - radius), min(source, b + radius)
    first = min(max(0, a - (size - (b - a)) // 2), source - size)
    assert first <= a and b <= first + size, (start, length, source, target, radius)
    return first, size


def concurrent_window_pixels(shapes, n: int, crop: int | None, depth: int, radius: int) -> list[int]:
    """Pixels of the window each concurrent scale n-1 .. n-depth computes for one crop of scale n."""
    h, w = shapes[n]
    h, w = (min(h, crop), min(w, crop)) if crop else (h, w)
    pixels = []
    for k in range(n - 1, n - depth - 1, -1):
        h = concurrent_window_size(h, shapes[k][0], shapes[k + 1][0], radius)
        w = concurrent_window_size(w, shapes[k][1], shapes[k + 1][1], radius)
        pixels.append(h * w)
    return pixels


def iteration_cost_ms(shapes, n: int, options: TrainOptions) -> float:
    """The cost model's CPU ms for one iteration at scale n of a pyramid with these [h, w] shapes."""
    h, w = shapes[n]
    crop = options.crop_size if options.crop_size and max(h, w) > options.crop_size else None
    pixels = min(h, crop) * min(w, crop) if crop else h * w
    refresh = sum(a * b for a, b in shapes[:n]) / options.coarse_refresh
    steps = 1 + 0.65 * (options.d_steps - 1) + 0.75 * (options.g_steps - 1)
    zeros = padding_at(n, options.padding, options.fine_padding, options.fine_padding_from) == "zeros"
    padding = 1.0 if zeros else COST_PADDING_FACTOR
    cost = padding * steps * (COST_MS_FIXED + COST_MS_PER_PIXEL * pixels) + COST_MS_PER_REFRESH_PIXEL * refresh
    depth = min(options.concurrent, n)
    if depth:  # each concurrent scale: its generator forward + backward on a window per path, and full-size resizes
        windows = concurrent_window_pixels(shapes, n, crop, depth, options.num_layers)
        for k, window in zip(range(n - 1, n - depth - 1, -1), windows):
            zeros_k = padding_at(k, options.padding, options.fine_padding, options.fine_padding_from) == "zeros"
            cost += (1.0 if zeros_k else COST_PADDING_FACTOR) * options.g_steps * (
                COST_MS_CONCURRENT_FIXED + COST_MS_CONCURRENT_PER_PIXEL * window
                + COST_MS_CONCURRENT_PER_FULL_PIXEL * shapes[k + 1][0] * shapes[k + 1][1])
    return cost


def iteration_plan(shapes, options: TrainOptions) -> list[int]:
    """Iterations per scale for options.time_budget under the cost model (plan="model"): every scale
    takes its share of the budget left (fine_weight sets the shares, as the measured plan does),
    capped at `iters`, at least `min_iters`; what a scale does not use flows on. Pure arithmetic: the
    same numbers on any machine and at any load."""
    if options.time_budget is None:
        return [options.iters] * len(shapes)
    count = len(shapes)
    weights = [options.fine_weight ** (n / max(1, count - 1)) for n in range(count)]
    remaining, plan = options.time_budget * 60_000.0, []
    for n in range(count):
        cost = iteration_cost_ms(shapes, n, options)
        share = max(0.0, remaining) * weights[n] / sum(weights[n:])
        iterations = int(min(options.iters, max(options.min_iters, share / cost)))
        plan.append(iterations)
        remaining -= iterations * cost
    return plan
