"""The cat/background segmenter, the cut-out helpers and the stock-style dataset builder, on generated fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import load_model
from pix2pix_demo.cutout import cut_out, iou, largest_component, mask_quality, segment, soft_alpha, square_box
from pix2pix_demo.hub import save_model
from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig

from test_train import run_cli

TINY = SegmenterConfig(channels=[4, 8, 8])


def cluttered_photo(size=(96, 80), seed=0, cat_box=(24, 16, 72, 68)) -> tuple[Image.Image, np.ndarray]:
    """A brown ellipse "cat" with a dark eye on a cluttered background of random rectangles, and its
    Oxford-style trimap (1 cat, 2 background, 3 a 2-px boundary band)."""
    rng = np.random.default_rng(seed)
    photo = Image.new("RGB", size, (90, 120, 90))
    draw = ImageDraw.Draw(photo)
    for _ in range(25):
        x, y = int(rng.integers(0, size[0])), int(rng.integers(0, size[1]))
        draw.rectangle([x, y, x + int(rng.integers(4, 20)), y + int(rng.integers(4, 20))],
                       fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    draw.ellipse(cat_box, fill=(170, 110, 60))
    draw.ellipse([cat_box[0] + 12, cat_box[1] + 12, cat_box[0] + 18, cat_box[1] + 18], fill=(20, 20, 20))
    trimap = Image.new("L", size, 2)
    ImageDraw.Draw(trimap).ellipse(cat_box, fill=3)
    ImageDraw.Draw(trimap).ellipse([cat_box[0] + 2, cat_box[1] + 2, cat_box[2] - 2, cat_box[3] - 2], fill=1)
    return photo, np.asarray(trimap)


def make_masked_folder(folder: Path, count: int = 6) -> Path:
    (folder / "images").mkdir(parents=True)
    (folder / "trimaps").mkdir()
    for i in range(count):
        photo, trimap = cluttered_photo(seed=i, cat_box=(20 + 2 * i, 14 + i, 70 + i, 66))
        photo.save(folder / "images" / f"Cat_{i}.jpg", quality=95)
        Image.fromarray(trimap).save(folder / "trimaps" / f"Cat_{i}.png")
    (folder / "heldout.txt").write_text("Cat_0\nCat_5\n")
    return folder


def test_segmenter_shapes_checks_and_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = CatSegmenter(TINY).eval()
    x = torch.randn(2, 3, 32, 48)
    out = model(x)
    assert out.shape == (2, 1, 32, 48) and torch.isfinite(out).all()
    assert torch.equal(out, model(x))  # eval mode: deterministic
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.randn(1, 3, 30, 32))
    save_model(model, tmp_path / "seg", {"task": "cat-segmentation"})
    loaded = load_model(tmp_path / "seg")
    assert type(loaded) is CatSegmenter and loaded.config.channels == [4, 8, 8]
    assert torch.equal(loaded(x), out)


def test_segment_returns_a_probability_map_at_the_photo_size():
    model = CatSegmenter(TINY).eval()
    photo, _ = cluttered_photo(size=(101, 67))
    probability = segment(model, photo, size=64)
    assert probability.shape == (67, 101) and probability.dtype == np.float32
    assert 0.0 <= probability.min() and probability.max() <= 1.0
    assert np.array_equal(probability, segment(model, photo, size=64))


def test_a_config_temperature_makes_the_segmenter_surer_without_moving_its_mask(tmp_path):
    torch.manual_seed(0)
    model = CatSegmenter(TINY).eval()
    save_model(model, tmp_path / "plain", {"task": "cat-segmentation"})
    save_model(model, tmp_path / "sharp", {"task": "cat-segmentation", "temperature": 3.0})
    photo, _ = cluttered_photo(size=(101, 67))
    plain = segment(load_model(tmp_path / "plain"), photo, size=64, flip=False)
    sharp = segment(load_model(tmp_path / "sharp"), photo, size=64, flip=False)
    assert np.array_equal(plain >= 0.5, sharp >= 0.5)  # the threshold does not move
    assert np.abs(sharp - 0.5).mean() > np.abs(plain - 0.5).mean()  # further from undecided everywhere
    save_model(model, tmp_path / "bad", {"task": "cat-segmentation", "temperature": 0})
    with pytest.raises(ValueError, match="temperature must be positive"):
        segment(load_model(tmp_path / "bad"), photo, size=64)


def test_mask_quality_accepts_a_clean_cat_and_rejects_doubt():
    yy, xx = np.mgrid[:100, :100]
    disk = ((yy - 50) ** 2 + (xx - 50) ** 2 < 30 ** 2).astype(np.float32)
    assert mask_quality(disk).ok
    assert not mask_quality(np.full((100, 100), 0.5, np.float32)).ok  # undecided everywhere
    assert "uncertain" in mask_quality(np.where(disk > 0, 0.55, 0.3).astype(np.float32)).reason
    two = disk.copy()
    two[:, :] = 0
    two[10:40, 10:40] = 1
    two[60:90, 60:90] = 1
    assert "main blob" in mask_quality(two).reason
    edge = np.zeros((100, 100), np.float32)
    edge[30:, :] = 1  # fills the bottom of the frame: a cut-off cat
    assert "frame" in mask_quality(edge).reason and mask_quality(edge).failed == "frame"
    assert mask_quality(two).failed == "blobs" and mask_quality(disk).failed == ""
    assert not mask_quality(np.zeros((100, 100), np.float32)).ok


def test_cut_out_puts_the_cat_on_white_in_a_square_around_it():
    photo, trimap = cluttered_photo(size=(120, 80), cat_box=(40, 20, 80, 60))
    mask = largest_component(trimap == 1)
    alpha = soft_alpha(mask, feather=0.01, erode=0.0)
    assert alpha.shape == mask.shape and alpha.max() == pytest.approx(1.0, abs=1e-3) and alpha.min() == 0.0
    assert ((alpha > 0.05) & (alpha < 0.95)).sum() > 20  # a soft border...
    assert iou(alpha > 0.5, mask) > 0.9  # ...around the same shape
    left, top, right, bottom = square_box(mask, margin=0.1)
    assert right - left == bottom - top and left < 42 and right > 78
    image = np.asarray(cut_out(photo, alpha, size=64, margin=0.1))
    assert image.shape == (64, 64, 3)
    assert (image[:3, :3] == 255).all() and (image[-3:, -3:] == 255).all()  # white corners, no clutter
    centre = image[28:36, 36:44].reshape(-1, 3).mean(axis=0)
    assert abs(centre[0] - 170) < 20 and abs(centre[2] - 60) < 20  # the cat's own colour inside
    assert iou(mask, trimap == 1) == 1.0 and iou(mask, np.zeros_like(mask)) == 0.0


def test_segmenter_training_smoke_run_and_evaluation(tmp_path):
    data = make_masked_folder(tmp_path / "masked")
    out = tmp_path / "seg"
    result = run_cli("train.segmenter", "--data", str(data), "--steps", "4", "--batch-size", "2", "--size", "32",
                     "--channels", "4,8,8", "--out", str(out), "--runs", str(tmp_path / "runs"), "--log-every", "2",
                     "--num-threads", "1")
    assert "4 training photos" in result.stdout  # Cat_0 and Cat_5 are held out
    config = json.loads((out / "config.json").read_text())
    assert config["model_type"] == "cat-segmenter" and config["data"]["photos"] == 4
    log = [json.loads(line) for line in (tmp_path / "runs" / "cat-segmenter" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4] and all(np.isfinite(r["loss"]) for r in log)
    report = run_cli("train.segmenter", "--data", str(data), "--evaluate", str(out), "--baseline", "grabcut").stdout
    scores = json.loads(report[report.index("{"):])
    assert scores["segmenter"]["photos"] == 2 and 0.0 <= scores["segmenter"]["mean_iou"] <= 1.0
    # GrabCut finds the plain brown ellipse among the clutter well: the baseline is a real one
    assert scores["grabcut"]["mean_iou"] > 0.5
    assert "heldout-iou" in json.loads((out / "config.json").read_text())["metrics"]
    # resuming with another architecture says which option changed
    clash = run_cli("train.segmenter", "--data", str(data), "--steps", "6", "--size", "32", "--channels", "4,8",
                    "--out", str(out), "--runs", str(tmp_path / "runs"), "--resume", check=False)
    assert clash.returncode != 0 and "--channels" in clash.stderr


def test_make_edges_dataset_cutout_mode_keeps_only_the_cats_lines(tmp_path):
    data = make_masked_folder(tmp_path / "masked")
    out = tmp_path / "stock"
    run_cli("train.data.edges", str(data / "images"), str(out), "--cutout", "--masks", str(data / "trimaps"),
            "--exclude", str(data / "heldout.txt"), "--prefix", "m-", "--size", "64", "--workers", "1",
            "--method", "canny")
    names = sorted(p.name for p in (out / "B").glob("*.png"))
    assert names == ["m-Cat_1.png", "m-Cat_2.png", "m-Cat_3.png", "m-Cat_4.png"]
    for name in names:
        photo = np.asarray(Image.open(out / "B" / name))
        edges = np.asarray(Image.open(out / "A" / name))
        assert photo.shape == (64, 64, 3) and edges.shape == (64, 64)
        background = photo.min(axis=2) >= 245
        assert background[:2].all() and background[-2:].all()  # the clutter is gone: white margins
        ink = edges < 128
        assert ink.any()
        # every line lies on or next to the cat, none out in the white
        near_cat = np.asarray(Image.fromarray((~background).astype(np.uint8) * 255).filter(
            __import__("PIL.ImageFilter", fromlist=["MaxFilter"]).MaxFilter(5))) > 0
        assert (ink & ~near_cat).sum() == 0
    info = json.loads((out / "dataset.json").read_text())
    assert info["photos"] == 4 and info["sources"][0]["cutout"] and info["sources"][0]["prefix"] == "m-"
    # a second source into the same folder is recorded next to the first
    segmenter = CatSegmenter(TINY).eval()
    save_model(segmenter, tmp_path / "seg")
    run_cli("train.data.edges", str(data / "images"), str(out), "--cutout", "--segmenter", str(tmp_path / "seg"),
            "--prefix", "s-", "--size", "64", "--workers", "1", "--method", "canny")
    info = json.loads((out / "dataset.json").read_text())
    assert [s["prefix"] for s in info["sources"]] == ["m-", "s-"]
    second = info["sources"][1]
    # an untrained segmenter is unsure: whatever it skips is counted with a reason
    assert second["photos"] + sum(second["skipped"].values()) == 6
    assert all(reason.split(" (")[0] == "unsure" and reason.split(" (")[1].rstrip(")") in
               {"no cat", "area", "uncertain", "blobs", "frame"} for reason in second["skipped"])
    bad = run_cli("train.data.edges", str(data / "images"), str(out), "--cutout", check=False)
    assert bad.returncode != 0 and "--masks" in bad.stderr


def test_pack_then_gpu_script_trains_from_the_pack(tmp_path):
    """The GPU command, run here on the CPU for two steps: pack -> edges recomputed -> fine-tune -> export."""
    import os
    import subprocess
    import sys

    from test_train import REPO

    data = make_masked_folder(tmp_path / "masked", count=4)
    dataset = tmp_path / "stock"
    run_cli("train.data.edges", str(data / "images"), str(dataset), "--cutout", "--masks",
            str(data / "trimaps"), "--size", "64", "--workers", "1", "--variants", "2")
    pack = tmp_path / "pack"
    run_cli("train.data.pack", str(dataset), str(pack))
    info = json.loads((pack / "pack.json").read_text())
    assert info["photos"] == 4 and info["variants"] == 2 and len(list(pack.glob("*.jpg"))) == 4
    too_big = run_cli("train.data.pack", str(dataset), str(tmp_path / "pack2"), "--budget-mb", "0.0001", check=False)
    assert too_big.returncode != 0 and "--quality" in too_big.stderr
    out = tmp_path / "gpu-out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "PACK": str(pack), "OUT": str(out),
           "DEVICE": "cpu", "STEPS": "2", "BATCH": "2", "WORKERS": "1", "DATA": str(tmp_path / "gpu-data")}
    result = subprocess.run(["bash", str(REPO / "train" / "gpu_edges2cats.sh")], env=env, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert len(list((tmp_path / "gpu-data" / "A").glob("*.png"))) == 8  # 4 photos x 2 edge variants
    config = json.loads((out / "edges2cats-gpu" / "config.json").read_text())
    assert config["training"]["steps"] == 2 and config["training"]["init_from"] == "weights/edges2cats"
    model = load_model(out / "edges2cats-gpu")
    assert model.config.base_channels == load_model(REPO / "weights" / "edges2cats").config.base_channels
    assert model.config.condition_channels == 3 and config["data"]["coat"] is True  # COAT=1: a coat colour, like the app's


def test_evaluate_on_cutouts_against_constant_images_and_background_cleanliness(tmp_path):
    from train.eval.pix2pix import outside_outline

    data = make_masked_folder(tmp_path / "masked")
    common = ["--data", str(data / "images"), "--cutout", "masks", "--masks", str(data / "trimaps"), "--json",
              "--grid", str(tmp_path / "grid.png")]
    scores = {}
    for baseline in ("grey", "white", "silhouette"):
        out = run_cli("train.eval.pix2pix", "--baseline", baseline, *common).stdout
        scores[baseline] = json.loads(out[out.index("{"):])
    assert all(s["pairs"] == 6 and s["cutout"] == "masks" for s in scores.values())
    # on a cat on white, the silhouette guess (true outline, mean cat colour) beats both flat images
    assert scores["silhouette"]["l1"] < min(scores["white"]["l1"], scores["grey"]["l1"])
    assert scores["silhouette"]["psnr"] > max(scores["white"]["psnr"], scores["grey"]["psnr"]) + 5
    # a flat fill has no fine texture inside the cat; the photos do
    assert scores["silhouette"]["texture_ratio"] < 0.05

    drawing = Image.new("L", (128, 128), 255)
    ImageDraw.Draw(drawing).ellipse([32, 32, 96, 96], outline=0, width=3)
    outside = outside_outline(drawing)
    assert outside[:10].all() and outside[:, :10].all() and not outside[54:74, 54:74].any()
    assert not outside[64, 27:101].any() and outside[64, :20].all()  # a margin is kept clear of the line
    (tmp_path / "drawings").mkdir()
    drawing.save(tmp_path / "drawings" / "circle.png")
    model_dir = tmp_path / "tiny"
    from pix2pix_demo.models import UNetConfig, UNetGenerator
    save_model(UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8)), model_dir,
               {"resolution": 64, "pad_fill": 1.0})
    out = run_cli("train.eval.pix2pix", "--model", str(model_dir), "--sketches", str(tmp_path / "drawings"),
                  "--grid", str(tmp_path / "drawings.png"), "--compare", str(model_dir),
                  "--save-metrics", "drawings").stdout
    result = json.loads(out[out.index("{"):])["background_cleanliness"]
    assert result["sketches"] == 1 and 0.0 <= result["mean"] <= 1.0
    assert Image.open(tmp_path / "drawings.png").width > 3 * 64  # drawing | model | compare
    assert json.loads((model_dir / "config.json").read_text())["metrics"]["drawings"]["mean"] == result["mean"]


def test_color_spread_tells_one_colour_for_all_from_colours_that_follow_the_data():
    from train.eval.pix2pix import color_spread, object_color

    def on_white(color):
        image = Image.new("RGB", (40, 40), "white")
        ImageDraw.Draw(image).rectangle([10, 10, 30, 30], fill=color)
        return image

    assert np.allclose(object_color(on_white((200, 40, 40))), np.array([200, 40, 40]) / 255, atol=1e-3)
    same = [object_color(on_white((120, 90, 60))) for _ in range(4)]
    varied = [object_color(on_white(c)) for c in ((240, 240, 230), (230, 120, 170), (40, 40, 40), (120, 90, 60))]
    assert color_spread(same) == 0.0 and color_spread(varied) > 0.2


def test_fine_detail_measures_texture_inside_the_object_not_its_outline():
    from train.eval.pix2pix import fine_detail

    flat = Image.new("RGB", (48, 48), "white")
    ImageDraw.Draw(flat).rectangle([8, 8, 40, 40], fill=(120, 90, 60))
    striped = flat.copy()
    draw = ImageDraw.Draw(striped)
    for x in range(8, 41, 2):
        draw.line([(x, 8), (x, 40)], fill=(60, 40, 30))
    mask = np.asarray(flat).min(axis=2) < 235
    assert fine_detail(flat, mask) == 0.0  # the square's outline is outside the shrunk mask
    assert fine_detail(striped, mask) > 0.1
    assert fine_detail(striped, np.zeros_like(mask)) == 0.0


def test_white_blotches_counts_white_paint_inside_the_object_only():
    from train.eval.pix2pix import white_blotches

    photo = Image.new("RGB", (48, 48), "white")
    ImageDraw.Draw(photo).rectangle([8, 8, 39, 39], fill=(120, 90, 60))  # 32x32, 26x26 once shrunk by 3 px
    mask = np.asarray(photo).min(axis=2) < 235
    assert white_blotches(photo, mask) == (0, 26 * 26)
    blotched = photo.copy()
    ImageDraw.Draw(blotched).rectangle([20, 20, 29, 29], fill=(245, 240, 236))  # a 10x10 highlight
    assert white_blotches(blotched, mask) == (100, 26 * 26)
    sheen = photo.copy()
    ImageDraw.Draw(sheen).rectangle([20, 20, 29, 29], fill=(250, 250, 200))  # bright but yellow: not white
    assert white_blotches(sheen, mask)[0] == 0
    assert white_blotches(Image.new("RGB", (48, 48), "white"), mask) == (26 * 26, 26 * 26)  # all white inside
    assert white_blotches(blotched, np.zeros_like(mask)) == (0, 0)


def test_close_up_window_is_a_square_around_the_face_that_the_cat_fills():
    from train.data.edges import CLOSE_UP_SCALES, close_up_window

    photo = Image.new("RGB", (400, 300))
    alpha = np.zeros((300, 400), np.float32)
    alpha[40:300, 80:330] = 1.0  # a cat filling most of the photo, cut by its bottom edge
    face = lambda image, scale, face_height_position: (150, 60, 250, 160)  # a 100-px face found
    for fraction in (0.0, 0.5, 0.99):
        box, status = close_up_window(photo, alpha, 128, fraction, face_box=face)
        assert status == "written"
        left, top, right, bottom = box
        side = right - left
        assert side == bottom - top  # square
        low, high = CLOSE_UP_SCALES
        assert round(100 * low) - 1 <= side <= round(100 * (low + (high - low) * fraction)) + 1
        assert 0 <= left and right <= 400 and 0 <= top and bottom <= 300  # inside the photo
        assert left <= 150 and right >= 250 and top <= 60 + 5 and bottom >= 160  # the face is in it
    # a larger fraction, a wider window
    small = close_up_window(photo, alpha, 128, 0.0, face_box=face)[0]
    large = close_up_window(photo, alpha, 128, 0.99, face_box=face)[0]
    assert large[2] - large[0] > small[2] - small[0]
    # refused: no face, a window to be enlarged too much, a window that is mostly background
    assert close_up_window(photo, alpha, 128, 0.5, face_box=lambda *a, **k: None) == (None, "no-face")
    assert close_up_window(photo, alpha, 512, 0.5, face_box=face)[1] == "close-up too small"
    empty = np.zeros_like(alpha)
    assert close_up_window(photo, empty, 128, 0.5, face_box=face)[1] == "close-up not mostly cat"


def test_close_up_window_takes_tighter_scales_and_the_cli_checks_them(tmp_path):
    from train.data.edges import close_up_window, get_args_parser, main

    photo = Image.new("RGB", (400, 300))
    alpha = np.ones((300, 400), np.float32)
    face = lambda image, scale, face_height_position: (150, 60, 250, 160)  # a 100-px face found
    box, status = close_up_window(photo, alpha, 64, 0.5, face_box=face, scales=(0.9, 0.9))
    assert status == "written" and box[2] - box[0] == 90  # the frame cuts into the face
    wide = close_up_window(photo, alpha, 64, 0.5, face_box=face, scales=(2.0, 2.0))[0]
    assert wide[2] - wide[0] == 200
    (tmp_path / "src").mkdir()
    photo.save(tmp_path / "src" / "a.png")
    for bad in ("1.4,0.9", "x", "0,1", "1"):
        args = get_args_parser().parse_args([str(tmp_path / "src"), str(tmp_path / "out"), "--cutout", "--masks",
                                             str(tmp_path), "--crop", "close-up", "--close-up-scales", bad])
        with pytest.raises(SystemExit, match="--close-up-scales wants"):
            main(args)
    args = get_args_parser().parse_args([str(tmp_path / "src"), str(tmp_path / "out"), "--close-up-scales", "1,2"])
    with pytest.raises(SystemExit, match="only applies with --crop close-up"):
        main(args)


def test_dataset_close_ups_is_the_share_of_close_up_pairs(tmp_path):
    from pix2pix_demo.data import DATASET_INFO, dataset_close_ups

    assert dataset_close_ups(tmp_path) == 0.0  # no dataset.json
    (tmp_path / DATASET_INFO).write_text(json.dumps({"sources": [
        {"prefix": "a-", "crop": "none", "cutout": True, "pairs": 300},
        {"prefix": "cu-", "crop": "close-up", "cutout": True, "pairs": 100}]}))
    assert dataset_close_ups(tmp_path) == 0.25
    (tmp_path / DATASET_INFO).write_text("not json")
    assert dataset_close_ups(tmp_path) == 0.0
    bad = run_cli("train.data.edges", str(tmp_path), str(tmp_path / "out"), "--crop", "close-up", check=False)
    assert bad.returncode != 0 and "--cutout" in bad.stderr
