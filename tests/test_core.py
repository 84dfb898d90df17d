"""Core library: models, losses, image conversion, save/load, Hub loading, inference modes."""

from __future__ import annotations

import dataclasses
import io
import json
import time

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import ModelLoadError, Pix2PixPipeline, load_model, save_model
from pix2pix_demo.hub import update_config
from pix2pix_demo.imaging import ImageError, fit_and_pad, image_to_tensor, open_image, tensor_to_image, to_rgb, unpad
from pix2pix_demo.losses import GAN_LOSSES, GANLoss, gradient_penalty
from pix2pix_demo.models import PRESETS, PatchGANConfig, PatchGANDiscriminator, UNetConfig, UNetGenerator

TINY = UNetConfig(base_channels=4, num_downsamplings=4, max_channels=16)


def tiny_model(seed: int = 0, **overrides) -> UNetGenerator:
    torch.manual_seed(seed)
    return UNetGenerator(dataclasses.replace(TINY, **overrides)).eval()


# --- models -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_runs_at_its_resolution(name):
    model = UNetGenerator(PRESETS[name]).eval()
    size = PRESETS[name].multiple
    with torch.inference_mode():
        out = model(torch.randn(1, 3, size, size))
    assert out.shape == (1, 3, size, size)
    assert torch.isfinite(out).all() and out.abs().max() <= 1.0


def test_paper_preset_has_the_papers_parameter_count():
    params = sum(p.numel() for p in UNetGenerator(PRESETS["pix2pix-paper"]).parameters())
    assert abs(params - 54.4e6) < 0.1e6
    d_params = sum(p.numel() for p in PatchGANDiscriminator(PatchGANConfig()).parameters())
    assert abs(d_params - 2.77e6) < 0.02e6


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("upsampling", ["transpose", "resize", "bilinear"])
def test_unet_options(norm, separable, upsampling):
    model = tiny_model(norm=norm, separable=separable, upsampling=upsampling, dropout=0.5).train()
    x = torch.randn(2, 3, 32, 48)  # non-square
    out = model(x)
    assert out.shape == (2, 3, 32, 48) and torch.isfinite(out).all()
    out.mean().backward()  # trainable end to end
    assert all(p.grad is not None for p in model.parameters())


def test_resize_upsampling_runs_as_an_exact_transposed_convolution():
    """NearestUpConv computes nearest-×2 + 3×3 conv as one 4×4 stride-2 transposed conv: same
    numbers as the two-layer version (values and gradients), parameters named as before."""
    from pix2pix_demo.models.unet import NearestUpConv

    torch.manual_seed(0)
    layer = NearestUpConv(5, 7, bias=True)
    x = torch.randn(2, 5, 9, 11, requires_grad=True)
    fused = layer(x)
    reference = layer[1](layer[0](x))  # Upsample then Conv2d, the plain definition
    assert fused.shape == reference.shape == (2, 7, 18, 22)
    assert torch.allclose(fused, reference, atol=1e-5)
    grad_fused = torch.autograd.grad(fused.square().sum(), layer[1].weight)[0]
    grad_reference = torch.autograd.grad(reference.square().sum(), layer[1].weight)[0]
    assert torch.allclose(grad_fused, grad_reference, rtol=1e-4, atol=1e-4)
    assert sorted(layer.state_dict()) == ["1.bias", "1.weight"]
    # outside training the 4×4 kernel is cached, and rebuilt when the weights change
    layer.eval()
    with torch.no_grad():
        first = layer(x)
        layer.load_state_dict({"1.weight": torch.randn(7, 5, 3, 3), "1.bias": torch.zeros(7)})
        assert torch.allclose(layer(x), layer[1](layer[0](x)), atol=1e-5) and not torch.allclose(layer(x), first)


def test_unet_128_and_512_inputs():
    model = tiny_model(num_downsamplings=7, max_channels=8)
    with torch.inference_mode():
        for size in (128, 512):
            assert model(torch.randn(1, 3, size, size)).shape[-1] == size


def test_unet_rejects_indivisible_input_with_advice():
    with pytest.raises(ValueError, match="divisible by 16.*fit_and_pad"):
        tiny_model()(torch.randn(1, 3, 30, 32))


def test_dropout_sits_just_above_the_bottleneck_like_the_paper():
    model = UNetGenerator(PRESETS["pix2pix-paper"])
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 3


@pytest.mark.parametrize("n_layers,field", [(0, 1), (1, 16), (3, 70), (5, 286)])
def test_patchgan_receptive_field_is_what_it_claims(n_layers, field):
    """Measure the receptive field: the gradient of one output logit w.r.t. the input."""
    config = PatchGANConfig(in_channels=2, base_channels=2, n_layers=n_layers, norm="none")
    assert config.receptive_field == field
    torch.manual_seed(0)
    model = PatchGANDiscriminator(config)
    for param in model.parameters():  # positive weights: no accidental zero gradients
        param.data = param.data.abs() + 0.01
    size = 320
    x = torch.randn(1, 2, size, size, requires_grad=True)
    out = model(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = torch.nonzero(x.grad.abs().sum(dim=(0, 1, 3)))
    assert rows.max() - rows.min() + 1 == field


def test_spectral_norm_discriminator():
    model = PatchGANDiscriminator(PatchGANConfig(base_channels=4, n_layers=2, norm="none", spectral_norm=True))
    out = model(torch.randn(1, 6, 64, 64))
    assert torch.isfinite(out).all()


# --- losses -----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", GAN_LOSSES)
def test_gan_losses_prefer_a_discriminator_that_tells_real_from_fake(mode):
    gan = GANLoss(mode)
    good = gan.discriminator_loss(torch.full((4, 1), 3.0), torch.full((4, 1), -3.0))
    bad = gan.discriminator_loss(torch.full((4, 1), -3.0), torch.full((4, 1), 3.0))
    assert good < bad
    # the generator's loss falls when D rates its samples as more real
    assert gan.generator_loss(torch.full((4, 1), 3.0)) < gan.generator_loss(torch.full((4, 1), -3.0))


def test_unknown_gan_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="vanilla, lsgan, hinge, wgan-gp"):
        GANLoss("wgan")


def test_gradient_penalty_is_zero_for_unit_gradient_critic_and_positive_otherwise():
    real, fake = torch.randn(4, 3, 8, 8), torch.randn(4, 3, 8, 8)
    direction = torch.randn(3, 8, 8)
    direction /= direction.norm()
    unit = lambda x: (x * direction).flatten(1).sum(1)  # noqa: E731  (‖∇‖ = 1 everywhere)
    steep = lambda x: 3 * (x * direction).flatten(1).sum(1)  # noqa: E731
    assert gradient_penalty(unit, real, fake) < 1e-6
    assert gradient_penalty(steep, real, fake).item() == pytest.approx(10 * 4, rel=1e-4)


# --- images -----------------------------------------------------------------------------------

def test_tensor_round_trip_is_exact():
    array = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    image = Image.fromarray(array)
    tensor = image_to_tensor(image)
    assert tensor.shape == (1, 3, 5, 7) and tensor.min() >= -1 and tensor.max() <= 1
    assert np.array_equal(np.asarray(tensor_to_image(tensor)), array)


@pytest.mark.parametrize("size", [(300, 200), (201, 333), (17, 9), (256, 256), (1000, 40)])
def test_fit_and_pad_keeps_aspect_and_divisibility(size):
    image = Image.new("RGB", size, "red")
    tensor, box = fit_and_pad(image, 256, 32)
    assert tensor.shape[-1] % 32 == 0 and tensor.shape[-2] % 32 == 0
    assert max(box.width, box.height) == 256
    assert abs(box.width / box.height - size[0] / size[1]) < 0.05 * size[0] / size[1] + 0.02
    inner = unpad(tensor, box)
    assert inner.shape[-2:] == (box.height, box.width)
    assert torch.allclose(inner[0, 0], torch.ones_like(inner[0, 0]))  # red channel is 1 inside, pad is white


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P", "CMYK", "I;16", "1", "F"])
def test_to_rgb_handles_every_mode(mode):
    image = Image.new("RGB", (8, 6), (200, 50, 50)).convert(mode)
    rgb = to_rgb(image)
    assert rgb.mode == "RGB" and rgb.size == (8, 6)


def test_transparent_pixels_flatten_to_white():
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    assert to_rgb(image).getpixel((0, 0)) == (255, 255, 255)


def test_open_image_rejects_non_images_truncated_files_and_bombs(tmp_path):
    with pytest.raises(ImageError, match="Could not read"):
        open_image(b"this is not an image")
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(buffer, format="PNG")
    with pytest.raises(ImageError):
        open_image(buffer.getvalue()[:60])
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG")  # a few KB on disk, 400 MP
    with pytest.raises(ImageError, match="megapixels"):
        open_image(bomb.getvalue())


def test_open_image_applies_exif_rotation():
    image = Image.new("RGB", (40, 20), "green")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° on display
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert open_image(buffer.getvalue()).size == (20, 40)


# --- save / load ------------------------------------------------------------------------------

def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = tiny_model(seed=3, norm="batch")
    model.train()
    model(torch.randn(4, 3, 32, 32))  # move the batch-norm running statistics off their defaults
    model.eval()
    save_model(model, tmp_path / "m", {"resolution": 32, "metrics": {"x": 1}})
    loaded = load_model(tmp_path / "m")
    assert loaded.metadata["resolution"] == 32 and loaded.metadata["model_type"] == "pix2pix-unet"
    x = torch.randn(1, 3, 32, 64)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))
    assert not list(tmp_path.glob("m/.*tmp"))  # no temporary files left behind


def test_folder_holds_only_json_and_safetensors(tmp_path):
    save_model(tiny_model(), tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["architecture"]["base_channels"] == 4


def test_update_config_keeps_weights(tmp_path):
    save_model(tiny_model(), tmp_path / "m")
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    update_config(tmp_path / "m", metrics={"val": {"psnr": 20.0}})
    assert load_model(tmp_path / "m").metadata["metrics"]["val"]["psnr"] == 20.0
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before


def test_broken_config_and_truncated_weights_give_clear_errors(tmp_path):
    folder = save_model(tiny_model(), tmp_path / "m")
    weights = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(ModelLoadError, match="safetensors.*truncated"):
        load_model(folder)
    (folder / "model.safetensors").write_bytes(weights)
    config = (folder / "config.json").read_text()
    (folder / "config.json").write_text(config[:40])
    with pytest.raises(ModelLoadError, match="not valid JSON"):
        load_model(folder)
    (folder / "config.json").write_text(config.replace('"base_channels": 4', '"base_channels": 8'))
    with pytest.raises(ModelLoadError, match="does not match"):
        load_model(folder)
    (folder / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json is missing"):
        load_model(folder)


def write_hf_cache(cache, repo_id: str, folder, commit: str = "a" * 40):
    """Lay a model folder out as huggingface_hub's cache does: refs/main + snapshots/<commit>/."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for file in folder.iterdir():
        (snapshot / file.name).write_bytes(file.read_bytes())


def test_load_by_repo_id_from_the_hf_cache_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = tiny_model(seed=5)
    folder = save_model(model, tmp_path / "export", {"resolution": 32})
    write_hf_cache(tmp_path / "cache", "someone/tiny-pix2pix", folder)
    loaded = load_model("someone/tiny-pix2pix", cache_dir=tmp_path / "cache")
    x = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))


def test_missing_model_error_names_both_places_quickly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    start = time.monotonic()
    with pytest.raises(ModelLoadError) as error:
        load_model("nobody/no-such-model", cache_dir=tmp_path / "cache")
    assert time.monotonic() - start < 5
    message = str(error.value)
    assert "no folder" in message and "Hugging Face Hub" in message and "HF_HUB_OFFLINE" in message
    with pytest.raises(ModelLoadError, match="not a Hub repo id"):
        load_model("no_such_folder")


# --- pipeline ---------------------------------------------------------------------------------

@pytest.fixture()
def pipe(tmp_path):
    model = tiny_model(seed=1, norm="batch", dropout=0.5)
    model.train()
    model(torch.randn(4, 3, 32, 32))
    model.eval()
    return Pix2PixPipeline.from_pretrained(save_model(model, tmp_path / "m", {"resolution": 32}))


@pytest.mark.parametrize("size", [(32, 32), (61, 17), (17, 61), (300, 200)])
def test_pipeline_output_keeps_the_input_aspect(pipe, size):
    out = pipe(Image.new("RGBA", size, (0, 0, 0, 0)))
    assert out.mode == "RGB" and max(out.size) == 32
    assert abs(out.width / out.height - size[0] / size[1]) < 0.15 * size[0] / size[1]
    assert pipe(Image.new("L", size), keep_input_size=True).size == size


def test_eval_mode_is_deterministic_and_paper_mode_varies_with_the_seed(pipe):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))
    running_mean = [m.running_mean.clone() for m in pipe.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    a, b = np.asarray(pipe(image)), np.asarray(pipe(image))
    assert np.array_equal(a, b)
    p1, p1_again, p2 = (np.asarray(pipe(image, mode="paper", seed=s)) for s in (1, 1, 2))
    assert np.array_equal(p1, p1_again)
    assert not np.array_equal(p1, p2)
    assert not np.array_equal(p1, a)
    after = [m.running_mean for m in pipe.model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(x, y) for x, y in zip(running_mean, after))  # paper mode leaves the model as it was
    assert not pipe.model.training
    with pytest.raises(ValueError, match="mode"):
        pipe(image, mode="train")


def test_int8_weights_are_a_quarter_of_float32_and_load_back_close(tmp_path):
    from safetensors.torch import load_file

    from pix2pix_demo.hub import INT8_SCALE_SUFFIX

    model = tiny_model(base_channels=16)
    full = save_model(model, tmp_path / "f32")
    small = save_model(model, tmp_path / "int8", dtype=torch.int8)
    assert json.loads((small / "config.json").read_text())["weights_dtype"] == "int8"
    stored = load_file(small / "model.safetensors")
    quantized = [k for k in stored if k + INT8_SCALE_SUFFIX in stored]
    assert quantized and all(stored[k].dtype == torch.int8 for k in quantized)
    assert (small / "model.safetensors").stat().st_size < 0.4 * (full / "model.safetensors").stat().st_size
    loaded = load_model(small)  # strict load: the scales are folded back into float weights
    for name, tensor in model.state_dict().items():
        restored = loaded.state_dict()[name]
        assert restored.dtype == tensor.dtype
        if name in quantized:  # at most half a step (1/254 of the channel's largest weight) off
            step = tensor.reshape(tensor.shape[0], -1).abs().amax(1) / 127
            error = (restored - tensor).reshape(tensor.shape[0], -1).abs().amax(1)
            assert torch.all(error <= step / 2 + 1e-7)
    x = torch.randn(1, 3, 32, 32)
    with torch.inference_mode():
        assert (model(x) - loaded(x)).abs().max() < 0.05


def test_int8_weights_without_their_values_give_a_clear_error(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = save_model(tiny_model(base_channels=16), tmp_path / "m", dtype=torch.int8)
    stored = load_file(folder / "model.safetensors")
    name = next(k for k in stored if k.endswith(".int8_scale")).removesuffix(".int8_scale")
    stored[name] = stored[name].float()  # values not int8: the file was mixed up
    save_file(stored, folder / "model.safetensors")
    with pytest.raises(ModelLoadError, match="int8"):
        load_model(folder)


def test_requantize_rewrites_a_folder_and_reports_the_change(tmp_path):
    from train.publish import requantize

    folder = save_model(tiny_model(base_channels=16), tmp_path / "m", metadata={"resolution": 32, "label": "tiny"})
    (folder / "README.md").write_text("card")
    report = requantize.main([str(folder), "--dtype", "int8", "--out", str(tmp_path / "q")])
    assert report["bytes_after"] < 0.4 * report["bytes_before"]
    assert 0 < report["output_difference"]["max"] < 0.05
    config = json.loads((tmp_path / "q" / "config.json").read_text())
    assert config["label"] == "tiny" and config["weights_dtype"] == "int8" and config["resolution"] == 32
    assert (tmp_path / "q" / "README.md").read_text() == "card"
    # --check compares with the old weights: the untouched folder with --out, a copy when rewriting in place
    drawings = tmp_path / "drawings"
    drawings.mkdir()
    sketch = Image.new("L", (32, 32), 255)
    ImageDraw.Draw(sketch).ellipse([6, 6, 26, 26], outline=0, width=2)
    sketch.save(drawings / "circle.png")
    original = (folder / "model.safetensors").read_bytes()
    report = requantize.main([str(folder), "--dtype", "int8", "--out", str(tmp_path / "q2"), "--check", str(drawings)])
    assert (folder / "model.safetensors").read_bytes() == original and report["drawings_psnr_db"] > 30
    report = requantize.main([str(folder), "--dtype", "int8", "--check", str(drawings)])
    assert json.loads((folder / "config.json").read_text())["weights_dtype"] == "int8"
    assert report["drawings_psnr_db"] > 30
