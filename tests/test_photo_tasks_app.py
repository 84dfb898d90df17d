"""The Colour & fill tab (pix2pix_demo.ui.photo_tasks_tab): its logic without a server, the /colourize and
/fill_in endpoints through gradio_client, and both sub-tabs in chromium. Tiny untrained models
(conftest.tiny_weights_dir); pictures made in code, examples from examples/ (CC0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, new_page
from conftest import BROWSER_WAIT_MS as WAIT_MS
from pix2pix_demo import registry
from pix2pix_demo.ui import logic, photo_tasks_tab as tab


def picture(width=96, height=72, seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 / width, y * 255 / height, np.full_like(x, 120)], axis=-1) + rng.normal(0, 15, (height, width, 3))
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


@pytest.fixture(autouse=True)
def _models(tiny_weights_dir):
    yield


def test_photo_task_models_are_not_offered_by_the_draw_tab():
    assert {registry.list_models()[key].kind for key in ("colourize", "fill-in")} == {"photo-task"}
    assert not {"colourize", "fill-in"} & {key for _, key in logic.model_choices()}


def test_every_example_photo_is_shipped_and_credited_as_cc0():
    """_examples drops a missing file silently (a Space without examples still starts), so a typo or a file left
    out of a commit would quietly lose an example: each listed one must exist, be a picture, and have its
    CC0 line in examples/ATTRIBUTION.md."""
    credits = (tab._EXAMPLES.parent / "ATTRIBUTION.md").read_text().splitlines()
    for name, _ in (*tab.COLOURIZE_EXAMPLES, *tab.FILL_EXAMPLES):
        path = (tab._EXAMPLES / name).resolve()
        assert path.is_file(), name
        assert min(Image.open(path).size) >= 256, name
        relative = path.relative_to(tab._EXAMPLES.parent).as_posix()
        assert any(line.startswith(f"| {relative} |") and line.rstrip().endswith("| CC0 |") for line in credits), relative
    assert len(tab._examples(tab.FILL_EXAMPLES)) == len(tab.FILL_EXAMPLES) == 3
    from pix2pix_demo.ui import photo_tab  # its examples are given to the cats models: only the listed photos
    assert [Path(row[0]).name for row in photo_tab.example_rows()] == list(photo_tab.EXAMPLES)


def test_colourize_logic_grey_and_colour_at_the_photos_size():
    photo = picture(130, 70)
    grey, colour = tab.colourize_image(photo, 0)
    assert grey.mode == "L" and grey.size == colour.size == photo.size
    assert np.array_equal(np.asarray(colour.convert("L")), np.asarray(grey))
    _, varied = tab.colourize_image(photo, 3)
    assert not np.array_equal(np.asarray(varied), np.asarray(colour))
    for bad in (-1, 2.5, "x", 10**6):
        with pytest.raises(logic.InputError, match="colour variation|seed"):
            tab.colourize_image(photo, bad)


def test_fill_in_logic_takes_the_editor_value_and_explains_bad_ones():
    photo = picture()
    layer = Image.new("RGBA", photo.size, (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (20, 10, 50, 40))
    shown, filled = tab.fill_in_image({"background": photo, "layers": [layer], "composite": None})
    mask = np.asarray(layer)[..., 3] > 0
    assert shown.size == filled.size == photo.size
    assert np.array_equal(np.asarray(filled)[~mask], np.asarray(photo)[~mask])
    assert (np.asarray(shown)[mask] != np.asarray(photo)[mask]).any()  # the mask is drawn on the photo
    with pytest.raises(logic.EmptyInput, match="Nothing is painted"):
        tab.fill_in_image({"background": photo, "layers": [], "composite": None})
    with pytest.raises(logic.EmptyInput, match="Upload or pick a photo"):
        tab.fill_in_image({"background": None, "layers": [layer], "composite": None})
    with pytest.raises(logic.InputError, match="whole photo"):
        tab.fill_in_image({"background": photo, "layers": [Image.new("RGBA", photo.size, (255, 0, 255, 255))]})
    with pytest.raises(logic.InputError, match="editor's value"):
        tab.fill_in_image("a string")


def test_a_missing_model_is_explained(monkeypatch):
    assert tab.missing_note("colourize") == tab.missing_note("fill-in") == ""
    monkeypatch.setattr(tab, "MODEL_KEYS", {"colourize": "no-such-model", "fill-in": "fill-in"})
    assert "No colourize model on this server" in tab.missing_note("colourize")
    with pytest.raises(logic.InputError, match="no colourize model"):
        tab.colourize_image(picture(), 0)


@pytest.fixture(scope="module")
def client(running_app):
    from gradio_client import Client

    return Client(running_app, verbose=False)


@pytest.mark.slow
def test_colourize_and_fill_in_endpoints(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "photo.jpg"
    picture(150, 100).save(path, quality=90)
    grey_path, colour_path = client.predict(handle_file(str(path)), 0, api_name="/colourize")
    grey, colour = Image.open(grey_path), Image.open(colour_path)
    assert grey.size == colour.size == (150, 100)
    assert np.array_equal(np.asarray(colour.convert("L")), np.asarray(grey.convert("L")))
    assert np.array_equal(np.asarray(grey.convert("L")), np.asarray(Image.open(path).convert("L")))
    layer_path = tmp_path / "layer.png"
    layer = Image.new("RGBA", (150, 100), (0, 0, 0, 0))
    layer.paste((255, 0, 255, 255), (30, 20, 70, 60))
    layer.save(layer_path)
    shown_path, filled_path = client.predict(
        {"background": handle_file(str(path)), "layers": [handle_file(str(layer_path))], "composite": None},
        api_name="/fill_in")
    filled, original = np.asarray(Image.open(filled_path)), np.asarray(Image.open(path).convert("RGB"))
    mask = np.asarray(layer)[..., 3] > 0
    assert np.array_equal(filled[~mask], original[~mask]) and Image.open(shown_path).size == (150, 100)
    not_image = tmp_path / "notes.png"
    not_image.write_bytes(b"not an image at all")
    with pytest.raises(AppError, match="Could not read the image"):
        client.predict(handle_file(str(not_image)), 0, api_name="/colourize")
    with pytest.raises(AppError, match="not uploaded"):  # a client may not name a server file
        client.predict({"path": None, "url": str(path), "meta": {"_type": "gradio.FileData"}}, 0, api_name="/colourize")
    unpainted = client.predict({"background": handle_file(str(path)), "layers": [], "composite": None},
                               api_name="/fill_in")
    assert tuple(unpainted) == (None, None)  # nothing painted: a warning and empty outputs, not an error
    assert client.predict(handle_file(str(path)), 2, api_name="/colourize")  # still serving


def _buttons(page, selector: str) -> list[str]:
    """The names of the buttons in an image's corner."""
    return page.evaluate("(s) => [...document.querySelectorAll(s + ' .icon-button-wrapper button')]"
                         ".map(b => b.getAttribute('aria-label'))", selector)


def _decoded(page, selector: str) -> np.ndarray:
    src = page.locator(f"{selector} img").first.get_attribute("src")
    import io
    import urllib.request

    with urllib.request.urlopen(src) as answer:
        return np.asarray(Image.open(io.BytesIO(answer.read())).convert("RGB"))


@pytest.mark.slow
def test_colourize_an_example_and_paint_a_hole_in_the_browser(running_app, chromium_browser):
    page = new_page(chromium_browser, running_app)
    try:
        page.get_by_role("tab", name="Colour & fill").click()
        page.get_by_role("tab", name="Colourize").click()
        page.locator("#colourize-input").wait_for()
        page.get_by_text("a tabby cat (scikit-image 'chelsea', CC0)").click()  # an example: colourized at once
        page.wait_for_selector("#colourize-output img[src]")
        page.wait_for_selector("#colourize-grey img[src]")
        colour, grey = _decoded(page, "#colourize-output"), _decoded(page, "#colourize-grey")
        assert colour.shape == grey.shape == (300, 451, 3)
        assert np.array_equal(np.asarray(Image.fromarray(colour).convert("L")), grey[..., 0])
        # the grey picture had a Share button (to Hugging Face discussions) the tab's other outputs do not have
        assert _buttons(page, "#colourize-grey") == ["Download"]
        assert "Share" not in _buttons(page, "#colourize-output")
        # removing the photo clears both pictures (by `clear`: Gradio's `input` still carried the example)
        page.locator("#colourize-input button[aria-label='Remove Image']").click()
        page.wait_for_function("() => !document.querySelector('#colourize-output img') && "
                               "!document.querySelector('#colourize-grey img')")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "colourize-tab.png"), timeout=WAIT_MS)

        page.get_by_role("tab", name="Fill in").click()
        page.get_by_text("chelsea (CC0)").click()
        canvas = page.locator("#fill-editor canvas").first
        canvas.wait_for()
        page.wait_for_timeout(1500)  # the example photo is drawn into the editor
        box = canvas.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.45)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.55, steps=8)
        page.mouse.up()
        page.click("#fill-run")
        page.wait_for_selector("#fill-output img[src]")
        page.wait_for_selector("#fill-mask img[src]")
        filled, shown = _decoded(page, "#fill-output"), _decoded(page, "#fill-mask")
        original = np.asarray(Image.open(tab._EXAMPLES / "chelsea.png").convert("RGB"))
        assert filled.shape == shown.shape == original.shape
        changed = (filled != original).any(axis=-1)
        assert 0.005 < changed.mean() < 0.3  # the stroke, and only the stroke, was filled in
        magenta = (shown[..., 0] > 200) & (shown[..., 1] < 80) & (shown[..., 2] > 200)
        assert magenta.sum() > 100  # the mask is shown
        assert _buttons(page, "#fill-mask") == ["Download"]
        page.screenshot(path=str(ARTIFACTS / "fill-in-tab.png"), timeout=WAIT_MS)
    finally:
        page.close()


LABEL_AND_BAR = """() => { const box = (s) => document.querySelector('#fill-editor ' + s).getBoundingClientRect();
    const label = box('[data-testid=block-label]'), bar = box('.top-panel');
    return [[label.left, label.top, label.right, label.bottom], [bar.left, bar.top, bar.right, bar.bottom]]; }"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [420, 800, 1280])
def test_the_fill_in_editors_toolbar_leaves_its_label_readable(running_app, chromium_browser, width):
    """At 420 px (and beside the mask column up to ~1100 px) the editor's zoom / undo bar lay over the label that
    says what to do ("Photo: paint over the part to fill in"); now it goes below it where the editor is narrow."""
    page = chromium_browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(running_app)
        page.get_by_role("tab", name="Colour & fill").click()
        page.get_by_role("tab", name="Fill in").click()
        page.get_by_text("chelsea (CC0)").click()
        page.locator("#fill-editor .top-panel").wait_for()
        page.wait_for_timeout(1000)  # the example photo is drawn into the editor
        (l_left, l_top, l_right, l_bottom), (b_left, b_top, b_right, b_bottom) = page.evaluate(LABEL_AND_BAR)
        apart = b_left >= l_right or b_top >= l_bottom or b_right <= l_left or b_bottom <= l_top
        assert apart, ((l_left, l_top, l_right, l_bottom), (b_left, b_top, b_right, b_bottom))
        editor = page.locator("#fill-editor").bounding_box()
        assert b_right <= editor["x"] + editor["width"] + 4 and b_bottom <= editor["y"] + 80  # still at its top
        ARTIFACTS.mkdir(exist_ok=True)
        page.locator("#fill-editor").screenshot(path=str(ARTIFACTS / f"fill-in-editor-{width}.png"), timeout=WAIT_MS)
    finally:
        page.close()
