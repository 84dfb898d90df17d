"""The SinGAN tab's API endpoints through gradio_client, on a Blocks built with build_singan_tab()
and a tiny model saved to a temporary weights folder (no network, no /work/shared)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import registry, singan
from pix2pix_demo.hub import save_model
from pix2pix_demo.app_benchmark import free_port

pytestmark = pytest.mark.slow



@pytest.fixture(scope="module")
def client(tmp_path_factory):
    import gradio as gr
    from gradio_client import Client

    torch.set_num_threads(1)
    weights = tmp_path_factory.mktemp("weights")
    options = singan.TrainOptions(max_size=32, min_size=25, channels=8, num_layers=3, iters=15, min_iters=10,
                                  device="cpu")
    model, _ = singan.train_singan(singan.reference_image(32), options)
    save_model(model, weights / "singan-tiny", {"label": "Tiny"})
    # an untrained 4-scale model: the scale sliders must follow the selected model's number of scales
    from pix2pix_demo.models.singan import SinGAN, SinGANConfig

    save_model(SinGAN(SinGANConfig(shapes=[[25, 25], [30, 34], [36, 44], [44, 56]], channels=[8] * 4, num_layers=3)),
               weights / "singan-tiny4", {"label": "Tiny, 4 scales"})
    mp = pytest.MonkeyPatch()
    mp.setenv("PIX2PIX_WEIGHTS_DIR", str(weights))
    mp.setenv("PIX2PIX_SINGAN_USER_DIR", str(tmp_path_factory.mktemp("user")))
    mp.setenv("PIX2PIX_HUB_MODELS", "none=nobody/none")  # keep Hub entries out of the dropdowns
    registry.refresh()
    from pix2pix_demo.ui.singan_tab import build_singan_tab

    with gr.Blocks() as demo:
        tab = build_singan_tab()
    demo.queue()
    demo.launch(server_port=free_port(), prevent_thread_lock=True, quiet=True)
    try:
        yield Client(demo.local_url, verbose=False), tab
    finally:
        demo.close()
        mp.undo()
        registry.refresh()


def png(tmp_path, image: Image.Image, name: str) -> str:
    path = tmp_path / name
    image.save(path)
    return str(path)


def test_endpoints_are_named(client):
    api = client[0].view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in ("sample", "edit", "harmonize", "paint", "super_resolve", "animate", "train"):
        assert f"/singan_{name}" in api
    assert "/gpnn_sample" in api


def test_sample_edit_harmonize_paint_sr_animate(client, tmp_path):
    from gradio_client import handle_file

    c, _ = client
    out = Image.open(c.predict("singan-tiny", 1, 2.0, 1.0, 0, api_name="/singan_sample"))
    assert out.size == (64, 32)
    image = singan.reference_image(32).resize((40, 30))
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (5, 5, 20, 20))
    image_file, mask_file = handle_file(png(tmp_path, image, "i.png")), handle_file(png(tmp_path, mask, "m.png"))
    for endpoint in ("/singan_edit", "/singan_harmonize"):
        result = Image.open(c.predict("singan-tiny", image_file, mask_file, 1, 0, api_name=endpoint))
        assert result.size == (40, 30)
    assert Image.open(c.predict("singan-tiny", image_file, 1, 0, True, api_name="/singan_paint")).size == (40, 30)
    assert Image.open(c.predict("singan-tiny", image_file, 2, 0, api_name="/singan_super_resolve")).size == (80, 60)
    gif = Image.open(c.predict("singan-tiny", 3, 0.1, 0.9, 0, 0, api_name="/singan_animate"))
    assert gif.format == "GIF" and gif.n_frames == 3


def test_bad_input_is_an_error_and_server_keeps_serving(client, tmp_path):
    from gradio_client import handle_file

    c, _ = client
    image = handle_file(png(tmp_path, singan.reference_image(32), "i.png"))
    empty = handle_file(png(tmp_path, Image.new("L", (32, 32), 0), "empty.png"))
    with pytest.raises(Exception, match="empty"):
        c.predict("singan-tiny", image, empty, 1, 0, api_name="/singan_edit")
    with pytest.raises(Exception, match="Unknown model"):
        c.predict("no-such-model", 1, 1.0, 1.0, 0, api_name="/singan_sample")
    assert Image.open(c.predict("singan-tiny", 2, 1.0, 1.0, 0, api_name="/singan_sample")).size == (32, 32)


def test_gpnn_endpoint_samples_any_upload_and_refuses_server_paths(client, tmp_path):
    from gradio_client import handle_file

    c, _ = client
    photo = handle_file(png(tmp_path, singan.reference_image(64).resize((80, 48)), "photo.png"))
    first = Image.open(c.predict(photo, 3, 2.0, 1.0, api_name="/gpnn_sample"))
    again = Image.open(c.predict(photo, 3, 2.0, 1.0, api_name="/gpnn_sample"))
    other = Image.open(c.predict(photo, 4, 2.0, 1.0, api_name="/gpnn_sample"))
    assert first.size == (160, 48)
    assert np.array_equal(np.asarray(first), np.asarray(again)) and not np.array_equal(np.asarray(first),
                                                                                     np.asarray(other))
    with pytest.raises(Exception, match="too small"):
        c.predict(handle_file(png(tmp_path, Image.new("RGB", (40, 16)), "thin.png")), 1, 1.0, 1.0,
                  api_name="/gpnn_sample")
    with pytest.raises(Exception, match="(?i)upload|not allowed|file"):  # a server path is never opened
        c.predict({"path": __file__, "meta": {"_type": "gradio.FileData"}}, 1, 1.0, 1.0, api_name="/gpnn_sample")
    assert Image.open(c.predict(photo, 1, 1.0, 1.0, api_name="/gpnn_sample")).size == (80, 48)  # still serving


def test_train_endpoint_registers_a_model(client, tmp_path):
    from gradio_client import handle_file

    c, _ = client
    photo = handle_file(png(tmp_path, singan.reference_image(32), "photo.png"))
    with pytest.raises(Exception, match="too small"):
        c.predict(handle_file(png(tmp_path, Image.new("RGB", (16, 16)), "tiny.png")), "x", 0.5, 64,
                  api_name="/singan_train")
    job = c.submit(photo, "test run", 0.1, 32, api_name="/singan_train")
    status, preview, *_ = job.result()
    assert "Trained" in status and Image.open(preview).size == (32, 32)
    # the status names the model as the dropdowns list it ("Yours: NAME (HH:MM)"), not by its internal key
    assert re.search(r"Trained \*\*Yours: test run \(\d\d:\d\d\)\*\*", status) and "my-test-run" not in status, status
    messages = [output[0] for output in job.outputs()]
    first = next(i for i, m in enumerate(messages) if m.startswith("Instant preview"))  # after the bar's frames
    assert Image.open(job.outputs()[first][1]).size == (32, 32)
    assert re.search(r"now: \d+ s on \d+ CPU threads? \(", messages[first]), messages[first]  # which (issue 28)
    assert any("SinGAN sample through scale" in m for m in messages[1:-1]), messages  # previews while it trains
    assert "Finishing a sample from your photo" in messages[-2], messages
    assert "finished from your photo" in status and "keeps a copy of your photo" in status, status
    assert "Only you" in status and "deleted after 60 minutes" in status, status
    from pix2pix_demo.ui import singan_tab, user_models

    keys = [key for key in user_models._owned if key.startswith("my-test-run")]
    assert keys and user_models.owns(keys[0], session=c.session_hash)
    assert not [key for key in registry.list_models("singan") if key.startswith("my-")]  # not listed to others
    out = Image.open(c.predict(keys[0], 0, 1.0, 1.0, 0, api_name="/singan_sample"))
    assert out.size == (32, 32)
    # the model keeps the photo, and the last preview is its seed-0 sample finished from it (the live ones are plain)
    as_session(c.session_hash)  # this thread acts as the owner's session from here on
    trained = registry.load(keys[0])
    assert singan_tab.keeps_photo(keys[0]) and singan.photo(trained).size == (32, 32)
    shown = np.asarray(Image.open(preview).convert("RGB"))
    assert np.array_equal(shown, np.asarray(singan.sample(trained, seed=0, finish=True)))
    assert not np.array_equal(shown, np.asarray(singan.sample(trained, seed=0)))


def queue_call(url: str, fn_index: int, data: list, session_hash: str) -> tuple[str, object]:
    """An event by fn_index through the queue, as the page sends it: ("completed", output) or ("error", message)."""
    import json

    import httpx

    url = url.rstrip("/") + "/"
    joined = httpx.post(f"{url}gradio_api/queue/join", timeout=60, json={
        "data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None, "trigger_id": None})
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", f"{url}gradio_api/queue/data", params={"session_hash": session_hash}, timeout=300) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            message = json.loads(line[5:])
            if message.get("msg") == "process_completed":
                output = message.get("output") or {}
                return ("completed", output) if message.get("success") else ("error", output.get("error"))
    return "none", None


def as_session(session_hash):
    """This thread handles a request of `session_hash` (what Gradio sets around every handler)."""
    from types import SimpleNamespace

    from gradio.context import LocalContext

    LocalContext.request.set(None if session_hash is None else SimpleNamespace(session_hash=session_hash))


def test_a_trained_model_belongs_to_its_session_and_expires(client, tmp_path):
    """Issue 28: a model from "Train on my image" (with its photo) was listed to, and usable by, every visitor,
    private events by fn_index included, and never expired. Now another session gets "Unknown model" (which
    does not list it) from every endpoint; it expires; a session keeps at most MAX_PER_SESSION."""
    from gradio_client import Client, handle_file

    from pix2pix_demo.ui import user_models

    c, _ = client
    photo = handle_file(png(tmp_path, singan.reference_image(32), "photo.png"))
    status, *_ = c.submit(photo, "mine", 0.1, 25, api_name="/singan_train").result()
    key = next(key for key in reversed(user_models._owned) if key.startswith("my-mine"))
    assert "**Yours: mine (" in status and key not in status  # named as the dropdown lists it
    other = Client(c.src, verbose=False)
    assert other.session_hash != c.session_hash
    for name, args in {"/singan_sample": (key, 0, 1.0, 1.0, 0), "/singan_animate": (key, 0.3, 4, 2, 0)}.items():
        with pytest.raises(Exception) as refused:
            other.predict(*args, api_name=name)
        assert "Unknown model" in str(refused.value) and key not in str(refused.value).split("available:")[-1]
    # the private events by fn_index, the way the page calls them: "Load the example" puts the model's picture
    # (its reconstruction of the photo) into a canvas; for another session it is an error, for the owner a picture
    editors = {c["id"] for c in other.config["components"] if c.get("type") == "imageeditor"}
    loads = [index for index, fn in enumerate(other.config["dependencies"])
             if len(fn["inputs"]) == 1 and editors & set(fn["outputs"]) and fn.get("api_visibility") != "public"]
    assert loads
    def has_picture(answer) -> bool:
        return answer[0] == "completed" and '"path":' in json.dumps(answer[1])

    for index in loads:  # (the others of these only set the brush's colours: nothing of the model's for a stranger)
        assert not has_picture(queue_call(c.src, index, [key], "someone-else")), index
    assert any(has_picture(queue_call(c.src, index, [key], c.session_hash)) for index in loads)
    assert Image.open(c.predict(key, 0, 1.0, 1.0, 0, api_name="/singan_sample")).size[0] > 0  # the owner still can
    as_session(other.session_hash)
    assert key not in registry.list_models() and not user_models.owns(key)
    with pytest.raises(registry.ModelUnavailable):
        registry.load(key)
    as_session(c.session_hash)
    assert key in registry.list_models("singan") and user_models.owns(key)
    # expiry: an hour on, it is gone for its owner too, folder and all
    folder = user_models._owned[key].folder
    assert folder.is_dir()
    assert user_models.sweep(now=user_models._owned[key].created + user_models.LIFETIME_S) >= 1
    assert key not in registry.list_models() and not folder.exists()
    as_session(None)


def test_the_smallest_size_trains_a_photo_that_is_not_square(client, tmp_path):
    """Issue 28: /singan_train at the smallest size (25) failed for every non-square photo (its short side came
    out under 25 px); now the model is made just large enough, and the status says so."""
    from gradio_client import handle_file

    from pix2pix_demo.ui.singan_handlers import _size_for_short_side

    assert _size_for_short_side(Image.new("RGB", (60, 40)), 25) == 38  # 38x25
    assert _size_for_short_side(Image.new("RGB", (40, 60)), 100) == 100  # large enough already
    assert _size_for_short_side(Image.new("RGB", (30, 20)), 25) == 25  # too small itself: pyramid_shapes says so
    assert _size_for_short_side(Image.new("RGB", (300, 25)), 100) == 300  # 12:1, short side 25 only at full size
    c, _ = client
    wide = singan.reference_image(60).crop((0, 10, 60, 50))  # 60x40
    status, preview, *_ = c.submit(handle_file(png(tmp_path, wide, "wide.png")), "wide", 0.1, 25,
                                   api_name="/singan_train").result()
    assert "Trained" in status and "38 px, not 25" in status, status
    assert Image.open(preview).size == (38, 25)


def test_a_session_keeps_a_few_models_and_the_server_a_few_more(tmp_path, monkeypatch):
    from pix2pix_demo.models.singan import SinGAN, SinGANConfig
    from pix2pix_demo.ui import user_models

    monkeypatch.setattr(user_models, "_owned", type(user_models._owned)())
    monkeypatch.setattr(user_models, "MAX_MODELS", 3)
    model = SinGAN(SinGANConfig(shapes=[[25, 25]], channels=[8], num_layers=3))
    folders = []
    for index, session in enumerate(["a", "a", "a", "b", "c"]):
        folders.append(tmp_path / f"my-{index}")
        save_model(model, folders[-1], {"label": str(index)})
        user_models.add(f"my-test-{index}-{session}", folders[-1], session)
    # "a" kept its newest two (MAX_PER_SESSION), then the server's oldest went to keep three (MAX_MODELS)
    assert list(user_models._owned) == ["my-test-2-a", "my-test-3-b", "my-test-4-c"]
    assert [folder.exists() for folder in folders] == [False, False, True, True, True]
    assert user_models.owns("my-test-3-b", session="b") and not user_models.owns("my-test-3-b", session="a")
    assert user_models.unique_key("my-test-3-b") != "my-test-3-b"  # a name someone else holds is not handed out
    for key in list(user_models._owned):
        user_models.remove(key)


def test_canvas_helpers_and_examples(client):
    from pix2pix_demo.ui import singan_tab

    example = singan_tab.edit_example("singan-tiny")
    composite = example["background"].convert("RGBA")
    composite.alpha_composite(example["layers"][0])
    example["composite"] = composite
    image, mask = singan_tab.canvas_to_edit_inputs(example)
    assert image.size == mask.size == (32, 32) and 0 < np.asarray(mask).mean() < 255
    assert singan.edit(registry.load("singan-tiny"), image, mask, 1).size == (32, 32)
    harmonize = singan_tab.harmonize_example("singan-tiny")
    assert harmonize["layers"][0].getchannel("A").getbbox() is not None
    paint = singan_tab.paint_example("singan-tiny")
    assert paint["background"].size == (32, 32)


def test_loaded_example_keeps_its_mask_after_drawing(client):
    """The browser merges loaded layers into the background once you draw: the example's pasted
    piece stays in the mask through the remembered example; strokes are the edit (edit) or only
    mark the mask (harmonize); another picture in the canvas forgets the example."""
    from pix2pix_demo.ui import singan_tab

    value, remembered = singan_tab.load_example(singan_tab.edit_example, "singan-tiny")
    assert value["layers"] == [] and remembered is not None
    pasted = np.asarray(remembered["mask"]) > 0
    assert pasted.any()
    stroke = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    ImageDraw.Draw(stroke).rectangle((2, 26, 12, 30), fill=(255, 255, 255, 255))  # away from the piece
    stroked = np.asarray(stroke.getchannel("A")) > 0
    assert not (pasted & stroked).any()
    _, mask = singan_tab.canvas_to_edit_inputs(value, remembered)  # the example as loaded, nothing drawn
    assert np.array_equal(np.asarray(mask) > 0, pasted)
    canvas = {"background": value["background"], "layers": [stroke], "composite": None}

    image, mask = singan_tab.canvas_to_edit_inputs(canvas, remembered)
    mask = np.asarray(mask) > 0
    assert mask[pasted].all() and mask[stroked].all() and not mask[~(pasted | stroked)].any()
    assert image.getpixel((5, 28)) == (255, 255, 255)  # the stroke is the edit

    image, mask = singan_tab.canvas_to_harmonize_inputs(canvas, remembered)
    assert (np.asarray(mask) > 0)[pasted | stroked].all()
    assert image.getpixel((5, 28)) == value["background"].convert("RGB").getpixel((5, 28))  # not painted over

    uploaded = {"background": Image.new("RGBA", (32, 32), "gray"), "layers": [stroke], "composite": None}
    _, mask = singan_tab.canvas_to_edit_inputs(uploaded, remembered)
    assert not (np.asarray(mask) > 0)[pasted].any()
    assert singan_tab.load_example(singan_tab.paint_example, "singan-tiny")[1] is None  # no layers, no mask


def test_scale_sliders_follow_the_model_without_loading_it(client, monkeypatch):
    """The Start scale / Injection scale sliders end at the selected model's last scale (read from
    config.json: no weights are loaded), and the current value is clamped into the new range."""
    from pix2pix_demo.ui import singan_tab

    tiny = registry.load("singan-tiny").num_scales
    assert tiny != 4

    def no_loading(*_args, **_kwargs):
        raise AssertionError("the slider range must not load the model")

    monkeypatch.setattr(registry, "load", no_loading)
    assert singan_tab.num_scales("singan-tiny") == tiny and singan_tab.num_scales("singan-tiny4") == 4
    assert singan_tab.num_scales("no-such-model") is None and singan_tab.num_scales(None) is None

    update = singan_tab.start_scale_update("singan-tiny4", 2)
    assert update["maximum"] == 3 and update["value"] == 2
    update = singan_tab.start_scale_update("singan-tiny", 3)  # 3 is past the tiny model's last scale
    assert update["maximum"] == tiny - 1 and update["value"] == tiny - 1
    assert "maximum" not in singan_tab.start_scale_update("no-such-model", 3)  # unknown model: unchanged

    update = singan_tab.how_new_update("singan-tiny4", 5)  # Random samples' "How new": the same range ...
    assert update["maximum"] == 3 and update["value"] == 3
    assert "0: a new layout" in update["info"] and "3 (this model's finest)" in update["info"]  # ... and says so
    assert "maximum" not in singan_tab.how_new_update("no-such-model", 3)

    update = singan_tab.injection_scale_update("singan-tiny4", 8, "edit")
    assert update["maximum"] == 3 and update["value"] == 3 and "0 to 3" in update["info"]
    update = singan_tab.injection_scale_update("singan-tiny", -1, "paint")
    assert update["maximum"] == tiny - 1 and update["value"] == -1  # -1 (the default) stays


def test_built_sliders_admit_every_models_scales(client):
    """The sliders as served (what an API call is checked against before the handler runs) admit the
    last scale of every model; the page-load / model-change events narrow them in the browser."""
    from pix2pix_demo.ui import singan_tab

    deepest = max(singan_tab.num_scales(key) for key in registry.list_models("singan")) - 1
    assert deepest >= 3  # singan-tiny4 (or a deeper model trained through the API by an earlier test)
    components = client[0].config["components"]
    sliders = {c["props"].get("elem_id"): c["props"] for c in components if c.get("type") == "slider"}
    for elem_id in ("singan-sample-start", "singan-animate-start", "singan-edit-injection",
                    "singan-harmonize-injection", "singan-paint-injection"):
        assert sliders[elem_id]["maximum"] >= deepest, (elem_id, sliders[elem_id]["maximum"])
    c, _ = client
    assert Image.open(c.predict("singan-tiny4", 0, 1.0, 1.0, 3, api_name="/singan_sample")).size == (56, 44)


def test_brush_starts_with_the_models_colours_not_white(client):
    from pix2pix_demo.ui import singan_tab

    default = singan_tab._brush()
    assert default.default_color == default.colors[0] and default.colors[0].lower() not in ("#ffffff", "white")
    palette = singan_tab.model_palette("singan-tiny")
    expected = {"#{:02x}{:02x}{:02x}".format(*rgb) for rgb in singan.training_palette(registry.load("singan-tiny"), 5)}
    assert palette and set(palette) == expected
    brush = singan_tab.brush_update("singan-tiny")["brush"]
    assert brush.colors[:len(palette)] == palette and brush.default_color == palette[0]
    assert "#ffffff" in brush.colors  # white is still offered, last
    assert brush.colors[-1] == "#ffffff"
    fallback = singan_tab.brush_update("no-such-model")["brush"]  # no model: the fixed colours, black first
    assert fallback.default_color == "#000000"


def test_out_of_range_scales_are_clear_errors(client, tmp_path):
    from gradio_client import handle_file

    c, _ = client
    n = registry.load("singan-tiny").num_scales
    with pytest.raises(Exception, match=f"start_scale must be between 0 and {n - 1}"):
        c.predict("singan-tiny", 1, 1.0, 1.0, n, api_name="/singan_sample")
    with pytest.raises(Exception, match=f"start_scale must be between 0 and {n - 1}"):
        c.predict("singan-tiny", 3, 0.1, 0.9, n, 0, api_name="/singan_animate")
    with pytest.raises(Exception, match=f"start_scale must be between 0 and {n - 1}"):  # past every model too
        c.predict("singan-tiny", 3, 0.1, 0.9, 99, 0, api_name="/singan_animate")
    image = handle_file(png(tmp_path, singan.reference_image(32), "i.png"))
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (5, 5, 20, 20))
    mask_file = handle_file(png(tmp_path, mask, "m.png"))
    with pytest.raises(Exception, match=f"injection_scale must be between 0 and {n - 1}"):
        c.predict("singan-tiny", image, mask_file, n, 0, api_name="/singan_edit")
    with pytest.raises(Exception, match=f"injection_scale must be between 0 and {n - 1}"):
        c.predict("singan-tiny", image, n + 1, 0, True, api_name="/singan_paint")
    assert Image.open(c.predict("singan-tiny", 2, 1.0, 1.0, n - 1, api_name="/singan_sample")).size == (32, 32)
    # -1 is "the default"; a more negative scale is refused, not silently taken as the default
    with pytest.raises(Exception, match="injection_scale must be 0 or more"):
        c.predict("singan-tiny", image, -50, 0, True, api_name="/singan_paint")
    # a flag is true or false: "yes" is refused, not taken as true
    with pytest.raises(Exception, match="finish must be true or false"):
        c.predict("singan-tiny", 1, 1.0, 1.0, 0, "yes", api_name="/singan_sample")


def test_sample_finished_from_the_photo(client):
    """/singan_sample's last input `finish`: the sample with its texture rebuilt from the photo (same size,
    not the plain sample); left out by a client (as before it existed) it is off; a model saved without
    its photo is a clear error and the server keeps serving."""
    c, _ = client
    plain = np.asarray(Image.open(c.predict("singan-tiny", 1, 2.0, 1.0, 0, False, api_name="/singan_sample")))
    finished = np.asarray(Image.open(c.predict("singan-tiny", 1, 2.0, 1.0, 0, True, api_name="/singan_sample")))
    assert finished.shape == plain.shape == (32, 64, 3)
    assert np.abs(finished.astype(int) - plain).mean() > 1  # rebuilt, not the plain sample
    expected = singan.sample(registry.load("singan-tiny"), seed=1, width_factor=2.0, finish=True)
    assert np.array_equal(finished, np.asarray(expected))
    omitted = np.asarray(Image.open(c.predict("singan-tiny", 1, 2.0, 1.0, 0, api_name="/singan_sample")))
    assert np.array_equal(omitted, plain)
    api = c.view_api(print_info=False, return_format="dict")["named_endpoints"]["/singan_sample"]["parameters"]
    assert api[-1]["parameter_has_default"] and api[-1]["parameter_default"] is False
    with pytest.raises(Exception, match="saved without its training photo"):
        c.predict("singan-tiny4", 0, 1.0, 1.0, 0, True, api_name="/singan_sample")
    assert Image.open(c.predict("singan-tiny4", 0, 1.0, 1.0, 0, False, api_name="/singan_sample")).size == (56, 44)


def test_paint_and_edit_finished_from_the_photo(client, tmp_path):
    """/singan_paint's and /singan_edit's last input `finish`: the library's finished result (the edit only
    inside the mask); left out by a client it is off; a model without its photo is a clear error and the
    server keeps serving. /singan_harmonize has no finish (it would replace the pasted object)."""
    from gradio_client import handle_file

    c, _ = client
    image = singan.reference_image(32).resize((40, 30))
    mask = Image.new("L", image.size, 0)
    mask.paste(255, (5, 5, 20, 20))
    image_file, mask_file = handle_file(png(tmp_path, image, "i.png")), handle_file(png(tmp_path, mask, "m.png"))
    model = registry.load("singan-tiny")

    def call(*args, api_name):
        return np.asarray(Image.open(c.predict(*args, api_name=api_name)))

    plain = call("singan-tiny", image_file, 1, 0, True, False, api_name="/singan_paint")
    finished = call("singan-tiny", image_file, 1, 0, True, True, api_name="/singan_paint")
    assert finished.shape == plain.shape == (30, 40, 3)
    assert np.abs(finished.astype(int) - plain).mean() > 1
    assert np.array_equal(finished, np.asarray(singan.paint(model, image, 1, 0, True, finish=True)))
    assert np.array_equal(call("singan-tiny", image_file, 1, 0, True, api_name="/singan_paint"), plain)  # omitted

    plain = call("singan-tiny", image_file, mask_file, 1, 0, False, api_name="/singan_edit")
    finished = call("singan-tiny", image_file, mask_file, 1, 0, True, api_name="/singan_edit")
    assert finished.shape == plain.shape == (30, 40, 3)
    assert np.abs(finished.astype(int) - plain)[5:20, 5:20].mean() > 1
    assert np.array_equal(finished, np.asarray(singan.edit(model, image, mask, 1, 0, finish=True)))
    assert np.array_equal(call("singan-tiny", image_file, mask_file, 1, 0, api_name="/singan_edit"), plain)

    api = c.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for endpoint, count in (("/singan_paint", 6), ("/singan_edit", 6), ("/singan_harmonize", 5)):
        parameters = api[endpoint]["parameters"]
        assert len(parameters) == count, (endpoint, parameters)
        if count == 6:
            assert parameters[-1]["parameter_has_default"] and parameters[-1]["parameter_default"] is False
    four = handle_file(png(tmp_path, singan.reference_image(32).resize((56, 44)), "four.png"))
    four_mask = Image.new("L", (56, 44), 0)
    four_mask.paste(255, (5, 5, 20, 20))
    four_mask = handle_file(png(tmp_path, four_mask, "four-mask.png"))
    with pytest.raises(Exception, match="saved without its training photo"):
        c.predict("singan-tiny4", four, 1, 0, False, True, api_name="/singan_paint")
    with pytest.raises(Exception, match="saved without its training photo"):
        c.predict("singan-tiny4", four, four_mask, 1, 0, True, api_name="/singan_edit")
    assert call("singan-tiny4", four, 1, 0, False, False, api_name="/singan_paint").shape == (44, 56, 3)


def test_finish_checkbox_follows_the_models_photo(client, monkeypatch):
    """The checkbox is built unticked (the API default); on page load / model change it is ticked and
    clickable for a model that keeps its photo (as the person last left it), unticked and greyed out
    with the reason for one that does not. Read from config.json: no weights are loaded. The Random
    samples default is the preferred-with-photo model only when it keeps its photo."""
    from pix2pix_demo.ui import singan_tab

    c, _ = client
    boxes = [comp["props"] for comp in c.config["components"]
             if comp["props"].get("elem_id") == "singan-sample-finish"]
    assert len(boxes) == 1 and boxes[0]["value"] is False and boxes[0]["label"] == singan_tab.FINISH_LABEL
    # the canvas sub-tabs that offer it: Editing and Paint to image (each its own box), not Harmonization
    ids = {comp["props"].get("elem_id") for comp in c.config["components"]}
    assert {"singan-edit-finish", "singan-paint-finish"} <= ids and "singan-harmonize-finish" not in ids
    # Editing is opt-in (the finish can undo the edit itself), Paint to image starts ticked
    by_default = {app.name: app.finish_by_default for app in singan_tab.CANVAS_APPLICATIONS if app.finish_info}
    assert by_default == {"edit": False, "paint": True}
    paint_info = next(app.finish_info for app in singan_tab.CANVAS_APPLICATIONS if app.name == "paint")
    update = singan_tab.finish_update("singan-tiny", True, paint_info)
    assert update["value"] is True and update["interactive"] is True and update["info"] == paint_info
    update = singan_tab.finish_update("singan-tiny4", True, paint_info)
    assert update["value"] is False and update["interactive"] is False and update["info"] == singan_tab.FINISH_NO_PHOTO

    def no_loading(*_args, **_kwargs):
        raise AssertionError("the checkbox must not load the model")

    monkeypatch.setattr(registry, "load", no_loading)
    assert singan_tab.keeps_photo("singan-tiny") is True and singan_tab.keeps_photo("singan-tiny4") is False
    assert singan_tab.keeps_photo("no-such-model") is None
    update = singan_tab.finish_update("singan-tiny", True)
    assert update["value"] is True and update["interactive"] is True and update["info"] == singan_tab.FINISH_INFO
    assert singan_tab.finish_update("singan-tiny", False)["value"] is False  # the person's choice is kept
    update = singan_tab.finish_update("singan-tiny4", True)
    assert update["value"] is False and update["interactive"] is False
    assert "without its training photo" in update["info"]

    monkeypatch.setitem(singan_tab.PREFERRED, "sample", "singan-tiny4")
    monkeypatch.setitem(singan_tab.PREFERRED_WITH_PHOTO, "sample", "singan-tiny")
    assert singan_tab.default_model("sample") == "singan-tiny"
    monkeypatch.setitem(singan_tab.PREFERRED_WITH_PHOTO, "sample", "singan-tiny4")  # keeps no photo: not preferred
    monkeypatch.setitem(singan_tab.PREFERRED, "sample", "singan-tiny")
    assert singan_tab.default_model("sample") == "singan-tiny"


def test_every_sub_tab_with_a_finish_defaults_to_a_shipped_model_that_keeps_its_photo():
    """Random samples, Editing and Paint to image offer "Finish from the photo"; their shipped default model
    must keep its photo, or the checkbox a person first sees is greyed out (issue 28: Editing's stone and
    Paint's cows were shipped without theirs). Read from the shipped config.json files."""
    from pathlib import Path

    from pix2pix_demo.hub import read_config
    from pix2pix_demo.ui import singan_tab

    weights = Path(__file__).resolve().parent.parent / "weights"
    with_finish = ["sample"] + [app.name for app in singan_tab.CANVAS_APPLICATIONS if app.finish_info]
    assert with_finish == ["sample", "edit", "paint"]
    for application in with_finish:
        key = singan_tab.PREFERRED_WITH_PHOTO.get(application)
        assert key is not None, application
        assert read_config(weights / key)["architecture"].get("keeps_photo") is True, (application, key)
