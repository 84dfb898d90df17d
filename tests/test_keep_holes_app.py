"""The Draw tab's "Keep holes open" switch (pix2pix_demo.holes): offered for the models whose config holds a hole
guess, followed by the live path and the download. Tiny models (conftest.tiny_weights_dir: its edges2products holds
HOLES_ALL, a guess that takes every enclosed region for a hole)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw


def test_the_draw_tab_offers_the_switch_for_the_model_with_a_guess_and_the_live_path_follows_it(tiny_weights_dir):
    import asyncio
    import base64
    import io

    from pix2pix_demo.ui import live, logic

    assert logic.hole_models() == ["edges2products"]  # the tiny products model holds a guess, as the shipped one
    drawing = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(drawing).ellipse([50, 50, 200, 200], outline="black", width=3)
    buffer = io.BytesIO()
    drawing.save(buffer, "PNG")
    request = {"png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(),
               "model": "edges2products", "seed": 0}

    def picture(**extra):
        result = asyncio.run(live.render({**request, **extra}))
        assert "image" in result, result
        return np.asarray(Image.open(io.BytesIO(base64.b64decode(result["image"].partition(",")[2]))).convert("RGB"))

    default, on, off = picture(), picture(holes=True), picture(holes=False)
    assert np.array_equal(default, on) and not np.array_equal(on, off)
    middle = (slice(24, 40), slice(24, 40))  # inside the circle at the tiny model's 64 px
    assert on[middle].min() >= 245 > off[middle].min()  # the guess takes the enclosed disc for a hole: white
    assert live.render_png({**request, "holes": False, "size": 256})["image"] != live.render_png({**request, "size": 256})["image"]
    bad = asyncio.run(live.render({**request, "holes": "yes"}))
    assert set(bad) == {"error"} and "holes switch must be true or false" in bad["error"]
