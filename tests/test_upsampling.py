"""The U-Net's "bilinear" up-sampling (bilinear ×2 + 3×3 conv): the same parameters as "resize" (nearest ×2
+ 3×3 conv), so a model can switch and be fine-tuned; tiny configs and generated fixtures only."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch.nn import functional as F

from pix2pix_demo import load_model, save_model
from pix2pix_demo.models import UNetConfig, UNetGenerator
from pix2pix_demo.models.unet import NearestUpConv, up_conv
from test_train import TINY_ARGS, make_pairs, run_cli

TINY = dict(base_channels=8, num_downsamplings=5, max_channels=32)


def test_bilinear_layer_is_bilinear_resize_then_conv_with_resizes_parameter_names():
    torch.manual_seed(0)
    layer = up_conv(5, 7, True, False, "bilinear")
    nearest = up_conv(5, 7, True, False, "resize")
    assert isinstance(nearest, NearestUpConv) and not isinstance(layer, NearestUpConv)
    assert sorted(layer.state_dict()) == sorted(nearest.state_dict()) == ["1.bias", "1.weight"]
    nearest.load_state_dict(layer.state_dict())
    x = torch.randn(2, 5, 9, 11)
    with torch.no_grad():
        out = layer(x)
        expected = F.conv2d(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False),
                            layer[1].weight, layer[1].bias, padding=1)
        assert out.shape == (2, 7, 18, 22)
        assert torch.allclose(out, expected, atol=1e-5)
        assert not torch.allclose(out, nearest(x), atol=1e-2)  # the same weights, a different up-sampling
        # a constant stays constant away from the border (no 2-px blocks), a ramp stays a ramp
        ramp = torch.arange(8.0).repeat(8, 1)[None, None]
        up = F.interpolate(ramp, scale_factor=2, mode="bilinear", align_corners=False)
        steps = up[0, 0, 4, 2:-2].diff()
        assert torch.allclose(steps, torch.full_like(steps, 0.5))
    separable = up_conv(6, 7, True, True, "bilinear")
    assert sorted(separable.state_dict()) == sorted(up_conv(6, 7, True, True, "resize").state_dict())


@pytest.mark.parametrize("separable", [False, True])
def test_bilinear_unet_shapes_gradients_and_differs_from_nearest(separable):
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(**TINY, separable=separable, upsampling="bilinear"))
    x = torch.randn(2, 3, 32, 64)  # non-square
    out = model.train()(x)
    assert out.shape == (2, 3, 32, 64) and torch.isfinite(out).all()
    out.mean().backward()
    assert all(p.grad is not None for p in model.parameters())
    nearest = UNetGenerator(UNetConfig(**TINY, separable=separable, upsampling="resize"))
    nearest.load_state_dict(model.state_dict())  # strict: every name and shape the same
    with torch.no_grad():
        a, b = model.eval()(x), nearest.eval()(x)
    assert (a - b).abs().mean() > 1e-3


def test_bilinear_config_round_trips_and_unknown_upsampling_is_refused(tmp_path):
    with pytest.raises(ValueError, match="upsampling must be"):
        UNetConfig(**TINY, upsampling="bicubic")
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(**TINY, upsampling="bilinear")).eval()
    save_model(model, tmp_path / "m", {"resolution": 32})
    assert json.loads((tmp_path / "m" / "config.json").read_text())["architecture"]["upsampling"] == "bilinear"
    loaded = load_model(tmp_path / "m").float().eval()
    assert loaded.config.upsampling == "bilinear"
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-2)


def test_shipped_resize_models_keep_nearest_up_sampling():
    """The shipped fill-in model is "resize": its layers stay NearestUpConv (the fused, byte-identical path)."""
    model = load_model("weights/fill-in")
    assert model.config.upsampling == "resize"
    assert any(isinstance(m, NearestUpConv) for m in model.modules())


def test_init_from_a_resize_model_into_bilinear(tmp_path):
    """--init-from a "resize" model with --upsampling bilinear: the weights load (at learning rate 0 the export
    holds them unchanged), the config says bilinear, the pictures differ; a "transpose" model is refused."""
    data = make_pairs(tmp_path / "data", 8)
    torch.manual_seed(0)
    source = UNetGenerator(UNetConfig(**TINY, upsampling="resize"))
    save_model(source, tmp_path / "nearest", {"resolution": 32})
    common = ["--data", str(data), "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"), *TINY_ARGS,
              "--steps", "2", "--lr", "0", "--upsampling", "bilinear"]
    run_cli("train.pix2pix", *common, "--name", "bl", "--init-from", str(tmp_path / "nearest"))
    tuned = load_model(tmp_path / "w" / "bl")
    assert tuned.config.upsampling == "bilinear"
    assert dataclasses.replace(tuned.config, upsampling="resize") == load_model(tmp_path / "nearest").config
    theirs = dict(load_model(tmp_path / "nearest").named_parameters())  # (batch norm's running statistics move)
    assert all(torch.equal(value.float(), theirs[name].float()) for name, value in tuned.named_parameters())
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert (tuned.float().eval()(x) - load_model(tmp_path / "nearest").float().eval()(x)).abs().mean() > 1e-4
    save_model(UNetGenerator(UNetConfig(**TINY, upsampling="transpose")), tmp_path / "transposed", {"resolution": 32})
    result = run_cli("train.pix2pix", *common, "--name", "x", "--init-from", str(tmp_path / "transposed"), check=False)
    assert result.returncode != 0 and "pass the same generator options" in result.stderr
