"""The GAN survey's training options: SAGAN self-attention (U-Net, PatchGAN), the auto-encoder
discriminator and the EBGAN / BEGAN losses. Tiny configs and generated fixtures only."""

from __future__ import annotations

import json

import pytest
import torch

from pix2pix_demo import load_model, save_model
from pix2pix_demo.losses import BEGANLoss, EBGANLoss, pull_away_term
from pix2pix_demo.models import (AutoEncoderDiscriminator, AutoEncoderDiscriminatorConfig, PatchGANConfig,
                                 PatchGANDiscriminator, UNetConfig, UNetGenerator)
from pix2pix_demo.models.attention import SelfAttention2d
from test_train import TINY_ARGS, make_pairs, read_log, run_cli


# --- self-attention


@pytest.mark.parametrize("channels,height,width", [(1, 1, 1), (4, 3, 5), (16, 8, 8), (64, 16, 16)])
def test_attention_keeps_the_shape_and_starts_as_the_identity(channels, height, width):
    torch.manual_seed(0)
    block = SelfAttention2d(channels)
    x = torch.randn(2, channels, height, width)
    assert block(x).shape == x.shape
    assert torch.equal(block(x), x)  # γ = 0 at the start
    rows = block.attention_map(x)
    assert rows.shape == (2, height * width, height * width)
    assert torch.allclose(rows.sum(-1), torch.ones(2, height * width), atol=1e-5)


def test_attention_connects_far_apart_positions():
    torch.manual_seed(0)
    block = SelfAttention2d(8)
    with torch.no_grad():
        block.gamma.fill_(1.0)
    x = torch.randn(1, 8, 16, 16)
    changed = x.clone()
    changed[:, :, 0, 0] += 5.0  # one corner
    difference = (block(changed) - block(x)).abs()[0, :, -1, -1]  # the opposite corner
    assert difference.max() > 1e-3  # a 3×3 conv stack would need 15 layers for this


@pytest.mark.parametrize("size,levels", [(32, (1,)), (32, (2, 4)), (64, (3,)), (128, (2,))])
def test_unet_with_attention_levels_keeps_shapes(size, levels):
    depth = 5 if size < 128 else 7
    config = UNetConfig(base_channels=4, num_downsamplings=depth, max_channels=16, attention_levels=list(levels))
    model = UNetGenerator(config).eval()
    blocks = [m for m in model.modules() if isinstance(m, SelfAttention2d)]
    assert len(blocks) == len(levels) and config.attention_levels == tuple(levels)
    assert model(torch.randn(1, 3, size, size)).shape == (1, 3, size, size)


def test_models_without_attention_keep_their_parameter_names():
    plain = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=5, max_channels=8))
    assert not any("attention" in name for name in plain.state_dict())
    attended = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=5, max_channels=8, attention_levels=[2]))
    extra = set(attended.state_dict()) - set(plain.state_dict())
    assert extra and all(".attention." in name for name in extra)


@pytest.mark.parametrize("bad", [[0], [5], "x"])
def test_unet_rejects_attention_levels_outside_the_decoder(bad):
    with pytest.raises(ValueError, match="attention_levels"):
        UNetConfig(num_downsamplings=5, attention_levels=bad)


@pytest.mark.parametrize("layers", [(0,), (1,), (2,), (3,), (1, 2)])
def test_patchgan_with_attention_gives_the_same_output_grid(layers):
    plain = PatchGANDiscriminator(PatchGANConfig(base_channels=4, n_layers=3, norm="none"))
    config = PatchGANConfig(base_channels=4, n_layers=3, norm="none", spectral_norm=True, attention_layers=layers)
    attended = PatchGANDiscriminator(config)
    x = torch.randn(2, 6, 64, 64)
    assert attended(x).shape == plain(x).shape
    assert sum(isinstance(m, SelfAttention2d) for m in attended.modules()) == len(layers)


def test_patchgan_rejects_attention_it_cannot_place():
    with pytest.raises(ValueError, match="attention_layers"):
        PatchGANConfig(n_layers=2, attention_layers=[3])
    with pytest.raises(ValueError, match="attention_layers"):
        PatchGANConfig(n_layers=0, attention_layers=[0])


def test_attention_unet_round_trips_through_load_model(tmp_path):
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=5, max_channels=16, attention_levels=[2, 3]))
    with torch.no_grad():  # a trained γ: attention changes the output, so the round trip must keep it
        for block in model.modules():
            if isinstance(block, SelfAttention2d):
                block.gamma.fill_(0.7)
    model.eval()
    save_model(model, tmp_path / "m", {"resolution": 32})
    assert json.loads((tmp_path / "m" / "config.json").read_text())["architecture"]["attention_levels"] == [2, 3]
    loaded = load_model(tmp_path / "m")
    assert loaded.config == model.config
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
        without = UNetGenerator(dataclasses_replace(model.config, attention_levels=()))
        without.load_state_dict(model.state_dict(), strict=False)
        assert not torch.allclose(without.eval()(x), model(x))  # the attention blocks do matter


def dataclasses_replace(config, **changes):
    import dataclasses

    return dataclasses.replace(config, **changes)


# --- auto-encoder discriminator and the energy losses


@pytest.mark.parametrize("downsamplings,size", [(1, 16), (2, 32), (3, 64), (4, 64)])
def test_autoencoder_discriminator_shapes_and_energy(downsamplings, size):
    torch.manual_seed(0)
    config = AutoEncoderDiscriminatorConfig(base_channels=4, num_downsamplings=downsamplings, latent_channels=3)
    model = AutoEncoderDiscriminator(config)
    x = torch.randn(3, 6, size, size)
    reconstruction, code = model.reconstruct(x)
    assert reconstruction.shape == (3, 3, size, size)
    assert code.shape == (3, 3, size >> downsamplings, size >> downsamplings)
    energy, features = model(x, return_features=True)
    assert energy.shape == (3,) and features.shape == (3, code[0].numel())
    expected = (reconstruction - x[:, 3:]).abs().flatten(1).mean(1)  # it reconstructs the image, not the condition
    assert torch.allclose(energy, expected, atol=1e-6)
    mse = AutoEncoderDiscriminator(dataclasses_replace(config, energy="mse"))
    mse.load_state_dict(model.state_dict())
    assert torch.allclose(mse(x), (reconstruction - x[:, 3:]).square().flatten(1).mean(1), atol=1e-6)


def test_autoencoder_discriminator_errors_are_clear():
    with pytest.raises(ValueError, match="energy"):
        AutoEncoderDiscriminatorConfig(energy="l3")
    with pytest.raises(ValueError, match="divisible by 8"):
        AutoEncoderDiscriminator(AutoEncoderDiscriminatorConfig(base_channels=2))(torch.zeros(1, 6, 20, 20))


def test_ebgan_margin_loss():
    loss = EBGANLoss(margin=0.5)
    real, fake = torch.tensor([0.1, 0.3]), torch.tensor([0.2, 0.9])
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(0.2 + (0.3 + 0.0) / 2)
    assert loss.generator_loss(fake).item() == pytest.approx(0.55)
    # fakes above the margin give D no reason to push them further
    fake = torch.tensor([0.6, 0.7], requires_grad=True)
    loss.discriminator_loss(real, fake).backward()
    assert torch.equal(fake.grad, torch.zeros(2))


def test_pull_away_term():
    same = torch.ones(4, 10)
    assert pull_away_term(same).item() == pytest.approx(1.0)
    orthogonal = torch.eye(4, 10) * 3
    assert pull_away_term(orthogonal).item() == pytest.approx(0.0, abs=1e-7)
    assert pull_away_term(torch.randn(1, 10)).item() == 0.0
    random = torch.randn(8, 64, requires_grad=True)
    value = pull_away_term(random)
    value.backward()
    assert 0 < value.item() < 1 and torch.isfinite(random.grad).all()


def test_began_k_follows_the_balance_and_stays_in_0_1():
    loss = BEGANLoss(gamma=0.5, lambda_k=0.1)
    real, fake = torch.tensor([0.4]), torch.tensor([0.1])  # γ·L(x) = 0.2 > L(G): D should attend to fakes more
    m_global = loss.update(real, fake)
    assert loss.k == pytest.approx(0.01) and m_global == pytest.approx(0.4 + 0.1)
    assert loss.discriminator_loss(real, fake).item() == pytest.approx(0.4 - 0.01 * 0.1)
    generator = torch.Generator().manual_seed(0)
    for _ in range(500):  # extreme energies, both ways: k is clipped, never leaves [0, 1]
        scale = 10 ** torch.randint(-3, 4, (1,), generator=generator).item()
        loss.update(torch.rand(4, generator=generator) * scale, torch.rand(4, generator=generator) * scale)
        assert 0.0 <= loss.k <= 1.0
    for _ in range(50):
        loss.update(torch.tensor([100.0]), torch.tensor([0.0]))
    assert loss.k == 1.0
    assert torch.isfinite(loss.discriminator_loss(torch.tensor([1e3]), torch.tensor([1e3])))


# --- the training CLI


def energy_run(tmp_path, loss: str, *extra: str) -> list[dict]:
    data = make_pairs(tmp_path / "data")
    run_cli("train.pix2pix", "--data", str(data), "--name", loss, "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "r"), *TINY_ARGS, "--d-layers", "2", "--d-latent", "4", "--gan-loss", loss,
            "--lr", "1e-3", "--decay-start", "1.0", "--steps", "60", "--log-every", "2", *extra)
    return read_log(tmp_path / "r" / loss)


def assert_moves(log: list[dict], key: str):
    values = [record[key] for record in log]
    assert all(map(lambda v: v == v and abs(v) < 1e6, values)), f"{key} not finite: {values}"
    assert max(values) - min(values) > 1e-4, f"{key} never moved: {values}"


@pytest.mark.slow
def test_ebgan_smoke_run(tmp_path):
    log = energy_run(tmp_path, "ebgan")
    for key in ("loss_d", "loss_g_gan", "energy_real", "energy_fake", "pull_away"):
        assert_moves(log, key)
    assert log[-1]["loss_l1"] < 0.8 * log[0]["loss_l1"]
    assert all(r["energy_real"] >= 0 and r["energy_fake"] >= 0 and 0 <= r["pull_away"] <= 1 for r in log)
    config = json.loads((tmp_path / "w" / "ebgan" / "config.json").read_text())
    assert config["training"]["discriminator"]["energy"] == "mse"
    assert config["training"]["ebgan"] == {"margin": 0.1, "pull_away_weight": 0.1}


@pytest.mark.slow
def test_began_smoke_run_logs_k_and_m_global_and_saves_k(tmp_path):
    # γ = 1: at the start the untrained G's outputs are easier to reconstruct than real photos (its energy
    # below γ·L(x)), so k rises; with γ 0.5 it may stay 0 for a run this short
    log = energy_run(tmp_path, "began", "--began-lambda-k", "0.05", "--began-gamma", "1.0")
    for key in ("loss_d", "energy_real", "energy_fake", "m_global", "k_t"):
        assert_moves(log, key)
    assert all(0.0 <= r["k_t"] <= 1.0 for r in log)
    assert log[-1]["loss_l1"] < 0.8 * log[0]["loss_l1"]
    checkpoint = torch.load(tmp_path / "r" / "began" / "checkpoint.pt", weights_only=True)
    final_k = json.loads((tmp_path / "w" / "began" / "config.json").read_text())["training"]["began"]["final_k"]
    assert checkpoint["began_k"] == pytest.approx(final_k) == pytest.approx(log[-1]["k_t"], abs=1e-5)
    assert max(r["k_t"] for r in log) > 0  # γ·L(x) > L(G(z)) at times: k rose from 0


@pytest.mark.slow
def test_sagan_options_train_export_and_reload(tmp_path):
    data = make_pairs(tmp_path / "data")
    run_cli("train.pix2pix", "--data", str(data), "--name", "sagan", "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "r"), *TINY_ARGS, "--d-layers", "2", "--g-attention", "2,3",
            "--d-attention", "1", "--spectral-norm", "--d-norm", "none", "--gan-loss", "hinge",
            "--lr", "1e-3", "--steps", "30")
    model = load_model(tmp_path / "w" / "sagan")
    assert model.config.attention_levels == (2, 3)
    gammas = [block.gamma.item() for block in model.modules() if isinstance(block, SelfAttention2d)]
    assert len(gammas) == 2 and all(g != 0.0 for g in gammas)  # trained away from the identity
    config = json.loads((tmp_path / "w" / "sagan" / "config.json").read_text())
    assert config["training"]["discriminator"]["attention_layers"] == [1]
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 3, 32, 32)


def test_cli_rejects_misplaced_attention(tmp_path):
    data = make_pairs(tmp_path / "data", 4)
    common = ["--data", str(data), "--name", "x", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
              *TINY_ARGS, "--steps", "1"]
    result = run_cli("train.pix2pix", *common, "--g-attention", "7", check=False)
    assert result.returncode != 0 and "attention_levels" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("train.pix2pix", *common, "--gan-loss", "began", "--d-attention", "1", check=False)
    assert result.returncode != 0 and "auto-encoder" in result.stderr


# --- feature matching (pix2pixHD): a perceptual loss from our own discriminator


@pytest.mark.parametrize("layers,attention", [(0, ()), (2, ()), (3, (1,))])
def test_patchgan_features_end_in_the_logits(layers, attention):
    torch.manual_seed(0)
    config = PatchGANConfig(in_channels=6, base_channels=8, n_layers=layers, norm="none", attention_layers=attention)
    d = PatchGANDiscriminator(config).eval()
    x = torch.randn(2, 6, 64, 64)
    features = d.features(x)
    assert torch.equal(features[-1], d(x))
    expected = 2 if layers == 0 else layers + 1  # one per LeakyReLU (attention replaces its layer's entry)
    assert len(features) == expected + 1
    assert all(f.shape[0] == 2 for f in features)


def test_feature_matching_smoke_run_logs_a_falling_loss(tmp_path):
    data = make_pairs(tmp_path / "data")
    run_cli("train.pix2pix", "--data", str(data), "--name", "fm", "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "r"), *TINY_ARGS, "--d-layers", "2", "--gan-loss", "hinge", "--spectral-norm",
            "--d-norm", "none", "--lambda-fm", "10", "--lr", "1e-3", "--decay-start", "1.0", "--steps", "40",
            "--log-every", "2")
    log = read_log(tmp_path / "r" / "fm")
    assert_moves(log, "loss_fm")
    assert all(r["loss_fm"] >= 0 for r in log)
    assert log[-1]["loss_l1"] < 0.8 * log[0]["loss_l1"]
    config = json.loads((tmp_path / "w" / "fm" / "config.json").read_text())
    assert config["training"]["lambda_fm"] == 10.0
    result = run_cli("train.pix2pix", "--data", str(data), "--name", "x", "--out", str(tmp_path / "w"),
                     "--runs", str(tmp_path / "r"), *TINY_ARGS, "--steps", "1", "--gan-loss", "ebgan",
                     "--lambda-fm", "1", check=False)
    assert result.returncode != 0 and "--lambda-fm" in result.stderr and "Traceback" not in result.stderr


# --- pix2pixHD's multi-scale discriminator


def test_multiscale_patchgan_stacks_one_map_per_scale():
    torch.manual_seed(0)
    config = PatchGANConfig(in_channels=6, base_channels=4, n_layers=2, norm="none", num_scales=3)
    d = PatchGANDiscriminator(config).eval()
    x = torch.randn(2, 6, 64, 64)
    out = d(x)
    single = PatchGANDiscriminator(PatchGANConfig(in_channels=6, base_channels=4, n_layers=2, norm="none")).eval()
    assert out.shape == (2, 3, *single(x).shape[-2:])
    # channel 0 is the full-size PatchGAN; channel 1 the second one on the pair at half size, repeated
    assert torch.equal(out[:, :1], d.net(x))
    half = d.coarser[0](torch.nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
    assert torch.allclose(out[:, 1:2], torch.nn.functional.interpolate(half, size=out.shape[-2:], mode="nearest"))
    assert not torch.allclose(out[:, 0], out[:, 1])  # separate weights, separate judgements
    features = d.features(x)
    assert torch.equal(features[-1], out)
    assert len(features) == 3 * (len(single.features(x)) - 1) + 1  # every scale's activations, then the logits


def test_single_scale_patchgan_keeps_its_weight_names():
    """Old checkpoints and shipped discriminators hold `net.*` only; one scale must load them unchanged."""
    old = PatchGANDiscriminator(PatchGANConfig(base_channels=4, n_layers=2))
    assert all(key.startswith("net.") for key in old.state_dict())
    two = PatchGANDiscriminator(PatchGANConfig(base_channels=4, n_layers=2, num_scales=2))
    assert {k for k in two.state_dict() if k.startswith("net.")} == set(old.state_dict())
    assert any(k.startswith("coarser.0.") for k in two.state_dict())
    with pytest.raises(ValueError, match="num_scales"):
        PatchGANConfig(num_scales=0)


def test_multiscale_feature_matching_smoke_run(tmp_path):
    data = make_pairs(tmp_path / "data")
    run_cli("train.pix2pix", "--data", str(data), "--name", "ms", "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "r"), *TINY_ARGS, "--d-layers", "2", "--d-scales", "2", "--gan-loss", "lsgan",
            "--d-norm", "instance", "--lambda-fm", "10", "--lr", "1e-3", "--decay-start", "1.0", "--steps", "30",
            "--log-every", "2", "--checkpoint-every", "10")
    log = read_log(tmp_path / "r" / "ms")
    assert_moves(log, "loss_fm")
    assert log[-1]["loss_l1"] < 0.8 * log[0]["loss_l1"]
    config = json.loads((tmp_path / "w" / "ms" / "config.json").read_text())
    assert config["training"]["discriminator"]["num_scales"] == 2
    result = run_cli("train.pix2pix", "--data", str(data), "--name", "ms", "--out", str(tmp_path / "w"),
                     "--runs", str(tmp_path / "r"), *TINY_ARGS, "--d-layers", "2", "--gan-loss", "lsgan",
                     "--d-norm", "instance", "--steps", "31", "--resume", check=False)
    assert result.returncode != 0 and "--d-scales 2 in the checkpoint, 1 now" in result.stderr
