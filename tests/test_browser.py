"""A real browser (headless Debian chromium via playwright) draws on the canvas and gets a picture.

Screenshots go to test-artifacts/ (git-ignored). Skipped when chromium or playwright is missing.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, new_page
from conftest import BROWSER_WAIT_MS as WAIT_MS

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def page(running_app, chromium_browser):
    page = new_page(chromium_browser, running_app)
    page.wait_for_selector("#draw-canvas canvas")
    yield page
    page.close()


def output_image(page, selector: str) -> np.ndarray:
    """The image currently shown in an output component, fetched from the server."""
    src = page.locator(f"{selector} img").first.get_attribute("src")
    data = page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def wait_for_new_output(page, selector: str, previous_src: str | None):
    page.wait_for_function(
        """([selector, previous]) => { const img = document.querySelector(selector + ' img');
               return img && img.src && img.src !== previous && img.complete && img.naturalWidth > 0; }""",
        arg=[selector, previous_src or ""])


def current_src(page, selector: str) -> str | None:
    images = page.locator(f"{selector} img")
    return images.first.get_attribute("src") if images.count() else None


def test_drawing_strokes_shows_a_generated_image(page):
    page.click("#draw-canvas button[aria-label='Brush']")
    box = page.locator("#draw-canvas canvas").first.bounding_box()
    strokes = [((0.25, 0.3), (0.75, 0.3)), ((0.75, 0.3), (0.5, 0.75)), ((0.5, 0.75), (0.25, 0.3))]
    for (ax, ay), (bx, by) in strokes:  # a triangle, three strokes (few mouse steps: moves are slow)
        page.mouse.move(box["x"] + ax * box["width"], box["y"] + ay * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + bx * box["width"], box["y"] + by * box["height"], steps=3)
        page.mouse.up()
    wait_for_new_output(page, "#draw-output", None)
    generated = output_image(page, "#draw-output")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draw-strokes.png"), timeout=WAIT_MS)
    assert generated.shape[2] == 3 and min(generated.shape[:2]) >= 32
    assert generated.std() > 1.0, "the generated image is uniform"
    # not the drawing itself: a line drawing is mostly white with a little black
    assert not ((generated > 240).all(axis=2).mean() > 0.8)


def test_loading_an_example_into_the_canvas_generates_from_it(page):
    before = current_src(page, "#draw-output")
    previous = output_image(page, "#draw-output") if before else None
    page.locator("#draw-examples button.thumbnail-item").first.click()  # the cat example
    wait_for_new_output(page, "#draw-output", before)
    generated = output_image(page, "#draw-output")
    assert generated.std() > 1.0
    page.screenshot(path=str(ARTIFACTS / "draw-example.png"), timeout=WAIT_MS)
    if previous is not None and previous.shape == generated.shape:  # a new drawing, a new picture
        assert not np.array_equal(previous, generated)
