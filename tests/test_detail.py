"""The texture stage (pix2pix_demo.models.detail, train.detail): the generator, its training script and its
place in Pix2PixPipeline, on tiny models and pictures made here (no ../shared, no network)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo.hub import load_model, save_model
from pix2pix_demo.models.detail import DetailConfig, DetailGenerator


def tiny(seed=0, noise_channels=1, trained_tail=True) -> DetailGenerator:
    torch.manual_seed(seed)
    model = DetailGenerator(DetailConfig(channels=8, num_blocks=1, noise_channels=noise_channels))
    if trained_tail:  # the tail starts at zero (the identity); a non-zero one makes the network's part show
        torch.nn.init.normal_(model.tail.weight, std=0.05)
    return model.eval()


def cat_on_white(size: int = 64, seed: int = 0) -> Image.Image:
    """A striped brown blob with two dark eyes on white: a cut-out cat in miniature."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    r = int(size * rng.uniform(0.3, 0.42))
    c = size // 2 + int(rng.integers(-3, 4))
    draw.ellipse([c - r, c - r, c + r, c + r], fill=tuple(int(v) for v in rng.integers(60, 180, 3)))
    for k in range(c - r, c + r, 3):  # fur stripes: the texture the stage should keep
        draw.line([(k, c - r // 2), (k + 2, c + r // 2)], fill=(40, 30, 20))
    for dx in (-r // 3, r // 3):
        draw.ellipse([c + dx - 3, c - 5, c + dx + 3, c + 1], fill=(10, 10, 10))
    return image


def test_untrained_stage_is_the_identity_and_odd_sides_are_refused():
    model = DetailGenerator(DetailConfig(channels=8, num_blocks=2)).eval()
    x = torch.rand(2, 3, 12, 20) * 2 - 1
    with torch.no_grad():
        assert torch.equal(model(x), x)
    with pytest.raises(ValueError, match="even"):
        model(torch.zeros(1, 3, 11, 20))
    with pytest.raises(ValueError):
        DetailConfig(channels=0)


def test_inference_noise_is_fixed_and_training_noise_is_not():
    model = tiny()
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        first, second = model(x), model(x)
        assert torch.equal(first, second)  # eval: the same picture gets the same texture every time
        assert not torch.equal(first, x)
        other_size = model(torch.rand(1, 3, 16, 24) * 2 - 1)  # another size gets its own fixed pattern
        assert other_size.shape == (1, 3, 16, 24)
        assert torch.equal(model(x), first)
        model.train()
        assert not torch.equal(model(x), model(x))  # training: fresh noise every call
        # without noise the stage is a plain function of the picture
        plain = tiny(noise_channels=0).train()
        assert torch.equal(plain(x), plain(x))


def test_save_load_round_trip(tmp_path):
    model = tiny(seed=3)
    save_model(model, tmp_path / "fur", {"task": "texture"})
    loaded = load_model(tmp_path / "fur")
    assert isinstance(loaded, DetailGenerator) and loaded.config == model.config
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(loaded(x), model(x), atol=1e-6)


def make_pairs(folder, count=6, size=64):
    """A make_edges_dataset-like folder: A/ edges (here: the blob's outline), B/ the cut-outs, plus an
    edge variant `__v1` of the first photo (the trainer must skip it)."""
    (folder / "A").mkdir(parents=True)
    (folder / "B").mkdir(parents=True)
    for seed in range(count):
        photo = cat_on_white(size, seed)
        photo.save(folder / "B" / f"cat{seed}.png")
        edges = np.where(np.asarray(photo.convert("L")) < 250, 0, 255).astype(np.uint8)
        Image.fromarray(edges).convert("RGB").save(folder / "A" / f"cat{seed}.png")
    photo.save(folder / "B" / "cat0__v1.png")


def test_batches_mix_smoothed_photos_and_first_stage_outputs(tmp_path):
    from train.detail import degrade, get_args_parser, load_pictures, make_batch, photo_names

    make_pairs(tmp_path / "pairs")
    names = photo_names(tmp_path / "pairs")
    assert names == [f"cat{k}.png" for k in range(6)]  # the edge variant is not a second photo
    photos = load_pictures(tmp_path / "pairs" / "B", names)
    stage1 = 255 - photos  # something unlike the photos: unpaired inputs must come from here
    args = get_args_parser().parse_args(["--pairs", "x", "--crop", "32", "--batch-size", "16", "--recolour", "0",
                                         "--stage1-share", "0.5"])
    inputs, reals, paired = make_batch(photos, stage1, args, np.random.default_rng(0))
    assert inputs.shape == reals.shape == (16, 3, 32, 32) and 0 < int(paired.sum()) < 16
    # paired inputs are the photo made smooth: close to it, but without its finest texture
    smooth, sharp = inputs[paired], reals[paired]
    assert (smooth - sharp).abs().mean() < 0.25
    laplacian = lambda t: (4 * t[..., 1:-1, 1:-1] - t[..., :-2, 1:-1] - t[..., 2:, 1:-1] - t[..., 1:-1, :-2]
                           - t[..., 1:-1, 2:]).abs().mean()
    assert laplacian(smooth) < 0.8 * laplacian(sharp)
    # the others are first-stage outputs at the same place: the inverted photo
    assert torch.allclose(inputs[~paired], -reals[~paired], atol=1 / 127.5 + 1e-6)
    crop = np.asarray(cat_on_white(32))
    assert degrade(crop, 2.0).shape == crop.shape


def test_training_smoke_run_exports_resumes_and_refuses_another_architecture(tmp_path):
    from train.detail import get_args_parser, main

    make_pairs(tmp_path / "pairs")
    common = ["--pairs", str(tmp_path / "pairs"), "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
              "--crop", "32", "--batch-size", "4", "--channels", "8", "--blocks", "1", "--d-channels", "8",
              "--d-layers", "2", "--log-every", "1", "--checkpoint-every", "5"]
    main(get_args_parser().parse_args([*common, "--steps", "6"]))
    records = [json.loads(line) for line in (tmp_path / "runs/detail/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 7))
    assert all(np.isfinite([r["d"], r["adv"], r["lf"], r["pair"]]).all() for r in records)
    model = load_model(tmp_path / "out")
    assert isinstance(model, DetailGenerator) and model.metadata["training"]["steps"] == 6
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert not torch.equal(model(x), x)  # it trained: no longer the identity
    main(get_args_parser().parse_args([*common, "--steps", "8", "--resume", "--lambda-style", "1e4"]))
    assert load_model(tmp_path / "out").metadata["training"]["steps"] == 8
    resumed = [json.loads(line) for line in (tmp_path / "runs/detail/log.jsonl").read_text().splitlines()][6:]
    assert [r["step"] for r in resumed] == [7, 8] and all(r["style"] >= 0 for r in resumed)
    with pytest.raises(SystemExit, match="--channels"):
        main(get_args_parser().parse_args([*common, "--steps", "9", "--resume", "--channels", "16"]))
    with pytest.raises(SystemExit, match="B/"):
        main(get_args_parser().parse_args(["--pairs", str(tmp_path), "--steps", "1", "--runs", str(tmp_path / "r")]))


# ---------------------------------------------------------------- in the pipeline and the app


def two_stage_weights(folder):
    """weights/edges2cats (tiny, with coats) whose config names a tiny texture stage next to it."""
    from conftest import save_tiny_pix2pix
    from pix2pix_demo.hub import update_config

    save_tiny_pix2pix(folder / "edges2cats", seed=0, coats=True)
    update_config(folder / "edges2cats", detail="edges2cats-fur")
    save_model(tiny(seed=5), folder / "edges2cats-fur", {"task": "texture"})
    return folder


def drawing(width=90, height=64) -> Image.Image:
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).ellipse([10, 8, width - 10, height - 8], outline=0, width=2)
    return image


def test_pipeline_finds_the_texture_stage_next_to_the_model_and_can_leave_it_out(tmp_path):
    from pix2pix_demo.pipelines import Pix2PixPipeline

    weights = two_stage_weights(tmp_path)
    pipe = Pix2PixPipeline.from_pretrained(weights / "edges2cats")
    assert isinstance(pipe.detail, DetailGenerator)
    alone = Pix2PixPipeline.from_pretrained(weights / "edges2cats", detail=None)
    assert alone.detail is None
    sketch = drawing(64, 45)  # at the model's size, with an odd side for the stage
    textured, plain = pipe(sketch, coat="grey"), pipe(sketch, coat="grey", texture=False)
    assert textured.size == plain.size == (64, 45)
    assert np.array_equal(np.asarray(plain), np.asarray(alone(sketch, coat="grey")))
    assert not np.array_equal(np.asarray(textured), np.asarray(plain))
    assert np.array_equal(np.asarray(textured), np.asarray(pipe(sketch, coat="grey")))  # same fur every call
    assert pipe(drawing(), keep_input_size=True).size == (90, 64)
    # a config naming a stage that is not there: the first stage alone, no error
    (weights / "edges2cats-fur" / "config.json").unlink()
    assert Pix2PixPipeline.from_pretrained(weights / "edges2cats").detail is None


def test_app_pipeline_loads_the_texture_stage_through_the_registry(tmp_path, monkeypatch):
    from pix2pix_demo import registry
    from pix2pix_demo.ui import logic

    weights = two_stage_weights(tmp_path)
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(weights))
    monkeypatch.setattr(logic, "_pipelines", {})
    registry.refresh()
    try:
        keys = [key for _, key in logic.model_choices()]
        assert "edges2cats" in keys and "edges2cats-fur" not in keys  # the stage is not a model to choose
        pipe = logic.get_pipeline("edges2cats")
        assert isinstance(pipe.detail, DetailGenerator)
        image = logic.generate(drawing(), "edges2cats")
        assert image.mode == "RGB"
    finally:
        monkeypatch.undo()
        registry.refresh()


def test_model_card_describes_the_texture_stage(tmp_path):
    from pix2pix_demo.cards import model_card

    save_model(tiny(), tmp_path / "edges2cats-fur", {"label": "texture stage (fur)", "task": "texture"})
    card = model_card(tmp_path / "edges2cats-fur", repo_id="someone/edges2cats-fur")
    assert "A texture stage" in card and "texture-synthesis" in card
    assert 'detail="someone/edges2cats-fur"' in card and "texture=False" in card
    assert '"detail": "edges2cats-fur"' in card  # how the app finds it


def test_benchmark_times_the_model_with_its_texture_stage(tmp_path):
    from pix2pix_demo.benchmark import format_report, interleaved_forward_ms, pix2pix_models, texture_stages
    from pix2pix_demo.hub import load_local

    weights = two_stage_weights(tmp_path)
    assert list(pix2pix_models(weights)) == ["edges2cats"]  # the stage is not timed as a pix2pix model
    shipped = {name: load_local(folder) for name, folder in pix2pix_models(weights).items()}
    stages = texture_stages(shipped, weights)
    assert list(stages) == ["edges2cats + edges2cats-fur"]
    both = stages["edges2cats + edges2cats-fur"]
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = both.detail(both.first(x))
        assert torch.equal(both(x), expected) and not torch.equal(expected, both.first(x))
    times = interleaved_forward_ms({**shipped, **stages}, torch.device("cpu"), size=64, repeats=3, warmup=1)
    assert len(times["edges2cats + edges2cats-fur"]) == 3
    report = format_report({"pix2pix": {"device": "cpu", "torch_threads": 1, "paper_config_ms": 100.0,
                                        "paper_config_params_m": 54.4, "paper_config_peak_mb": 500,
                                        "paper_config_train_images_per_s": 1.0, "models": {},
                                        "with_texture": {"edges2cats + edges2cats-fur":
                                                         {"ms": 20.0, "speedup_vs_paper": 5.0, "params_m": 5.5}}}})
    assert "edges2cats + edges2cats-fur" in report


def test_style_loss_tells_real_texture_from_blur_and_noise():
    from train.detail import RandomFeatures, gram, style_loss

    extractor = RandomFeatures(channels=16)
    assert not any(p.requires_grad for p in extractor.parameters())  # fixed features: nothing to train
    sharp = torch.from_numpy(np.stack([np.asarray(cat_on_white(64, s)) for s in range(4)]).astype(np.float32))
    sharp = sharp.permute(0, 3, 1, 2) / 127.5 - 1
    blurred = torch.nn.functional.interpolate(torch.nn.functional.avg_pool2d(sharp, 4), scale_factor=4, mode="bilinear")
    noisy = blurred + 0.05 * torch.randn_like(blurred)
    assert style_loss(extractor, sharp, sharp).item() == 0.0
    assert style_loss(extractor, blurred, sharp) > 10 * style_loss(extractor, sharp + 0.01, sharp)
    assert style_loss(extractor, noisy, sharp) > 0.5 * style_loss(extractor, blurred, sharp)  # noise is not fur
    # covariance, not colour: a constant shift of the picture leaves the first level's Gram matrix alone
    first = extractor.convs[0]
    shifted = gram(torch.relu(first(sharp + 0.01))) - gram(torch.relu(first(sharp)))
    assert shifted.abs().max() < 0.05 * gram(torch.relu(first(sharp))).abs().max()
    fake = blurred.clone().requires_grad_(True)
    style_loss(extractor, fake, sharp).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
