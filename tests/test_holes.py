"""The enclosed-region finder (train.holes), the eval's --holes measure and train.pix2pix --lambda-holes."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo.data import PairedDataset
from train.holes import MIN_PIXELS, enclosed_regions, hole_scores, summarize, white_holes

OBJECT = (150, 60, 40)


def bag(size: int = 96, gap: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A handbag-like pair: the drawing (black lines on white) is a body rectangle and a handle ring above it;
    in the photo the body is filled, the handle a thick band, the hole inside it white."""
    drawing, photo = Image.new("RGB", (size, size), "white"), Image.new("RGB", (size, size), "white")
    d, p = ImageDraw.Draw(drawing), ImageDraw.Draw(photo)
    p.ellipse([20, 6, 76, 62], fill=OBJECT)
    p.ellipse([30, 16, 66, 52], fill="white")  # the hole
    p.rectangle([10, 40, 86, 90], fill=OBJECT)
    for box in ([20, 6, 76, 62], [30, 16, 66, 52]):
        d.ellipse(box, outline="black", width=1)
    d.rectangle([10, 40, 86, 90], outline="black", width=1)
    drawing = np.asarray(drawing).copy()
    if gap:  # a 1-px break in the hole's ring: the 1-px thickening of the lines closes it
        rows, cols = np.nonzero(drawing[:, 60:70].min(axis=2) < 128)
        drawing[rows[0], 60 + cols[0]] = 255
    return drawing, np.asarray(photo)


def test_enclosed_regions_finds_the_closed_ones_only():
    drawing = np.full((80, 80), 255, np.uint8)
    drawing[10:40, 10] = drawing[10:40, 40] = drawing[10, 10:41] = drawing[39, 10:41] = 0  # closed square
    drawing[50:60, 50] = drawing[50:60, 56] = drawing[50, 50:57] = drawing[59, 50:57] = 0  # closed, too small
    drawing[0:30, 60] = drawing[0:30, 75] = drawing[29, 60:76] = 0  # a U open to the border
    labels, count = enclosed_regions(drawing)
    assert count == 1 and labels.max() == 1
    inside = labels == 1
    assert inside[25, 25] and not inside[10, 10] and not inside[11, 11]  # the line and the pixel beside it: out
    assert inside.sum() == 26 * 27 >= MIN_PIXELS  # 28x29 inside the lines, less 1 px thickening on each side
    assert labels[15, 67] == 0 and labels[55, 53] == 0
    assert enclosed_regions(drawing, min_pixels=10)[1] == 2  # the small square counts when allowed
    assert enclosed_regions(np.full((40, 40), 255, np.uint8))[1] == 0


def test_white_holes_marks_the_region_white_in_the_photo_and_a_small_gap_does_not_open_it():
    for gap in (False, True):
        drawing, photo = bag(gap=gap)
        labels, count = enclosed_regions(drawing)
        assert count >= 2  # the hole, and the handle band / the body's parts (filled)
        holes = white_holes(drawing, photo)
        assert holes[34, 48] and not holes[75, 48] and not holes[2, 2]
        assert (photo[holes].min(axis=1) >= 230).all()  # only white pixels
        assert 400 < holes.sum() < 36 * 36


def test_hole_scores_and_summary():
    drawing, photo = bag()
    white_output = np.full_like(photo, 255)
    scores = hole_scores(drawing, photo, white_output)
    assert {s["white"] for s in scores} == {True, False}
    assert all(s["painted"] == 1.0 for s in scores)
    filled_output = photo.copy()
    filled_output[photo.min(axis=2) >= 230] = (200, 180, 170)  # paints the hole grey
    hole = next(s for s in hole_scores(drawing, photo, filled_output) if s["white"])
    assert hole["painted"] == 0.0
    half = filled_output.copy()
    half[:28] = 255  # the upper part of the hole white again, the lower grey
    scores = hole_scores(drawing, photo, half)
    hole = next(s for s in scores if s["white"])
    rows = np.nonzero(white_holes(drawing, photo))[0]
    assert hole["painted"] == pytest.approx((rows < 28).mean()) and 0.3 < hole["painted"] < 0.7
    assert hole["pixels"] == len(rows)
    summary = summarize(scores + [{"pixels": 100, "white": True, "painted": 1.0}])
    assert summary["white"]["regions"] == 2 and summary["white"]["mostly_white"] == 1
    assert summary["white"]["painted_white"] == pytest.approx((hole["painted"] + 1) / 2, abs=1e-4)
    pooled = (hole["painted"] * hole["pixels"] + 100) / (hole["pixels"] + 100)
    assert summary["white"]["pixels_painted_white"] == pytest.approx(pooled, abs=1e-4)
    assert summarize([])["white"] == {"regions": 0, "painted_white": None, "pixels_painted_white": None,
                                      "median_painted": None, "mostly_white": 0}


def test_paired_dataset_returns_the_hole_map_cropped_and_flipped_with_the_pair():
    drawing, photo = (np.pad(x, ((0, 0), (0, 40), (0, 0)), constant_values=255) for x in bag())  # hole left
    pairs = [(drawing, photo)] * 8
    plain = PairedDataset(pairs, size=64, jitter=1.1, seed=3)
    marked = PairedDataset(pairs, size=64, jitter=1.1, seed=3, holes=white_holes)
    sides = set()
    for i in range(8):
        a, b = plain[i]
        a2, b2, holes = marked[i]
        assert torch.equal(a, a2) and torch.equal(b, b2)  # the same pair: the map draws no random numbers
        assert holes.shape == (1, 64, 64) and set(holes.unique().tolist()) == {0.0, 1.0}
        inside = holes[0] > 0
        assert (b2[:, inside].min(dim=0).values > 0.7).all()  # white in the (augmented) target
        assert (a2[:, inside].min(dim=0).values > 0.5).all()  # no line under it
        sides.add(bool(inside[:, :32].sum() > inside[:, 32:].sum()))
    assert sides == {True, False}  # some pairs flipped, the map with them
    coat = PairedDataset(pairs, size=64, coat=True, recolour=0.0, holes=white_holes)
    assert len(coat[0]) == 4 and coat[0][2].shape == (3,) and coat[0][3].shape == (1, 64, 64)


def test_holes_terms_weigh_only_the_marked_pixels():
    from train.harness.pretrained import lowpass
    from train.pix2pix import holes_terms

    args = argparse.Namespace(lambda_holes=3.0, lambda_l1=15.0, lambda_lowfreq=80.0, lowfreq_pool=8, lowfreq_filter="box")
    real = torch.zeros(2, 3, 32, 32)
    holes = torch.zeros(2, 1, 32, 32)
    holes[0, :, 8:16, 8:16] = 1
    fake = real.clone()
    fake[:, :, 24:, 24:] = 0.5  # wrong outside the hole only
    extra = {}
    assert float(holes_terms(args, fake, real, holes, extra)) == 0.0 and extra["loss_holes"] == 0.0
    fake = real.clone()
    fake[0, :, 8:16, 8:16] = 1.0  # wrong on the hole: 64 pixels x 3 channels of 2 x 3 x 1024
    expected_l1 = 64 * 3 / (2 * 3 * 1024)
    expected_low = float((lowpass(fake, 8) * lowpass(holes, 8)).mean())
    loss = holes_terms(args, fake, real, holes, extra)
    assert extra["loss_holes"] == pytest.approx(expected_l1)
    assert float(loss) == pytest.approx(3 * 15 * expected_l1 + 3 * 80 * expected_low, rel=1e-5)
    args.lambda_lowfreq = 0.0
    assert float(holes_terms(args, fake, real, holes, {})) == pytest.approx(3 * 15 * expected_l1)


def make_bags(folder, count: int = 8):
    folder.mkdir(parents=True)
    for i in range(count):
        drawing, photo = bag(gap=i % 2 == 1)
        ab = np.concatenate([photo, drawing], axis=1)  # A = photo, B = drawing: BtoA, as edges2products
        Image.fromarray(ab).save(folder / f"{i:02d}.png")
    return folder


def test_training_with_lambda_holes_records_it_and_the_refusals(tmp_path):
    from tests.test_train import TINY_ARGS, run_cli

    data = make_bags(tmp_path / "bags")
    common = ["--data", str(data), "--direction", "BtoA", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
              *TINY_ARGS, "--log-every", "1", "--steps", "3"]
    run_cli("train.pix2pix", *common, "--name", "holes", "--lambda-holes", "2", "--lambda-lowfreq", "10",
            "--lowfreq-pool", "4", "--augment-edges")
    config = json.loads((tmp_path / "w" / "holes" / "config.json").read_text())
    assert config["training"]["lambda_holes"] == 2.0 and "white_holes" in config["training"]["holes"]
    log = [json.loads(line) for line in (tmp_path / "r" / "holes" / "log.jsonl").read_text().splitlines()]
    assert all(row["loss_holes"] > 0 for row in log)
    run_cli("train.pix2pix", *common, "--name", "plain")
    plain = json.loads((tmp_path / "w" / "plain" / "config.json").read_text())
    assert "lambda_holes" not in plain["training"]
    result = run_cli("train.pix2pix", *common, "--name", "neg", "--lambda-holes", "-1", check=False)
    assert result.returncode != 0 and "--lambda-holes is a weight" in result.stderr
    result = run_cli("train.pix2pix", "--task", "colourize", "--data", str(tmp_path), "--name", "c", "--steps", "1",
                     "--lambda-holes", "1", check=False)
    assert result.returncode != 0 and "--lambda-holes is for line drawings" in result.stderr


def test_evaluate_holes_counts_and_paints(tmp_path):
    from train.eval.pix2pix import get_args_parser, evaluate

    data = make_bags(tmp_path / "bags")
    common = ["--data", str(data), "--direction", "BtoA", "--holes", "--no-kid", "--grid", str(tmp_path / "g.png")]
    white = evaluate(get_args_parser().parse_args(["--baseline", "white", *common]))["holes"]
    grey = evaluate(get_args_parser().parse_args(["--baseline", "grey", *common]))["holes"]
    assert white["white"]["regions"] == grey["white"]["regions"] == 8  # one handle hole per bag
    assert white["filled"]["regions"] == grey["filled"]["regions"] >= 8
    assert white["white"]["painted_white"] == white["filled"]["painted_white"] == 1.0
    assert white["white"]["mostly_white"] == 8
    assert grey["white"]["painted_white"] == grey["filled"]["pixels_painted_white"] == 0.0
    assert "holes" not in evaluate(get_args_parser().parse_args(["--baseline", "white", *common[:-4], "--no-kid",
                                                                 "--grid", str(tmp_path / "g.png")]))
