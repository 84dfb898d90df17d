"""A real browser (headless Debian chromium via playwright) uses the SinGAN tab like a person does:
generate a random sample, paint an edit on the example, harmonize / paint from the examples, animate.

The tab is served with copies of the shipped weights/singan-* models (whatever is there: each test
reads the model shown in the dropdown); skipped when there are none, or when chromium or playwright
is missing. Screenshots of each step go to test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, new_page
from conftest import BROWSER_WAIT_MS as WAIT_MS
from pix2pix_demo.app_benchmark import free_port

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent



@pytest.fixture(scope="module")
def singan_weights(tmp_path_factory):
    """A weights folder with copies of the shipped SinGAN models (stable while the tests run)."""
    from pix2pix_demo import registry

    folder = tmp_path_factory.mktemp("weights")
    for model in sorted((REPO / "weights").glob("singan-*")):
        if (model / "config.json").is_file() and (model / "model.safetensors").is_file():
            shutil.copytree(model, folder / model.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("PIX2PIX_WEIGHTS_DIR", str(folder))
    mp.setenv("PIX2PIX_SINGAN_USER_DIR", str(tmp_path_factory.mktemp("user")))
    mp.setenv("PIX2PIX_HUB_MODELS", "none=nobody/none")  # only local models in the dropdowns
    registry.refresh()
    try:
        if not registry.list_models("singan"):
            pytest.skip("no SinGAN models in weights/ (weights/singan-*)")
        yield folder
    finally:
        mp.undo()
        registry.refresh()


@pytest.fixture(scope="module")
def page(singan_weights, chromium_browser):
    """The SinGAN tab (as app.py mounts it) served on a free port, open in headless chromium."""
    import gradio as gr
    import torch

    from pix2pix_demo.ui.singan_tab import build_singan_tab

    torch.set_num_threads(1)
    with gr.Blocks() as demo:
        with gr.Tabs():
            with gr.Tab("SinGAN"):
                build_singan_tab()
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                theme=gr.themes.Soft(primary_hue="orange"))  # app.py's theme, so screenshots look like the app
    try:
        page = new_page(chromium_browser, f"http://127.0.0.1:{port}/")
        page.get_by_role("tab", name="SinGAN").click()
        yield page
        page.close()
    finally:
        demo.close()


# ----------------------------------------------------------------------------- helpers
def open_subtab(page, title: str, ready_selector: str):
    page.get_by_role("tab", name="SinGAN").click()
    page.get_by_role("tab", name=title, exact=True).click()
    page.wait_for_selector(ready_selector, state="visible")


def selected_model(page, application: str) -> str:
    """The key of the model shown in an application's dropdown (the dropdown shows labels)."""
    from pix2pix_demo import registry

    label = page.locator(f"#singan-{application}-model input").first.input_value()
    keys = {entry.label: key for key, entry in registry.list_models("singan").items()}
    assert label in keys, f"the dropdown shows {label!r}, not one of {sorted(keys)}"
    return keys[label]


def training_size(key: str) -> tuple[int, int]:
    """(width, height) of the image the model was trained on."""
    from pix2pix_demo import registry

    height, width = registry.load(key).config.shapes[-1]
    return width, height


def shown_image(page, selector: str) -> Image.Image:
    """The image file an Image component shows, fetched from the server (not a screenshot)."""
    src = page.locator(f"{selector} img").first.get_attribute("src")
    return Image.open(io.BytesIO(page.request.get(src).body()))


def press_and_wait(page, button: str, output: str):
    """Click a button and wait until the output component shows a new, loaded image."""
    images = page.locator(f"{output} img")
    previous = images.first.get_attribute("src") if images.count() else ""
    page.click(button)
    page.wait_for_function(
        """([selector, previous]) => { const img = document.querySelector(selector + ' img');
               return img && img.src && img.src !== previous && img.complete && img.naturalWidth > 0; }""",
        arg=[output, previous or ""])


def screenshot_png(locator) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), dtype=np.int16)


def wait_until_canvas_changes(page, canvas, before: np.ndarray, timeout_s: float = WAIT_MS / 1000) -> np.ndarray:
    """Poll screenshots of the editor until it shows something new and stops changing (the example loaded)."""
    deadline, last = time.monotonic() + timeout_s, None
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        now = screenshot_png(canvas)
        changed = now.shape != before.shape or np.abs(now - before).mean() > 2
        if changed and last is not None and now.shape == last.shape and np.abs(now - last).mean() < 0.5:
            return now
        last = now
    raise AssertionError("the canvas never showed the example")


def load_example(page, application: str) -> np.ndarray:
    canvas = page.locator(f"#singan-{application}-canvas canvas").first
    before = screenshot_png(canvas)
    page.click(f"#singan-{application}-example")
    return wait_until_canvas_changes(page, canvas, before)


def wait_for_brush_colour(page, application: str, colour: str):
    """Select the Brush tool and wait until the brush's colour (shown on the Color button) is `colour`."""
    page.click(f"#singan-{application}-canvas button[aria-label='Brush']")
    rgb = "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))
    page.wait_for_function(
        """([selector, rgb]) => { const b = document.querySelector(selector);
               return b && getComputedStyle(b).color === rgb; }""",
        arg=[f"#singan-{application}-canvas button[aria-label='Color']", rgb])


def wait_for_slider_maximum(page, selector: str, maximum: int):
    page.wait_for_function(
        """([selector, maximum]) => { const s = document.querySelector(selector + " input[type='range']");
               return s && Number(s.max) === maximum; }""",
        arg=[selector, maximum])


def wait_for_finish_checkbox(page, keeps_photo: bool, application: str = "sample"):
    """Until the sub-tab's "Finish from the photo" is ticked and clickable (the model keeps its photo) or
    unticked and greyed out (it does not)."""
    page.wait_for_function(
        """([selector, keeps]) => { const box = document.querySelector(selector);
               return box && box.checked === keeps && box.disabled === !keeps; }""",
        arg=[f"#singan-{application}-finish input[type='checkbox']", keeps_photo])


def select_model(page, application: str, key: str):
    from pix2pix_demo import registry

    page.click(f"#singan-{application}-model input")
    page.get_by_role("option", name=registry.list_models("singan")[key].label, exact=True).click()


def draw_stroke(page, application: str):
    """One brush stroke in the lower middle of the canvas: on the picture for any aspect ratio, and away
    from the examples' pasted pieces (few mouse steps: moves are slow)."""
    page.click(f"#singan-{application}-canvas button[aria-label='Brush']")
    box = page.locator(f"#singan-{application}-canvas canvas").first.bounding_box()
    page.mouse.move(box["x"] + 0.36 * box["width"], box["y"] + 0.72 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.48 * box["width"], box["y"] + 0.72 * box["height"], steps=3)
    page.mouse.up()


def screenshot(page, name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), timeout=WAIT_MS)


# ----------------------------------------------------------------------------- tests
def test_random_sample_is_twice_as_wide_as_the_training_image(page):
    from pix2pix_demo import registry, singan
    from pix2pix_demo.ui import singan_tab

    open_subtab(page, "Random samples", "#singan-sample-run")
    key = selected_model(page, "sample")
    width, height = training_size(key)
    keeps = bool(singan_tab.keeps_photo(key))  # then the sample shown is finished from the photo (on by default)
    wait_for_finish_checkbox(page, keeps)
    press_and_wait(page, "#singan-sample-run", "#singan-sample-output")
    screenshot(page, "singan-sample.png")
    sample = shown_image(page, "#singan-sample-output")
    # the default width factor is 2, the height factor 1
    assert abs(sample.width - 2 * width) <= 1 and abs(sample.height - height) <= 1, (key, sample.size, width, height)
    assert np.asarray(sample.convert("RGB"), dtype=np.float32).std() > 5, "the sample is flat"
    expected = singan.sample(registry.load(key), seed=1, width_factor=2.0, finish=keeps)  # the seed box shows 1
    assert np.array_equal(np.asarray(sample.convert("RGB")), np.asarray(expected)), "not the (finished) sample"


def test_painting_a_stroke_on_the_example_edits_it(page):
    from pix2pix_demo.ui import singan_tab

    open_subtab(page, "Editing", "#singan-edit-canvas canvas")
    key = selected_model(page, "edit")
    assert load_example(page, "edit").std() > 10, "the example did not show up in the canvas"
    screenshot(page, "singan-edit-example.png")
    # the brush starts with the model's own darkest colour, not white (a white stroke leaves a smudge)
    palette = singan_tab.model_palette(key)
    wait_for_brush_colour(page, "edit", palette[0])
    draw_stroke(page, "edit")
    screenshot(page, "singan-edit-stroke.png")

    press_and_wait(page, "#singan-edit-run", "#singan-edit-output")
    screenshot(page, "singan-edit-result.png")
    result = shown_image(page, "#singan-edit-output")
    assert result.size == training_size(key), (result.size, training_size(key))
    assert np.asarray(result.convert("RGB"), dtype=np.float32).std() > 5

    mask = np.asarray(shown_image(page, "#singan-edit-mask").convert("L")) > 127
    pasted = np.asarray(singan_tab.edit_example(key)["layers"][0].getchannel("A")) > 0
    assert mask.shape == pasted.shape
    assert mask[pasted].mean() > 0.95, "the example's pasted piece is missing from the mask"
    assert (mask & ~pasted).sum() > 50, f"the stroke is missing from the mask ({(mask & ~pasted).sum()} px)"
    sent = np.asarray(shown_image(page, "#singan-edit-sent").convert("RGB"), dtype=np.float32)
    stroke = np.median(sent[mask & ~pasted], axis=0)
    expected = [int(palette[0][i:i + 2], 16) for i in (1, 3, 5)]
    assert np.abs(stroke - expected).max() < 12, (stroke, palette[0])  # painted in the palette's colour


def test_scale_sliders_end_at_the_selected_models_last_scale(page):
    """Start scale (Random samples) and Injection scale (Editing) end at the selected model's last
    scale on page load, and follow the model when another one (with another depth) is selected."""
    from pix2pix_demo import registry
    from pix2pix_demo.ui import singan_tab

    depth = {key: singan_tab.num_scales(key) for key in registry.list_models("singan")}
    open_subtab(page, "Random samples", "#singan-sample-run")
    key = selected_model(page, "sample")
    wait_for_slider_maximum(page, "#singan-sample-start", depth[key] - 1)
    other = next((k for k, n in sorted(depth.items()) if n != depth[key]), None)
    if other is None:
        pytest.skip(f"all SinGAN models have {depth[key]} scales")
    select_model(page, "sample", other)
    wait_for_slider_maximum(page, "#singan-sample-start", depth[other] - 1)
    wait_for_finish_checkbox(page, bool(singan_tab.keeps_photo(other)))  # the finish follows the model too
    screenshot(page, "singan-sample-start-scale.png")
    select_model(page, "sample", key)  # back, for the tests that follow
    wait_for_slider_maximum(page, "#singan-sample-start", depth[key] - 1)
    wait_for_finish_checkbox(page, bool(singan_tab.keeps_photo(key)))

    open_subtab(page, "Editing", "#singan-edit-run")
    wait_for_slider_maximum(page, "#singan-edit-injection", depth[selected_model(page, "edit")] - 1)


def test_harmonizing_the_example_with_an_extra_stroke(page):
    from pix2pix_demo.ui import singan_tab

    open_subtab(page, "Harmonization", "#singan-harmonize-canvas canvas")
    key = selected_model(page, "harmonize")
    assert load_example(page, "harmonize").std() > 10, "the example did not show up in the canvas"
    draw_stroke(page, "harmonize")
    press_and_wait(page, "#singan-harmonize-run", "#singan-harmonize-output")
    screenshot(page, "singan-harmonize.png")
    result = shown_image(page, "#singan-harmonize-output")
    assert result.size == training_size(key)
    assert np.asarray(result.convert("RGB"), dtype=np.float32).std() > 5

    _, remembered = singan_tab.load_example(singan_tab.harmonize_example, key)
    pasted = np.asarray(remembered["mask"]) > 0
    mask = np.asarray(shown_image(page, "#singan-harmonize-mask").convert("L")) > 127
    assert mask[pasted].mean() > 0.95 and (mask & ~pasted).sum() > 50  # the pasted piece and the stroke
    # the stroke only marks the mask: the naive paste that is sent is the example's picture, not painted over
    sent = np.asarray(shown_image(page, "#singan-harmonize-sent").convert("RGB"), dtype=np.float32)
    picture = np.asarray(remembered["background"].convert("RGB"), dtype=np.float32)
    assert np.abs(sent - picture)[mask & ~pasted].mean() < 10


def test_paint_example_loads_and_runs(page):
    """The paint example runs; "Finish from the photo" follows the model (greyed out for one without its
    photo), and with a model that keeps its photo the result shown is the painting finished from it."""
    from pix2pix_demo import registry, singan
    from pix2pix_demo.ui import singan_tab

    open_subtab(page, "Paint to image", "#singan-paint-canvas canvas")
    key = selected_model(page, "paint")
    assert load_example(page, "paint").std() > 10, "the example did not show up in the canvas"
    press_and_wait(page, "#singan-paint-run", "#singan-paint-output")
    screenshot(page, "singan-paint.png")
    result = shown_image(page, "#singan-paint-output")
    assert result.size == training_size(key)
    assert np.asarray(result.convert("RGB"), dtype=np.float32).std() > 5
    wait_for_finish_checkbox(page, bool(singan_tab.keeps_photo(key)), "paint")

    with_photo = next((k for k in sorted(registry.list_models("singan")) if singan_tab.keeps_photo(k)), None)
    if with_photo is None or with_photo == key:
        return
    select_model(page, "paint", with_photo)
    wait_for_finish_checkbox(page, True, "paint")  # ticked by default for a model that keeps its photo
    load_example(page, "paint")
    press_and_wait(page, "#singan-paint-run", "#singan-paint-output")
    screenshot(page, "singan-paint-finished.png")
    finished = shown_image(page, "#singan-paint-output").convert("RGB")
    painting = shown_image(page, "#singan-paint-sent").convert("RGB")
    expected = singan.paint(registry.load(with_photo), painting, None, 0, True, finish=True)
    assert np.array_equal(np.asarray(finished), np.asarray(expected)), "not the painting finished from the photo"
    select_model(page, "paint", key)  # back, for the tests that follow
    wait_for_finish_checkbox(page, bool(singan_tab.keeps_photo(key)), "paint")


def test_animation_is_a_gif_with_the_chosen_number_of_frames(page):
    open_subtab(page, "Animation", "#singan-animate-run")
    frames = page.locator("#singan-animate-frames input[type='number']").first
    frames.fill("4")
    frames.press("Enter")
    press_and_wait(page, "#singan-animate-run", "#singan-animate-output")
    screenshot(page, "singan-animation.png")
    gif = shown_image(page, "#singan-animate-output")
    assert gif.format == "GIF"
    assert gif.n_frames == 4
