"""SinGAN training recipe options (issue 14): per-pixel gradient penalty, extra critic / generator
steps. Tiny generated images, a few iterations; each test checks something that breaks if the option
is ignored."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from pix2pix_demo import singan
from pix2pix_demo.losses import gradient_penalty

TINY = dict(max_size=32, min_size=25, channels=8, num_layers=3, iters=10, min_iters=10, device="cpu", crop_size=24)


def test_per_pixel_gradient_penalty_does_not_grow_with_the_image():
    """A 1x1 conv critic with a unit weight vector has gradient norm 1 at every pixel: the per-pixel
    penalty is 0 at any size, the whole-image one grows with sqrt(pixels) (the old SinGAN penalty)."""
    critic = nn.Conv2d(3, 1, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.tensor([0.6, 0.8, 0.0]).view(1, 3, 1, 1))
    for side in (8, 32):
        real, fake = torch.rand(2, 3, side, side), torch.rand(2, 3, side, side)
        assert gradient_penalty(critic, real, fake, weight=1.0, per_pixel=True).item() == pytest.approx(0, abs=1e-9)
        whole = gradient_penalty(critic, real, fake, weight=1.0).item()
        assert whole == pytest.approx((side - 1) ** 2, rel=1e-4)  # ||grad|| = sqrt(side*side) = side
        rescaled = gradient_penalty(critic, real, fake, weight=1.0, reference_pixels=16).item()
        assert rescaled == pytest.approx((4 - 1) ** 2, rel=1e-4)  # as on a 4x4 image, whatever the size


def _count_steps(monkeypatch):
    """Counts optimizer steps per parameter count (the SinGAN G and D here have different sizes)."""
    counts = {}
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        key = sum(p.numel() for group in self.param_groups for p in group["params"])
        counts[key] = counts.get(key, 0) + 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    return counts


@pytest.mark.parametrize("d_steps,g_steps", [(1, 1), (3, 2)])
def test_critic_and_generator_steps_per_iteration(monkeypatch, d_steps, g_steps):
    torch.set_num_threads(1)
    counts = _count_steps(monkeypatch)
    options = singan.TrainOptions(**TINY, d_steps=d_steps, g_steps=g_steps)
    _, stats = singan.train_singan(singan.reference_image(32), options)
    iterations = sum(s["iterations"] for s in stats["scales"])
    assert iterations == 20  # 2 scales x 10
    g_params = sum(p.numel() for p in singan.SinGAN(singan.SinGANConfig(shapes=[[8, 8]], channels=[8], num_layers=3))
                   .generators[0].parameters())
    d_count = [v for k, v in counts.items() if k != g_params]
    assert counts[g_params] == g_steps * iterations
    assert d_count == [d_steps * iterations]


def test_recipe_options_change_training_and_are_validated():
    torch.set_num_threads(1)
    image = singan.reference_image(32)
    plain, _ = singan.train_singan(image, singan.TrainOptions(**TINY, gp_norm="image"))
    again, _ = singan.train_singan(image, singan.TrainOptions(**TINY, gp_norm="image"))
    per_pixel, _ = singan.train_singan(image, singan.TrainOptions(**TINY, gp_norm="pixel"))
    coarsest, _ = singan.train_singan(image, singan.TrainOptions(**TINY, gp_norm="coarsest"))
    full = {**TINY, "crop_size": 0}  # whole images: 25x25, then 32x32
    plain_full, _ = singan.train_singan(image, singan.TrainOptions(**full, gp_norm="image"))
    coarsest_full, _ = singan.train_singan(image, singan.TrainOptions(**full, gp_norm="coarsest"))
    key = "generators.1.tail.weight"
    assert torch.equal(plain.state_dict()[key], again.state_dict()[key])  # deterministic
    assert not torch.equal(plain.state_dict()[key], per_pixel.state_dict()[key])
    # "coarsest" equals "image" where the training example has the coarsest one's size (here every
    # scale's 24-px crops) and differs where it is larger (the 32-px scale of whole-image training)
    assert torch.equal(plain.state_dict()[key], coarsest.state_dict()[key])
    zero = "generators.0.tail.weight"
    assert torch.equal(plain_full.state_dict()[zero], coarsest_full.state_dict()[zero])
    assert not torch.equal(plain_full.state_dict()[key], coarsest_full.state_dict()[key])
    for bad in (dict(d_steps=0), dict(g_steps=9)):
        with pytest.raises(ValueError, match="d_steps and g_steps"):
            singan.TrainOptions(**bad).validate()
    with pytest.raises(ValueError, match="gp_norm"):
        singan.TrainOptions(gp_norm="patch").validate()


def test_model_plan_spends_the_budget_on_the_cost_model():
    options = singan.TrainOptions(time_budget=3, plan="model")
    shapes, _ = singan.pyramid_shapes(250, 168, options)
    plan = singan.iteration_plan(shapes, options)
    assert len(plan) == len(shapes) and plan[0] == options.iters  # cheap coarse scales hit the cap
    assert plan[-1] < plan[len(plan) // 2] < plan[0]  # fine scales cost more per iteration
    spent = sum(i * singan.iteration_cost_ms(shapes, n, options) for n, i in enumerate(plan))
    assert 0.9 * 180_000 <= spent <= 180_000
    double = singan.iteration_plan(shapes, singan.TrainOptions(time_budget=3, plan="model", d_steps=3))
    assert sum(double) < sum(plan)  # extra critic steps cost budget
    with pytest.raises(ValueError, match="plan"):
        singan.TrainOptions(plan="fast").validate()


@pytest.mark.parametrize("plan", ["model", "auto"])  # auto, the default, is the model plan on the CPU
def test_model_plan_does_not_depend_on_machine_load(plan):
    """With plan="model" each scale runs the planned iterations even when iterations get slower
    (a busy machine): the measured plan would stop the scale early."""
    import time

    torch.set_num_threads(1)
    options = singan.TrainOptions(**{**TINY, "iters": 1000, "min_iters": 1, "time_budget": 0.01,
                                     "budget_clock": "cpu", "plan": plan})

    def slow(scale, iteration, fraction, preview):
        end = time.process_time() + 0.05
        while time.process_time() < end:
            pass

    _, stats = singan.train_singan(singan.reference_image(32), options, progress=slow)
    shapes = stats["shapes"]
    assert [s["iterations"] for s in stats["scales"]] == singan.iteration_plan(shapes, options)
    assert stats["plan"] == "model"


def test_auto_plan_is_the_cost_model_on_the_cpu_and_the_measured_plan_on_a_gpu():
    assert singan.TrainOptions().plan == "auto"
    assert singan.resolve_plan("auto", torch.device("cpu")) == "model"
    assert singan.resolve_plan("auto", torch.device("cuda")) == "measured"
    assert singan.resolve_plan("auto", "mps") == "measured"
    assert singan.resolve_plan("model", torch.device("cuda")) == "model"  # an explicit plan is kept
    assert singan.resolve_plan("measured", torch.device("cpu")) == "measured"
    from train.singan import get_args_parser

    assert get_args_parser().parse_args(["--image", "x", "--name", "x"]).plan == "auto"


def test_fine_noise_amp_scales_the_noise_of_the_fine_scales_only():
    """fine_noise_amp from fine_noise_from on: the scales below train exactly as before, and the first fine
    scale's sigma_n (amp x the same reconstruction RMSE) is fine_noise_amp / noise_amp times larger."""
    torch.set_num_threads(1)
    options = {**TINY, "max_size": 32, "scale_factor": 0.9}  # four scales: 25, 27, 29, 32 px
    plain, _ = singan.train_singan(singan.reference_image(32), singan.TrainOptions(**options))
    fine, _ = singan.train_singan(singan.reference_image(32), singan.TrainOptions(
        **options, fine_noise_amp=0.5, fine_noise_from=2))
    assert plain.num_scales == 4
    assert torch.equal(plain.noise_amp[:2], fine.noise_amp[:2])
    assert torch.equal(plain.generators[1].tail.weight, fine.generators[1].tail.weight)
    assert float(fine.noise_amp[2] / plain.noise_amp[2]) == pytest.approx(5.0, rel=1e-5)
    assert float(fine.noise_amp[3]) != float(plain.noise_amp[3])
    from train.singan import get_args_parser

    args = get_args_parser().parse_args(["--image", "x", "--name", "x", "--fine-noise-amp", "0.3",
                                         "--fine-noise-from", "7"])
    assert (args.fine_noise_amp, args.fine_noise_from) == (0.3, 7)
    assert get_args_parser().parse_args(["--image", "x", "--name", "x"]).fine_noise_amp is None
    with pytest.raises(ValueError, match="fine_noise_amp"):
        singan.TrainOptions(fine_noise_amp=0).validate()
