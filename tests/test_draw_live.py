"""The Draw tab's live path (pix2pix_demo.ui.live): what the drawing surface sends, what it gets back.

Tiny models (conftest.tiny_weights_dir); the browser side is in tests/test_browser.py.
"""

from __future__ import annotations

import asyncio
import base64
import io
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pix2pix_demo.ui import live, logic


@pytest.fixture(autouse=True)
def _tiny_models(tiny_weights_dir):
    yield


def render_live(request) -> dict:
    """The page's call: `live.render` is a coroutine (Gradio awaits it)."""
    return asyncio.run(live.render(request))


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sketch(size=256, mode="RGBA") -> Image.Image:
    """What the surface sends: the canvas shrunk to 256², black strokes on opaque white."""
    image = Image.new(mode, (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse([50, 50, 200, 200], outline="black", width=3)
    draw.line([(60, 120), (190, 130)], fill="black", width=2)
    return image


def decode(url: str, kind: str) -> Image.Image:
    header, _, payload = url.partition(",")
    assert header == f"data:image/{kind};base64"
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def test_render_returns_a_jpeg_picture_of_the_drawing():
    result = render_live({"png": png_data_url(sketch()), "model": "edges2cats", "seed": 0})
    assert "error" not in result and "empty" not in result, result
    image = decode(result["image"], "jpeg")
    assert image.format == "JPEG" and image.size == (result["width"], result["height"]) == (64, 64)
    assert np.asarray(image).std() > 1.0
    assert result["ms"] >= 0
    # deterministic for seed 0, a different picture for another model
    again = render_live({"png": png_data_url(sketch()), "model": "edges2cats", "seed": 0})
    assert again["image"] == result["image"]
    other = render_live({"png": png_data_url(sketch()), "model": "edges2products", "seed": 0})
    assert other["image"] != result["image"]


def test_the_fur_switch_adds_strands_only_when_on():
    request = {"png": png_data_url(sketch()), "model": "edges2cats", "seed": 0}
    default = render_live(request)
    off = render_live({**request, "fur": False})
    on = render_live({**request, "fur": True})
    assert "image" in on and on["image"] != off["image"], on
    assert default["image"] == on["image"]  # the tiny model's config asks for "fur", as the shipped edges2cats': on by default
    texture = lambda result: np.abs(np.diff(np.asarray(decode(result["image"], "jpeg"), np.float32), axis=1)).mean()  # noqa: E731
    assert texture(on) > texture(off)  # strands: more pixel-to-pixel change
    # the download follows the switch too
    assert live.render_png({**request, "fur": False, "size": 256})["image"] != live.render_png({**request, "size": 256})["image"]
    bad = render_live({**request, "fur": "yes"})
    assert set(bad) == {"error"} and "fur switch must be true or false" in bad["error"]


def test_bare_base64_and_grayscale_pngs_are_accepted():
    buffer = io.BytesIO()
    sketch(mode="L").save(buffer, "PNG")
    result = render_live({"png": base64.b64encode(buffer.getvalue()).decode(), "model": "edges2cats"})
    assert "image" in result, result


def test_an_empty_drawing_is_reported_not_rendered():
    blank = Image.new("RGBA", (256, 256), "white")
    result = render_live({"png": png_data_url(blank), "model": "edges2cats", "seed": 0})
    assert set(result) == {"empty"} and "empty" in result["empty"]


@pytest.mark.parametrize("request_value, message", [
    (None, "request object"),
    ("data:image/png;base64,AAAA", "request object"),
    ({"png": png_data_url(sketch()), "model": "no-such-model"}, "Unknown model"),
    ({"png": png_data_url(sketch()), "model": ""}, "Choose a model"),
    ({"png": png_data_url(sketch()), "model": "edges2cats", "seed": -1}, "between 0 and"),
    ({"png": png_data_url(sketch()), "model": "edges2cats", "seed": "many"}, "whole number"),
    ({"png": 12, "model": "edges2cats"}, "PNG data URL"),
    ({"png": "/etc/passwd", "model": "edges2cats"}, "not valid base64"),
    ({"png": "data:image/jpeg;base64,AAAA", "model": "edges2cats"}, "PNG data URL"),
    ({"png": "data:image/png;base64,@@@@", "model": "edges2cats"}, "not valid base64"),
    ({"png": "data:image/png;base64," + base64.b64encode(b"GIF89a....").decode(), "model": "edges2cats"},
     "not a PNG"),
])
def test_bad_requests_get_a_message(request_value, message):
    result = render_live(request_value)
    assert set(result) == {"error"}, result
    assert message in result["error"]


def test_a_client_cannot_name_a_server_file(tmp_path):
    secret = tmp_path / "drawing.png"
    sketch().save(secret)
    result = render_live({"png": str(secret), "model": "edges2cats"})
    assert "error" in result and "image" not in result


def test_truncated_and_oversized_pngs_are_refused():
    buffer = io.BytesIO()
    sketch().save(buffer, "PNG")
    truncated = base64.b64encode(buffer.getvalue()[:200]).decode()
    assert "error" in render_live({"png": truncated, "model": "edges2cats"})
    big = Image.new("L", (live.MAX_SIDE + 1, 8), 255)
    result = render_live({"png": png_data_url(big), "model": "edges2cats"})
    assert "error" in result and "per side" in result["error"]


def test_a_decompression_bomb_png_is_refused_before_decoding():
    # a valid PNG header claiming 30000 x 30000 pixels, with almost no data
    def chunk(kind, data):
        return (len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big"))

    header = (30000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    png = live.PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100)) + chunk(b"IEND", b"")
    result = render_live({"png": base64.b64encode(png).decode(), "model": "edges2cats"})
    assert "error" in result and "megapixels" in result["error"]


def test_too_long_payload_is_refused_without_decoding():
    result = render_live({"png": "A" * (live.MAX_PNG_BYTES * 2), "model": "edges2cats"})
    assert "error" in result and "too large" in result["error"]


@pytest.mark.parametrize("size", live.DOWNLOAD_SIZES)
def test_render_png_gives_a_lossless_png_at_the_asked_size(size):
    result = live.render_png({"png": png_data_url(sketch()), "model": "edges2cats", "seed": 3, "size": size})
    image = decode(result["image"], "png")
    assert image.format == "PNG" and image.size == (size, size) == (result["width"], result["height"])


def test_render_png_refuses_other_sizes():
    result = live.render_png({"png": png_data_url(sketch()), "model": "edges2cats", "size": 4096})
    assert "error" in result and "512" in result["error"]


def test_examples_and_edge_maps_become_canvas_pngs():
    from pix2pix_demo.ui import draw_tab

    examples = draw_tab.surface_examples()
    # hand-drawn lines only: a photo's edge map ("chelsea-edges") gave edges2cats' brown smear (issue 28)
    assert [example["name"] for example in examples] == ["cat", "sitting-cat", "open-face", "shoe", "handbag"]
    for example in examples:
        image = decode(example["png"], "png").convert("L")
        ink = np.asarray(image) < 128
        assert image.size == (512, 512) and 0.001 < ink.mean() < 0.3
    assert examples[3]["model"] == "edges2products" and examples[1]["model"] == "edges2cats"
    wide = Image.new("L", (300, 150), 255)
    ImageDraw.Draw(wide).line([(10, 75), (290, 75)], fill=0, width=1)
    value = draw_tab.surface_value_for(wide, "edges2cats")
    assert value["model"] == "edges2cats" and len(value["nonce"]) == 32
    loaded = np.asarray(decode(value["load"], "png").convert("L")) < 128
    assert loaded.shape == (512, 512) and loaded[250:262, 40:470].any(axis=0).all()  # the line, fitted
    # exactly the drawing the Photo tab makes its picture from, at the model's resolution, each pixel a block
    square, _ = logic.drawing_of_edges(wide, logic.get_pipeline("edges2cats").size)
    assert np.array_equal(loaded, np.asarray(square.resize((512, 512), Image.NEAREST)) < 128)
    assert draw_tab.surface_value_for(wide)["nonce"] != value["nonce"]


def test_torch_threads_follow_the_setting_and_the_load(monkeypatch):
    import os

    monkeypatch.setenv("PIX2PIX_LIVE_THREADS", "3")
    assert live.torch_threads_for_now() == 3
    monkeypatch.setenv("PIX2PIX_LIVE_THREADS", "auto")
    monkeypatch.setattr(os, "getloadavg", lambda: (99.0, 0.0, 0.0))
    assert live.torch_threads_for_now() == 1  # a busy CPU: one thread
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert live.torch_threads_for_now() == live._default_threads  # quiet: torch's own number
    monkeypatch.setenv("PIX2PIX_LIVE_THREADS", "many")
    assert live.torch_threads_for_now() == live._default_threads
