"""The fur finish (pix2pix_demo.fur): line integral convolution strands inside a cat on a white page,
and its place in Pix2PixPipeline. Tiny pictures and models made here (no ../shared, no network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo.fur import FurSettings, cat_mask, fur_finish, line_integral_convolution, outward_flow
from pix2pix_demo.hub import save_model
from pix2pix_demo.models import UNetConfig, UNetGenerator
from pix2pix_demo.pipelines import Pix2PixPipeline


def disc_cat(size: int = 96, colour=(150, 110, 70), eye: bool = False, chest: bool = False) -> np.ndarray:
    """A smooth brown disc on a white page (uint8 HxWx3); optionally a dark eye dot and a white chest."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse([8, 8, size - 8, size - 8], fill=colour)
    if chest:
        draw.ellipse([size // 2 - 8, size // 2 + 10, size // 2 + 8, size // 2 + 26], fill="white")
    if eye:
        draw.ellipse([size // 2 - 22, size // 2 - 16, size // 2 - 14, size // 2 - 8], fill=(10, 10, 10))
    return np.asarray(image)


def test_the_cat_mask_is_what_is_not_page_white_holes_included():
    rgb = disc_cat(chest=True)
    mask = cat_mask(rgb)
    assert mask[48, 48] == 1 and mask[48 + 18, 48] == 1  # the disc and its white chest (a hole: not page)
    assert mask[2, 2] == 0 and mask[48, 2] == 0  # the page around it
    assert mask.sum() == pytest.approx(np.pi * 40 ** 2, rel=0.06)


def test_the_finish_adds_strands_inside_and_leaves_the_page_exactly():
    rgb = disc_cat()
    out = fur_finish(rgb)
    page = cat_mask(rgb) == 0
    assert np.array_equal(out[page], rgb[page])
    inner = (slice(28, 68), slice(28, 68))
    assert np.abs(out[inner].astype(int) - rgb[inner].astype(int)).mean() > 3  # the flat disc changed
    assert rgb[inner].mean(axis=2).std() == 0 and out[inner].mean(axis=2).std() > 8  # it now has texture
    # the colour stays the disc's: strands lighten and darken around it
    assert np.abs(out[inner].reshape(-1, 3).mean(0) - rgb[inner].reshape(-1, 3).mean(0)).max() < 12


def test_a_light_coat_gets_fainter_strands_that_lighten_as_much_as_they_darken():
    inner = (slice(28, 68), slice(28, 68))
    change = {}
    for name, colour in (("mid", (120, 120, 120)), ("light", (215, 212, 205))):
        rgb = disc_cat(colour=colour)
        out = fur_finish(rgb).astype(np.float32)[inner].mean(axis=2)
        base = rgb[inner].astype(np.float32).mean(axis=2)
        change[name] = np.abs(out - base).mean()
        if name == "light":  # no dark scratches: the mean stays the coat's and little reaches white
            assert abs(out.mean() - base.mean()) < 2 and (out >= 254).mean() < 0.01
    assert change["light"] < 0.6 * change["mid"] and change["light"] > 0.5  # fainter, but strands still


def test_strands_run_away_from_the_middle():
    out = fur_finish(disc_cat(), FurSettings(amount=0.5)).astype(np.float32).mean(axis=2)
    # right of the middle the strands run left-right: the picture changes less along x than along y
    patch = out[40:56, 64:80]
    along = np.abs(np.diff(patch, axis=1)).mean()
    across = np.abs(np.diff(patch, axis=0)).mean()
    assert along < 0.7 * across
    # below the middle they run up-down
    patch = out[64:80, 40:56]
    assert np.abs(np.diff(patch, axis=0)).mean() < 0.7 * np.abs(np.diff(patch, axis=1)).mean()


def test_the_pictures_own_features_are_kept():
    rgb = disc_cat(eye=True)
    out = fur_finish(rgb).astype(int)
    change = np.abs(out - rgb.astype(int)).mean(axis=2)
    eye = change[48 - 15:48 - 9, 48 - 21:48 - 15]  # inside the dark dot
    flat = change[56:72, 56:72]
    assert eye.mean() < 0.5 * flat.mean()


def test_the_finish_is_deterministic_per_seed():
    rgb = disc_cat()
    assert np.array_equal(fur_finish(rgb), fur_finish(rgb))
    assert not np.array_equal(fur_finish(rgb), fur_finish(rgb, FurSettings(seed=1)))
    blank = np.full((32, 32, 3), 255, np.uint8)
    assert np.array_equal(fur_finish(blank), blank)  # nothing drawn: nothing to add
    with pytest.raises(ValueError, match="RGB"):
        fur_finish(np.zeros((8, 8), np.uint8))


def test_line_integral_convolution_smooths_along_the_flow_only():
    noise = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    ones, zeros = np.ones((64, 64), np.float32), np.zeros((64, 64), np.float32)
    streaks = line_integral_convolution(noise, ones, zeros, length=6)  # flow along x
    assert np.abs(np.diff(streaks, axis=1)).mean() < 0.4 * np.abs(np.diff(streaks, axis=0)).mean()
    fx, fy = outward_flow(cat_mask(disc_cat()))
    assert fx[48, 80] > 0.9 and fy[80, 48] > 0.9 and fx[48, 16] < -0.9  # away from the middle
    fx, fy = outward_flow(np.ones((40, 40), np.float32))  # a cat filling the picture: towards the frame
    assert np.isfinite(fx).all() and fx[20, 36] > 0.9 and fy[4, 20] < -0.9


@pytest.mark.parametrize("value, expected", [(None, None), (False, None), ({"amount": 0}, None),
                                             (True, FurSettings()), ({}, FurSettings()),
                                             ({"amount": 0.2, "length": 4}, FurSettings(amount=0.2, length=4))])
def test_config_values(value, expected):
    assert FurSettings.from_config(value) == expected


@pytest.mark.parametrize("value, message", [({"colour": 1}, "unknown keys"), ("yes", "must be an object"),
                                            ({"length": 0}, "out of range")])
def test_bad_config_values_say_what_is_wrong(value, message):
    with pytest.raises(ValueError, match=message):
        FurSettings.from_config(value)


def test_a_model_whose_config_asks_for_fur_gets_it_in_calls_and_batches(tmp_path):
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32))
    save_model(model, tmp_path / "furry", {"resolution": 32, "fur": {"amount": 0.3, "length": 3}})
    save_model(model, tmp_path / "plain", {"resolution": 32})
    furry = Pix2PixPipeline.from_pretrained(tmp_path / "furry")
    plain = Pix2PixPipeline.from_pretrained(tmp_path / "plain")
    drawing = Image.fromarray(disc_cat(32))
    alone = plain(drawing)
    assert np.array_equal(np.asarray(furry(drawing, fur=False)), np.asarray(alone))
    expected = fur_finish(np.asarray(alone), FurSettings(amount=0.3, length=3))
    assert not np.array_equal(expected, np.asarray(alone))
    assert np.array_equal(np.asarray(furry(drawing)), expected)
    assert np.abs(np.asarray(furry.batch([drawing])[0]).astype(int) - expected.astype(int)).max() <= 2
    # a model without "fur" gets it only when asked, with the default settings
    assert np.array_equal(np.asarray(plain(drawing, fur=True)), fur_finish(np.asarray(alone)))


def test_the_evaluator_adds_the_finish_when_asked(tmp_path):
    from test_train import run_cli

    drawing = Image.new("L", (64, 64), 255)
    ImageDraw.Draw(drawing).ellipse([12, 12, 52, 52], outline=0, width=2)
    (tmp_path / "drawings").mkdir()
    drawing.save(tmp_path / "drawings" / "circle.png")
    torch.manual_seed(0)
    save_model(UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8)), tmp_path / "tiny",
               {"resolution": 64})
    grids = {}
    for flag in ("--fur", "--no-fur", None):
        grid = tmp_path / f"{flag}.png"
        run_cli("train.eval.pix2pix", "--model", str(tmp_path / "tiny"), "--sketches", str(tmp_path / "drawings"),
                "--grid", str(grid), *([flag] if flag else []))
        grids[flag] = np.asarray(Image.open(grid))
    assert np.array_equal(grids["--no-fur"], grids[None])  # the config asks for none
    assert not np.array_equal(grids["--fur"], grids[None])


def test_the_model_card_describes_the_finish_only_when_the_config_turns_it_on(tmp_path):
    from pix2pix_demo.cards import model_card
    from tests.conftest import save_tiny_pix2pix

    save_tiny_pix2pix(tmp_path / "furry", coats=True, fur=True)
    save_tiny_pix2pix(tmp_path / "plain", coats=True)
    card = model_card(tmp_path / "furry")
    assert "## Fur finish" in card and "amount 0.2, half-length 4 px" in card and "fur=False" in card
    assert "## Fur finish" not in model_card(tmp_path / "plain")
