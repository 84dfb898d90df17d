"""SinGAN's concurrent stages (ConSinGAN, TrainOptions.concurrent): the windows the scales below compute
are exact, the scales below really train (and do not without the option), the option round-trips
through the command line and the cost model counts it. Tiny generated images, a few iterations."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from pix2pix_demo import singan
from pix2pix_demo.models.singan import SinGAN, SinGANConfig, upsample
from pix2pix_demo.singan_options import concurrent_window, upsample_needs

# four scales (25, 27, 29, 32 px) trained on 20-px crops: the concurrent scales run on windows
TINY = dict(max_size=32, min_size=25, scale_factor=0.9, channels=8, num_layers=3, iters=10, min_iters=10,
            device="cpu", crop_size=20)


def test_window_holds_what_resizing_and_the_receptive_field_read():
    rng = random.Random(0)
    for _ in range(2000):
        source = rng.randint(4, 200)
        target = rng.randint(source, source * 2)
        length = rng.randint(1, target)
        start = rng.randint(0, target - length)
        radius = rng.randint(0, 6)
        first, size = concurrent_window(start, length, source, target, radius)
        a, b = upsample_needs(start, length, source, target)
        assert 0 <= first and first + size <= source
        assert first <= max(0, a - radius) and min(source, b + radius) <= first + size
    # what bilinear resizing reads: a one-hot row moves the output rows it feeds, and only those
    source, target = 9, 13
    for row in range(source):
        x = torch.zeros(1, 1, source, 1)
        x[0, 0, row] = 1.0
        touched = upsample(x, (target, 1))[0, 0, :, 0].nonzero().flatten().tolist()
        for out in touched:
            a, b = upsample_needs(out, 1, source, target)
            assert a <= row < b


@pytest.mark.parametrize("padding", ["zeros", "reflect"])
def test_windows_give_exactly_the_full_image_pass(padding):
    """concurrent_inputs on crops equals running the scales below on whole images and cropping."""
    torch.manual_seed(0)
    rng = random.Random(1)
    shapes = [[12, 16], [16, 21], [21, 28], [28, 37], [37, 50]]
    model = SinGAN(SinGANConfig(shapes=shapes, channels=[8] * 5, num_layers=4, padding_mode=padding))
    model.noise_amp.uniform_(0.1, 1.0)
    for low, n in [(0, 1), (0, 2), (1, 3), (2, 4), (1, 4)]:
        size = rng.choice([8, 13, 20])
        boxes, bases, noises = [], [], [[] for _ in range(low, n)]
        for _ in range(2):
            h, w = min(shapes[n][0], size), min(shapes[n][1], size)
            boxes.append((rng.randint(0, shapes[n][0] - h), rng.randint(0, shapes[n][1] - w), h, w))
            bases.append(torch.randn(1, 3, *shapes[low]))
            for k in range(low, n):
                noises[k - low].append(torch.randn(1, 3, *shapes[k]))
        with torch.no_grad():
            got = singan.concurrent_inputs(model, shapes, low, n, boxes, bases, noises)
            for i, (top, left, h, w) in enumerate(boxes):
                x = bases[i]
                for k in range(low, n):
                    x = upsample(x + model.generators[k](x + model.noise_amp[k] * noises[k - low][i]), shapes[k + 1])
                torch.testing.assert_close(got[i:i + 1], x[..., top:top + h, left:left + w], atol=1e-5, rtol=0)


def _train_watching_scale_below(options):
    """Train; return the model, the stats, per scale n >= 1 whether generator n-1 changed while scale n trained,
    and whether generator 0 changed while scale 2 trained."""
    snapshots = {}

    def on_scale_end(model, scale, scale_stats):
        snapshots[scale] = {k: v.clone() for k, v in model.state_dict().items()}

    torch.set_num_threads(1)
    model, stats = singan.train_singan(singan.reference_image(32), options, on_scale_end=on_scale_end)
    changed = {}
    for n in range(1, stats["num_scales"]):
        key = f"generators.{n - 1}.tail.weight"
        changed[n] = not torch.equal(snapshots[n - 1][key], snapshots[n][key])
    # generator 0 while scale 2 trained (two scales below)
    far = not torch.equal(snapshots[1]["generators.0.tail.weight"], snapshots[2]["generators.0.tail.weight"])
    return model, stats, changed, far


def test_concurrent_scales_train_with_the_scale_above_and_not_without():
    _, stats, changed, far = _train_watching_scale_below(singan.TrainOptions(**TINY))
    assert stats["num_scales"] == 4 and stats["options"]["concurrent"] == 0
    assert changed == {1: False, 2: False, 3: False} and not far  # SinGAN: a finished scale stays as it is
    _, _, changed, far = _train_watching_scale_below(singan.TrainOptions(**TINY, concurrent=1))
    assert changed == {1: True, 2: True, 3: True} and not far  # only the scale just below
    model, stats, changed, far = _train_watching_scale_below(singan.TrainOptions(**TINY, concurrent=2))
    assert changed == {1: True, 2: True, 3: True} and far
    assert stats["options"]["concurrent"] == 2 and [s["iterations"] for s in stats["scales"]] == [10] * 4
    image = singan.sample(model, seed=3)
    assert image.size == (32, 32) and len(np.unique(np.asarray(image).reshape(-1, 3), axis=0)) > 10


def test_concurrent_learning_rate_scale_sets_how_far_the_scale_below_moves():
    def moved(scale):
        snapshots = {}
        options = singan.TrainOptions(**{**TINY, "max_size": 27}, concurrent=1, concurrent_lr_scale=scale)
        torch.set_num_threads(1)  # two scales: 25 and 27 px
        singan.train_singan(singan.reference_image(27), options, on_scale_end=lambda m, n, s: snapshots.setdefault(
            n, m.generators[0].tail.weight.detach().clone()))
        return float((snapshots[1] - snapshots[0]).abs().max())

    small, large = moved(0.01), moved(1.0)
    assert 0 < small < large / 5


def test_concurrent_option_round_trips_through_the_command_line_and_is_validated():
    from train.singan import get_args_parser

    args = get_args_parser().parse_args(["--image", "x.png", "--name", "x", "--concurrent", "2",
                                         "--concurrent-lr-scale", "0.2"])
    assert (args.concurrent, args.concurrent_lr_scale) == (2, 0.2)
    defaults = get_args_parser().parse_args(["--image", "x.png", "--name", "x"])
    assert (defaults.concurrent, defaults.concurrent_lr_scale) == (0, 0.1)
    for bad, match in ((dict(concurrent=-1), "concurrent must"), (dict(concurrent=5), "concurrent must"),
                       (dict(concurrent_lr_scale=0), "concurrent_lr_scale"),
                       (dict(concurrent_lr_scale=1.5), "concurrent_lr_scale")):
        with pytest.raises(ValueError, match=match):
            singan.TrainOptions(**bad).validate()


def test_cost_model_counts_the_concurrent_scales():
    plain = singan.TrainOptions(time_budget=5, plan="model")
    shapes, _ = singan.pyramid_shapes(250, 167, plain)
    one, two = (singan.TrainOptions(time_budget=5, plan="model", concurrent=c) for c in (1, 2))
    cost = [[singan.iteration_cost_ms(shapes, n, o) for n in range(len(shapes))] for o in (plain, one, two)]
    assert cost[0][0] == cost[1][0] == cost[2][0]  # nothing below the coarsest scale
    assert all(a < b < c for a, b, c in zip(*(row[2:] for row in cost)))
    plans = [singan.iteration_plan(shapes, o) for o in (plain, one, two)]
    assert sum(plans[2][-4:]) < sum(plans[1][-4:]) < sum(plans[0][-4:])  # the same budget buys fewer fine iterations
    for plan, options in zip(plans, (plain, one, two)):
        spent = sum(i * singan.iteration_cost_ms(shapes, n, options) for n, i in enumerate(plan))
        assert 0.9 * 300_000 <= spent <= 300_000
