"""Coat-colour domains for a StarGAN: the labelling rules and tool (train.data.coat_domains), the masked classical
recolour it is compared with (coat.match_chroma's weight), the background-only SSIM, and the evaluator
(train.eval.coat_stargan), on pictures and tiny models made here (no ../shared, no network)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo.coat import COATS, core_colour, match_chroma
from pix2pix_demo.hub import save_model
from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig
from pix2pix_demo.models.stargan import StarGANConfig, StarGANGenerator
from train.data.coat_domains import coat_domain, coat_features, coat_spread
from train.eval.pix2pix import ssim

DOMAINS = ("black", "ginger", "grey-tabby", "white-cream")


def cat_photo(coat, size=(64, 48), background=(40, 110, 60), seed=0, patches=False) -> tuple[np.ndarray, np.ndarray]:
    """A 'photo': a textured disc of `coat` (RGB 0..1) on a green ground, and its cat probability."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    disc = ((x - width / 2) ** 2 + (y - height / 2) ** 2) < (0.35 * min(size)) ** 2
    photo = np.empty((height, width, 3), np.float32)
    photo[:] = np.asarray(background, np.float32) / 255
    stripes = 1 + 0.15 * np.sin(x / 2.0)[..., None]
    photo[disc] = (np.asarray(coat, np.float32) * stripes)[disc]
    if patches:  # a black-and-white cat: half the disc white, half black
        photo[disc & (x < width / 2)] = 0.95
        photo[disc & (x >= width / 2)] = 0.05
    photo = np.clip(photo + rng.normal(0, 0.01, photo.shape), 0, 1)
    return np.round(photo * 255).astype(np.uint8), disc.astype(np.float32)


def test_coat_domains_follow_lightness_warmth_and_spread():
    assert coat_domain((0.12, 0.11, 0.10)) == "black"
    assert coat_domain(COATS["ginger"]) == "ginger"
    assert coat_domain((0.45, 0.44, 0.43)) == "grey-tabby"
    assert coat_domain((0.85, 0.83, 0.79)) == "white-cream"
    assert coat_domain(COATS["brown"]) is None  # between grey and ginger: left out, not mislabelled
    y, warmth, chroma = coat_features((0.5, 0.5, 0.5))
    assert y == pytest.approx(0.5, abs=1e-4) and abs(warmth) < 1e-4 and chroma < 1e-4
    plain, probability = cat_photo((0.45, 0.44, 0.43))
    mixed, _ = cat_photo((0.45, 0.44, 0.43), patches=True)
    assert coat_spread(plain, probability) < 0.1 < 0.3 < coat_spread(mixed, probability)
    assert coat_domain(core_colour(plain, probability), coat_spread(plain, probability)) == "grey-tabby"
    # a black-and-white cat's mean is grey, but it is no grey tabby
    assert coat_domain(core_colour(mixed, probability), coat_spread(mixed, probability)) is None
    assert coat_spread(plain, np.zeros_like(probability)) is None  # no sure cat


def test_coat_domains_tool_writes_labels_and_masks(tmp_path, monkeypatch):
    from pix2pix_demo import cutout
    from train.data import coat_domains

    photos = tmp_path / "cats" / "train"
    photos.mkdir(parents=True)
    coats = {"a": (0.1, 0.1, 0.1), "b": COATS["ginger"], "c": (0.45, 0.44, 0.43), "d": (0.86, 0.84, 0.8),
             "e": COATS["brown"]}
    probabilities = {}
    for name, coat in coats.items():
        photo, probability = cat_photo(coat, seed=len(probabilities))
        Image.fromarray(photo).save(photos / f"{name}.png")
        probabilities[photo.tobytes()] = probability
    (tmp_path / "heldout.txt").write_text("e.png\n")
    save_model(CatSegmenter(SegmenterConfig(channels=[2, 4])), tmp_path / "seg")
    monkeypatch.setattr(cutout, "segment", lambda model, photo: probabilities[np.asarray(photo).tobytes()])
    out = coat_domains.main(["--photos", str(photos), "--exclude", str(tmp_path / "heldout.txt"),
                             "--segmenter", str(tmp_path / "seg"), "--out", str(tmp_path / "labels")])
    rows = list(csv.DictReader(open(out)))
    assert [(row["path"].rsplit("/", 1)[1], row["domain"]) for row in rows] == [
        ("a.png", "black"), ("b.png", "ginger"), ("c.png", "grey-tabby"), ("d.png", "white-cream")]
    mask = np.asarray(Image.open(tmp_path / "labels" / rows[0]["mask"]))
    assert mask.shape == (48, 64) and mask.max() == 255 and mask.min() == 0
    assert float(rows[1]["warmth"]) > 0.12 and float(rows[0]["lightness"]) < 0.22


def test_match_chroma_with_a_weight_recolours_only_the_cat():
    photo, probability = cat_photo((0.45, 0.44, 0.43))
    out = match_chroma(photo, COATS["ginger"], weight=probability)
    outside = probability == 0
    assert np.abs(out[outside].astype(int) - photo[outside]).max() <= 1  # the background stays
    before, after = core_colour(photo, probability), core_colour(out, probability)
    assert coat_features(after)[1] > coat_features(before)[1] + 0.1  # warmer: ginger's hue
    assert abs(coat_features(after)[0] - coat_features(before)[0]) < 0.03  # the same lightness


def test_ssim_with_a_weight_scores_only_the_weighted_pixels():
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.random((1, 3, 40, 40)).astype(np.float32))
    y = x.clone()
    y[..., :, 20:] = torch.from_numpy(rng.random((1, 3, 40, 20)).astype(np.float32))  # the right half differs
    left = torch.zeros(40, 40)
    left[:, :10] = 1
    right = torch.zeros(40, 40)
    right[:, 30:] = 1
    assert ssim(x, y, weight=left) == pytest.approx(1.0, abs=1e-5)
    assert ssim(x, y, weight=right) < 0.2 < ssim(x, y) < 0.9


def make_heldout(root):
    """The evaluator's held-out layout: cats/test + cats/heldout.txt, cats-masked/images + its heldout.txt."""
    (root / "cats" / "test").mkdir(parents=True)
    (root / "cats-masked" / "images").mkdir(parents=True)
    probabilities = {}
    for i, coat in enumerate([(0.1, 0.1, 0.1), (0.45, 0.44, 0.43), COATS["ginger"]]):
        photo, probability = cat_photo(coat, size=(120, 90), seed=i)
        Image.fromarray(photo).save(root / "cats" / "test" / f"cat.{i}.png")
        probabilities[i] = probability
    photo, probability = cat_photo((0.85, 0.83, 0.8), size=(120, 90), seed=9)
    Image.fromarray(photo).save(root / "cats-masked" / "images" / "Bengal_1.png")
    (root / "cats" / "heldout.txt").write_text("cat.0.png\ncat.1.png\ncat.2.png\n")
    (root / "cats-masked" / "heldout.txt").write_text("Bengal_1\n")
    return probability  # every test photo has the same disc


def test_evaluator_scores_methods_on_heldout_photos(tmp_path, monkeypatch):
    from train.eval import coat_stargan as coat_stargan_eval

    disc = make_heldout(tmp_path / "data")
    labels = tmp_path / "labels.csv"
    centres = {"black": (0.12, 0.11, 0.1), "ginger": COATS["ginger"], "grey-tabby": (0.45, 0.44, 0.43),
               "white-cream": (0.84, 0.82, 0.78)}
    labels.write_text("path,domain,r,g,b\n" + "".join(f"x{d}.png,{d},{r},{g},{b}\n" for d, (r, g, b) in centres.items())
                      + "y.png,,,,\n")
    torch.manual_seed(0)
    model = StarGANGenerator(StarGANConfig(domains=DOMAINS, generator={"base_channels": 4, "num_blocks": 1},
                                           residual=True))
    save_model(model, tmp_path / "coats", {"resolution": 64, "inference_short_side": 64})
    save_model(CatSegmenter(SegmenterConfig(channels=[2, 4])), tmp_path / "seg")
    monkeypatch.setattr(coat_stargan_eval, "segment", lambda segmenter, photo: np.asarray(
        Image.fromarray((disc * 255).astype(np.uint8)).resize(photo.size, Image.BILINEAR), np.float32) / 255)
    report = coat_stargan_eval.main([str(tmp_path / "coats"), "--data", str(tmp_path / "data"), "--labels", str(labels),
                                     "--segmenter", str(tmp_path / "seg"), "--grid", str(tmp_path / "grid.png"),
                                     "--json", str(tmp_path / "r.json"), "--save-metrics"])
    assert report["photos"] == 4 and report["own_domains"] == {d: 1 for d in DOMAINS}
    for target in DOMAINS:  # every photo goes into the three domains that are not its own
        scores = report["targets"][target]
        assert {scores[m]["n"] for m in coat_stargan_eval.METHODS} == {3}
        assert scores["identity"]["hit"] == 0 and scores["identity"]["cat_l1"] == 0
        assert scores["identity"]["content_ssim"] == pytest.approx(1.0, abs=1e-6)
        assert scores["recolour"]["content_ssim"] < 0.999  # the recoloured cat is another picture
        assert scores["identity"]["bg_ssim"] == pytest.approx(1.0, abs=1e-6)
        # an untrained residual StarGAN returns the photo: it scores exactly as doing nothing
        assert scores["stargan"]["hit"] == 0 and scores["stargan"]["cat_l1"] == 0
        assert scores["recolour"]["dist"] < scores["identity"]["dist"]
        assert scores["recolour"]["bg_ssim"] > 0.99
    assert report["targets"]["black"]["recolour"]["hit"] == 1.0  # darkening a coat makes it black
    assert report["targets"]["ginger"]["chroma"]["hit"] > 0  # the grey cat turns ginger by its hue alone
    assert json.loads((tmp_path / "r.json").read_text())["mean"] == report["mean"]
    config = json.loads((tmp_path / "coats" / "config.json").read_text())
    assert config["metrics"]["heldout_coats"]["mean"] == report["mean"]
    assert config["domain_coats"]["black"] == [0.12, 0.11, 0.1]
    assert Image.open(tmp_path / "grid.png").size == (128 * 5, 16 + 3 * 128 * 4)  # StarGAN, its cat only, recolour

    coat_stargan_eval.main([str(tmp_path / "coats"), "--pictures", str(tmp_path / "data/cats/test/cat.1.png"),
                            "--grid", str(tmp_path / "pictures.png")])
    assert Image.open(tmp_path / "pictures.png").size == (85 * 5, 18 + 64)
    save_model(model, tmp_path / "bare", {"resolution": 64})  # no domain_coats in its config
    with pytest.raises(SystemExit, match="--labels"):
        coat_stargan_eval.main([str(tmp_path / "bare"), "--data", str(tmp_path / "data")])


def test_evaluator_scores_the_stargan_kept_on_the_cat_against_the_whole_picture(tmp_path, monkeypatch):
    """stargan-cat: the change kept on the cat (the app's default) changes the background far less than the
    StarGAN's whole picture, by the segmenter's mask and by the true trimap; the cat changes alike (no labels:
    the centres are the model's domain_coats)."""
    from train.eval import coat_stargan as coat_stargan_eval

    disc = make_heldout(tmp_path / "data")
    trimaps = tmp_path / "data" / "cats-masked" / "trimaps"
    trimaps.mkdir()
    Image.fromarray(np.where(disc >= 0.5, 1, 2).astype(np.uint8)).save(trimaps / "Bengal_1.png")  # the true mask
    torch.manual_seed(0)
    model = StarGANGenerator(StarGANConfig(domains=DOMAINS, generator={"base_channels": 4, "num_blocks": 1},
                                           residual=True))
    save_model(model, tmp_path / "coats", {"resolution": 64, "inference_short_side": 64,
                                          "domain_coats": {"black": [0.12, 0.11, 0.1], "ginger": list(COATS["ginger"]),
                                                           "grey-tabby": [0.45, 0.44, 0.43],
                                                           "white-cream": [0.84, 0.82, 0.78]}})
    save_model(CatSegmenter(SegmenterConfig(channels=[2, 4])), tmp_path / "seg")
    monkeypatch.setattr(coat_stargan_eval, "segment", lambda segmenter, photo: np.asarray(
        Image.fromarray((disc * 255).astype(np.uint8)).resize(photo.size, Image.BILINEAR), np.float32) / 255)
    darken = lambda model, photo, target: Image.fromarray(  # noqa: E731 - a stand-in "GAN" that darkens everything
        (np.asarray(photo, np.float32) * 0.5).astype(np.uint8))
    monkeypatch.setattr(coat_stargan_eval, "translate_image", darken)
    report = coat_stargan_eval.main([str(tmp_path / "coats"), "--data", str(tmp_path / "data"),
                                     "--segmenter", str(tmp_path / "seg"), "--kid"])
    whole, kept = report["mean"]["stargan"], report["mean"]["stargan-cat"]
    assert whole["bg_l1"] > 0.1 and kept["bg_l1"] < 0.2 * whole["bg_l1"]  # the background is kept
    assert whole["bg_l1_true"] > 0.1 and kept["bg_l1_true"] < 0.3 * whole["bg_l1_true"]  # by the true mask too
    assert kept["bg_ssim"] > whole["bg_ssim"]
    assert kept["cat_l1"] == pytest.approx(whole["cat_l1"], abs=0.02)  # the cat changes as much
    assert report["mean"]["identity"]["bg_l1"] == 0
    assert sum(report["targets"][t]["stargan"]["n_true"] for t in DOMAINS) == 3  # Bengal_1 into three coats
    assert report["kid_x1000"] == {}  # each coat has one held-out photo of its own: too few for a KID


def test_evaluator_scores_per_domain_models_beside_the_stargan(tmp_path, monkeypatch):
    """--per-domain DOMAIN=MODEL: a single-direction generator per target is a fifth method, scored only on
    the targets it has; the StarGAN's card keeps its own four methods."""
    from pix2pix_demo.models.resnet import ResnetConfig, ResnetGenerator
    from train.eval import coat_stargan as coat_stargan_eval

    disc = make_heldout(tmp_path / "data")
    labels = tmp_path / "labels.csv"
    centres = {"black": (0.12, 0.11, 0.1), "ginger": COATS["ginger"], "grey-tabby": (0.45, 0.44, 0.43),
               "white-cream": (0.84, 0.82, 0.78)}
    labels.write_text("path,domain,r,g,b\n" + "".join(f"x{d}.png,{d},{r},{g},{b}\n" for d, (r, g, b) in centres.items()))
    torch.manual_seed(0)
    save_model(StarGANGenerator(StarGANConfig(domains=DOMAINS, generator={"base_channels": 4, "num_blocks": 1},
                                              residual=True)), tmp_path / "coats",
               {"resolution": 64, "inference_short_side": 64})
    save_model(CatSegmenter(SegmenterConfig(channels=[2, 4])), tmp_path / "seg")
    # "others -> black": a generator whose last convolution paints every pixel near-black (tanh(-2.5) = -0.99)
    painter = ResnetGenerator(ResnetConfig(base_channels=4, num_blocks=1))
    last = [m for m in painter.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.fill_(-2.5)
    save_model(painter, tmp_path / "others2black", {"resolution": 64, "kind": "cyclegan"})
    monkeypatch.setattr(coat_stargan_eval, "segment", lambda segmenter, photo: np.asarray(
        Image.fromarray((disc * 255).astype(np.uint8)).resize(photo.size, Image.BILINEAR), np.float32) / 255)
    common = [str(tmp_path / "coats"), "--data", str(tmp_path / "data"), "--labels", str(labels),
              "--segmenter", str(tmp_path / "seg")]
    report = coat_stargan_eval.main(common + ["--per-domain", f"black={tmp_path / 'others2black'}",
                                              "--grid", str(tmp_path / "grid.png"), "--save-metrics"])
    black = report["targets"]["black"]
    assert black["per-domain"]["n"] == 3 and black["per-domain"]["hit"] == 1.0  # the painted coat is black
    assert black["per-domain"]["dist"] < black["identity"]["dist"]
    assert black["per-domain"]["bg_ssim"] < 0.5  # ... and so is the background: SSIM sees it
    assert all("per-domain" not in report["targets"][t] for t in ("ginger", "grey-tabby", "white-cream"))
    assert report["mean"]["per-domain"]["hit"] == 1.0  # the mean over the targets it was scored on
    assert report["per_domain_models"] == {"black": str(tmp_path / "others2black")}
    assert "per-domain" in report["ms_per_photo"]
    config = json.loads((tmp_path / "coats" / "config.json").read_text())
    assert set(config["metrics"]["heldout_coats"]["mean"]) == set(coat_stargan_eval.METHODS)
    assert Image.open(tmp_path / "grid.png").size == (128 * 5, 16 + 4 * 128 * 4)  # + the StarGAN's cat only

    coat_stargan_eval.main([str(tmp_path / "coats"), "--pictures", str(tmp_path / "data/cats/test/cat.1.png"),
                            "--per-domain", f"black={tmp_path / 'others2black'}", "--grid", str(tmp_path / "p.png")])
    sheet = np.asarray(Image.open(tmp_path / "p.png"))
    assert sheet.shape[:2] == (18 + 2 * 64, 85 * 5)
    assert sheet[18 + 64 + 32, 85 + 40].max() < 10  # the second row's Black column: the painter's output
    coat_stargan_eval.main([str(tmp_path / "coats"), "--pictures", str(tmp_path / "data/cats/test/cat.1.png"),
                            "--segmenter", str(tmp_path / "seg"), "--recolour-row", "--grid", str(tmp_path / "r.png")])
    sheet = np.asarray(Image.open(tmp_path / "r.png")).astype(float)
    assert sheet.shape[:2] == (18 + 2 * 64, 85 * 5)
    centre = sheet[18 + 64 + 32, 85 * 2 + 42], sheet[18 + 64 + 32, 85 * 1 + 42]  # the cat: ginger, black columns
    assert centre[0][0] - centre[0][2] > 40 and centre[1].max() < 90  # a warm coat, a dark one
    for bad, message in (("tabby=x", "not one of"), ("black", "DOMAIN=MODEL")):
        with pytest.raises(SystemExit, match=message):
            coat_stargan_eval.main(common + ["--per-domain", bad])


def test_evaluator_scores_a_before_model_in_the_same_run(tmp_path, monkeypatch):
    """--before MODEL: another StarGAN (today's, beside a new one) scored as 'before' and 'before-cat' on the same
    photos; the card keeps the new model's methods only; other domains are refused; --pictures gives it a row."""
    from train.eval import coat_stargan as coat_stargan_eval

    disc = make_heldout(tmp_path / "data")
    torch.manual_seed(0)
    coats = {"domain_coats": {"black": [0.12, 0.11, 0.1], "ginger": list(COATS["ginger"]),
                              "grey-tabby": [0.45, 0.44, 0.43], "white-cream": [0.84, 0.82, 0.78]}}
    tiny = {"base_channels": 4, "num_blocks": 1}
    save_model(StarGANGenerator(StarGANConfig(domains=DOMAINS, generator=tiny, residual=True)), tmp_path / "new",
               {"resolution": 64, "inference_short_side": 64, **coats})  # untrained, residual: the photo itself
    save_model(StarGANGenerator(StarGANConfig(domains=DOMAINS, generator=tiny)), tmp_path / "old",
               {"resolution": 64, "inference_short_side": 64})  # untrained, not residual: repaints everything
    save_model(StarGANGenerator(StarGANConfig(domains=("a", "b"), generator=tiny)), tmp_path / "other", {"resolution": 64})
    save_model(CatSegmenter(SegmenterConfig(channels=[2, 4])), tmp_path / "seg")
    monkeypatch.setattr(coat_stargan_eval, "segment", lambda segmenter, photo: np.asarray(
        Image.fromarray((disc * 255).astype(np.uint8)).resize(photo.size, Image.BILINEAR), np.float32) / 255)
    common = [str(tmp_path / "new"), "--data", str(tmp_path / "data"), "--segmenter", str(tmp_path / "seg")]
    report = coat_stargan_eval.main(common + ["--before", str(tmp_path / "old"), "--save-metrics"])
    mean = report["mean"]
    assert mean["stargan"]["bg_l1"] == 0 and mean["stargan"]["cat_l1"] == 0  # the new one: the photo
    assert mean["before"]["bg_l1"] > 0.05 and mean["before"]["cat_l1"] > 0.05  # the old one repaints
    assert mean["before-cat"]["bg_l1"] < 0.3 * mean["before"]["bg_l1"]  # kept on the cat, as stargan-cat
    assert {report["targets"][t]["before"]["n"] for t in DOMAINS} == {3} and report["before"] == str(tmp_path / "old")
    config = json.loads((tmp_path / "new" / "config.json").read_text())
    assert set(config["metrics"]["heldout_coats"]["mean"]) == set(coat_stargan_eval.METHODS)
    with pytest.raises(SystemExit, match="domains"):
        coat_stargan_eval.main(common + ["--before", str(tmp_path / "other")])
    coat_stargan_eval.main([str(tmp_path / "new"), "--pictures", str(tmp_path / "data/cats/test/cat.1.png"),
                            "--before", str(tmp_path / "old"), "--grid", str(tmp_path / "p.png")])
    sheet = np.asarray(Image.open(tmp_path / "p.png")).astype(float)
    assert sheet.shape[:2] == (18 + 2 * 64, 85 * 5)
    photo, old, new = sheet[18 + 32, 42], sheet[18 + 32, 85 + 42], sheet[18 + 64 + 32, 85 + 42]
    assert np.abs(new - photo).max() < 3 and np.abs(old - photo).max() > 10  # the old row first, then the new
