"""pix2pix_demo.edges on synthetic drawings (no data sets, no network)."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pix2pix_demo.edges import (EDGE_METHODS, augment_edges, cat_face_crop_box, edge_match,
                                extract_edges, is_blank, normalize_sketch, thin)


def shapes_photo(size=(200, 160), mode="RGB") -> Image.Image:
    """A dark disc and a blue rectangle on a light grey background, plus the true outline mask."""
    image = Image.new("RGB", size, (220, 220, 215))
    draw = ImageDraw.Draw(image)
    draw.ellipse((20, 30, 100, 110), fill=(40, 40, 40))
    draw.rectangle((120, 40, 180, 130), fill=(30, 60, 200))
    return image.convert(mode) if mode != "RGB" else image


def true_outline(size=(200, 160)) -> np.ndarray:
    outline = Image.new("L", size, 0)
    draw = ImageDraw.Draw(outline)
    draw.ellipse((20, 30, 100, 110), outline=255)
    draw.rectangle((120, 40, 180, 130), outline=255)
    return np.asarray(outline) > 0


def line_mask(image: Image.Image) -> np.ndarray:
    return np.asarray(image) < 128


@pytest.mark.parametrize("method", sorted(EDGE_METHODS))
def test_methods_find_the_outlines(method):
    edges = extract_edges(shapes_photo(), method)
    assert edges.mode == "L" and edges.size == (200, 160)
    values = np.unique(np.asarray(edges))
    assert set(values) <= {0, 255} and (np.asarray(edges) == 255).mean() > 0.8  # black lines on white
    match = edge_match(line_mask(edges), true_outline(), tolerance=2)
    assert match.f_score > 0.85, (match.precision, match.recall)


@pytest.mark.parametrize("method", sorted(EDGE_METHODS))
def test_blank_photo_gives_no_lines(method):
    edges = extract_edges(Image.new("RGB", (120, 90), (128, 100, 90)), method)
    assert (np.asarray(edges) == 255).all()


@pytest.mark.parametrize("mode", ["RGBA", "L", "P", "CMYK", "I;16", "LA", "1"])
def test_any_input_mode(mode):
    photo = shapes_photo()
    if mode == "I;16":
        photo = Image.fromarray((np.asarray(photo.convert("L")).astype(np.uint16) * 257))
    else:
        photo = photo.convert(mode)
    edges = extract_edges(photo)
    assert edges.mode == "L" and edges.size == photo.size and (np.asarray(edges) == 0).any()


def test_lines_are_thin_and_size_independent():
    small, large = extract_edges(shapes_photo((200, 160))), extract_edges(shapes_photo((200, 160)).resize((800, 640)))
    assert large.size == (800, 640)
    assert np.array_equal(thin(line_mask(large)), line_mask(large))  # 1 px after resizing back
    scaled = np.asarray(large.resize((200, 160), Image.BILINEAR)) < 250
    assert edge_match(scaled, line_mask(small)).f_score > 0.85


def test_unknown_method_is_explained():
    with pytest.raises(ValueError, match="choose one of"):
        extract_edges(shapes_photo(), "sobel")


def sketch(size, background, ink, width, mode="RGB"):
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.2, h * 0.2, w * 0.8, h * 0.8), outline=ink, width=width)
    draw.line((w * 0.1, h * 0.9, w * 0.9, h * 0.9), fill=ink, width=width)
    image.info["stroke_width"] = width
    return image


@pytest.mark.parametrize("drawing", [
    sketch((300, 300), (0, 0, 0, 0), (230, 20, 20, 255), 18, "RGBA"),  # thick red on transparent
    sketch((256, 256), (0, 0, 0), (255, 255, 255), 6),  # white on black
    sketch((3000, 2000), (255, 255, 255), (0, 0, 0), 40),  # huge canvas, thick strokes
    sketch((3000, 3000), (255, 255, 255), (0, 0, 0), 2),  # huge canvas, hairlines
    sketch((400, 400), (240, 220, 150), (90, 60, 20), 10),  # coloured paper
])
def test_normalize_sketch_gives_thin_dark_lines(drawing):
    result = normalize_sketch(drawing, size=256)
    assert result.mode == "L" and max(result.size) == 256
    lines = line_mask(result)
    assert set(np.unique(np.asarray(result))) <= {0, 255}
    assert 0.005 < lines.mean() < 0.05  # lines present, and thin: not filled strokes
    assert np.array_equal(thin(lines), lines)
    # PIL draws thick ellipse outlines inside the box: the skeleton sits half a stroke inwards.
    stroke = drawing.info["stroke_width"] * 256 / max(drawing.size)
    expected = line_mask(normalize_sketch(sketch(result.size, (255, 255, 255), (0, 0, 0), 1)))
    assert edge_match(lines, expected, tolerance=stroke / 2 + 2).f_score > 0.8


def test_blank_drawings():
    for blank in (Image.new("RGBA", (64, 64), (0, 0, 0, 0)), Image.new("RGB", (64, 64), "white"),
                  Image.new("L", (500, 300), 20)):
        assert is_blank(blank)
        assert (np.asarray(normalize_sketch(blank, size=128)) == 255).all()
    assert not is_blank(sketch((64, 64), "white", "black", 2))


def test_augment_edges_is_seeded_and_changes_pixels():
    edges = np.where(true_outline((256, 256)), 0, 255).astype(np.uint8)
    first = augment_edges(edges, np.random.default_rng(3))
    again = augment_edges(edges, np.random.default_rng(3))
    assert first.shape == edges.shape and first.dtype == np.uint8
    assert np.array_equal(first, again)
    assert not np.array_equal(first, edges)
    assert any(not np.array_equal(augment_edges(edges, np.random.default_rng(seed)), first) for seed in range(4, 8))


def test_cat_face_crop_box_without_a_cat():
    assert cat_face_crop_box(shapes_photo()) is None
    assert cat_face_crop_box(Image.new("RGB", (640, 480), "white")) is None


# ---------------------------------------------------------------- the learned soft map ("hed-learned")


def test_learned_detector_is_loaded_only_when_used():
    # (torch itself comes in with the pix2pix_demo package __init__; the detector must stay lazy)
    import subprocess
    import sys

    code = ("import sys, pix2pix_demo.edges as e; name = 'pix2pix_demo.models.edge_detector'; "
            "e.extract_edges(e.Image.new('RGB', (32, 32)), 'hed-like'); assert name not in sys.modules; "
            "e.extract_edges(e.Image.new('RGB', (32, 32)), 'hed-learned'); assert name in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_hed_learned_weights_folder_loads():
    from pix2pix_demo.edges import LEARNED_DETECTOR_DIR, learned_detector
    from pix2pix_demo.hub import read_config
    from pix2pix_demo.models.edge_detector import EdgeDetector

    config = read_config(LEARNED_DETECTOR_DIR)
    assert config["model_type"] == "edge-detector"
    assert sorted(p.name for p in LEARNED_DETECTOR_DIR.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    assert (LEARNED_DETECTOR_DIR / "model.safetensors").stat().st_size < 2_000_000
    detector = learned_detector()
    assert isinstance(detector, EdgeDetector) and not detector.training
    assert 5_000 < sum(p.numel() for p in detector.parameters()) < 60_000
    assert 0 < detector.metadata["postprocess"]["threshold"] < 1
    soft = detector.soft_map(np.asarray(shapes_photo()))
    assert soft.shape == (160, 200) and soft.dtype == np.float32 and 0 <= soft.min() and soft.max() <= 1
    assert learned_detector() is detector  # loaded once


def test_hed_learned_is_thin_black_on_white():
    edges = extract_edges(shapes_photo((300, 240)), "hed-learned")
    assert edges.mode == "L" and edges.size == (300, 240)
    lines = line_mask(edges)
    assert set(np.unique(np.asarray(edges))) <= {0, 255} and 0.005 < lines.mean() < 0.1
    assert np.array_equal(thin(lines), lines)


def test_hed_learned_finds_a_drawn_shape():
    image = Image.new("RGB", (256, 256), (235, 232, 225))
    ImageDraw.Draw(image).polygon([(60, 200), (128, 50), (200, 200)], fill=(120, 60, 40))
    outline = Image.new("L", (256, 256), 0)
    ImageDraw.Draw(outline).polygon([(60, 200), (128, 50), (200, 200)], outline=255)
    match = edge_match(line_mask(extract_edges(image, "hed-learned")), np.asarray(outline) > 0, tolerance=2)
    assert match.f_score > 0.85, (match.precision, match.recall)


def test_hed_learned_loads_once_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    from pix2pix_demo.edges import learned_detector

    with ThreadPoolExecutor(4) as pool:
        detectors = list(pool.map(lambda _: learned_detector(), range(8)))
    assert all(d is detectors[0] for d in detectors)


def test_hed_learned_missing_weights_is_explained(tmp_path, monkeypatch):
    from pix2pix_demo.edges import LEARNED_DETECTOR_ENV

    monkeypatch.setenv(LEARNED_DETECTOR_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="train.edge_detector"):
        extract_edges(shapes_photo(), "hed-learned")


def test_edge_detector_save_load_roundtrip(tmp_path):
    import torch

    from pix2pix_demo.hub import load_local, read_config, save_model
    from pix2pix_demo.models.edge_detector import EdgeDetector, EdgeDetectorConfig

    torch.manual_seed(0)
    model = EdgeDetector(EdgeDetectorConfig(stem_channels=4, mid_channels=6, context_channels=8, dilations=[1, 3]))
    save_model(model, tmp_path / "det", {"postprocess": {"threshold": 0.4}})
    loaded = load_local(tmp_path / "det")
    assert read_config(tmp_path / "det")["architecture"]["dilations"] == [1, 3]
    photo = torch.rand(1, 3, 40, 52) * 2 - 1
    with torch.no_grad():
        assert loaded(photo).shape == (1, 1, 40, 52)
        assert torch.allclose(loaded(photo), model.eval()(photo))
    with pytest.raises(ValueError):
        EdgeDetectorConfig(dilations=[0])
