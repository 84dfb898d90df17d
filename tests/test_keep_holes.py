"""The hole guess (pix2pix_demo.holes): region features, the config entry, the white blend, its place in
Pix2PixPipeline and the evaluator, and its fit (train.holes). Tiny drawings and models made here."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter

from pix2pix_demo.holes import (FEATURES, HoleSettings, config_holes, enclosed_regions, hole_probabilities,
                                keep_holes_open, region_features)
from pix2pix_demo.hub import save_model
from pix2pix_demo.models import UNetConfig, UNetGenerator
from pix2pix_demo.pipelines import Pix2PixPipeline

GREY = (150, 140, 130)


def ring_bag(size: int = 128) -> np.ndarray:
    """A handbag drawing (uint8 HxWx3, black 2-px lines on white): a body box and, above it, a handle ring
    whose hole (the inner disc) is small against the object."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse([34, 6, 94, 66], outline="black", width=2)
    draw.ellipse([44, 16, 84, 56], outline="black", width=2)
    draw.rectangle([12, 50, 116, 120], fill="white", outline="black", width=2)
    return np.asarray(image)


def box(size: int = 128) -> np.ndarray:
    """A filled box's drawing: one outline, one enclosed region (the object itself)."""
    image = Image.new("RGB", (size, size), "white")
    ImageDraw.Draw(image).rectangle([20, 20, 108, 108], outline="black", width=2)
    return np.asarray(image)


# hand-set: a region is a hole when it is a small share of the object and compact (not a thin band)
SMALL_SHARE = {"features": ["share_of_object", "compactness"], "mean": [0.3, 0.9], "scale": [0.1, 0.1],
               "weights": [-5.0, 5.0], "bias": 0.0, "threshold": 0.5, "feather": 2}


def test_the_ring_s_hole_and_the_box_are_found_with_their_geometry():
    labels, count, features = region_features(ring_bag())
    assert count == 3  # the hole, the handle's band above the body, the body
    assert features.shape == (3, len(FEATURES)) and np.isfinite(features).all()
    hole = labels[36, 64]
    f = dict(zip(FEATURES, features[hole - 1]))
    body = dict(zip(FEATURES, features[labels[100, 64] - 1]))
    band = dict(zip(FEATURES, features[labels[10, 64] - 1]))
    assert 0.05 < f["share_of_object"] < 0.2 and body["share_of_object"] > 0.5
    assert f["compactness"] > 0.7 > band["compactness"]  # a disc against a thin crescent
    assert f["rel_y"] < 0.3 < body["rel_y"] and f["off_centre"] < 0.05
    assert f["band_mean"] > band["band_mean"]  # the hole is ringed by the band; the band touches the outside
    assert f["painted"] == 0 and f["brightness"] == 0  # no network picture given
    _, count, features = region_features(box(), np.full((128, 128, 3), 255, np.uint8))
    assert count == 1 and features[0, FEATURES.index("painted")] == 1.0
    assert features[0, FEATURES.index("share_of_object")] > 0.8  # all but its lines
    assert region_features(np.full((64, 64, 3), 255, np.uint8))[1] == 0


def test_the_guessed_hole_is_whitened_feathered_and_the_lines_and_the_box_are_kept():
    settings = HoleSettings.from_config(SMALL_SHARE)
    drawing = ring_bag()
    output = np.full(drawing.shape, GREY, np.uint8)  # the network filled everything
    output[drawing.min(axis=2) < 128] = 0  # and drew the lines
    labels, probabilities = hole_probabilities(drawing, output, settings)
    hole = labels[36, 64]
    assert probabilities[hole - 1] > 0.9 and probabilities[labels[100, 64] - 1] < 0.1
    result = keep_holes_open(output, drawing, settings)
    assert (result[30:42, 58:70] == 255).all()  # the hole's middle: white
    inside = labels == hole
    assert (result[inside].min(axis=1) > GREY[0]).all()  # all of the hole lighter, the edge feathered
    assert (result[inside] < 255).any()
    near = np.asarray(Image.fromarray(inside).filter(ImageFilter.MaxFilter(3)))  # the hole and the 1-px band beside it
    assert np.array_equal(result[~near], output[~near])  # the handle's band, the body, the page: untouched
    lines = drawing.min(axis=2) < 128
    assert np.array_equal(result[lines], output[lines]) and (result[near & ~inside & ~lines] > GREY[0]).all()
    boxed = np.full((128, 128, 3), GREY, np.uint8)
    assert np.array_equal(keep_holes_open(boxed, box(), settings), boxed)
    # a drawing of another size is fitted to the picture first
    big = np.asarray(Image.fromarray(drawing).resize((256, 256), Image.NEAREST))
    assert (keep_holes_open(output, big, settings)[30:42, 58:70] == 255).all()


def test_the_network_s_paint_can_carry_the_guess():
    settings = HoleSettings.from_config({"features": ["painted"], "mean": [0.5], "scale": [0.25], "weights": [4.0],
                                         "bias": 0.0, "threshold": 0.8})
    drawing = box()
    half = np.full((128, 128, 3), GREY, np.uint8)
    assert hole_probabilities(drawing, half, settings)[1][0] < 0.2
    half[:, :110] = 250  # mostly painted whitish: the guess is sure, the rest is whitened too
    assert hole_probabilities(drawing, half, settings)[1][0] > 0.9
    assert (keep_holes_open(half, drawing, settings)[60, 100] == 255).all()


@pytest.mark.parametrize("value", [None, False])
def test_no_guess_in_the_config(value):
    assert HoleSettings.from_config(value) is None and config_holes({"holes": value}) is None


@pytest.mark.parametrize("value, message", [
    ("yes", "must be an object"), ({"features": []}, "no \"features\""),
    ({**SMALL_SHARE, "features": ["colour"]}, "unknown features"),
    ({**SMALL_SHARE, "weights": [1.0]}, "1 numbers for 2 features"),
    ({**SMALL_SHARE, "scale": [1.0, 0.0]}, "positive"), ({**SMALL_SHARE, "threshold": 0}, "out of range")])
def test_bad_config_values_say_what_is_wrong_and_describing_a_model_ignores_them(value, message):
    with pytest.raises(ValueError, match=message):
        HoleSettings.from_config(value)
    assert config_holes({"holes": value}) is None
    assert config_holes({}) is None and config_holes({"holes": SMALL_SHARE}) == HoleSettings.from_config(SMALL_SHARE)


def test_a_model_whose_config_holds_a_guess_keeps_holes_in_calls_and_batches(tmp_path):
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32))
    save_model(model, tmp_path / "holes", {"resolution": 128, "holes": SMALL_SHARE})
    save_model(model, tmp_path / "plain", {"resolution": 128})
    with_guess = Pix2PixPipeline.from_pretrained(tmp_path / "holes")
    plain = Pix2PixPipeline.from_pretrained(tmp_path / "plain")
    drawing = Image.fromarray(ring_bag())
    alone = np.asarray(plain(drawing))
    assert np.array_equal(np.asarray(with_guess(drawing, holes=False)), alone)
    expected = keep_holes_open(alone, ring_bag(), HoleSettings.from_config(SMALL_SHARE))
    assert not np.array_equal(expected, alone)
    assert np.array_equal(np.asarray(with_guess(drawing)), expected)
    assert np.abs(np.asarray(with_guess.batch([drawing])[0]).astype(int) - expected.astype(int)).max() <= 2
    assert np.array_equal(np.asarray(plain(drawing, holes=True)), alone)  # no coefficients: nothing to apply


def test_the_fit_separates_a_learnable_table_and_picks_a_threshold_on_held_out_pictures():
    from train.holes import fit_guess

    rng = np.random.default_rng(0)
    n = 800
    white = rng.random(n) < 0.2
    features = rng.normal(size=(n, len(FEATURES))).astype(np.float32)
    features[:, FEATURES.index("share_of_object")] = np.where(white, 0.1, 0.6) + rng.normal(0, 0.08, n)
    table = {"features": features, "white": white, "picture": np.arange(n) // 2, "pixels": np.full(n, 500)}
    entry = fit_guess(table, max_filled=0.02)
    settings = HoleSettings.from_config(entry)
    assert settings.weights[FEATURES.index("share_of_object")] < -1  # the informative feature, with its sign
    fit = entry["fit"]
    assert fit["held_out_regions"] == int((table["picture"] % 4 == 0).sum())
    assert fit["at_threshold"]["filled_guessed"] <= 0.02 and fit["at_threshold"]["recall"] > 0.8
    assert fit["held_out_log_loss"] < fit["base_rate_log_loss"]


def test_the_evaluator_switches_the_guess(tmp_path):
    from tests.test_holes import make_bags
    from train.eval.pix2pix import evaluate, get_args_parser

    data = make_bags(tmp_path / "bags")
    torch.manual_seed(0)
    save_model(UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8)), tmp_path / "tiny",
               {"resolution": 96, "holes": SMALL_SHARE})
    common = ["--model", str(tmp_path / "tiny"), "--data", str(data), "--direction", "BtoA", "--holes", "--no-kid",
              "--grid", str(tmp_path / "g.png")]
    on = evaluate(get_args_parser().parse_args(common))
    off = evaluate(get_args_parser().parse_args([*common, "--no-keep-holes"]))
    assert on["keep_holes"] and not off["keep_holes"]
    assert on["holes"]["white"]["painted_white"] > off["holes"]["white"]["painted_white"]
    assert on["holes"]["white"]["mostly_white"] == 8


def test_the_model_card_describes_the_guess_only_when_the_config_holds_one(tmp_path):
    from pix2pix_demo.cards import model_card
    from pix2pix_demo.hub import update_config
    from tests.conftest import save_tiny_pix2pix

    save_tiny_pix2pix(tmp_path / "holes", coats=True)
    update_config(tmp_path / "holes", holes=SMALL_SHARE)
    save_tiny_pix2pix(tmp_path / "plain", coats=True)
    card = model_card(tmp_path / "holes")
    assert "## Holes kept open" in card and "at least 0.5" in card and "holes=False" in card
    assert "## Holes kept open" not in model_card(tmp_path / "plain")


def test_train_holes_reuses_the_library_s_finder():
    import train.holes

    assert train.holes.enclosed_regions is enclosed_regions



def test_a_fine_tune_keeps_the_guess(tmp_path):
    from train.harness import carried_settings

    torch.manual_seed(0)
    save_model(UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8)), tmp_path / "m",
               {"resolution": 64, "holes": SMALL_SHARE, "training": {"steps": 3}})
    assert carried_settings(tmp_path / "m") == {"holes": SMALL_SHARE}  # how the app runs it, not how it trained
