"""The Facades tab: its logic and live functions without a server, the /labels_to_facade endpoint through
gradio_client, and the tab in chromium (paint two rectangles -> a picture). Tiny untrained models
(conftest.tiny_weights_dir); label maps drawn in code."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, new_page, wait_for_surface_picture
from conftest import BROWSER_WAIT_MS as WAIT_MS
from pix2pix_demo import registry
from pix2pix_demo.labels import BRUSH_PALETTE, CLASS_INDEX, CLASSES, classes_to_image, random_facade
from pix2pix_demo.ui import facades_logic, logic

SURFACE = "#facades-surface"


@pytest.fixture(autouse=True)
def _models(tiny_weights_dir):
    facades_logic._pipelines.clear()
    yield


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def decode(url: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")


def layout(width=120, height=90, seed=2) -> Image.Image:
    return classes_to_image(random_facade(seed, width, height))


# ---------------------------------------------------------------- models and logic


def test_facades_models_have_their_own_list_not_the_draw_tabs():
    keys = [key for _, key in facades_logic.model_choices()]
    assert keys == ["facades-pix2pix", "facades-spade"]
    assert not set(keys) & {key for _, key in logic.model_choices()}  # the Draw tab does not offer them
    assert {registry.list_models()[key].kind for key in keys} == {"facades"}


SHIPPED = Path(__file__).resolve().parents[1] / "weights"


@pytest.mark.parametrize("key", ["facades-pix2pix", "facades-spade"])
def test_the_shipped_facades_models_say_they_are_facades_models(key):
    """The repository's own folders (not the tiny ones): a re-export whose config.json lost `"kind": "facades"`
    put facades-pix2pix in the Draw tab's model list and out of the Facades tab (session 16's fine-tune did)."""
    if not (SHIPPED / key / "config.json").is_file():
        pytest.skip(f"weights/{key} is not in this checkout")
    entry = registry._entry_from_folder(key, SHIPPED / key)
    assert entry.kind == "facades"
    assert entry.label != key  # the tab's model list shows a name ("pix2pix (U-Net)", "SPADE"), not the folder


@pytest.mark.parametrize("key", ["facades-pix2pix", "facades-spade"])
def test_labels_to_facade_any_size_with_variations(key):
    photo, note = facades_logic.labels_to_facade(layout(120, 90), key)
    assert photo.mode == "RGB" and photo.size == (64, 48) and note is None  # long side = resolution 64
    assert np.asarray(photo).std() > 0.5
    again, _ = facades_logic.labels_to_facade(layout(120, 90), key, 0)
    assert np.array_equal(np.asarray(photo), np.asarray(again))
    varied, _ = facades_logic.labels_to_facade(layout(120, 90), key, 5)
    assert not np.array_equal(np.asarray(photo), np.asarray(varied))
    tall, _ = facades_logic.labels_to_facade(layout(40, 160), key)
    assert tall.size == (16, 64)


def test_a_huge_label_map_is_shrunk_before_its_colours_are_snapped(monkeypatch):
    """Issue 28: snapping a 6000x6000 map's colours to classes took 16 s of CPU before the model saw 256 px of it.
    The map is shrunk first (nearest neighbour, to twice the model's side), and gives the same photo as a map
    drawn at that size."""
    seen = []
    snap = facades_logic._indices
    monkeypatch.setattr(facades_logic, "_indices", lambda picture: seen.append(picture.size) or snap(picture))
    size = facades_logic.get_pipeline("facades-spade").size
    small = classes_to_image(random_facade(4, 2 * size, int(1.5 * size)))
    huge = small.resize((40 * size, 30 * size), Image.NEAREST)  # the same layout, 20 times larger
    photo, _ = facades_logic.labels_to_facade(huge, "facades-spade")
    assert seen == [(2 * size, int(1.5 * size))]
    assert np.array_equal(np.asarray(photo), np.asarray(facades_logic.labels_to_facade(small, "facades-spade")[0]))


def test_an_uploaded_label_map_has_a_queue_slot_of_its_own(app_module):
    """A slow upload to /labels_to_facade never holds the pix2pix models' slot (the Photo tab, /sketch_to_image)."""
    from pix2pix_demo.ui.common import MODEL_CONCURRENCY

    slots = {fn.api_name: fn.concurrency_id for fn in app_module.demo.fns.values() if fn.api_name}
    assert slots["labels_to_facade"] != MODEL_CONCURRENCY["concurrency_id"]
    assert slots["sketch_to_image"] == slots["photo_to_image"] == MODEL_CONCURRENCY["concurrency_id"]


def test_foreign_colours_are_snapped_with_a_note_and_empty_pictures_explained():
    picture = layout(64, 64).convert("RGB")
    picture.paste((255, 255, 255), (0, 0, 64, 20))  # white: no class
    photo, note = facades_logic.labels_to_facade(picture, "facades-spade")
    assert photo.size == (64, 64) and note and "snapped to the nearest class" in note
    with pytest.raises(logic.EmptyInput, match="single class"):
        facades_logic.labels_to_facade(Image.new("RGB", (80, 80), CLASSES[CLASS_INDEX["facade"]][1]), "facades-spade")
    with pytest.raises(logic.EmptyInput, match="single class"):  # a transparent canvas is background only
        facades_logic.labels_to_facade(Image.new("RGBA", (80, 80), (0, 0, 0, 0)), "facades-pix2pix")
    with pytest.raises(logic.EmptyInput):
        facades_logic.labels_to_facade(None, "facades-spade")


def test_wrong_models_and_shapes_get_messages():
    with pytest.raises(logic.InputError, match="not a facades model"):
        facades_logic.labels_to_facade(layout(), "edges2cats")
    with pytest.raises(logic.InputError, match="not a facades model"):
        facades_logic.labels_to_facade(layout(), "no-such-model")
    with pytest.raises(logic.InputError, match="too thin"):
        facades_logic.labels_to_facade(layout(2000, 20), "facades-spade")
    with pytest.raises(logic.InputError, match="seed"):
        facades_logic.labels_to_facade(layout(), "facades-spade", -3)


def test_live_render_download_and_random_layouts():
    request = {"png": png_data_url(layout(256, 256)), "model": "facades-spade", "seed": 0}
    result = facades_logic.render(request)
    assert result["image"].startswith("data:image/jpeg;base64,") and (result["width"], result["height"]) == (64, 64)
    download = facades_logic.render_png({**request, "size": 512})
    assert download["image"].startswith("data:image/png;base64,") and decode(download["image"]).size == (512, 512)
    assert "error" in facades_logic.render_png({**request, "size": 300})
    empty = facades_logic.render({**request, "png": png_data_url(Image.new("RGB", (64, 64), (0, 48, 255)))})
    assert "single class" in empty["empty"]
    assert "Unknown facades model" in facades_logic.render({**request, "model": "edges2cats"})["error"]
    assert "error" in facades_logic.render({**request, "png": "/etc/passwd"})  # never a path
    assert "error" in facades_logic.render({**request, "seed": 99999})
    drawing = facades_logic.random_drawing({"seed": 11})
    picture = decode(drawing["png"])
    assert picture.size == (512, 512)
    colours = {tuple(c) for c in np.asarray(picture).reshape(-1, 3)}
    assert colours <= {tuple(c) for c in BRUSH_PALETTE.tolist()} and len(colours) >= 4  # exact brush colours only
    # the swatches are the brush colours, and a painting in them gives the same picture as the data set's colours
    assert facades_logic.palette()[2] == ["window", "#{:02x}{:02x}{:02x}".format(*BRUSH_PALETTE[2])]
    brush = classes_to_image(random_facade(2, 256, 256), BRUSH_PALETTE)
    assert facades_logic.render({**request, "png": png_data_url(brush)})["image"] == result["image"]
    empty = facades_logic.render({**request, "png": png_data_url(Image.new("RGB", (64, 64), tuple(BRUSH_PALETTE[1])))})
    assert "single class" in empty["empty"]
    assert "error" in facades_logic.random_drawing({"seed": "x"})
    assert facades_logic.random_drawing({"seed": 11}) == drawing


# ---------------------------------------------------------------- the API endpoint


@pytest.fixture(scope="module")
def client(running_app):
    from gradio_client import Client

    return Client(running_app, verbose=False)


@pytest.mark.slow
def test_labels_to_facade_endpoint(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "labels.jpg"
    layout(200, 150).save(path, quality=80)  # a JPEG: blurred borders are snapped
    result = client.predict(handle_file(str(path)), "facades-spade", api_name="/labels_to_facade")
    photo = np.asarray(Image.open(result).convert("RGB"))
    assert photo.shape == (48, 64, 3) and photo.std() > 0.5
    varied = client.predict(handle_file(str(path)), "facades-pix2pix", 3, api_name="/labels_to_facade")
    assert np.asarray(Image.open(varied)).shape == (48, 64, 3)
    with pytest.raises(AppError, match="not a facades model"):
        client.predict(handle_file(str(path)), "edges2cats", api_name="/labels_to_facade")
    with pytest.raises(AppError, match="not uploaded"):  # a client may not name a server file
        client.predict({"path": None, "url": str(path), "meta": {"_type": "gradio.FileData"}}, "facades-spade",
                       api_name="/labels_to_facade")
    blank = tmp_path / "blank.png"
    Image.new("RGB", (64, 64), CLASSES[CLASS_INDEX["facade"]][1]).save(blank)
    assert client.predict(handle_file(str(blank)), "facades-spade", api_name="/labels_to_facade") is None
    not_image = tmp_path / "notes.png"
    not_image.write_bytes(b"not an image at all")
    with pytest.raises(AppError, match="Could not read the image"):
        client.predict(handle_file(str(not_image)), "facades-spade", api_name="/labels_to_facade")
    # still serving
    assert client.predict(handle_file(str(path)), "facades-spade", api_name="/labels_to_facade")


# ---------------------------------------------------------------- the tab in a browser


def drag(page, start, end):
    box = page.locator(f"{SURFACE} canvas").bounding_box()
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=4)
    page.mouse.up()


def canvas_colours(page) -> dict:
    """Colour -> pixel count on the 512² canvas."""
    return page.evaluate(
        """(root) => { const c = document.querySelector(root + ' canvas');
               const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const n = {};
               for (let i = 0; i < d.length; i += 4) { const k = d[i] + ',' + d[i + 1] + ',' + d[i + 2]; n[k] = (n[k] || 0) + 1; }
               return n; }""", SURFACE)


def wait_for_picture(page, shown_before: int):
    wait_for_surface_picture(page, SURFACE, shown_before)


@pytest.mark.slow
def test_paint_two_rectangles_and_a_facade_appears(running_app, chromium_browser):
    page = new_page(chromium_browser, running_app)
    try:
        page.get_by_role("tab", name="Facades").click()
        page.wait_for_selector(f"{SURFACE} .p2p[data-ready='1']")
        swatches = page.locator(f"{SURFACE} .p2p-class")
        assert swatches.count() == 12 and "window" in swatches.all_inner_texts()
        assert page.locator(f"{SURFACE} .p2p-hint").is_visible()
        page.click(f"{SURFACE} [data-tool=rect]")
        page.click(f"{SURFACE} .p2p-class[data-label=window]")
        drag(page, (0.15, 0.15), (0.4, 0.4))
        page.click(f"{SURFACE} .p2p-class[data-label=door]")
        drag(page, (0.55, 0.6), (0.75, 0.98))
        wait_for_picture(page, 0)
        colours = canvas_colours(page)
        window, door = (",".join(map(str, BRUSH_PALETTE[CLASS_INDEX[name]].tolist())) for name in ("window", "door"))
        assert colours.get(window, 0) > 10000 and colours.get(door, 0) > 10000  # two filled boxes, exact colours
        src = page.locator(f"{SURFACE} img.p2p-picture").get_attribute("src")
        pixels = np.asarray(decode(src), dtype=np.float32)
        assert pixels.shape == (64, 64, 3) and pixels.std() > 0.5
        # another model and the random layout button each give a new picture
        shown = int(page.locator(f"{SURFACE} .p2p").get_attribute("data-pictures"))
        page.locator(f"{SURFACE} [data-role=model]").select_option("facades-spade")
        wait_for_picture(page, shown)
        shown = int(page.locator(f"{SURFACE} .p2p").get_attribute("data-pictures"))
        page.click(f"{SURFACE} [data-action=random]")
        wait_for_picture(page, shown)
        assert len(canvas_colours(page)) >= 4  # a whole layout, in class colours
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "facades-tab.png"), timeout=WAIT_MS)
    finally:
        page.close()
