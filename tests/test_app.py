"""The app's logic and handlers without a server: canvas -> image, photo -> edges -> image, bad input."""

from __future__ import annotations

import io
import struct
import uuid
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pix2pix_demo.ui import logic


@pytest.fixture(autouse=True)
def _models(tiny_weights_dir):
    logic._pipelines.clear()
    yield


def drawing(size=512, mode="RGBA") -> Image.Image:
    """What the Sketchpad sends: black strokes on white (or on transparent, for RGBA)."""
    background = (255, 255, 255, 0) if mode == "RGBA" else "white"
    image = Image.new(mode, (size, size), background)
    draw = ImageDraw.Draw(image)
    ink = (0, 0, 0, 255) if mode == "RGBA" else "black"
    draw.ellipse([100, 100, 400, 400], outline=ink, width=6)
    draw.line([(150, 200), (350, 300)], fill=ink, width=6)
    return image


def photo(size=(240, 160)) -> Image.Image:
    rng = np.random.default_rng(0)
    array = np.full((size[1], size[0], 3), 230, np.uint8)
    array[40:120, 60:180] = (40, 90, 160)  # a blue box on a light background: clear edges
    array = np.clip(array.astype(int) + rng.integers(-5, 6, array.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def png_bytes(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def uploaded(data: bytes, name: str) -> str:
    """A file as Gradio keeps an upload (in its upload folder): what handlers accept from a client."""
    from pix2pix_demo.ui.common import upload_folder

    folder = upload_folder() / f"test-upload-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    _uploads.append(folder)
    (folder / name).write_bytes(data)
    return str(folder / name)


_uploads: list = []  # folders made inside Gradio's upload folder, removed after the module


@pytest.fixture(scope="module", autouse=True)
def _remove_uploads():
    yield
    import shutil

    for folder in _uploads:
        shutil.rmtree(folder, ignore_errors=True)


def assert_real_image(image: Image.Image):
    array = np.asarray(image.convert("RGB"), dtype=np.float32)
    assert array.std() > 1.0, "the generated image is uniform"
    assert np.isfinite(array).all()


# ---------------------------------------------------------------- models


def test_model_choices_list_shipped_models_first_with_labels():
    assert logic.model_choices() == [("Edges → cats", "edges2cats"), ("Edges → shoes & bags", "edges2products")]
    assert logic.default_model() == "edges2cats"


def test_pipeline_is_loaded_once_and_cached():
    assert logic.get_pipeline("edges2cats") is logic.get_pipeline("edges2cats")
    assert logic.get_pipeline("edges2cats") is not logic.get_pipeline("edges2products")


def test_unknown_model_is_a_user_error():
    with pytest.raises(logic.InputError, match="Unknown model 'nope'"):
        logic.get_pipeline("nope")
    with pytest.raises(logic.InputError, match="Choose a model"):
        logic.get_pipeline("")


# ---------------------------------------------------------------- canvas


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L"])
def test_sketch_from_canvas_gives_thin_dark_lines_at_model_size(mode):
    sketch = logic.sketch_from_canvas({"background": None, "layers": [], "composite": drawing(mode=mode)}, size=64)
    assert sketch.mode == "L" and sketch.size == (64, 64)
    ink = np.asarray(sketch) < 128
    assert 20 < ink.sum() < 0.3 * ink.size


@pytest.mark.parametrize("value", [None, {"background": None, "layers": [], "composite": None},
                                   {"background": Image.new("RGB", (512, 512), "white"), "layers": [],
                                    "composite": Image.new("RGB", (512, 512), "white")},
                                   {"composite": Image.new("RGBA", (512, 512), (0, 0, 0, 0))}])
def test_empty_canvas_raises_empty_input(value):
    with pytest.raises(logic.EmptyInput, match="canvas is empty"):
        logic.sketch_from_canvas(value, size=64)


def test_layers_are_flattened_over_the_background_when_there_is_no_composite():
    value = {"background": Image.new("RGB", (512, 512), "white"), "layers": [drawing()], "composite": None}
    image = logic.canvas_image(value)
    assert image.size == (512, 512)
    assert (np.asarray(image.convert("L")) < 128).sum() > 1000


def test_sketch_to_image_returns_a_real_image_with_the_drawings_aspect():
    wide = Image.new("RGB", (512, 256), "white")
    ImageDraw.Draw(wide).rectangle([50, 50, 450, 200], outline="black", width=5)
    result = logic.sketch_to_image({"composite": wide}, "edges2cats")
    assert result.mode == "RGB" and result.size == (64, 32)
    assert_real_image(result)


def test_seed_zero_is_deterministic_and_other_seeds_are_reproducible_variations():
    value = {"composite": drawing()}
    first, again = (np.asarray(logic.sketch_to_image(value, "edges2cats", seed=0)) for _ in range(2))
    assert np.array_equal(first, again)
    five, five_again, seven = (np.asarray(logic.sketch_to_image(value, "edges2cats", seed=s)) for s in (5, 5, 7))
    assert np.array_equal(five, five_again)
    assert not np.array_equal(five, seven)
    assert not np.array_equal(first, five)


def test_models_give_different_images():
    value = {"composite": drawing()}
    cats = np.asarray(logic.sketch_to_image(value, "edges2cats"))
    products = np.asarray(logic.sketch_to_image(value, "edges2products"))
    assert not np.array_equal(cats, products)


def test_canvas_value_for_puts_lines_in_an_editable_layer():
    sketch = Image.new("L", (300, 150), 255)
    ImageDraw.Draw(sketch).line([(10, 75), (290, 75)], fill=0, width=1)
    value = logic.canvas_value_for(sketch)
    assert value["background"].size == logic.CANVAS_SIZE
    layer = np.asarray(value["layers"][0])
    assert layer.shape == (512, 512, 4)
    assert 0 < (layer[..., 3] > 0).mean() < 0.05  # only the lines are opaque
    assert (layer[..., :3][layer[..., 3] > 0] == 0).all()  # and black
    # what comes back from the canvas turns into the same drawing
    assert not np.asarray(logic.sketch_from_canvas(value, size=64)).all()


def test_save_png_writes_a_lossless_png(tmp_path):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 48, 3), np.uint8))
    path = logic.save_png(image, folder=tmp_path)
    assert path.endswith(".png")
    assert np.array_equal(np.asarray(Image.open(path)), np.asarray(image))


# ---------------------------------------------------------------- photos: the bad-input catalogue


def test_photo_to_image_gives_edges_and_an_image(tmp_path):
    path = write(tmp_path, "photo.png", png_bytes(photo()))
    edges, image = logic.photo_to_image(path, "edges2cats")
    assert edges.mode == "L" and edges.size == (240, 160)
    assert (np.asarray(edges) < 128).sum() > 50
    assert image.size == (64, 43) or image.size == (64, 42)
    assert_real_image(image)


def test_photo_as_filedata_dict_from_gradio(tmp_path):
    path = write(tmp_path, "photo.png", png_bytes(photo()))
    edges, _ = logic.photo_to_image({"path": path, "orig_name": "photo.png", "meta": {"_type": "gradio.FileData"}},
                                    "edges2cats", method="canny")
    assert (np.asarray(edges) < 128).sum() > 50


def test_large_photos_are_shrunk_before_edge_extraction(tmp_path):
    path = write(tmp_path, "big.png", png_bytes(photo().resize((2400, 1600))))
    assert logic.open_photo(path).size == (512, 341)


@pytest.mark.parametrize("color", ["white", "black", (120, 30, 200)])
def test_blank_photos_get_a_clear_message(tmp_path, color):
    path = write(tmp_path, "blank.png", png_bytes(Image.new("RGB", (300, 200), color)))
    with pytest.raises(logic.EmptyInput, match="No edges found"):
        logic.photo_to_edges(path)


def test_not_an_image(tmp_path):
    path = write(tmp_path, "notes.png", b"this is a text file, not a PNG\n" * 20)
    with pytest.raises(logic.InputError, match="Could not read the image"):
        logic.photo_to_edges(path)


def test_truncated_file(tmp_path):
    data = png_bytes(photo())
    path = write(tmp_path, "truncated.png", data[: len(data) // 2])
    with pytest.raises(logic.InputError, match="(?i)truncated|could not read"):
        logic.photo_to_edges(path)


def decompression_bomb_png(width=20000, height=20000) -> bytes:
    """A tiny file that claims to be width x height (the IHDR says so; the data is a few bytes)."""
    data = png_bytes(Image.new("L", (1, 1), 255))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    patched = chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    start = data.index(b"IHDR")
    return data[:start] + patched + data[start + len(patched):]


def test_decompression_bomb_is_refused(tmp_path):
    path = write(tmp_path, "bomb.png", decompression_bomb_png())
    assert len(open(path, "rb").read()) < 200
    with pytest.raises(logic.InputError, match="(?i)too large|megapixels"):
        logic.photo_to_edges(path)


def cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    photo().convert("CMYK").save(buffer, "JPEG")
    return buffer.getvalue()


def sixteen_bit_png() -> bytes:
    array = (np.asarray(photo().convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
    return png_bytes(Image.fromarray(array))  # uint16 -> mode I;16


def rgba_png() -> bytes:
    image = photo().convert("RGBA")
    image.putalpha(200)
    return png_bytes(image)


@pytest.mark.parametrize("name,data", [
    ("cmyk.jpg", cmyk_jpeg()),
    ("16bit.png", sixteen_bit_png()),
    ("palette.png", png_bytes(photo().convert("P", palette=Image.Palette.ADAPTIVE))),
    ("rgba.png", rgba_png()),
    ("gray.png", png_bytes(photo().convert("L"))),
])
def test_unusual_modes_are_converted(tmp_path, name, data):
    path = write(tmp_path, name, data)
    assert Image.open(path).mode in ("CMYK", "I;16", "P", "RGBA", "L")
    edges, image = logic.photo_to_image(path, "edges2cats")
    assert edges.size == (240, 160)
    assert (np.asarray(edges) < 128).sum() > 50
    assert_real_image(image)


def test_exif_rotated_photo_is_upright(tmp_path):
    image = photo()  # 240 x 160 landscape, stored with "rotate 90" in EXIF -> portrait
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes())
    path = write(tmp_path, "rotated.jpg", buffer.getvalue())
    edges = logic.photo_to_edges(path)
    assert edges.size == (160, 240)


def test_unknown_edge_method(tmp_path):
    with pytest.raises(logic.InputError, match="Unknown edge method"):
        logic.photo_to_edges(write(tmp_path, "p.png", png_bytes(photo())), method="sobel-magic")


# ---------------------------------------------------------------- Gradio handlers


def test_handlers_turn_user_errors_into_gradio_messages(app_module, tmp_path):
    import gradio as gr

    from pix2pix_demo.ui import draw_tab, photo_tab

    with warnings.catch_warnings(record=True) as caught:  # gr.Warning outside a request warns
        warnings.simplefilter("always")
        assert draw_tab.sketch_to_image(None, "edges2cats", 0) == (None, None)
    assert any("canvas is empty" in str(w.message) for w in caught)

    with pytest.raises(gr.Error, match="Could not read the image"):
        photo_tab.photo_to_image(uploaded(b"no image here", "bad.jpg"), "edges2cats")
    with pytest.raises(gr.Error, match="not uploaded"):  # handlers read only files Gradio received
        photo_tab.photo_to_image(write(tmp_path, "photo.png", png_bytes(photo())), "edges2cats")
    with pytest.raises(gr.Error, match="Unknown model"):
        draw_tab.sketch_to_image({"composite": drawing()}, "missing-model", 0)

    shown, kept = draw_tab.sketch_to_image({"composite": drawing()}, "edges2cats", 3)
    assert Image.open(shown).size == kept.size == (64, 64)  # shown: a JPEG file; kept: the lossless PIL
    again, _ = draw_tab.sketch_to_image({"composite": drawing()}, "edges2cats", 3)
    assert again != shown and open(again, "rb").read() == open(shown, "rb").read()  # a new file per request


def test_gpu_decorator_is_a_no_op_off_zerogpu(monkeypatch):
    from pix2pix_demo.ui.common import gpu

    def handler():
        return 1

    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert gpu(handler) is handler
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    monkeypatch.setitem(__import__("sys").modules, "spaces", None)  # `import spaces` fails
    assert gpu(handler) is handler


def test_importing_app_builds_demo_without_launching(app_module):
    import gradio as gr

    assert isinstance(app_module.demo, gr.Blocks)
    assert not getattr(app_module.demo, "is_running", False)
    public = {fn.api_name for fn in app_module.demo.fns.values() if fn.api_visibility == "public"}
    assert {"sketch_to_image", "photo_to_image"} <= public  # (+ the SinGAN tab's, when it is there)
    assert app_module.LAUNCH_OPTIONS["max_file_size"]


def test_photo_tab_follows_the_edge_detector_a_model_was_trained_with(tmp_path):
    from conftest import save_tiny_pix2pix

    from pix2pix_demo import registry
    from pix2pix_demo.edges import DEFAULT_EDGE_METHOD
    from pix2pix_demo.hub import read_config
    from pix2pix_demo.ui import photo_tab

    folder = save_tiny_pix2pix(tmp_path / "canny-cats")
    config = read_config(folder)
    config["data"] = {"edge_method": "canny"}
    (folder / "config.json").write_text(__import__("json").dumps(config))
    registry.add_local_model("canny-cats", folder)
    assert logic.model_edge_method("canny-cats") == "canny"
    assert logic.model_edge_method("edges2cats") == DEFAULT_EDGE_METHOD  # no record: the default
    assert logic.model_edge_method("no-such-model") == DEFAULT_EDGE_METHOD
    path = uploaded(png_bytes(photo()), "photo.png")
    method, checkbox, edges, image, coat = photo_tab.model_changed(path, "canny-cats")
    edges, image = Image.open(edges), Image.open(image)  # results are files of their own
    assert method == "canny" and edges.size == (240, 160) and image.width > image.height
    assert checkbox.visible is False and coat == ""  # not trained on cut-outs; no coats
    expected, _ = logic.photo_to_image(str(path), "canny-cats", "canny")
    assert np.array_equal(np.asarray(edges), np.asarray(expected))
    method, _, *outputs = photo_tab.model_changed(None, "canny-cats")
    assert method == "canny" and outputs == [None, None, ""]
