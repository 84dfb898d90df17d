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


def test_photo_tab_upload_shows_edges_and_an_image_and_model_change_regenerates(page, tmp_path):
    from PIL import ImageDraw

    photo = Image.new("RGB", (240, 180), (225, 220, 210))
    draw = ImageDraw.Draw(photo)
    draw.ellipse([40, 30, 200, 160], fill=(120, 80, 40))
    draw.rectangle([90, 70, 150, 110], fill=(20, 20, 20))
    path = tmp_path / "photo.png"
    photo.save(path)
    page.get_by_role("tab", name="Photo").click()
    page.locator("#photo-input input[type=file]").set_input_files(str(path))
    wait_for_new_output(page, "#photo-output", None)
    wait_for_new_output(page, "#photo-edges", None)
    edges = output_image(page, "#photo-edges")
    assert edges.shape[:2] == (180, 240)  # the photo's size
    ink = edges.mean(axis=2) < 128
    assert 0.001 < ink.mean() < 0.2, "edges should be thin dark lines on white"
    first = output_image(page, "#photo-output")
    assert first.std() > 1.0
    # choosing another model regenerates (and selects the edge detector it was trained with)
    before = current_src(page, "#photo-output")
    page.locator("#photo-model input").click()
    page.get_by_role("option", name="Edges → shoes & bags").click()
    wait_for_new_output(page, "#photo-output", before)
    second = output_image(page, "#photo-output")
    page.screenshot(path=str(ARTIFACTS / "photo-tab.png"), timeout=WAIT_MS)
    assert second.shape == first.shape and not np.array_equal(first, second)
    assert page.locator("#photo-method input[value='hed-like']").is_checked()
