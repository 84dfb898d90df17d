"""A real browser (headless Debian chromium via playwright) draws on the canvas and gets a picture.

Screenshots go to test-artifacts/ (git-ignored). Skipped when chromium or playwright is missing.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, new_page, wait_for_surface_picture
from conftest import BROWSER_WAIT_MS as WAIT_MS

pytestmark = pytest.mark.slow

SURFACE = "#draw-surface"


@pytest.fixture(scope="module")
def page(running_app, chromium_browser):
    page = new_page(chromium_browser, running_app)
    page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
    yield page
    page.close()


@pytest.fixture
def fresh_page(running_app, chromium_browser):
    """A new page for each test: its first stroke is the page's first stroke."""
    page = new_page(chromium_browser, running_app)
    page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
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


# ---------------------------------------------------------------- the drawing surface


def pictures_shown(page) -> int:
    return int(page.locator(f"{SURFACE} .p2p").get_attribute("data-pictures"))


def picture(page) -> tuple[str, np.ndarray]:
    """The picture the surface shows now: its data URL and its pixels."""
    src = page.locator(f"{SURFACE} img.p2p-picture").get_attribute("src")
    assert src and src.startswith("data:image/jpeg;base64,")
    pixels = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    return src, np.asarray(pixels, dtype=np.float32)


def wait_for_picture(page, shown_before: int):
    """Until the Draw surface has shown a new picture and has no request in flight."""
    wait_for_surface_picture(page, SURFACE, shown_before)


def picture_after(page, action) -> tuple[str, np.ndarray]:
    """Do `action` (something on the page that asks for a new picture) and return the picture it brings."""
    shown = pictures_shown(page)
    action()
    wait_for_picture(page, shown)
    return picture(page)


def stroke(page, start, end, steps: int = 3):
    """A mouse stroke between two points given as fractions of the canvas."""
    box = page.locator(f"{SURFACE} canvas").bounding_box()
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=steps)
    page.mouse.up()


def touch_stroke(page, points):
    """One stroke of a finger (PointerEvents with pointerType 'touch') through `points`, fractions of the
    drawing canvas's width and height."""
    page.evaluate(
        """([root, points]) => { const c = document.querySelector(root + ' canvas'); const b = c.getBoundingClientRect();
               const at = (type, [fx, fy]) => c.dispatchEvent(new PointerEvent(type, {pointerId: 7, pointerType: 'touch',
                   isPrimary: true, bubbles: true, cancelable: true, clientX: b.left + fx * b.width,
                   clientY: b.top + fy * b.height}));
               at('pointerdown', points[0]); points.slice(1).forEach((p) => at('pointermove', p));
               at('pointerup', points[points.length - 1]); }""", [SURFACE, points])


def ink_pixels(page) -> int:
    """Dark pixels on the 512² drawing canvas."""
    return page.evaluate(
        """(root) => { const c = document.querySelector(root + ' canvas');
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
               for (let i = 0; i < d.length; i += 4) if (d[i] < 128) n++; return n; }""", SURFACE)


def assert_a_generated_picture(pixels: np.ndarray):
    assert pixels.shape[2] == 3 and min(pixels.shape[:2]) >= 32
    assert pixels.std() > 1.0, "the generated image is uniform"
    # not the drawing itself: a line drawing is mostly white with a little black
    assert not ((pixels > 240).all(axis=2).mean() > 0.8)


def test_the_first_stroke_on_a_fresh_page_produces_a_picture(fresh_page):
    page = fresh_page
    assert page.locator(f"{SURFACE} .p2p-hint").is_visible()  # the empty state says what to do
    assert not page.locator(f"{SURFACE} img.p2p-picture").is_visible()
    stroke(page, (0.25, 0.3), (0.75, 0.7))  # ONE stroke, nothing before it
    wait_for_picture(page, 0)
    _, pixels = picture(page)
    assert_a_generated_picture(pixels)
    assert not page.locator(f"{SURFACE} .p2p-hint").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draw-first-stroke.png"), timeout=WAIT_MS)


def test_clear_keeps_the_pen_and_the_next_stroke_draws_and_generates(fresh_page):
    page = fresh_page
    stroke(page, (0.2, 0.2), (0.8, 0.4))
    wait_for_picture(page, 0)
    page.click(f"{SURFACE} [data-tool=eraser]")  # even with the eraser picked before clearing
    page.click(f"{SURFACE} [data-action=clear]")
    assert ink_pixels(page) == 0
    assert page.locator(f"{SURFACE} .p2p-hint").is_visible()  # the output is back to its hint
    assert page.locator(f"{SURFACE} [data-tool=pen]").get_attribute("aria-pressed") == "true"
    shown = pictures_shown(page)
    stroke(page, (0.3, 0.6), (0.7, 0.8))
    assert ink_pixels(page) > 100, "the stroke after Clear drew nothing"
    wait_for_picture(page, shown)
    assert_a_generated_picture(picture(page)[1])
    page.click(f"{SURFACE} [data-action=undo]")  # undoing the stroke leaves the cleared canvas
    page.click(f"{SURFACE} [data-action=undo]")  # and undoing Clear brings the first stroke back
    assert ink_pixels(page) > 100


def test_undo_restores_the_previous_picture_and_redo_the_next(fresh_page):
    page = fresh_page
    stroke(page, (0.2, 0.3), (0.8, 0.3))
    wait_for_picture(page, 0)
    first_src, first = picture(page)
    ink_after_first = ink_pixels(page)
    stroke(page, (0.5, 0.1), (0.5, 0.9))
    wait_for_picture(page, 1)
    second_src, second = picture(page)
    assert second_src != first_src and not np.array_equal(first, second)
    page.click(f"{SURFACE} [data-action=undo]")
    page.wait_for_function("([root, src]) => document.querySelector(root + ' img.p2p-picture').src === src",
                           arg=[SURFACE, first_src])
    assert np.array_equal(picture(page)[1], first)
    assert ink_pixels(page) == ink_after_first  # the canvas is back too
    page.click(f"{SURFACE} [data-action=redo]")
    page.wait_for_function("([root, src]) => document.querySelector(root + ' img.p2p-picture').src === src",
                           arg=[SURFACE, second_src])
    page.keyboard.press("Control+z")  # the keyboard works too, after drawing
    page.wait_for_function("([root, src]) => document.querySelector(root + ' img.p2p-picture').src === src",
                           arg=[SURFACE, first_src])


HOLD_SERVER_CALLS_JS = """(() => {
  const original = window.fetch;
  window.__holdServerCallsUntil = 0;  // performance.now() time until which server calls wait
  window.fetch = function (input, init) {
    const url = String((input && input.url) || input);
    const wait = url.includes('component_server') ? Math.max(0, window.__holdServerCallsUntil - performance.now()) : 0;
    const args = arguments;
    return new Promise((resolve) => setTimeout(resolve, wait)).then(() => original.apply(this, args));
  };
})();"""


def test_a_reply_for_an_older_drawing_is_dropped(running_app, chromium_browser):
    """Stroke 1's request is slow; stroke 2 ends while it is in flight: stroke 1's picture must never
    be shown, and the picture that is shown is the one for both strokes."""
    page = chromium_browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(WAIT_MS)
    page.add_init_script(HOLD_SERVER_CALLS_JS)
    try:
        page.goto(running_app)
        page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
        page.evaluate("window.__holdServerCallsUntil = performance.now() + 1500")
        stroke(page, (0.2, 0.3), (0.8, 0.3))
        stroke(page, (0.5, 0.1), (0.5, 0.9))
        wait_for_picture(page, 0)
        state = page.evaluate(f"document.querySelector('{SURFACE} .p2p').__p2p.state")
        stats = state["stats"]
        # the replies may come back in either order (the fair queue answers a superseded drawing when the newer
        # one arrives): exactly one was used, the last drawing's, every other one was dropped
        used = [entry for entry in stats if not entry["dropped"]]
        assert len(stats) >= 2 and len(used) == 1, stats
        assert not used[0]["preview"] and used[0]["version"] == state["version"]
        page.wait_for_timeout(300)
        assert pictures_shown(page) == 1  # no stale picture was ever shown
    finally:
        page.close()


def test_a_long_stroke_shows_pictures_while_it_is_drawn(fresh_page):
    page = fresh_page
    box = page.locator(f"{SURFACE} canvas").bounding_box()
    page.mouse.move(box["x"] + 0.2 * box["width"], box["y"] + 0.4 * box["height"])
    page.mouse.down()
    for step in range(1, 5):  # slow: a pause between moves, the button held down
        page.mouse.move(box["x"] + (0.2 + 0.15 * step) * box["width"], box["y"] + 0.5 * box["height"])
        page.wait_for_timeout(400)
    page.wait_for_function(f"Number(document.querySelector('{SURFACE} .p2p').dataset.pictures) > 0")
    assert page.evaluate(f"document.querySelector('{SURFACE} .p2p').__p2p.state.stroke !== null")  # still drawing
    page.mouse.up()
    wait_for_picture(page, pictures_shown(page))  # and the finished stroke gets its own picture
    stats = page.evaluate(f"document.querySelector('{SURFACE} .p2p').__p2p.state.stats")
    assert any(entry["preview"] and not entry["dropped"] for entry in stats), stats
    assert not stats[-1]["preview"] and not stats[-1]["dropped"]


def test_touch_strokes_draw_too(fresh_page):
    """Pointer events with pointerType 'touch' (a finger on a phone) draw like the mouse."""
    page = fresh_page
    touch_stroke(page, [(0.2, 0.5), (0.5, 0.55), (0.8, 0.6)])
    assert ink_pixels(page) > 100
    wait_for_picture(page, 0)
    assert_a_generated_picture(picture(page)[1])


def test_an_example_loads_into_the_canvas_with_its_model_and_downloads_as_png(fresh_page):
    page = fresh_page
    page.click(f"{SURFACE} button[data-example=shoe]")
    wait_for_picture(page, 0)
    assert page.locator(f"{SURFACE} [data-role=model]").input_value() == "edges2products"
    assert ink_pixels(page) > 200
    assert_a_generated_picture(picture(page)[1])
    with page.expect_download() as download_info:  # one click, the size chosen (512² by default)
        page.click(f"{SURFACE} [data-action=download]")
    path = download_info.value.path()
    png = Image.open(path)
    assert png.format == "PNG" and png.size == (512, 512)
    assert download_info.value.suggested_filename.endswith(".png")


def test_coat_swatches_recolour_the_cat_and_hide_for_models_without_coats(fresh_page):
    page = fresh_page
    swatches = page.locator(f"{SURFACE} .p2p-coat")
    assert page.locator(f"{SURFACE} .p2p-coats").is_visible() and swatches.count() >= 5  # edges2cats takes coats
    assert page.locator(f"{SURFACE} .p2p-coat[aria-checked=true]").count() == 1
    first_src, _ = picture_after(page, lambda: stroke(page, (0.25, 0.3), (0.75, 0.7)))
    black_src, pixels = picture_after(page, lambda: page.click(f"{SURFACE} .p2p-coat[data-coat=black]"))
    assert black_src != first_src and page.locator(f"{SURFACE} [data-role=coat-name]").text_content() == "black"
    assert_a_generated_picture(pixels)
    page.select_option(f"{SURFACE} [data-role=model]", "edges2products")
    # the tiny edges2products takes no colour (its row shows only the "Keep holes open" switch)
    assert swatches.count() == 0 and not page.locator(f"{SURFACE} .p2p-coats .p2p-label").is_visible()


def test_the_fur_switch_starts_as_the_model_asks_and_is_kept_per_model(fresh_page):
    page = fresh_page
    switch, box = page.locator(f"{SURFACE} .p2p-fur"), f"{SURFACE} [data-role=fur]"
    assert switch.is_visible() and page.is_checked(box)  # edges2cats: offered, on (its config asks for fur)
    fur_src, _ = picture_after(page, lambda: stroke(page, (0.25, 0.3), (0.75, 0.7)))
    plain_src, pixels = picture_after(page, lambda: page.uncheck(box))
    assert plain_src != fur_src
    assert_a_generated_picture(pixels)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draw-fur-switch.png"), timeout=WAIT_MS)
    # back on: the first picture again (from the page's cache)
    assert picture_after(page, lambda: page.check(box))[0] == fur_src
    page.uncheck(box)
    page.select_option(f"{SURFACE} [data-role=model]", "edges2products")
    assert not switch.is_visible()
    page.select_option(f"{SURFACE} [data-role=model]", "edges2cats")
    assert switch.is_visible() and not page.is_checked(box)  # the person's choice for this model is kept


def test_the_keep_holes_switch_is_offered_on_for_the_model_with_a_guess(fresh_page):
    page = fresh_page
    switch, box = page.locator(f"{SURFACE} .p2p-holes"), f"{SURFACE} [data-role=holes]"
    assert not switch.is_visible()  # edges2cats: no hole guess in its config
    page.select_option(f"{SURFACE} [data-role=model]", "edges2products")
    assert switch.is_visible() and page.is_checked(box)  # its config holds one (the tiny model's: every region)
    page.locator(f"{SURFACE} [data-role=size]").fill("24")  # lines that stay lines at the tiny model's 64 px

    def square():  # one closed stroke: a box the guess takes for a hole
        box = page.locator(f"{SURFACE} canvas").bounding_box()
        corners = [(0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7), (0.3, 0.3)]
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        for x, y in corners[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=3)
        page.mouse.up()

    open_src, _ = picture_after(page, square)
    filled_src, pixels = picture_after(page, lambda: page.uncheck(box))
    assert filled_src != open_src
    assert_a_generated_picture(pixels)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "draw-holes-switch.png"), timeout=WAIT_MS)
    assert picture_after(page, lambda: page.check(box))[0] == open_src  # back on: the first picture (cached)
    page.uncheck(box)
    page.select_option(f"{SURFACE} [data-role=model]", "edges2cats")
    page.select_option(f"{SURFACE} [data-role=model]", "edges2products")
    assert not page.is_checked(box)  # the person's choice for this model is kept


def test_a_phone_shows_the_picture_beside_the_canvas_and_every_tab(running_app, chromium_browser):
    """420x800 with touch (issue 28): the picture is in view while drawing (canvas and picture side by side,
    both on screen at once), a finger draws, and Facades and SinGAN are tabs in view (not under a menu)."""
    page = chromium_browser.new_page(viewport={"width": 420, "height": 800}, has_touch=True)
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(running_app)
        page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
        for name in ("Draw", "Photo", "Translate", "Facades", "SinGAN"):
            tab = page.get_by_role("tab", name=name)
            assert tab.is_visible(), name
            box = tab.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 420, name
        assert not page.locator(".overflow-menu").is_visible()
        page.locator(f"{SURFACE} canvas").scroll_into_view_if_needed()
        canvas = page.locator(f"{SURFACE} canvas").bounding_box()
        output = page.locator(f"{SURFACE} .p2p-output").bounding_box()
        assert abs(output["y"] - canvas["y"]) <= 4 and output["x"] >= canvas["x"] + canvas["width"], (canvas, output)
        assert canvas["width"] >= 170 and output["width"] >= 170, (canvas, output)
        for box in (canvas, output):  # both on screen at the same time
            assert box["y"] >= 0 and box["y"] + box["height"] <= 800 and box["x"] + box["width"] <= 420, box
        assert page.evaluate("document.scrollingElement.scrollWidth") <= 420, "the page scrolls sideways"
        for button in ("[data-tool=pen]", "[data-tool=eraser]", "[data-action=undo]", "[data-action=clear]",
                       "[data-action=download]"):
            box = page.locator(f"{SURFACE} {button}").bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 420, button
        touch_stroke(page, [(0.2, 0.3), (0.5, 0.5), (0.8, 0.7)])  # a finger
        assert ink_pixels(page) > 100
        wait_for_picture(page, 0)
        assert page.locator(f"{SURFACE} img.p2p-picture").is_visible()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "draw-phone.png"), timeout=WAIT_MS)
    finally:
        page.close()


# the text's width and the room for it: the box less its padding and, where the browser draws one, the
# number box's spinner or the select's arrow (18 px)
TEXT_ROOM = """(el) => { const s = getComputedStyle(el); const c = document.createElement('canvas').getContext('2d');
    c.font = s.font; const text = el.tagName === 'SELECT' ? el.options[el.selectedIndex].text : el.value;
    const control = el.tagName === 'INPUT' || s.appearance !== 'none' ? 18 : 0;
    return [text, c.measureText(text).width,
            el.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight) - control]; }"""


@pytest.mark.parametrize("width", [1280, 420])
def test_the_toolbar_shows_the_whole_model_name_and_variation(running_app, chromium_browser, width):
    """The model box read "Edges → shoes &" and the variation box "596(" for 5963 (issue 28)."""
    page = chromium_browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(WAIT_MS)
    try:
        page.goto(running_app)
        page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
        page.select_option(f"{SURFACE} [data-role=model]", "edges2products")
        page.fill(f"{SURFACE} [data-role=seed]", "10000")  # the widest variation
        for role in ("model", "seed"):
            text, needed, room = page.locator(f"{SURFACE} [data-role={role}]").evaluate(TEXT_ROOM)
            assert needed <= room, (role, text, needed, room)
        assert page.locator(f"{SURFACE} [data-role=model] option:checked").text_content() == "Edges → shoes & bags"
        if width > 720:  # a wide screen: the picture's toolbar is one row (the two squares line up)
            bar = page.locator(f"{SURFACE} .p2p-output-bar").bounding_box()
            assert bar["height"] <= 40, bar
    finally:
        page.close()


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
    # "Edit the edges in Draw": the Draw tab opens with the edges in the canvas (and the Photo
    # tab's model), and they are turned into a picture
    shown = pictures_shown(page)
    page.click("#photo-to-draw")
    wait_for_picture(page, shown)
    assert page.locator(f"{SURFACE} canvas").is_visible()
    assert ink_pixels(page) > 100
    assert page.locator(f"{SURFACE} [data-role=model]").input_value() == "edges2products"
    assert_a_generated_picture(picture(page)[1])


def toasts(page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('[data-testid=toast-body]')].map(e => e.innerText)")


def test_photo_tab_enhanced_panel_edit_in_draw_gives_the_same_picture_and_one_error(fresh_page, tmp_path):
    """Issue 28 item 3: no empty "Enhanced ×4" panel until there is an enhanced picture (and none once the picture
    changes); "Edit the edges in Draw" keeps the colour and gives the very picture the Photo tab shows (same
    edges, model, colour); a too-large image says so once."""
    from PIL import ImageDraw

    from pix2pix_demo.ui import live, logic

    page = fresh_page
    photo = Image.new("RGB", (240, 160), "white")  # an object on white: its colour is measured
    draw = ImageDraw.Draw(photo)
    draw.ellipse([50, 20, 190, 150], fill=(200, 110, 40))  # an orange cat-ish blob: a colour that is not the default
    draw.ellipse([90, 60, 110, 80], fill=(30, 30, 30))
    draw.ellipse([130, 60, 150, 80], fill=(30, 30, 30))
    path = tmp_path / "orange.png"
    photo.save(path)
    page.get_by_role("tab", name="Photo").click()
    assert not page.locator("#photo-enhanced").is_visible()  # nothing enhanced yet: no panel
    page.locator("#photo-input input[type=file]").set_input_files(str(path))
    wait_for_new_output(page, "#photo-output", None)
    wait_for_new_output(page, "#photo-edges", None)
    assert not page.locator("#photo-enhanced").is_visible()
    page.click("#photo-enhance")
    wait_for_new_output(page, "#photo-enhanced", None)
    assert page.locator("#photo-enhanced img").is_visible()
    shown_picture = output_image(page, "#photo-output")
    edges = Image.open(io.BytesIO(page.request.get(current_src(page, "#photo-edges")).body()))
    # "Edit the edges in Draw": the photo's colour is chosen there, and the picture is the Photo tab's
    shown = pictures_shown(page)
    page.click("#photo-to-draw")
    wait_for_picture(page, shown)
    assert page.locator(f"{SURFACE} [data-role=model]").input_value() == "edges2cats"
    assert page.locator(f"{SURFACE} [data-role=coat-name]").text_content() == "from the photo"
    coat = page.evaluate(f"document.querySelector('{SURFACE} .p2p').__p2p.state.coat")
    assert coat.startswith("#") and coat != "#000000"
    size = logic.get_pipeline("edges2cats").size
    square, box = logic.drawing_of_edges(edges, size)
    whole = logic.generate(square, "edges2cats", coat=coat)  # the drawing the Draw tab sends, as the server sees it
    draw_src, _ = picture(page)
    assert draw_src == live.data_url(whole), "the Draw tab's picture is not the one its drawing makes"
    assert np.array_equal(shown_picture, np.asarray(whole.crop(box).convert("RGB"), np.float32)), \
        "the Photo tab's picture differs from the Draw tab's for the same edges, model and colour"
    page.screenshot(path=str(ARTIFACTS / "photo-edit-in-draw.png"), timeout=WAIT_MS)
    # a new picture on the Photo tab: the old enhanced one goes, and its panel with it
    page.get_by_role("tab", name="Photo").click()
    before = current_src(page, "#photo-output")
    page.locator("#photo-model input").click()
    page.get_by_role("option", name="Edges → shoes & bags").click()
    wait_for_new_output(page, "#photo-output", before)
    page.wait_for_function("() => !document.querySelector('#photo-enhanced img')")
    assert not page.locator("#photo-enhanced").is_visible()
    # too large: one message, once
    Image.new("RGB", (7000, 6000), (200, 150, 100)).save(tmp_path / "huge.png")
    page.locator("#photo-input input[type=file]").set_input_files(str(tmp_path / "huge.png"))
    page.wait_for_function("() => document.querySelectorAll('[data-testid=toast-body]').length > 0 && "
                           "[...document.querySelectorAll('[data-testid=toast-body]')].some(e => e.innerText.includes('megapixels'))")
    page.wait_for_timeout(3000)  # time for a second one to show up
    errors = [text for text in toasts(page) if "megapixels" in text]
    assert len(errors) == 1 and "7000×6000" in errors[0], toasts(page)
    # and said once inside it (a toast groups its kind's messages: "Error (2)" listed it twice)
    assert sum(text.count("7000×6000") for text in toasts(page)) == 1, toasts(page)


def test_photo_tab_a_photo_chosen_over_another_is_made_once_and_warned_once(fresh_page, tmp_path):
    """Choosing a photo while another is shown fired Gradio's `change` twice with it: the picture was made twice
    and its warning (the tiny weights have no cat segmenter, so "... the whole photo was used.") was shown twice,
    as "Warning (2)". Removing an example's photo empties the outputs."""
    from PIL import ImageDraw

    page = fresh_page
    paths = []
    for name, colour in (("first.png", (200, 110, 40)), ("second.png", (60, 90, 160))):
        photo = Image.new("RGB", (160, 120), "white")
        ImageDraw.Draw(photo).ellipse([30, 20, 130, 100], fill=colour)
        photo.save(tmp_path / name)
        paths.append(str(tmp_path / name))
    sent = []  # the requests that carry the second photo
    page.on("request", lambda request: sent.append(request.url) if "queue/join" in request.url
            and '"orig_name":"second.png"' in (request.post_data or "") else None)
    page.get_by_role("tab", name="Photo").click()
    page.locator("#photo-input input[type=file]").set_input_files(paths[0])
    wait_for_new_output(page, "#photo-output", None)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=toast-body]').length > 0")
    for close in page.locator("[data-testid=toast-close]").all():  # the first photo's warning is read and closed
        close.click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=toast-body]').length === 0")
    before = current_src(page, "#photo-output")
    page.locator("#photo-input input[type=file]").set_input_files(paths[1])  # the file chooser, over the photo
    wait_for_new_output(page, "#photo-output", before)
    page.wait_for_timeout(3000)  # time for a second answer to show up
    notes = sum(text.count("the whole photo was used") for text in toasts(page))
    assert notes == 1 and len(sent) == 1, (toasts(page), sent)
    page.screenshot(path=str(ARTIFACTS / "photo-replaced.png"), timeout=WAIT_MS)
    # an example, then the photo removed: both pictures go
    before = current_src(page, "#photo-output")
    page.locator("#photo-input").locator("xpath=ancestor::div[contains(@class, 'tabitem')][1]").locator(
        "table tbody tr").first.click()
    wait_for_new_output(page, "#photo-output", before)
    page.locator("#photo-input button[aria-label='Remove Image']").click()
    page.wait_for_function("() => !document.querySelector('#photo-output img') && "
                           "!document.querySelector('#photo-edges img')")
