"""StarGAN: the generator (told the target domain), the two-headed discriminator, translate(), the training
script (smoke run, checkpoint -> --resume, export -> load_model) and the Translate tab's endpoint, on tiny
models and pictures made here (no ../shared, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import registry
from pix2pix_demo.hub import ModelLoadError, load_model, save_model
from pix2pix_demo.imaging import ImageError
from pix2pix_demo.models.stargan import (StarGANConfig, StarGANDiscriminator, StarGANDiscriminatorConfig,
                                         StarGANGenerator, domain_index, translate, translate_image)

DOMAINS = ("cat", "abyssinian", "bengal")


def tiny(seed: int = 0, domains=DOMAINS, **generator) -> StarGANGenerator:
    torch.manual_seed(seed)
    return StarGANGenerator(StarGANConfig(domains=domains, generator={"base_channels": 4, "num_blocks": 1,
                                                                      **generator})).eval()


def picture(width: int, height: int, colour=(180, 120, 60), seed: int = 0) -> Image.Image:
    """A smooth 'photo': a colour with gradients and a few discs of noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([c * (0.6 + 0.4 * np.sin(x / 7 + k) * np.cos(y / 9)) for k, c in enumerate(colour)], -1)
    base += rng.normal(0, 12, base.shape)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))


# ---------------------------------------------------------------- the networks


def test_generator_keeps_the_shape_and_the_target_changes_the_output():
    model = tiny()
    x = torch.rand(2, 3, 16, 24) * 2 - 1
    with torch.no_grad():
        outputs = [model(x, torch.full((2,), d)) for d in range(3)]
        one_hot = model(x, torch.eye(3)[[1, 1]])
    for out in outputs:
        assert out.shape == (2, 3, 16, 24) and torch.isfinite(out).all() and out.abs().max() <= 1
    assert torch.equal(one_hot, outputs[1])
    # The domain code must reach the output. With the code only as input planes, the instance norm after the
    # first convolution erased it (all three outputs agreed to 1e-6); the generator adds it back after the norm.
    for a in range(3):
        for b in range(a + 1, 3):
            assert (outputs[a] - outputs[b]).abs().mean() > 1e-3
    assert model.generator.config.in_channels == 3 + 3  # the ResNet generator sees the image + one plane per domain


def test_generator_without_instance_norm_is_the_plain_paper_form():
    model = tiny(norm="none")
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    planes = torch.zeros(1, 3, 8, 8)
    planes[:, 2] = 1
    with torch.no_grad():
        assert torch.equal(model(x, torch.tensor([2])), model.generator(torch.cat([x, planes], 1)))


def test_a_residual_generator_starts_as_the_identity_and_saves_the_choice(tmp_path):
    torch.manual_seed(0)
    model = StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 1}, residual=True))
    x = torch.rand(2, 3, 12, 16) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x, torch.tensor([0, 2])), x)  # an untrained model returns the photo
        last = [m for m in model.generator.net if isinstance(m, torch.nn.Conv2d)][-1]
        torch.nn.init.normal_(last.weight, std=0.1)  # as after training: a change that depends on the domain
        changed = [model(x, torch.full((2,), d)) for d in range(3)]
    assert all(out.abs().max() <= 1 and not torch.equal(out, x) for out in changed)
    assert not torch.equal(changed[0], changed[2])
    save_model(model, tmp_path / "res")
    loaded = load_model(tmp_path / "res")
    assert loaded.config.residual and torch.equal(loaded(x, torch.tensor([1, 1])), changed[1])


def test_conditional_norm_starts_as_the_plain_model_and_lets_every_layer_see_the_domain(tmp_path):
    torch.manual_seed(0)
    plain = StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 2}, residual=True))
    conditioned = StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 2}, residual=True,
                                                 conditional_norm=True))
    missing, unexpected = conditioned.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(name.endswith(".code.weight") for name in missing)
    norms = conditioned.conditional_norms
    assert len(norms) == len(missing) == 1 + 2 + 2 * 2 + 2  # c7s1, two down, two per block, two up
    x = torch.rand(2, 3, 16, 12) * 2 - 1
    last = [m for m in conditioned.generator.net if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        for model in (plain, conditioned):  # the same non-zero change in both
            torch.nn.init.normal_(model.generator.net[-2].weight, std=0.05)
        conditioned.generator.net[-2].weight.copy_(plain.generator.net[-2].weight)
        assert last is conditioned.generator.net[-2]
        assert torch.allclose(conditioned(x, torch.tensor([0, 2])), plain(x, torch.tensor([0, 2])), atol=1e-6)
        torch.nn.init.normal_(norms[4].code.weight, std=0.5)  # a residual block's norm learns the code
        outputs = [conditioned(x, torch.full((2,), d)) for d in range(3)]
        copy = __import__("copy").deepcopy(conditioned)  # as train.stargan's EMA: a copy runs on its own weights
        torch.nn.init.zeros_(norms[4].code.weight)
        assert torch.allclose(copy(x, torch.full((2,), 1)), outputs[1], atol=1e-6)
        torch.nn.init.normal_(norms[4].code.weight, std=0.5)
        norms[4].code.weight.copy_(copy.conditional_norms[4].code.weight)
    assert (outputs[0] - outputs[1]).abs().mean() > 1e-3 and (outputs[1] - outputs[2]).abs().mean() > 1e-3
    assert all(norm.domain is None for norm in norms)  # the code lives only during a call
    save_model(conditioned, tmp_path / "cn")
    loaded = load_model(tmp_path / "cn")
    assert loaded.config.conditional_norm is True
    with torch.no_grad():
        assert torch.allclose(loaded(x, torch.tensor([1, 1])), outputs[1], atol=1e-6)
    with pytest.raises(ValueError, match="normalisation layers"):
        StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 1, "norm": "none"},
                                       conditional_norm=True))


def test_bad_configs_and_targets_get_clear_errors():
    for bad in ({"domains": ("cat",)}, {"domains": ("cat", "cat")}, {"domains": ("cat", "")},
                {"generator": {"in_channels": 6}}):
        with pytest.raises(ValueError):
            StarGANConfig(**bad)
    with pytest.raises(TypeError):
        StarGANConfig(generator={"no_such_setting": 1})
    model = tiny()
    assert domain_index(model, "bengal") == 2 and domain_index(model, 0) == 0
    for target in ("dog", 3, -1, True, None):
        with pytest.raises(ValueError, match="cat, abyssinian, bengal"):
            domain_index(model, target)
    with pytest.raises(ValueError, match="codes"):
        model(torch.zeros(1, 3, 8, 8), torch.zeros(1, 2))
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 3, 10, 8), torch.tensor([0]))


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_discriminator_has_a_patch_head_and_a_domain_head(spectral_norm):
    torch.manual_seed(0)
    d = StarGANDiscriminator(StarGANDiscriminatorConfig(num_domains=3, base_channels=4, n_layers=3,
                                                        spectral_norm=spectral_norm))
    patches, logits = d(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert patches.shape == (2, 1, 6, 6)  # 64 -> 32 -> 16 -> 8 -> 7 -> 6: one score per 70×70 patch
    assert logits.shape == (2, 3) and torch.isfinite(logits).all()
    assert d.receptive_field == 70
    patches, logits = d(torch.rand(1, 3, 40, 72) * 2 - 1)  # any size: the domain head pools globally
    assert logits.shape == (1, 3)
    with pytest.raises(ValueError):
        StarGANDiscriminator(StarGANDiscriminatorConfig(n_layers=0))


def test_save_load_round_trip_keeps_domains_and_outputs(tmp_path):
    model = tiny(seed=3)
    save_model(model, tmp_path / "sg", {"label": "test", "resolution": 32})
    config = json.loads((tmp_path / "sg" / "config.json").read_text())
    assert config["model_type"] == "stargan" and config["architecture"]["domains"] == list(DOMAINS)
    assert config["architecture"]["generator"]["base_channels"] == 4  # every ResNet setting written out
    assert "norm" in config["architecture"]["generator"]
    loaded = load_model(tmp_path / "sg")
    assert isinstance(loaded, StarGANGenerator) and loaded.config == model.config and not loaded.training
    x = torch.rand(1, 3, 12, 16) * 2 - 1
    for d in range(3):
        with torch.no_grad():
            assert torch.equal(loaded(x, torch.tensor([d])), model(x, torch.tensor([d])))
    config["architecture"]["domains"] = ["cat", "bengal"]  # two planes: the weights no longer fit
    (tmp_path / "sg" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="does not match"):
        load_model(tmp_path / "sg")


def test_translate_any_size_into_each_domain():
    model = tiny()
    x = torch.rand(1, 3, 13, 7) * 2 - 1  # odd sides: padded to 16×8 inside, cropped back
    results = [translate(model, x, target) for target in DOMAINS]
    for out in results:
        assert out.shape == x.shape and out.abs().max() <= 1
    assert torch.equal(translate(model, x, 2), results[2])
    assert not torch.equal(results[0], results[2])
    assert translate(model, torch.rand(1, 3, 3, 2), "cat").shape == (1, 3, 3, 2)  # smaller than the padding


def test_translate_image_works_at_the_training_scale():
    model = tiny()
    model.metadata = {"resolution": 32, "inference_short_side": 36}
    photo = picture(90, 60).convert("RGBA")
    out = translate_image(model, photo, "abyssinian")
    assert out.mode == "RGB" and out.size == (54, 36)  # short side 36, aspect kept
    assert translate_image(model, photo, "abyssinian", short_side=20).size == (30, 20)
    assert translate_image(model, picture(400, 40), "cat").size == (108, 11)  # long side capped at 3 × 36
    with pytest.raises(ValueError, match="Unknown target"):
        translate_image(model, photo, "dog")
    with pytest.raises(ImageError):
        translate_image(model, picture(340, 20), "cat")  # thinner than 1:16


def test_registry_lists_a_stargan_folder(tmp_path, monkeypatch):
    save_model(tiny(), tmp_path / "my-stargan", {"label": "Tiny StarGAN"})
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(tmp_path))
    registry.refresh()
    try:
        entry = registry.list_models()["my-stargan"]
        assert entry.kind == "stargan" and entry.label == "Tiny StarGAN"
        assert registry.list_models("pix2pix").get("my-stargan") is None  # not offered to the Draw tab
    finally:
        monkeypatch.delenv("PIX2PIX_WEIGHTS_DIR")
        registry.refresh()


def test_model_card_says_what_the_model_does_and_how_to_use_it(tmp_path):
    from pix2pix_demo.cards import model_card

    save_model(tiny(), tmp_path / "looks", {"label": "Cat looks", "resolution": 128,
                                            "data": {"sources": ["cats/train", "cats-masked/images"]}})
    card = model_card(tmp_path / "looks", repo_id="me/looks")
    assert "StarGAN generator" in card and "`cat`, `abyssinian`, `bengal`" in card
    assert "from pix2pix_demo.models.stargan import translate_image" in card and 'load_model("me/looks")' in card
    assert "Translate tab" in card and "- stargan" in card  # the app note and a Hub tag
    assert "Oxford-IIIT Pet" in card and "Asirra" in card  # a licence note for each data set


# ---------------------------------------------------------------- training


def make_domains(root: Path) -> dict[str, Path]:
    """Three small domains like the real ones: 'plain' in its own folder, 'red' and 'blue' pictures side by
    side in one folder told apart by a glob, and a held-out list naming one of each."""
    (root / "plain").mkdir(parents=True)
    (root / "mixed").mkdir()
    for i in range(4):
        picture(48 + 4 * i, 40, (128, 128, 128), seed=i).save(root / "plain" / f"p.{i}.jpg")
        picture(40, 44 + 4 * i, (220, 90, 40), seed=10 + i).save(root / "mixed" / f"Red_{i}.png")
        picture(52, 40, (40, 80, 220), seed=20 + i).save(root / "mixed" / f"Blue_{i}.png")
    (root / "heldout.txt").write_text("p.0.jpg\nRed_0\n# a comment\n")
    return {"plain": root / "plain", "mixed": root / "mixed", "heldout": root / "heldout.txt"}


def train_args(root: Path, folders: dict, *extra: str) -> list[str]:
    return ["--domain", f"plain={folders['plain']}", "--domain", f"red={folders['mixed']}:Red_*",
            "--domain", f"blue={folders['mixed']}:Blue_*", "--exclude", str(folders["heldout"]),
            "--domain-label", "red=Red look", "--name", "tiny", "--runs", str(root / "runs"), "--out", str(root / "w"),
            "--size", "32", "--base-channels", "4", "--num-blocks", "1", "--d-channels", "4", "--batch-size", "3",
            "--num-threads", "1", "--log-every", "2", "--checkpoint-every", "4", "--sample-every", "6",
            "--export-dtype", "float32", *extra]


@pytest.mark.slow
def test_smoke_run_checkpoint_resume_and_export(tmp_path):
    from train import stargan

    folders = make_domains(tmp_path / "data")
    parser = stargan.get_args_parser()
    out = stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "12", "--ema", "0.9", "--residual")))
    run_dir = tmp_path / "runs" / "tiny"
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 4, 6, 8, 10, 12]
    keys = ("d_adv", "d_cls", "g_adv", "g_cls", "g_rec")
    for record in records:
        assert all(np.isfinite(record[k]) for k in keys)
    for key in keys:  # every loss moves
        assert len({r[key] for r in records}) > 1
    assert (run_dir / "samples" / "step_0000012.png").is_file()

    config = json.loads((out / "config.json").read_text())
    assert config["architecture"]["domains"] == ["plain", "red", "blue"]
    assert config["domain_labels"] == {"plain": "plain", "red": "Red look", "blue": "blue"}
    assert config["data"]["domains"]["red"]["pictures"] == 3  # Red_0 is held out
    assert config["data"]["domains"]["plain"]["pictures"] == 3
    assert config["training"]["steps"] == 12 and config["training"]["gan_loss"] == "lsgan"
    assert config["inference_short_side"] == 36 and config["architecture"]["residual"] is True
    model = load_model(out)
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 12 and state["domains"] == ["plain", "red", "blue"]
    fresh = StarGANGenerator(model.config)
    fresh.load_state_dict(state["ema"])  # the export is the EMA generator
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    for target in ("plain", "red", "blue"):
        assert torch.allclose(translate(model, x, target), translate(fresh.eval(), x, target), atol=1e-6)
    assert isinstance(translate_image(model, picture(50, 40), "red"), Image.Image)

    # --resume continues the same run to 16 steps; a changed architecture is refused with the option's name
    stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "16", "--ema", "0.9", "--residual",
                                              "--resume")))
    assert torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)["step"] == 16
    steps = [json.loads(line)["step"] for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 4, 6, 8, 10, 12, 14, 16]
    with pytest.raises(SystemExit, match="--num-blocks"):
        stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "20", "--ema", "0.9", "--residual",
                                                  "--resume", "--num-blocks", "2")))
    with pytest.raises(SystemExit, match="--residual"):  # a plain generator cannot continue a residual one
        stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "20", "--ema", "0.9", "--resume")))


@pytest.mark.slow
def test_pretrained_feature_recipe_trains_with_domain_conditioned_heads(tmp_path, monkeypatch):
    """Issue 26: --d-features lite0 adds projected heads told the domain over the frozen features (random
    weights here), --lambda-perceptual scores the reconstruction; with and without the paper's D; every term
    logged and finite, the recipe in the config; a run without heads is not continued with them."""
    from test_srgan import random_lite0
    from train import stargan
    from train.harness import pretrained

    monkeypatch.setattr(pretrained, "load_lite0", lambda device="cpu", with_head=False: random_lite0(with_head))
    folders = make_domains(tmp_path / "data")
    parser = stargan.get_args_parser()
    recipe = ("--d-features", "lite0", "--lambda-perceptual", "0.1", "--log-every", "1")
    out = stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "3", "--no-patchgan", *recipe)))
    records = [json.loads(line) for line in (tmp_path / "runs" / "tiny" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3] and all("d_adv" not in r for r in records)  # no paper D
    for key in ("d_projected", "g_projected", "g_perceptual_rec", "g_rec"):
        assert all(np.isfinite(r[key]) for r in records), key
    assert len({r["d_projected"] for r in records}) > 1
    training = json.loads((out / "config.json").read_text())["training"]
    assert training["discriminator"] is None and training["pretrained_features"]["projected_discriminator"]
    assert isinstance(translate_image(load_model(out), picture(50, 40), "red"), Image.Image)

    (tmp_path / "runs" / "tiny" / "checkpoint.pt").unlink()
    stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "2", "--log-every", "1")))  # the paper's D
    with pytest.raises(SystemExit, match="d_features|d-features"):
        stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "3", "--resume", *recipe)))
    both = train_args(tmp_path, folders, "--steps", "2", *recipe)
    both[both.index("tiny")] = "both"
    stargan.main(parser.parse_args(both))  # the paper's D beside the heads
    records = [json.loads(line) for line in (tmp_path / "runs" / "both" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["d_adv"]) and np.isfinite(r["d_projected"]) and np.isfinite(r["g_cls"]) for r in records)
    with pytest.raises(SystemExit, match="--d-features lite0"):
        stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "1", "--no-patchgan")))


@pytest.mark.slow
def test_wgan_gp_with_n_critic_and_the_identity_loss_train_too(tmp_path):
    from train import stargan

    folders = make_domains(tmp_path / "data")
    args = stargan.get_args_parser().parse_args(train_args(tmp_path, folders, "--steps", "6", "--gan-loss", "wgan-gp",
                                                           "--n-critic", "2", "--log-every", "1", "--lambda-id", "5"))
    out = stargan.main(args)
    records = [json.loads(line) for line in (tmp_path / "runs" / "tiny" / "log.jsonl").read_text().splitlines()]
    assert [("g_rec" in r) for r in records] == [True, False, True, False, True, False]  # G every second step
    assert [("g_id" in r) for r in records] == [True, False, True, False, True, False]
    assert all(np.isfinite(r["d_adv"]) for r in records) and all(np.isfinite(r["g_id"]) for r in records[::2])
    training = json.loads((out / "config.json").read_text())["training"]
    assert training["lambda_id"] == 5 and training["n_critic"] == 2 and training["gan_loss"] == "wgan-gp"


@pytest.mark.slow
def test_a_labels_file_with_masks_trains_and_keeps_the_background(tmp_path):
    """--labels (train.data.coat_domains' CSV: path, domain, mask) instead of folders; the domains in the order of
    --domain-label; --lambda-bg's loss on the masked background is finite, moves, and is 0 inside the cat."""
    from train import stargan

    folders = make_domains(tmp_path / "data")
    (tmp_path / "labels" / "masks").mkdir(parents=True)
    rows = ["path,domain,r,g,b,mask"]
    for path in sorted(folders["mixed"].iterdir()):
        width, height = Image.open(path).size
        cat = np.zeros((height // 2, width // 2), np.uint8)  # masks at another size than the photo
        cat[height // 8:height // 3, width // 8:width // 3] = 255
        Image.fromarray(cat).save(tmp_path / "labels" / "masks" / f"{path.stem}.png")
        domain = "" if path.stem == "Blue_3" else ("warm" if path.stem.startswith("Red") else "cold")
        rows.append(f"{path},{domain},0.5,0.5,0.5,masks/{path.stem}.png")
    (tmp_path / "labels" / "labels.csv").write_text("\n".join(rows) + "\n")
    args = ["--labels", str(tmp_path / "labels" / "labels.csv"), "--exclude", str(folders["heldout"]),
            "--domain-label", "cold=Cold coat", "--domain-label", "warm=Warm coat", "--lambda-bg", "10",
            "--name", "lab", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "w"), "--size", "32",
            "--base-channels", "4", "--num-blocks", "1", "--d-channels", "4", "--batch-size", "3", "--num-threads", "1",
            "--log-every", "1", "--sample-every", "4", "--export-dtype", "float32", "--steps", "5",
            "--conditional-norm", "--ema", "0.9", "--lr-code", "10"]  # the EMA copy runs its own conditional norms (samples at 4, 5)
    out = stargan.main(stargan.get_args_parser().parse_args(args))
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"]["domains"] == ["cold", "warm"]  # the --domain-label order, not the file's
    assert config["domain_labels"] == {"cold": "Cold coat", "warm": "Warm coat"}
    assert config["data"]["domains"]["warm"]["pictures"] == 3  # Red_0 is held out
    assert config["data"]["domains"]["cold"]["pictures"] == 3  # Blue_3 has no domain
    assert config["training"]["lambda_bg"] == 10 and config["architecture"]["conditional_norm"] is True
    state = torch.load(tmp_path / "runs" / "lab" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert [group["base_lr"] for group in state["opt_g"]["param_groups"]] == [2e-4, 2e-3]  # the codes' own rate
    assert (tmp_path / "runs" / "lab" / "samples" / "step_0000004.png").is_file()
    records = [json.loads(line) for line in (tmp_path / "runs" / "lab" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["g_bg"]) for r in records) and len({r["g_bg"] for r in records}) > 1

    data = stargan.DomainPictures({"warm": [folders["mixed"] / "Red_1.png"]}, 32, 1.25,
                                  {folders["mixed"] / "Red_1.png": tmp_path / "labels" / "masks" / "Red_1.png"})
    images, domains, masks = data.batch(4, np.random.default_rng(0))
    assert images.shape == (4, 3, 32, 32) and masks.shape == (4, 1, 32, 32) and domains.tolist() == [0] * 4
    assert 0 < masks.mean() < 0.5 and masks.max() > 0.9  # the cat's corner square, cropped with the photo
    with pytest.raises(SystemExit, match="mask for every picture"):
        stargan.main(stargan.get_args_parser().parse_args(train_args(tmp_path, folders, "--steps", "1",
                                                                     "--lambda-bg", "1")))
    bad = tmp_path / "bad.csv"
    bad.write_text("file,coat\nx.png,black\n")
    with pytest.raises(SystemExit, match="columns path and domain"):
        stargan.main(stargan.get_args_parser().parse_args(["--labels", str(bad), "--name", "b", "--steps", "1",
                                                           "--runs", str(tmp_path / "runs")]))


def test_cli_refuses_unusable_domains(tmp_path):
    from train import stargan

    folders = make_domains(tmp_path / "data")
    parser = stargan.get_args_parser()
    common = ["--name", "x", "--runs", str(tmp_path / "runs"), "--steps", "1"]
    with pytest.raises(SystemExit, match="two or more domains"):
        stargan.main(parser.parse_args(["--domain", f"a={folders['plain']}", *common]))
    with pytest.raises(SystemExit, match="no pictures"):
        stargan.main(parser.parse_args(["--domain", f"a={folders['plain']}", "--domain",
                                        f"b={folders['mixed']}:Green_*", *common]))
    with pytest.raises(SystemExit, match="not a folder"):
        stargan.main(parser.parse_args(["--domain", f"a={folders['plain']}", "--domain",
                                        f"b={tmp_path / 'nowhere'}", *common]))
    with pytest.raises(SystemExit, match="NAME=DIR"):
        stargan.main(parser.parse_args(["--domain", str(folders["plain"]), "--domain", f"b={folders['mixed']}",
                                        *common]))
    assert stargan.parse_domains([f"a={folders['mixed']}:Red_*", f"a={folders['plain']}"]) == {
        "a": [(folders["mixed"], "Red_*"), (folders["plain"], "*")]}


# ---------------------------------------------------------------- evaluation


def test_eval_metrics_tell_near_sets_from_far_ones_and_the_picture_grid(tmp_path):
    from pix2pix_demo.imaging import image_to_tensor
    from train.eval import stargan as stargan_eval

    def pictures(colour, seeds):
        return [image_to_tensor(picture(32, 32, colour, seed=s)) for s in seeds]

    real, near, far = pictures((200, 100, 50), range(4)), pictures((200, 100, 50), range(4, 8)), \
        pictures((40, 90, 210), range(4))
    assert stargan_eval.set_swd(real, near) < stargan_eval.set_swd(real, far)
    assert stargan_eval.colour_swd(real, near) < 0.2 * stargan_eval.colour_swd(real, far)
    assert stargan_eval.content_kept(real, real) == {"ssim_64": 1.0, "l1_64": 0.0}
    assert stargan_eval.content_kept(real, far)["ssim_64"] < 0.9

    save_model(tiny(), tmp_path / "looks", {"resolution": 32, "inference_short_side": 36,
                                            "domain_labels": {"cat": "Ordinary cat"}})
    picture(90, 60).save(tmp_path / "photo.png")
    stargan_eval.main([str(tmp_path / "looks"), "--pictures", str(tmp_path / "photo.png"), "--grid",
                       str(tmp_path / "grid.png")])
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (4 * (54 + 4) - 4, 18 + 36)  # the photo and its three translations, one row


# ---------------------------------------------------------------- the app: the Translate tab's translators


def save_tiny_stargan(folder: Path) -> Path:
    return save_model(tiny(seed=5), folder, {"label": "Tiny StarGAN cat looks", "resolution": 32,
                                             "inference_short_side": 36})


def test_a_stargan_folder_is_a_translator_with_every_domain_as_target(tmp_path, monkeypatch):
    from pix2pix_demo import translate as translators_module

    save_tiny_stargan(tmp_path / "looks")
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(tmp_path))
    registry.refresh()
    try:
        translator = translators_module.get_translator("looks")
        assert translator.targets == DOMAINS and translator.label == "Tiny StarGAN cat looks"
        photo = picture(90, 60).convert("RGBA")
        outputs = {target: translator.translate(photo, target) for target in DOMAINS}
        assert {out.size for out in outputs.values()} == {(54, 36)}  # the model's working scale
        model = load_model(tmp_path / "looks")
        assert np.array_equal(np.asarray(outputs["bengal"]), np.asarray(translate_image(model, photo, "bengal")))
        assert not np.array_equal(np.asarray(outputs["cat"]), np.asarray(outputs["bengal"]))
        with pytest.raises(translators_module.TranslateError, match="cat, abyssinian, bengal"):
            translator.translate(photo, "zebra")
    finally:
        monkeypatch.delenv("PIX2PIX_WEIGHTS_DIR")
        registry.refresh()


def test_the_translate_tab_names_the_domains_as_the_model_config_does(tmp_path, monkeypatch):
    """config.json domain_labels (train.stargan --domain-label) name the targets in the tab's switch; a domain
    without one (or labelled with its bare name, as train.stargan writes it) keeps the app's own name."""
    from pix2pix_demo import translate as translators_module
    from pix2pix_demo.ui import translate_tab

    save_model(tiny(seed=5), tmp_path / "coats", {"label": "Coats", "resolution": 32, "domain_labels": {
        "cat": "Ordinary cat (own)", "abyssinian": "abyssinian", "bengal": "  Leopard spots ", "zebra": "Zebra"}})
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(tmp_path))
    registry.refresh()
    try:
        translator = translators_module.get_translator("coats")
        assert translator.labels == {"cat": "Ordinary cat (own)", "bengal": "Leopard spots"}
        assert translate_tab.target_choices("coats") == [("Ordinary cat (own)", "cat"),
                                                         ("Abyssinian (ticked coat)", "abyssinian"),
                                                         ("Leopard spots", "bengal")]
    finally:
        monkeypatch.delenv("PIX2PIX_WEIGHTS_DIR")
        registry.refresh()


@pytest.fixture(scope="module")
def client(running_app, tiny_weights_dir):
    from gradio_client import Client

    save_tiny_stargan(tiny_weights_dir / "cats-stargan-tiny")  # found by the translators' rescan
    registry.refresh()
    return Client(running_app, verbose=False)


@pytest.mark.slow
def test_translate_photo_endpoint_switches_the_stargan_domain(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "cat.png"
    picture(120, 80).save(path)
    outputs = {target: Image.open(client.predict(handle_file(str(path)), "cats-stargan-tiny", target,
                                                 api_name="/translate_photo")).convert("RGB")
               for target in DOMAINS}
    assert {out.size for out in outputs.values()} == {(54, 36)}
    arrays = [np.asarray(out) for out in outputs.values()]
    assert not np.array_equal(arrays[0], arrays[1]) and not np.array_equal(arrays[1], arrays[2])
    with pytest.raises(AppError, match="cat, abyssinian, bengal"):
        client.predict(handle_file(str(path)), "cats-stargan-tiny", "zebra", api_name="/translate_photo")


def test_conditional_norm_model_called_from_several_threads_gives_each_call_its_own_domain():
    from concurrent.futures import ThreadPoolExecutor

    torch.manual_seed(0)
    model = StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 2}, residual=True,
                                           conditional_norm=True)).eval()
    with torch.no_grad():
        for norm in model.conditional_norms:
            torch.nn.init.normal_(norm.code.weight, std=0.5)
        torch.nn.init.normal_(model.generator.net[-2].weight, std=0.05)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        expected = [model(x, torch.tensor([d])) for d in range(3)]
        assert (expected[0] - expected[2]).abs().mean() > 1e-3
        with ThreadPoolExecutor(4) as pool:  # interleaved calls with different targets
            results = list(pool.map(lambda d: (d, model(x, torch.tensor([d]))), [0, 1, 2] * 8))
    for domain, out in results:
        assert torch.allclose(out, expected[domain], atol=1e-6)


def constant_mask_labels(root: Path, folders: dict, value: int) -> Path:
    """A labels CSV for the 'mixed' pictures (Red_* warm, Blue_* cold) whose masks are all `value` (0: no cat)."""
    (root / "masks").mkdir(parents=True)
    rows = ["path,domain,mask"]
    for path in sorted(folders["mixed"].iterdir()):
        Image.fromarray(np.full((20, 20), value, np.uint8)).save(root / "masks" / f"{path.stem}.png")
        rows.append(f"{path},{'warm' if path.stem.startswith('Red') else 'cold'},masks/{path.stem}.png")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root / "labels.csv"


def test_judged_composite_keeps_the_room_and_passes_gradient_only_through_the_cat():
    from train.stargan import judged_composite

    photo, output = torch.rand(2, 3, 8, 8) * 2 - 1, (torch.rand(2, 3, 8, 8) * 2 - 1).requires_grad_(True)
    cat = torch.zeros(2, 1, 8, 8)
    cat[:, :, 2:5, 3:7] = 1
    cat[1, :, 0, 0] = 0.25  # a soft edge mixes the two
    judged = judged_composite(output, photo, cat)
    room = (cat == 0).expand_as(photo)
    assert torch.equal(judged[room], photo[room]) and torch.equal(judged[cat.expand_as(photo) == 1],
                                                                    output[cat.expand_as(photo) == 1])
    assert torch.allclose(judged[1, :, 0, 0], 0.25 * output[1, :, 0, 0] + 0.75 * photo[1, :, 0, 0])
    judged.sum().backward()
    assert torch.equal(output.grad, cat.expand_as(photo))  # the room's pixels get no gradient at all


@pytest.mark.slow
@pytest.mark.parametrize("value", [0, 255])
def test_judge_cat_shows_the_judges_only_the_cats_change(tmp_path, monkeypatch, value):
    """--judge cat: with masks of no cat anywhere every picture D is shown as fake is the real photo itself
    (nothing of G's change reaches it); with masks all cat it is G's output, which differs; logged, in the config."""
    from train import stargan

    seen = []

    class Recording(stargan.StarGANDiscriminator):
        def forward(self, x):
            seen.append(x.detach().clone())
            return super().forward(x)

    monkeypatch.setattr(stargan, "StarGANDiscriminator", Recording)
    folders = make_domains(tmp_path / "data")
    labels = constant_mask_labels(tmp_path / "labels", folders, value)
    args = ["--labels", str(labels), "--judge", "cat", "--lambda-bg", "1", "--residual", "--name", "judge",
            "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "w"), "--size", "32", "--base-channels", "4",
            "--num-blocks", "1", "--d-channels", "4", "--batch-size", "2", "--num-threads", "1", "--log-every", "1",
            "--export-dtype", "float32", "--steps", "3", "--lr", "0.01"]
    out = stargan.main(stargan.get_args_parser().parse_args(args))
    # per step: D(real), D(fake.detach()), then G's D(fake)
    steps = [seen[i:i + 3] for i in range(0, len(seen), 3)]
    assert len(steps) == 3
    for real, fake_for_d, fake_for_g in steps[1:]:  # step 1's residual G starts as the identity
        assert torch.equal(fake_for_d, fake_for_g)
        assert torch.equal(fake_for_d, real) == (value == 0)
    records = [json.loads(line) for line in (tmp_path / "runs" / "judge" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["g_bg"]) and np.isfinite(r["g_adv"]) for r in records)
    assert json.loads((out / "config.json").read_text())["training"]["judge"] == "cat"
    with pytest.raises(SystemExit, match="--judge cat needs a mask"):
        stargan.main(stargan.get_args_parser().parse_args(train_args(tmp_path, folders, "--steps", "1",
                                                                     "--judge", "cat")))


@pytest.mark.slow
def test_init_from_starts_from_an_exported_model_on_a_fresh_schedule(tmp_path):
    """--init-from: G and its EMA start as the exported model (at learning rate 0 the export is that model
    again), the step count starts at 0; another architecture is refused, naming it."""
    from train import stargan

    folders = make_domains(tmp_path / "data")
    parser = stargan.get_args_parser()
    source = stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "4", "--residual",
                                                       "--lr", "0.01")))
    shipped = json.loads((source / "config.json").read_text())  # named and measured as a shipped model is
    (source / "config.json").write_text(json.dumps({**shipped, "label": "Cat coats", "domain_coats": {"red": [1, 0, 0]}}))
    again = train_args(tmp_path, folders, "--steps", "2", "--residual", "--ema", "0.9", "--lr", "0",
                       "--init-from", str(source))
    again[again.index("tiny")] = "again"
    out = stargan.main(parser.parse_args(again))
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    before, after, fresh = load_model(source), load_model(out), StarGANGenerator(load_model(source).config)
    for target in ("plain", "red", "blue"):
        assert torch.allclose(translate(before, x, target), translate(after, x, target), atol=1e-6)
        assert not torch.allclose(translate(before, x, target), translate(fresh.eval(), x, target), atol=1e-3)
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["steps"] == 2 and config["training"]["init_from"] == str(source)
    assert config["label"] == "Cat coats" and config["domain_coats"] == {"red": [1, 0, 0]}  # kept by the fine-tune
    other = train_args(tmp_path, folders, "--steps", "1", "--residual", "--num-blocks", "2", "--init-from", str(source))
    other[other.index("tiny")] = "other"
    with pytest.raises(SystemExit, match="--init-from .*differs"):
        stargan.main(parser.parse_args(other))
    with pytest.raises(SystemExit, match="--init-from"):
        stargan.main(parser.parse_args(train_args(tmp_path, folders, "--steps", "1", "--init-from",
                                                  str(tmp_path / "nowhere"))))


def test_recolour_targets_recolour_only_the_cat_towards_each_target_coat():
    """--teacher recolour's targets: coat.recolour_coat into each picture's own target centre; where the cat
    probability is 0 the picture itself, exactly."""
    from train.stargan import recolour_targets

    torch.manual_seed(0)
    real = torch.rand(2, 3, 16, 16) * 0.4 + 0.1  # mid-grey-brown pictures, in [-1, 1]
    cat = torch.zeros(2, 1, 16, 16)
    cat[:, :, 4:12, 4:12] = 1
    centres = {0: np.array([0.1, 0.1, 0.1], np.float32), 1: np.array([0.8, 0.5, 0.2], np.float32)}
    teacher = recolour_targets(real, cat, torch.tensor([0, 1]), centres)
    room = (cat == 0).expand_as(real)
    assert torch.equal(teacher[room], real[room])
    inside = (teacher + 1) / 2
    black, ginger = inside[0, :, 4:12, 4:12].mean((1, 2)), inside[1, :, 4:12, 4:12].mean((1, 2))
    assert torch.allclose(black, torch.tensor([0.1, 0.1, 0.1]), atol=0.03)  # the coat moved onto the centre
    assert torch.allclose(ginger, torch.tensor([0.8, 0.5, 0.2]), atol=0.03)
    assert (real[0, :, 4:12, 4:12] - teacher[0, :, 4:12, 4:12]).abs().mean() > 0.3


@pytest.mark.slow
def test_teacher_recolour_pulls_the_generator_to_the_classical_recolour(tmp_path, monkeypatch):
    """--teacher recolour --lambda-teacher: G(x, c) is trained towards the recolour into c (its L1 falls over
    a few steps at a high learning rate); with --lambda-perceptual the recipe's perceptual term goes to the
    teacher, not the reconstruction; the teacher and its coats are in the config; without masks or without the
    labels' colours it is refused."""
    from test_srgan import random_lite0
    from train import stargan
    from train.harness import pretrained

    monkeypatch.setattr(pretrained, "load_lite0", lambda device="cpu", with_head=False: random_lite0(with_head))
    folders = make_domains(tmp_path / "data")
    (tmp_path / "labels" / "masks").mkdir(parents=True)
    rows = ["path,domain,r,g,b,mask"]
    for path in sorted(folders["mixed"].iterdir()):
        width, height = Image.open(path).size
        cat = np.zeros((height, width), np.uint8)
        cat[height // 4:, width // 4:] = 255
        Image.fromarray(cat).save(tmp_path / "labels" / "masks" / f"{path.stem}.png")
        warm = path.stem.startswith("Red")
        rows.append(f"{path},{'warm' if warm else 'cold'},{'0.8,0.4,0.2' if warm else '0.2,0.3,0.8'},masks/{path.stem}.png")
    (tmp_path / "labels" / "labels.csv").write_text("\n".join(rows) + "\n")
    common = ["--labels", str(tmp_path / "labels" / "labels.csv"), "--runs", str(tmp_path / "runs"),
              "--out", str(tmp_path / "w"), "--size", "32", "--base-channels", "4", "--num-blocks", "1",
              "--d-channels", "4", "--batch-size", "2", "--num-threads", "1", "--log-every", "1",
              "--export-dtype", "float32", "--residual", "--teacher", "recolour", "--lambda-teacher", "50"]
    fast = ["--steps", "40", "--lr", "0.01", "--lr-d", "1e-9", "--lambda-rec", "0", "--lambda-cls", "0", "--conditional-norm"]
    last = {}
    for name, weight in (("zero", "0"), ("t", "50")):  # the same batches and targets (seeded by the step)
        out = stargan.main(stargan.get_args_parser().parse_args(common + ["--name", name, *fast, "--lambda-teacher", weight]))
        records = [json.loads(line) for line in (tmp_path / "runs" / name / "log.jsonl").read_text().splitlines()]
        assert len(records) == 40 and all(np.isfinite(r["g_teacher"]) for r in records)
        last[name] = np.mean([r["g_teacher"] for r in records[-15:]])
    assert last["t"] < 0.8 * last["zero"], last  # trained towards the teacher, G's output nears it
    teacher = json.loads((out / "config.json").read_text())["training"]["teacher"]
    assert teacher["lambda_teacher"] == 50 and teacher["coats"] == {"cold": [0.2, 0.3, 0.8], "warm": [0.8, 0.4, 0.2]}

    stargan.main(stargan.get_args_parser().parse_args(common + ["--name", "p", "--steps", "2", "--lambda-perceptual", "0.1"]))
    records = [json.loads(line) for line in (tmp_path / "runs" / "p" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(r["g_perceptual_teacher"]) and "g_perceptual_rec" not in r for r in records)
    with pytest.raises(SystemExit, match="--teacher recolour needs a mask"):
        stargan.main(stargan.get_args_parser().parse_args(train_args(tmp_path, folders, "--steps", "1",
                                                                     "--teacher", "recolour")))
    plain = constant_mask_labels(tmp_path / "plain-labels", folders, 255)  # masks, but no r, g, b columns
    with pytest.raises(SystemExit, match="r, g, b"):
        stargan.main(stargan.get_args_parser().parse_args(
            ["--labels", str(plain), "--teacher", "recolour", "--name", "n", "--steps", "1", "--runs", str(tmp_path / "runs")]))
