"""The served app under load and under bad input, through gradio_client (a live server on loopback).

- 16 clients send identical requests at once: every image comes back whole and correct (identical
  results used to share one cache file that was rewritten while others downloaded it).
- The bad-input catalogue, over every endpoint: each gets the app's own message (not Gradio's
  generic "Could not preprocess input" with a server path), and the server keeps answering.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.slow

SKETCH = Path(__file__).resolve().parent.parent / "examples" / "sketches" / "cat.png"


@pytest.fixture(scope="module")
def client(running_app):
    from gradio_client import Client

    return Client(running_app, verbose=False)


def canvas(path) -> dict:
    from gradio_client import handle_file

    return {"background": None, "layers": [], "composite": handle_file(str(path))}


# ---------------------------------------------------------------- 16 clients, identical requests


def test_identical_concurrent_requests_all_get_their_whole_image(running_app, client):
    from gradio_client import Client

    reference = np.asarray(Image.open(client.predict(canvas(SKETCH), "edges2cats", 0, api_name="/sketch_to_image")))
    results, errors, lock = [], [], threading.Lock()
    start = threading.Barrier(16)

    def worker(_):
        own = Client(running_app, verbose=False)
        start.wait()
        for _ in range(4):
            try:
                path = own.predict(canvas(SKETCH), "edges2cats", 0, api_name="/sketch_to_image")
                data = Path(path).read_bytes()
                with lock:
                    results.append(data)
            except Exception as error:  # noqa: BLE001 - every failure is reported below
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(worker, range(16)))
    assert not errors, errors[:3]
    assert len(results) == 64
    for data in results:
        assert len(data) > 0, "an empty image came back as a success"
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), reference)


# ---------------------------------------------------------------- the bad-input catalogue


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def decompression_bomb() -> bytes:
    """A PNG of a few bytes whose header claims 20000 x 20000 pixels."""
    data = png_bytes(Image.new("L", (1, 1), 255))
    chunk = b"IHDR" + struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    patched = chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    start = data.index(b"IHDR")
    return data[:start] + patched + data[start + len(patched):]


def photo() -> Image.Image:
    image = Image.new("RGB", (96, 64), (230, 230, 230))
    ImageDraw.Draw(image).rectangle((20, 16, 70, 48), fill=(40, 90, 160))
    return image


FILES = {
    "photo": lambda: png_bytes(photo()),
    "not-an-image": lambda: b"hello, this is not an image\n" * 10,
    "bomb": decompression_bomb,
    "thin": lambda: png_bytes(Image.new("RGB", (10000, 10), "gray")),
}


def inputs(endpoint: str, image=None, mask=None, model=None, seed=0) -> list:
    """The endpoint's inputs with `image` (a handle_file value) and the rest valid."""
    pix2pix, tiny = model or "edges2cats", model or "singan-mini"
    return {
        "photo_to_image": lambda: [image, pix2pix, "hed-like"],
        "sketch_to_image": lambda: [{"background": None, "layers": [], "composite": image}, pix2pix, seed],
        "singan_sample": lambda: [tiny, seed, 1.0, 1.0, 0],
        "singan_edit": lambda: [tiny, image, mask or image, -1, seed, False],
        "singan_harmonize": lambda: [tiny, image, mask or image, -1, seed],
        "singan_paint": lambda: [tiny, image, -1, seed, True, False],
        "singan_super_resolve": lambda: [tiny, image, 2, seed],
        "singan_animate": lambda: [tiny, 3, 0.1, 0.9, 0, seed],
        "singan_train": lambda: [image, "x", 0.1, 32],
        "gpnn_sample": lambda: [image, seed, 1.0, 1.0],
        "labels_to_facade": lambda: [image, model or "facades-spade", seed],
        "translate_photo": lambda: [image, model or "cat-bengal", "bengal"],
        "colourize": lambda: [image, seed],
        "fill_in": lambda: [{"background": image, "layers": [mask or image], "composite": None}],
    }[endpoint]()


IMAGE_ENDPOINTS = ["photo_to_image", "sketch_to_image", "singan_edit", "singan_harmonize", "singan_paint",
                   "singan_super_resolve", "singan_train", "gpnn_sample", "labels_to_facade", "translate_photo",
                   "colourize", "fill_in"]
SEED_ENDPOINTS = ["sketch_to_image", "singan_sample", "singan_edit", "singan_harmonize", "singan_paint",
                  "singan_super_resolve", "singan_animate", "gpnn_sample", "labels_to_facade"]
CATALOGUE = (
    [(endpoint, "not-an-image", "Could not read the image") for endpoint in IMAGE_ENDPOINTS]
    + [(endpoint, "bomb", "(?i)too large|megapixels") for endpoint in IMAGE_ENDPOINTS]
    + [(endpoint, "thin", "too thin") for endpoint in IMAGE_ENDPOINTS]
    + [(endpoint, "seed-1e30", "seed must be a whole number") for endpoint in SEED_ENDPOINTS]
    + [(endpoint, "wrong-kind-of-model", "not a (pix2pix|SinGAN|facades|translator) model")
       for endpoint in IMAGE_ENDPOINTS + ["singan_sample", "singan_animate"]
       if endpoint not in ("singan_train", "gpnn_sample", "colourize", "fill_in")]  # these take no model
)


@pytest.mark.parametrize("endpoint,case,message", CATALOGUE, ids=[f"{e}-{c}" for e, c, _ in CATALOGUE])
def test_bad_input_gets_the_apps_own_message_and_the_server_keeps_serving(client, tmp_path, endpoint, case,
                                                                          message):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    def upload(kind: str):
        path = tmp_path / f"{kind}.png"
        path.write_bytes(FILES[kind]())
        return handle_file(str(path))

    if case == "seed-1e30":
        args = inputs(endpoint, upload("photo"), seed=1e30)
    elif case == "wrong-kind-of-model":
        other = "edges2cats" if endpoint.startswith("singan") else "singan-mini"
        args = inputs(endpoint, upload("photo"), model=other)
    else:
        args = inputs(endpoint, upload(case), mask=upload("photo") if case == "not-an-image" else None)
    with pytest.raises(AppError, match=message) as raised:
        client.predict(*args, api_name=f"/{endpoint}")
    text = str(raised.value)
    assert "Could not preprocess" not in text and "/tmp/" not in text and "Traceback" not in text
    # still serving
    assert Image.open(client.predict("singan-mini", 1, 1.0, 1.0, 0, api_name="/singan_sample")).size == (56, 44)


def test_super_resolution_factor_as_advertised_string(client, tmp_path):
    """view_api lists the factor as '2' / '4': those strings work (and 2, 4 as numbers)."""
    from gradio_client import handle_file

    path = tmp_path / "photo.png"
    photo().save(path)
    for factor in ("2", 2, "4"):
        result = client.predict("singan-mini", handle_file(str(path)), factor, 0, api_name="/singan_super_resolve")
        assert Image.open(result).size == (96 * int(factor), 64 * int(factor))


@pytest.mark.parametrize("endpoint", ["singan_edit", "singan_harmonize"])
def test_sixteen_bit_grayscale_is_not_white(client, tmp_path, endpoint):
    """A 16-bit greyscale upload keeps its tones outside the edited region (it came out all white)."""
    from gradio_client import handle_file

    ramp = np.tile(np.linspace(2000, 60000, 96), (64, 1)).astype(np.uint16)
    image_path, mask_path = tmp_path / "ramp16.png", tmp_path / "mask.png"
    Image.fromarray(ramp).save(image_path)
    assert Image.open(image_path).mode == "I;16"
    mask = Image.new("L", (96, 64), 0)
    mask.paste(255, (60, 40, 90, 60))
    mask.save(mask_path)
    result = client.predict(*inputs(endpoint, handle_file(str(image_path)), handle_file(str(mask_path))),
                            api_name=f"/{endpoint}")
    gray = np.asarray(Image.open(result).convert("L"), dtype=np.float32)[:, :40]  # far from the mask
    expected = np.tile(np.linspace(2000, 60000, 96) / 65535 * 255, (64, 1))[:, :40]
    assert np.abs(gray - expected).mean() < 4, np.abs(gray - expected).mean()


# ---------------------------------------------------------------- temp files are bounded


def test_outputs_are_gradio_temp_files_that_delete_cache_removes(app_module, running_app):
    """Every result (images, the animation GIF) is a file in Gradio's cache that the app's delete_cache
    schedule removes; nothing is left in /tmp (each /singan_animate used to leave a GIF there)."""
    import glob
    import tempfile

    from test_app_security import call_raw

    from pix2pix_demo.ui.common import OUTPUT_DIR_NAME, upload_folder

    assert app_module.demo.delete_cache == app_module.DELETE_CACHE
    frequency, age = app_module.DELETE_CACHE
    assert 0 < frequency <= 3600 and 0 < age <= 24 * 3600
    stray_gifs = set(glob.glob(str(Path(tempfile.gettempdir()) / "*.gif")))
    kind, payload = call_raw(running_app, "singan_animate", ["singan-mini", 3, 0.1, 0.9, 0, 0])
    assert kind == "complete", payload
    served = Path(payload[0]["path"])
    assert served.parent == upload_folder() / OUTPUT_DIR_NAME and served.suffix == ".gif"
    assert any(str(served) in files for files in app_module.demo.temp_file_sets)  # delete_cache's list
    assert set(glob.glob(str(Path(tempfile.gettempdir()) / "*.gif"))) == stray_gifs
    kind, payload = call_raw(running_app, "singan_sample", ["singan-mini", 1, 1.0, 1.0, 0, False])
    assert kind == "complete" and any(payload[0]["path"] in files for files in app_module.demo.temp_file_sets)


def test_outputs_of_a_killed_server_are_swept(tmp_path, monkeypatch):
    """Outputs older than an hour are deleted even when no running server knows them (a killed one's)."""
    from pix2pix_demo.ui import common

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    folder = tmp_path / common.OUTPUT_DIR_NAME
    folder.mkdir()
    old, fresh = folder / "generated-old.png", folder / "generated-fresh.png"
    for path in (old, fresh):
        path.write_bytes(b"x")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(old, (two_hours_ago, two_hours_ago))
    monkeypatch.setattr(common, "_last_sweep", [None])  # as in a new process
    new = common.output_file(Image.new("RGB", (8, 8)), "png")
    assert not old.exists() and fresh.exists() and Path(new).parent == folder


def post_blob(url: str, component_id: int, size: int, index="null", kind="background", session=None) -> int:
    import httpx

    response = httpx.post(f"{url}gradio_api/component_server", timeout=60, data={
        "component_id": str(component_id), "session_hash": session or uuid.uuid4().hex[:11], "fn_name": "accept_blobs",
        "id": uuid.uuid4().hex, "type": kind, "index": index}, files={"file": ("b.png", os.urandom(size), "image/png")})
    return response.status_code


def test_what_anyone_posts_to_the_editors_accept_blobs_is_bounded(app_module, running_app):
    """Issue 28: Gradio kept every image posted to an ImageEditor's accept_blobs (any new id) and a copy of the
    page state for every new session hash; 200 posts of 2 MB grew the server by 400+ MB, never released.
    Now: each editor keeps at most BoundedBlobStore's entries / bytes, a layer index is checked, and sessions
    are capped (what it does to the server's memory: docs/app.md, "Memory from anyone")."""
    from pix2pix_demo.ui.common import MAX_EDITOR_LAYERS, BoundedBlobStore

    editors = [block for block in app_module.demo.blocks.values() if isinstance(block, gr.ImageEditor)]
    assert editors and all(isinstance(editor.blob_storage, BoundedBlobStore) for editor in editors)
    editor = editors[0]
    store = editor.blob_storage
    size = store.max_bytes // 12  # 40 posts: over three times the byte budget
    statuses = {post_blob(running_app, editor._id, size) for _ in range(40)}
    assert statuses == {200}
    assert 0 < len(store) <= store.max_entries and store.total_bytes() <= store.max_bytes
    assert store.total_bytes() >= store.max_bytes - 2 * size  # the newest are kept: a real canvas still arrives
    # a layer index far out of range (Gradio grew a list that long) or an unknown type: nothing stored
    before = dict(store)
    assert post_blob(running_app, editor._id, 100, index=str(10**9), kind="layer") == 200
    assert post_blob(running_app, editor._id, 100, index=str(MAX_EDITOR_LAYERS), kind="layer") == 200
    assert post_blob(running_app, editor._id, 100, kind="secret") == 200
    assert dict(store) == before
    assert post_blob(running_app, editor._id, 100, index="1", kind="layer") == 200  # a real layer is still taken
    assert len(store) >= 1 and any(len(blobs.layers) == 2 for blobs in store.values())
    # and the copies of the page state kept per session hash are capped
    assert app_module.demo.state_session_capacity == app_module.LAUNCH_OPTIONS["state_session_capacity"] <= 1000


def test_blob_store_forgets_old_entries():
    from pix2pix_demo.ui.common import BoundedBlobStore

    store = BoundedBlobStore(max_entries=3, max_bytes=1000, max_age_s=60)
    blobs = lambda n: type("Blobs", (), {"background": b"x" * n, "layers": [b"y" * n], "composite": None})()  # noqa: E731
    for key in "abcd":
        store[key] = blobs(100)
    assert list(store) == ["b", "c", "d"] and store.total_bytes() == 600  # at most 3 entries
    store["e"] = blobs(300)  # 1200 bytes: the oldest go until it fits
    assert list(store) == ["c", "d", "e"] and store.total_bytes() == 1000
    store.pop("d")
    assert store.total_bytes() == 800
    for key, (size, stored) in store._sizes.items():  # older than max_age_s: gone at the next store
        store._sizes[key] = (size, stored - 61)
    store["f"] = blobs(10)
    assert list(store) == ["f"]
    store["huge"] = blobs(600)  # larger than the whole budget on its own: not kept (and it pushed out the rest)
    assert "huge" not in store and store.total_bytes() <= 1000
