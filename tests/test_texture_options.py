"""Options for fur-like texture in pix2pix: StyleGAN per-pixel noise in the U-Net decoder (--g-noise) and
a discriminator warm-up that leaves a fine-tuned G alone (--d-warmup). Tiny configs and generated fixtures."""

from __future__ import annotations

import json

import pytest
import torch

from pix2pix_demo import load_model, save_model
from pix2pix_demo.models import UNetConfig, UNetGenerator
from test_train import TINY_ARGS, make_pairs, run_cli

TINY = dict(base_channels=8, num_downsamplings=5, max_channels=32)


def test_noise_starts_silent_then_varies_in_training_and_is_fixed_in_eval():
    torch.manual_seed(0)
    plain = UNetGenerator(UNetConfig(**TINY))
    noisy = UNetGenerator(UNetConfig(**TINY, noise_levels=(1, 2)))
    missing, unexpected = noisy.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".noise.weight" in name for name in missing)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    plain.eval(), noisy.eval()
    with torch.no_grad():
        assert torch.equal(plain(x), noisy(x))  # weights start at 0: fine-tuning begins from the old model
        for module in noisy.modules():
            if module.__class__.__name__ == "NoiseInjection":
                module.weight.fill_(0.5)
        first, second = noisy(x), noisy(x)
        assert torch.equal(first, second)  # eval: the same picture on every call
        assert torch.equal(noisy(x[:1]), first[:1])  # and for every image of a batch alike
        assert not torch.allclose(first, plain(x), atol=1e-3)  # the noise does reach the output
        noisy.train()
        assert not torch.allclose(noisy(x), noisy(x), atol=1e-4)  # training: fresh noise each call


def test_noise_levels_are_checked_and_saved(tmp_path):
    with pytest.raises(ValueError, match="noise_levels"):
        UNetConfig(**TINY, noise_levels=(5,))
    model = UNetGenerator(UNetConfig(**TINY, noise_levels="1,2"))
    save_model(model, tmp_path / "m", {"resolution": 32})
    loaded = load_model(tmp_path / "m")
    assert loaded.config.noise_levels == (1, 2)
    assert json.loads((tmp_path / "m" / "config.json").read_text())["architecture"]["noise_levels"] == [1, 2]


def _weights(folder):
    """The generator's learned weights (batch norm's running statistics still follow the data)."""
    return {k: v.float() for k, v in load_model(folder).named_parameters()}


def test_d_warmup_keeps_g_and_noise_fine_tunes_from_a_plain_model(tmp_path):
    data = make_pairs(tmp_path / "data", 8)
    torch.manual_seed(0)
    save_model(UNetGenerator(UNetConfig(**TINY)), tmp_path / "plain", {"resolution": 32})
    common = ["--data", str(data), "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"), *TINY_ARGS,
              "--init-from", str(tmp_path / "plain"), "--g-noise", "1,2", "--lr", "1e-3", "--ema", "0.9"]
    run_cli("train.pix2pix", *common, "--name", "warm", "--steps", "4", "--d-warmup", "4")
    source, warm = _weights(tmp_path / "plain"), _weights(tmp_path / "w" / "warm")
    assert all(torch.equal(warm[name], value) for name, value in source.items())  # G's weights untouched (and their EMA)
    assert all(warm[name].abs().max() == 0 for name in warm if ".noise.weight" in name)
    config = json.loads((tmp_path / "w" / "warm" / "config.json").read_text())
    assert config["training"]["d_warmup_steps"] == 4 and config["architecture"]["noise_levels"] == [1, 2]
    run_cli("train.pix2pix", *common, "--name", "tuned", "--steps", "4", "--d-warmup", "2")
    tuned = _weights(tmp_path / "w" / "tuned")
    assert any(not torch.equal(tuned[name], value) for name, value in source.items())
    assert any(tuned[name].abs().max() > 0 for name in tuned if ".noise.weight" in name)  # G learns to use it
    # a source with noise where this run has none cannot be fine-tuned into it
    result = run_cli("train.pix2pix", "--data", str(data), "--out", str(tmp_path / "w"), "--runs",
                     str(tmp_path / "r"), *TINY_ARGS, "--init-from", str(tmp_path / "w" / "tuned"), "--name", "x",
                     "--steps", "1", check=False)
    assert result.returncode != 0 and "pass the same generator options" in result.stderr
