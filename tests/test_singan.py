"""SinGAN: training smoke run, save/load round trip, every application, bad inputs.

Everything runs on a generated 32-px image with a 2-scale, 8-channel pyramid (seconds on a CPU).
"""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import singan
from pix2pix_demo.hub import load_model, read_config, save_model
from pix2pix_demo.models.singan import SinGAN, SinGANConfig

TINY = dict(max_size=32, min_size=25, channels=8, num_layers=3, iters=40, min_iters=10, device="cpu", crop_size=24)


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    model, stats = singan.train_singan(singan.reference_image(32), singan.TrainOptions(**TINY))
    return model, stats


def arrays_equal(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.slow
def test_training_reduces_loss_and_round_trips(trained, tmp_path):
    model, stats = trained
    assert stats["num_scales"] == 2 and stats["shapes"][-1] == [32, 32]
    first = stats["scales"][0]
    assert first["iterations"] == 40
    assert first["rec_loss_end"] < first["rec_loss_start"]  # the reconstruction loss moves down
    assert 0 < float(model.noise_amp[1]) < 1
    folder = save_model(model, tmp_path / "singan-tiny", {"label": "tiny"})
    config = read_config(folder)
    assert config["model_type"] == "singan" and config["architecture"]["shapes"] == [[25, 25], [32, 32]]
    loaded = load_model(folder)
    assert isinstance(loaded, SinGAN)
    for key, value in model.state_dict().items():  # every scale, noise amplitudes, fixed noise
        assert torch.equal(value.cpu(), loaded.state_dict()[key]), key
    assert "reconstruction_noise" in loaded.state_dict() and "generators.1.tail.weight" in loaded.state_dict()
    assert arrays_equal(singan.sample(model, seed=5), singan.sample(loaded, seed=5))
    assert not arrays_equal(singan.sample(loaded, seed=5), singan.sample(loaded, seed=6))


@pytest.mark.slow
def test_cancel_then_resume(tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    cancel = threading.Event()
    seen = []

    def progress(scale, iteration, fraction, preview):
        seen.append((scale, fraction))
        if preview is not None:  # end of scale 0
            cancel.set()

    options = singan.TrainOptions(**{**TINY, "iters": 12, "min_iters": 12})
    with pytest.raises(singan.TrainingCancelled):
        singan.train_singan(singan.reference_image(32), options, progress=progress, cancel=cancel,
                            checkpoint=checkpoint)
    assert checkpoint.is_file() and seen[-1][0] == 0
    model, stats = singan.train_singan(singan.reference_image(32), options, checkpoint=checkpoint, resume=True)
    assert [s["scale"] for s in stats["scales"]] == [0, 1]  # scale 0 kept from the first run, scale 1 new
    assert singan.sample(model, seed=0).size == (32, 32)


def test_model_config_validation():
    with pytest.raises(ValueError, match="channels"):
        SinGANConfig(shapes=[[25, 25], [30, 30]], channels=[8])


def test_padding_mode_is_part_of_the_model_and_old_configs_mean_zeros(tmp_path):
    with pytest.raises(ValueError, match="padding_mode"):
        SinGANConfig(padding_mode="circular-ish")
    with pytest.raises(ValueError, match="padding"):
        singan.TrainOptions(**{**TINY, "padding": "mirror"}).validate()
    torch.manual_seed(0)
    zeros, reflect = SinGAN(SinGANConfig()), SinGAN(SinGANConfig(padding_mode="reflect"))
    reflect.load_state_dict(zeros.state_dict())  # same parameters: only the border computation differs
    x = torch.randn(1, 3, 25, 25)
    a, b = zeros.generators[0](x), reflect.generators[0](x)
    assert torch.allclose(a[..., 6:-6, 6:-6], b[..., 6:-6, 6:-6], atol=1e-6)  # interior beyond the receptive field
    assert not torch.allclose(a[..., 0, :], b[..., 0, :])  # the border row is where padding shows
    folder = save_model(reflect, tmp_path / "reflect")
    assert load_model(folder).generators[0].tail.padding_mode == "reflect"
    config = read_config(folder)
    del config["architecture"]["padding_mode"]  # a model saved before the option existed
    (folder / "config.json").write_text(__import__("json").dumps(config))
    assert load_model(folder).generators[0].tail.padding_mode == "zeros"


def critic_paddings(options) -> tuple[singan.SinGAN, list[str]]:
    """Train a tiny SinGAN with `options`; return it and the padding of every critic it built, in order."""
    seen = []
    original = singan.ScaleDiscriminator.__init__

    def spy(self, *args, **kwargs):
        original(self, *args, **kwargs)
        seen.append(self.tail.padding_mode)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(singan.ScaleDiscriminator, "__init__", spy)
        model, _ = singan.train_singan(singan.reference_image(32), options)
    return model, seen


def test_training_uses_the_chosen_padding_in_generator_and_critic():
    model, seen = critic_paddings(singan.TrainOptions(**{**TINY, "iters": 3, "min_iters": 3, "padding": "replicate"}))
    assert model.config.padding_mode == "replicate" and seen and set(seen) == {"replicate"}


def test_mixed_padding_zeros_at_coarse_scales_reflect_at_fine_ones_round_trips(tmp_path):
    with pytest.raises(ValueError, match="fine_padding_mode"):
        SinGANConfig(fine_padding_mode="mirror")
    with pytest.raises(ValueError, match="fine_padding"):
        singan.TrainOptions(**{**TINY, "fine_padding": "mirror"}).validate()
    shapes = [[12, 12], [16, 16], [21, 21]]
    torch.manual_seed(0)
    mixed = SinGAN(SinGANConfig(shapes=shapes, channels=[8] * 3, fine_padding_mode="reflect", fine_padding_from=1))
    zeros = SinGAN(SinGANConfig(shapes=shapes, channels=[8] * 3))
    reflect = SinGAN(SinGANConfig(shapes=shapes, channels=[8] * 3, padding_mode="reflect"))
    zeros.load_state_dict(mixed.state_dict())
    reflect.load_state_dict(mixed.state_dict())
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():  # what each scale computes, border included, not just an attribute
        assert torch.equal(mixed.generators[0](x), zeros.generators[0](x))
        assert not torch.allclose(mixed.generators[0](x), reflect.generators[0](x))
        for n in (1, 2):
            assert torch.equal(mixed.generators[n](x), reflect.generators[n](x))
            assert not torch.allclose(mixed.generators[n](x), zeros.generators[n](x))
    folder = save_model(mixed, tmp_path / "mixed")
    loaded = load_model(folder)
    assert [loaded.config.padding_at(n) for n in range(3)] == ["zeros", "reflect", "reflect"]
    assert {m.padding_mode for m in loaded.generators[0].modules() if isinstance(m, torch.nn.Conv2d)} == {"zeros"}
    assert {m.padding_mode for m in loaded.generators[2].modules() if isinstance(m, torch.nn.Conv2d)} == {"reflect"}
    assert arrays_equal(singan.sample(mixed, seed=3), singan.sample(loaded, seed=3))
    config = read_config(folder)
    for key in ("fine_padding_mode", "fine_padding_from"):  # a model saved before session 8
        del config["architecture"][key]
    (folder / "config.json").write_text(__import__("json").dumps(config))
    assert [load_model(folder).config.padding_at(n) for n in range(3)] == ["zeros"] * 3


def test_training_with_fine_padding_gives_each_scale_its_padding_in_generator_and_critic():
    model, seen = critic_paddings(singan.TrainOptions(**{**TINY, "iters": 3, "min_iters": 3, "fine_padding": "reflect",
                                                         "fine_padding_from": 1}))
    assert seen == ["zeros", "reflect"]  # one critic per scale, each with its scale's padding
    assert [model.generators[n].tail.padding_mode for n in range(2)] == ["zeros", "reflect"]
    with torch.no_grad():
        assert torch.isfinite(singan.random_sample_tensor(model, 1, torch.Generator().manual_seed(1))).all()
        assert torch.isfinite(model.reconstruct()).all()


def test_default_padding_is_zeros_up_to_the_layout_and_reflect_above():
    torch.set_num_threads(1)
    options = singan.TrainOptions(max_size=64, min_size=8, channels=4, num_layers=3, iters=1, min_iters=1,
                                  device="cpu", crop_size=0)
    model, stats = singan.train_singan(singan.reference_image(64), options)
    assert stats["num_scales"] >= 7
    first = options.layout_scale + 1  # the warp layout (the default): the scales above it need not see the border
    expected = ["zeros"] * first + ["reflect"] * (stats["num_scales"] - first)
    assert [model.config.padding_at(n) for n in range(model.num_scales)] == expected
    assert [g.body[0][0].padding_mode for g in model.generators] == expected
    plain = singan.TrainOptions(time_budget=3, plan="model", fine_padding=None)  # zeros everywhere
    mixed = singan.TrainOptions(time_budget=3, plan="model")
    shapes, _ = singan.pyramid_shapes(250, 168, plain)
    assert singan.iteration_cost_ms(shapes, 1, mixed) == singan.iteration_cost_ms(shapes, 1, plain)
    assert singan.iteration_cost_ms(shapes, 8, mixed) > 1.1 * singan.iteration_cost_ms(shapes, 8, plain)
    assert singan.iteration_plan(shapes, mixed)[-1] < singan.iteration_plan(shapes, plain)[-1]  # same budget


def test_pyramid_any_aspect():
    shapes, factor = singan.pyramid_shapes(500, 120, singan.TrainOptions(max_size=250, min_size=25))
    assert shapes[-1] == [60, 250] and shapes[0][0] == 25 and 0.75 <= factor < 0.85  # steps rounded up: never coarser than asked
    shapes, _ = singan.pyramid_shapes(500, 313, singan.TrainOptions(max_size=500))  # default: a 12-px coarsest scale
    assert shapes[0] == [12, 19] and shapes[-1] == [313, 500] and len(shapes) == 13
    with pytest.raises(ValueError, match="at least 25 px"):  # a small coarsest scale is no licence for tiny images
        singan.pyramid_shapes(40, 20, singan.TrainOptions(max_size=250))
    assert singan.pyramid_shapes(80, 120, singan.TrainOptions(max_size=250))[0][-1] == [120, 80]  # never up-scaled


def test_applications_sizes_and_modes(trained):
    model, _ = trained
    image = singan.reference_image(32).resize((48, 40))
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (10, 10, 24, 22))
    out = singan.sample(model, seed=1, width_factor=2.0)
    assert out.size == (64, 32) and out.mode == "RGB"
    assert singan.sample(model, seed=1, size=(50, 30), start_scale=1).size == (50, 30)
    assert arrays_equal(singan.sample(model, seed=3), singan.sample(model, seed=3))  # deterministic
    for fn, radius_input in ((singan.edit, mask), (singan.harmonize, mask.convert("RGB"))):
        result = fn(model, image, radius_input, injection_scale=1, seed=2)
        assert result.size == image.size and result.mode == "RGB"
        # outside the (dilated, blurred) mask the picture is untouched
        assert np.array_equal(np.asarray(result)[:, -4:], np.asarray(image)[:, -4:])
        assert arrays_equal(result, fn(model, image, radius_input, injection_scale=1, seed=2))
    painted = singan.paint(model, image, injection_scale=0, seed=0, quantize=True)
    assert painted.size == image.size and painted.mode == "RGB"
    assert singan.super_resolve(model, image, factor=2).size == (96, 80)
    assert singan.super_resolve(model, image, factor=4).size == (192, 160)
    gif = singan.animate(model, num_frames=4, alpha=0.2, beta=0.8)
    frames = Image.open(io.BytesIO(gif))
    assert frames.format == "GIF" and frames.n_frames == 4 and frames.size == (32, 32)


def test_rgba_painted_layer_mask(trained):
    model, _ = trained
    image = singan.reference_image(32)
    layer = Image.new("RGBA", image.size, (255, 0, 0, 0))
    layer.paste((255, 0, 0, 255), (4, 4, 12, 12))
    assert singan.edit(model, image, layer, injection_scale=1).size == image.size


@pytest.mark.parametrize("mask, message", [
    (Image.new("L", (20, 20), 255), "same size"),
    (Image.fromarray(np.tile(np.linspace(0, 255, 32, dtype=np.uint8), (32, 1))), "black and white"),
    (Image.new("L", (32, 32), 0), "empty"),
    (None, "provide a mask"),
])
def test_bad_masks(trained, mask, message):
    model, _ = trained
    with pytest.raises(ValueError, match=message):
        singan.edit(model, singan.reference_image(32), mask)


def test_bad_inputs(trained, tmp_path):
    model, _ = trained
    image = singan.reference_image(32)
    with pytest.raises(ValueError, match="too small"):
        singan.train_singan(Image.new("RGB", (20, 20)), singan.TrainOptions(**TINY))
    with pytest.raises(ValueError, match="too small or too narrow"):
        singan.pyramid_shapes(2000, 30, singan.TrainOptions())
    with pytest.raises(ValueError, match="max_size"):
        singan.TrainOptions(max_size=5000).validate()
    with pytest.raises(ValueError, match="scale_factor"):
        singan.TrainOptions(scale_factor=0.1).validate()
    with pytest.raises(ValueError, match="fine_weight"):
        singan.TrainOptions(fine_weight=0).validate()
    with pytest.raises(ValueError, match="fine_lr_mult"):
        singan.TrainOptions(fine_lr_mult=50).validate()
    with pytest.raises(ValueError, match="width_factor"):
        singan.sample(model, width_factor=100)
    with pytest.raises(ValueError, match="megapixels"):
        singan.sample(model, size=(5000, 5000))
    with pytest.raises(ValueError, match="start_scale"):
        singan.sample(model, start_scale=7)
    with pytest.raises(ValueError, match="injection_scale"):
        singan.harmonize(model, image, Image.new("L", (32, 32), 255), injection_scale=-3)
    with pytest.raises(ValueError, match="factor"):
        singan.super_resolve(model, image, factor=3)
    with pytest.raises(ValueError, match="num_frames"):
        singan.animate(model, num_frames=100000)
    with pytest.raises(ValueError, match="alpha"):
        singan.animate(model, num_frames=3, alpha=2)
    with pytest.raises(ValueError, match="provide a painting"):
        singan.paint(model, None)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="Could not read"):
        singan.paint(model, tmp_path / "bad.png")


@pytest.mark.parametrize("application", ["edit", "harmonize", "paint"])
def test_large_inputs_are_shrunk_before_any_work(trained, monkeypatch, application):
    """Time and memory are bounded by input size: a 4000×2680 upload is shrunk to MAX_INPUT_SIDE before
    the mask is dilated, the palette is applied or the model runs (the result has the shrunk size)."""
    model, _ = trained
    seen = []
    for name in ("prepare_mask", "quantize_to_palette", "_inject"):
        original = getattr(singan.applications, name)

        def record(*args, _original=original, _name=name, **kwargs):
            image = args[0] if _name == "quantize_to_palette" else args[1]
            seen.append((_name, tuple(image) if _name == "prepare_mask" else image.size))
            return _original(*args, **kwargs)

        monkeypatch.setattr(singan.applications, name, record)  # where edit / harmonize / paint look them up
    big = Image.new("RGB", (4000, 2680), (120, 80, 40))
    big.paste((30, 160, 200), (400, 400, 1600, 1400))
    mask = Image.new("L", big.size, 0)
    mask.paste(255, (400, 400, 1600, 1400))
    if application == "paint":
        result = singan.paint(model, big, injection_scale=1, quantize=True)
    else:
        result = getattr(singan, application)(model, big, mask, injection_scale=1)
    assert result.size == (singan.MAX_INPUT_SIDE, 686)
    assert seen and all(max(size) <= singan.MAX_INPUT_SIDE for _, size in seen), seen
    if application != "paint":  # the mask was shrunk with the image: it still marks the same region
        assert ("prepare_mask", (singan.MAX_INPUT_SIDE, 686)) in seen


def test_super_resolution_and_animation_are_bounded(trained):
    model, _ = trained
    result = singan.super_resolve(model, Image.new("RGB", (1200, 1000), (90, 90, 90)), factor=4)
    assert max(result.size) == singan.MAX_SUPER_RESOLVE_SIDE and result.size == (1024, 852)
    assert singan.super_resolve(model, Image.new("RGB", (40, 30)), factor=2).size == (80, 60)  # small: untouched
    with pytest.raises(ValueError, match=f"between 2 and {singan.MAX_FRAMES}"):
        singan.animate(model, num_frames=singan.MAX_FRAMES + 1)
    assert singan.MAX_FRAMES <= 40


def test_mask_dilation_marks_a_disk_of_the_scaled_radius():
    """prepare_mask dilates by a disk (radius scaled with the image), in time linear in the pixels."""
    mask = Image.new("L", (500, 500), 0)
    mask.putpixel((250, 250), 255)
    soft = singan.prepare_mask(mask, (500, 500), radius=20, blur=0.01)  # 40 px at 500 px
    assert soft[250, 250 + 37] > 0.99 and soft[250, 250 + 43] < 0.01
    assert soft[250 + 26, 250 + 26] > 0.99 and soft[250 + 31, 250 + 31] < 0.01  # round, not square


def test_sixteen_bit_inputs_are_not_white(trained):
    """16-bit greyscale uploads (mode I;16) are rescaled, not clipped to white, in every application."""
    model, _ = trained
    ramp = (np.tile(np.linspace(0, 65535, 48), (32, 1))).astype(np.uint16)
    image = Image.fromarray(ramp)
    assert image.mode == "I;16"
    mask = Image.fromarray(np.where(np.arange(48)[None, :].repeat(32, 0) > 24, 65535, 0).astype(np.uint16))
    for result in (singan.edit(model, image, mask, injection_scale=1), singan.harmonize(model, image, mask, 1),
                   singan.paint(model, image, 1), singan.super_resolve(model, image, 2)):
        gray = np.asarray(result.convert("L"), dtype=np.float32)
        assert gray.mean() < 230 and gray.std() > 5, (gray.mean(), gray.std())


def test_swd_ranks_samples_by_patch_statistics():
    """train.eval.singan's metric: the image itself scores lower than a shuffled-pixel version,
    which scores lower than flat noise."""
    from train.eval.singan import swd

    image = singan.image_to_tensor(singan.reference_image(64))
    shuffled = image.flatten(2)[..., torch.randperm(64 * 64, generator=torch.Generator().manual_seed(0))].view_as(image)
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    same, mixed, random = (float(np.mean(swd(image, [x], levels=2))) for x in (image, shuffled, noise))
    assert same < mixed < random


def test_high_frequency_ratio_and_diversity():
    """The sharpness ratio is 1 for the image itself, well under 1 for a blurred copy and over 1 with
    added noise; diversity is 0 for identical samples and grows when they differ."""
    import torch.nn.functional as F

    from train.eval.singan import diversity, high_frequency_ratio

    image = singan.image_to_tensor(singan.reference_image(64))
    blurred = F.interpolate(F.avg_pool2d(image, 4), size=(64, 64), mode="bilinear", align_corners=False)
    noisy = image + 0.1 * torch.randn(image.shape, generator=torch.Generator().manual_seed(0))
    assert high_frequency_ratio(image, [image]) == pytest.approx(1.0)
    assert high_frequency_ratio(image, [blurred]) < 0.5 < 1.5 < high_frequency_ratio(image, [noisy])
    assert diversity(image, [image, image]) == 0.0
    flipped = image.flip(-1)
    assert diversity(image, [image, flipped]) > diversity(image, [image, noisy]) > 0


def test_border_step_finds_a_frame_line_and_ignores_texture():
    """train.eval.singan's frame measure: ~0 for a textured image, clearly up with a dark 1-px frame line
    (what zero padding draws), and up on one edge only is still seen."""
    from train.eval.singan import border_step

    image = singan.image_to_tensor(singan.reference_image(64))
    noise = torch.rand(image.shape, generator=torch.Generator().manual_seed(0)) * 2 - 1  # texture, no frame
    framed = image.clone()
    framed[..., 0, :] = framed[..., -1, :] = framed[..., :, 0] = framed[..., :, -1] = -1
    left_only = image.clone()
    left_only[..., :, 0] -= 0.4
    assert border_step(noise) < 2 and border_step(image) < 5
    assert border_step(framed) > 15 > border_step(left_only) > border_step(image) + 2


def test_singan_eval_cli_writes_grid_and_metrics(trained, tmp_path):
    from train.eval import singan as singan_eval

    model, _ = trained
    save_model(model.cpu(), tmp_path / "m", {"label": "tiny"})
    singan.reference_image(32).save(tmp_path / "ref.png")
    args = singan_eval.get_args_parser().parse_args(
        [str(tmp_path / "m"), str(tmp_path / "m"), "--image", str(tmp_path / "ref.png"), "--samples", "2",
         "--grid", str(tmp_path / "grid.png"), "--grid-columns", "3", "--gpnn"])
    results = singan_eval.main(args)
    gpnn_row = results.pop()  # --gpnn: a row of GPNN samples of the image at the model's size
    assert gpnn_row["size"] == "32x32" and gpnn_row["rec_psnr"] is None and gpnn_row["diversity"] > 0
    assert [r["rec_psnr"] for r in results][0] == results[1]["rec_psnr"] > 10
    assert len(results[0]["swd_x1000"]) == 3
    assert results[0]["hf_ratio"] > 0 and results[0]["diversity"] > 0  # two seeds, two different samples
    assert results[0]["border_step"] >= 0 and results[0]["border_step_photo"] >= 0
    per_scale = results[0]["hf_ratio_per_scale"]
    assert len(per_scale["samples"]) == len(per_scale["reconstruction"]) == model.num_scales
    assert min(per_scale["samples"]) > 0 and min(per_scale["reconstruction"]) > 0
    grid = Image.open(tmp_path / "grid.png")
    assert grid.height > 3 * 120 and grid.width >= 3 * 120  # two models + the GPNN row
    args.grid_height, args.gpnn = 0, False  # rows at the models' own 32 px: samples unscaled
    singan_eval.main(args)
    grid = Image.open(tmp_path / "grid.png")
    assert grid.height == 2 * (32 + 18 + 3) and grid.width == 3 * (32 + 3)


def test_previews_come_mid_scale_and_leave_training_unchanged():
    """preview_every=0: a sample at every progress call (every 10 iterations), not only at the end of
    each scale; previews draw no numbers from the training's random stream, so the model is the same."""
    torch.set_num_threads(1)
    options = singan.TrainOptions(**{**TINY, "iters": 30, "min_iters": 30})
    seen = []

    def progress(scale, iteration, fraction, preview):
        seen.append((scale, iteration, preview))

    watched, _ = singan.train_singan(singan.reference_image(32), options, progress=progress, preview_every=0)
    plain, _ = singan.train_singan(singan.reference_image(32), options)
    mid_scale = [(s, i) for s, i, p in seen if p is not None and i < 30]
    assert (0, 10) in mid_scale and (1, 20) in mid_scale, mid_scale
    assert all(p.size == (32, 32) for s, _, p in seen if p is not None and s == 1)
    for key, value in plain.state_dict().items():
        assert torch.equal(value, watched.state_dict()[key]), key


def test_time_budget_is_an_upper_bound_on_training_time():
    """The last scale stops when the budget is spent, even when the machine slows down after the
    scale planned its iterations (earlier scales may overrun their share; the total may not)."""
    import time

    torch.set_num_threads(1)
    options = singan.TrainOptions(**{**TINY, "iters": 100_000, "min_iters": 1, "time_budget": 10 / 60,
                                     "budget_clock": "cpu",  # this process's CPU time: robust to a busy machine
                                     "plan": "measured"})  # the plan that times the machine (auto = model on a CPU)

    def slow_last_scale(scale, iteration, fraction, preview):  # iterations get slower once planned
        if scale == 1 and iteration > 20:
            end = time.process_time() + 0.1
            while time.process_time() < end:
                pass

    _, stats = singan.train_singan(singan.reference_image(32), options, progress=slow_last_scale)
    iterations = [scale["iterations"] for scale in stats["scales"]]
    assert all(count > 20 for count in iterations), iterations  # the budget, not a cap, ended each scale
    assert 8.0 <= stats["budget_seconds"] <= 10.6, stats["budget_seconds"]


def test_the_model_keeps_its_photo_and_finishes_samples_from_its_patches(trained, tmp_path):
    model, _ = trained
    kept = singan.photo(model)
    assert model.config.keeps_photo and kept.size == (32, 32)
    expected = singan.reference_image(32)  # the training photo at the finest scale's size
    assert np.abs(np.asarray(kept, np.float32) - np.asarray(expected, np.float32)).mean() < 2
    folder = save_model(model, tmp_path / "singan-photo", {"label": "tiny"})
    loaded = load_model(folder)
    assert arrays_equal(singan.photo(loaded), kept)  # the photo round-trips in the safetensors
    plain, finished = singan.sample(loaded, seed=3), singan.sample(loaded, seed=3, finish=True)
    assert finished.size == plain.size and not arrays_equal(plain, finished)
    assert arrays_equal(finished, singan.sample(loaded, seed=3, finish=True))  # deterministic
    assert singan.sample(loaded, seed=3, width_factor=2, finish=True).size == (64, 32)


def test_a_model_without_its_photo_says_so(tmp_path):
    model, _ = singan.train_singan(singan.reference_image(32),
                                   singan.TrainOptions(**{**TINY, "iters": 2, "min_iters": 2, "keep_photo": False}))
    assert singan.photo(model) is None and "photo" not in model.state_dict()
    assert singan.sample(model, seed=1).size == (32, 32)
    with pytest.raises(ValueError, match="without its training photo"):
        singan.sample(model, seed=1, finish=True)
    image = singan.reference_image(32)
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (8, 8, 20, 20))
    assert singan.paint(model, image, injection_scale=1).size == (32, 32)
    assert singan.edit(model, image, mask, injection_scale=1).size == (32, 32)
    with pytest.raises(ValueError, match="without its training photo"):
        singan.paint(model, image, injection_scale=1, finish=True)
    with pytest.raises(ValueError, match="without its training photo"):
        singan.edit(model, image, mask, injection_scale=1, finish=True)


def test_paint_and_edit_finished_from_the_photo(trained):
    """paint / edit with finish=True: the picture SinGAN makes (at the model's scale) is finished from the
    photo; for paint that is the result, for edit it is blended in inside the mask only. Same size as
    without, not the plain result, deterministic; finish=False is the plain result."""
    model, _ = trained
    painting = singan.reference_image(32).resize((32, 24))  # at the model's scale: no resize after
    plain = singan.paint(model, painting, injection_scale=1, seed=2)
    finished = singan.paint(model, painting, injection_scale=1, seed=2, finish=True)
    assert finished.size == plain.size == (32, 24) and finished.mode == "RGB"
    assert np.abs(np.asarray(finished, np.float32) - np.asarray(plain, np.float32)).mean() > 1
    assert arrays_equal(finished, singan.finish_from_photo(model, plain))  # the plain result, finished
    assert arrays_equal(finished, singan.paint(model, painting, injection_scale=1, seed=2, finish=True))
    assert arrays_equal(plain, singan.paint(model, painting, injection_scale=1, seed=2, finish=False))
    larger = singan.paint(model, singan.reference_image(32).resize((64, 48)), injection_scale=1, finish=True)
    assert larger.size == (64, 48)  # finished at the model's scale, then resized to the painting's size

    image = singan.reference_image(32).resize((48, 40))
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (10, 10, 24, 22))
    plain = singan.edit(model, image, mask, injection_scale=1, seed=2)
    finished = singan.edit(model, image, mask, injection_scale=1, seed=2, finish=True)
    assert finished.size == plain.size == image.size and finished.mode == "RGB"
    inside = np.asarray(mask) > 0
    difference = np.abs(np.asarray(finished, np.float32) - np.asarray(plain, np.float32)).mean(-1)
    assert difference[inside].mean() > 1  # the edited region is finished
    # outside the (dilated, blurred) mask the picture is untouched, finished or not
    assert np.array_equal(np.asarray(finished)[:, -4:], np.asarray(image)[:, -4:])
    assert arrays_equal(finished, singan.edit(model, image, mask, injection_scale=1, seed=2, finish=True))
    assert arrays_equal(plain, singan.edit(model, image, mask, injection_scale=1, seed=2, finish=False))


def test_how_new_a_sample_is_follows_its_start_scale(trained):
    """Random samples' "How new": a sample started from the coarsest scale (0, the default) draws a new layout,
    one started from a finer scale keeps the reconstruction's layout below it, so it is closer to the
    reconstruction (mean over seeds); start_scale 0 is what sample() gives by default."""
    model, _ = trained
    reconstruction = np.asarray(singan.tensor_to_image(model.reconstruct()), np.float32)

    def distance(start: int) -> float:
        return float(np.mean([np.mean((np.asarray(singan.sample(model, seed=s, start_scale=start), np.float32)
                                       - reconstruction) ** 2) for s in range(1, 7)]))

    assert model.num_scales >= 2
    assert arrays_equal(singan.sample(model, seed=2), singan.sample(model, seed=2, start_scale=0))
    assert distance(model.num_scales - 1) < 0.5 * distance(0)


def test_coarse_critic_layers_give_the_coarse_scales_a_smaller_critic(monkeypatch):
    """coarse_critic_layers: the scales whose short side is under coarse_critic_side train against a critic of
    that many layers (a patch critic smaller than the picture), the others against num_layers; each critic
    starts from the one below (its extra layers fresh when it is deeper); bad values are refused."""
    torch.set_num_threads(1)
    built = []
    original = singan.ScaleDiscriminator

    class Recording(original):
        def __init__(self, channels, num_layers, *args, **kwargs):
            super().__init__(channels, num_layers, *args, **kwargs)
            built.append(num_layers)

    monkeypatch.setattr(singan.training, "ScaleDiscriminator", Recording)
    options = singan.TrainOptions(max_size=48, min_size=12, channels=8, num_layers=5, iters=3, min_iters=3,
                                  device="cpu", crop_size=0, coarse_critic_layers=3, coarse_critic_side=25)
    model, stats = singan.train_singan(singan.reference_image(48), options)
    expected = [3 if min(shape) < 25 else 5 for shape in stats["shapes"]]
    assert built == expected and 3 in expected and 5 in expected
    # the default (issue 30): a 3-layer (7-px) critic below 25 px, the generator's 5 layers above
    assert singan.critic_layers(singan.TrainOptions(), (12, 18)) == 3
    assert singan.critic_layers(singan.TrainOptions(), (25, 37)) == 5
    assert singan.critic_layers(singan.TrainOptions(coarse_critic_layers=None), (12, 18)) == 5  # off: as before
    for bad in (dict(coarse_critic_layers=2), dict(coarse_critic_layers=6), dict(coarse_critic_side=4)):
        with pytest.raises(ValueError, match="coarse_critic"):
            singan.TrainOptions(**bad).validate()


def test_coarse_critic_rows_let_the_coarse_critic_see_each_pixels_row(monkeypatch):
    """coarse_critic_rows: the critic of the scales under coarse_critic_side gets each pixel's row as one more
    input (so the same patch scores differently at the top and at the bottom of the picture), the others do
    not; each critic starts from the one below, the image channels of its first conv copied."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    critic = singan.ScaleDiscriminator(8, 3, rows=True)
    flat = torch.zeros(1, 3, 15, 9)  # one colour everywhere: only the row (and the border) can tell pixels apart
    scores = critic(flat).detach()[0, 0, :, 4]
    assert float((scores[3:-3] - scores[3:-3].mean()).abs().max()) > 1e-4  # the interior rows differ
    plain = singan.ScaleDiscriminator(8, 3)
    assert float(plain(flat).detach()[0, 0, 3:-3, 4].std()) < 1e-6  # without the row: the interior is one patch
    built = []
    original = singan.ScaleDiscriminator

    class Recording(original):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    monkeypatch.setattr(singan.training, "ScaleDiscriminator", Recording)
    options = singan.TrainOptions(max_size=48, min_size=12, channels=8, num_layers=5, iters=3, min_iters=3,
                                  device="cpu", crop_size=0, coarse_critic_rows=True)
    model, stats = singan.train_singan(singan.reference_image(48), options)
    rows = [min(shape) < 25 for shape in stats["shapes"]]
    assert [d.rows for d in built] == rows and True in rows and False in rows
    assert [d.body[0][0].in_channels for d in built] == [4 if r else 3 for r in rows]
    assert singan.critic_rows(singan.TrainOptions(coarse_critic_rows=True), (12, 18))
    assert not singan.critic_rows(singan.TrainOptions(coarse_critic_rows=True), (25, 37))
    # the first critic without the row channel starts from the last one with it (image channels copied)
    above = rows.index(False)
    before = built[above - 1].state_dict()["body.0.0.weight"]
    fresh = singan.ScaleDiscriminator(8, 5)
    singan._load_critic(fresh, built[above - 1].state_dict())
    assert torch.equal(fresh.state_dict()["body.0.0.weight"], before[:, :3])


def test_train_singan_cli_records_the_critic_per_scale(tmp_path):
    """python -m train.singan (tiny run): the exported config says which critic each scale trained against
    (the 3-layer critic below 25 px by default; --coarse-critic-layers 0: the generator's layers everywhere)."""
    import json

    from train.singan import get_args_parser, main

    torch.set_num_threads(1)
    image = tmp_path / "photo.png"
    singan.reference_image(40).save(image)
    common = ["--image", str(image), "--max-size", "40", "--min-size", "12", "--channels", "4", "--iters", "2",
              "--min-iters", "1", "--device", "cpu", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r")]
    folder = main(get_args_parser().parse_args(common + ["--name", "new"]))
    training = json.loads((folder / "config.json").read_text())["training"]
    shapes = read_config(folder)["architecture"]["shapes"]
    assert training["critic_layers"] == [3 if min(s) < 25 else 5 for s in shapes] and 3 in training["critic_layers"]
    assert training["critic_rows"] == [False] * len(shapes)
    folder = main(get_args_parser().parse_args(common + ["--name", "old", "--coarse-critic-layers", "0",
                                                         "--coarse-critic-rows"]))
    training = json.loads((folder / "config.json").read_text())["training"]
    assert training["critic_layers"] == [5] * len(shapes)
    assert training["critic_rows"] == [min(s) < 25 for s in shapes] and True in training["critic_rows"]
