"""StarGAN with a colour-only output (StarGANConfig.output = "colour"): the generator's planes are a per-pixel
lightness gain/offset, chroma gain and warm-axis offset (models.stargan.colour_change), which cannot invent a
hue; it starts as the identity, saves and loads, and trains (train.stargan --output colour). Tiny models and
pictures made here (no ../shared, no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pix2pix_demo.coat import RGB_TO_YIQ
from pix2pix_demo.hub import load_model, save_model
from pix2pix_demo.models.stargan import StarGANConfig, StarGANGenerator, colour_change, translate

COATS = ("black", "ginger", "grey-tabby", "white-cream")


def yiq(x: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) in [-1, 1] -> (N, H, W, 3) YIQ of the [0, 1] colours."""
    return ((x.permute(0, 2, 3, 1).numpy() + 1) / 2) @ RGB_TO_YIQ.T


def colour_model(seed: int = 0, **config) -> StarGANGenerator:
    torch.manual_seed(seed)
    return StarGANGenerator(StarGANConfig(domains=COATS, generator={"base_channels": 4, "num_blocks": 1},
                                          output="colour", conditional_norm=True, **config)).eval()


def test_an_untrained_colour_model_returns_the_photo_for_every_target():
    model = colour_model()
    assert model.config.generator["out_channels"] == 4
    x = torch.rand(2, 3, 32, 40) * 2 - 1
    for target in COATS:
        assert torch.allclose(translate(model, x, target), x, atol=1e-5)


def test_colour_change_cannot_invent_a_hue():
    torch.manual_seed(0)
    grey = torch.full((1, 3, 16, 16), 0.0) + torch.linspace(-0.6, 0.6, 16)  # neutral greys, dark to light
    bluish = torch.tensor([-0.2, 0.0, 0.4])[None, :, None, None].expand(1, 3, 16, 16)  # a blue sky
    for _ in range(20):
        planes = torch.rand(1, 4, 16, 16) * 2 - 1  # anything G could output
        out = yiq(colour_change(grey, planes))
        assert np.abs(out[..., 2]).max() < 0.02  # no Q from a grey: never violet or green
        assert out[..., 1].min() > -0.02  # never blue from a grey
        before, after = yiq(bluish), yiq(colour_change(bluish, planes))
        assert (after[..., 1] >= before[..., 1] - 0.02).all()  # a blue stays at most as blue as it was


def test_colour_change_reaches_black_white_grey_and_ginger_from_a_brown_tabby():
    brown = torch.tensor([0.1, -0.1, -0.3])[None, :, None, None].expand(1, 3, 8, 8)  # RGB 0.55/0.45/0.35
    plane = lambda a=0.0, b=0.0, s=0.0, w=0.0: torch.tensor([a, b, s, w])[None, :, None, None].expand(1, 4, 8, 8)
    y0, i0, _ = yiq(brown)[0, 0, 0]
    y, i, q = yiq(colour_change(brown, plane(a=-1)))[0, 0, 0]
    assert y < 0.25 * y0  # black
    y, i, q = yiq(colour_change(brown, plane(a=0.5, s=-1)))[0, 0, 0]
    assert y > 0.75 and abs(i) < 0.2 * i0  # white: lighter and nearly neutral
    y, i, q = yiq(colour_change(brown, plane(s=-1)))[0, 0, 0]
    assert abs(y - y0) < 1e-4 and abs(i) < 0.2 * i0  # grey: the same lightness, the colour gone
    y, i, q = yiq(colour_change(brown, plane(s=0.3, w=0.5)))[0, 0, 0]
    assert i > 2 * i0  # ginger: warmer


def test_colour_output_saves_loads_and_refuses_bad_configs(tmp_path):
    model = colour_model(seed=3)
    with torch.no_grad():  # give it a change to make, so the round trip is not trivially the identity
        last = [m for m in model.generator.net if isinstance(m, torch.nn.Conv2d)][-1]
        last.bias.copy_(torch.tensor([-0.5, 0.1, -0.4, 0.3]))
    save_model(model, tmp_path / "m", {"resolution": 32})
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["architecture"]["output"] == "colour"
    loaded = load_model(tmp_path / "m").eval()
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert torch.allclose(translate(loaded, x, "ginger"), translate(model, x, "ginger"), atol=1e-5)
    assert not torch.allclose(translate(loaded, x, "ginger"), x, atol=1e-2)
    with pytest.raises(ValueError, match="residual"):
        StarGANConfig(domains=COATS, output="colour", residual=True)
    with pytest.raises(ValueError, match="output must be"):
        StarGANConfig(domains=COATS, output="paint")
    old = StarGANConfig(domains=COATS)  # configs written before the option: the picture itself
    assert old.output == "image" and old.generator["out_channels"] == 3


@pytest.mark.slow
def test_training_with_the_colour_output_moves_the_losses_and_exports(tmp_path):
    from PIL import Image

    from train import stargan

    rng = np.random.default_rng(0)
    folders = {}
    for name, colour in (("warm", (200, 120, 60)), ("cold", (120, 120, 125))):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        for k in range(3):
            noise = rng.normal(0, 15, (40, 48, 3))
            Image.fromarray(np.clip(np.asarray(colour) + noise, 0, 255).astype(np.uint8)).save(folders[name] / f"{k}.png")
    args = [*(a for name, folder in folders.items() for a in ("--domain", f"{name}={folder}")),
            "--name", "colour", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "w"), "--size", "32",
            "--base-channels", "4", "--num-blocks", "1", "--d-channels", "4", "--batch-size", "2", "--num-threads", "1",
            "--log-every", "1", "--sample-every", "4", "--export-dtype", "float32", "--conditional-norm",
            "--lr-code", "10"]
    out = stargan.main(stargan.get_args_parser().parse_args(args + ["--steps", "5", "--output", "colour"]))
    records = [json.loads(line) for line in (tmp_path / "runs" / "colour" / "log.jsonl").read_text().splitlines()]
    for key in ("d_adv", "d_cls", "g_adv", "g_cls", "g_rec"):
        assert all(np.isfinite(r[key]) for r in records) and len({r[key] for r in records}) > 1
    model = load_model(out)
    assert model.config.output == "colour"
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert not torch.allclose(translate(model, x, "warm"), x, atol=1e-4)  # five steps moved it off the identity
    with pytest.raises(SystemExit, match="--output"):  # a checkpoint of one output cannot continue as the other
        stargan.main(stargan.get_args_parser().parse_args(args + ["--resume", "--steps", "6"]))
