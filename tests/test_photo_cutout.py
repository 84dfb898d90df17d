"""The Photo tab cuts the cat out first for models trained on cut-outs (edges2cats), as their training photos were.

The segmenter's answer is monkeypatched (a known "cat" blob on a synthetic photo): these tests check the
tab's logic, not the segmenter's accuracy, and need neither ../shared nor weights/."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw

from pix2pix_demo import cutout, registry
from pix2pix_demo.ui import logic

CAT_BOX = (30, 60, 130, 170)  # an ellipse: the "cat", brown
CLUTTER_BOX = (250, 20, 310, 80)  # a blue box far from it: a bowl, a rug...
CAT_RGB = (150, 100, 60)


@pytest.fixture(autouse=True)
def _models(tiny_weights_dir):
    logic._pipelines.clear()
    yield


def scene() -> Image.Image:
    image = Image.new("RGB", (320, 240), (200, 205, 195))
    draw = ImageDraw.Draw(image)
    draw.ellipse(CAT_BOX, fill=CAT_RGB)
    draw.line([(60, 100), (100, 130)], fill=(40, 30, 20), width=3)  # a stripe: some inner edges
    draw.rectangle(CLUTTER_BOX, fill=(30, 60, 200))
    return image


def cat_probability(image: Image.Image) -> np.ndarray:
    """What a sure segmenter would say about `scene()`: 1 on the ellipse, 0 elsewhere."""
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).ellipse(CAT_BOX, fill=255)
    return (np.asarray(mask, np.float32) / 255)


@pytest.fixture
def segmenter(monkeypatch):
    """A 'segmenter' whose probability map is `answer[0](photo)` (default: the cat blob); counts its calls."""
    calls = []
    answer = [cat_probability]

    def fake_segment(model, photo, *args, **kwargs):
        calls.append(photo.size)
        return answer[0](photo)

    monkeypatch.setattr(logic, "cat_segmenter", lambda: object())
    monkeypatch.setattr(cutout, "segment", fake_segment)
    return type("Segmenter", (), {"calls": calls, "answer": answer})


def expected_cut_out(photo: Image.Image, size: int) -> Image.Image:
    """The training cut-out (train.data.edges.cutout_photo's segmenter branch) of `scene()`."""
    return cutout.cut_out(photo, cutout.soft_alpha(cat_probability(photo) >= 0.5), size=size, margin=0.08)


def test_cats_model_is_marked_as_trained_on_cutouts_and_products_is_not():
    assert logic.cuts_out_cats("edges2cats")  # the tiny one takes the cats' named coats
    assert not logic.cuts_out_cats("edges2products")
    assert not logic.cuts_out_cats("no-such-model") and not logic.cuts_out_cats(None)


def test_the_draw_tab_starts_fur_on_for_the_models_whose_config_asks():
    assert "edges2cats" in logic.fur_models() and logic.fur_defaults() == ["edges2cats"]  # the tiny one asks


@pytest.mark.parametrize("fur, expected", [
    ({"amount": 0.1, "length": 2}, True), (True, True), ({"amount": 0}, False), (None, False), (False, False),
    ({"amount": "lots"}, False), ({"colour": 1}, False),  # bad values: no (loading the model says why)
])
def test_the_registry_reads_whether_a_config_asks_for_fur(fur, expected):
    assert registry._asks_fur({} if fur is None else {"fur": fur}) is expected


@pytest.mark.parametrize("data, coats, expected", [
    ({"path": "runs/data/cats-cutout-v2"}, (), True),
    ({"path": "../shared/data/edges2products/train", "cutout": True}, (), True),
    ({"path": "runs/data/cats-cutout", "cutout": False}, (), False),  # the explicit flag wins
    ({"path": "../shared/data/edges2products/train"}, (("brown", (0.4, 0.3, 0.3)), ("blue", (0.4, 0.5, 0.5))), False),
    ({}, tuple((name, rgb) for name, rgb in __import__("pix2pix_demo.coat").coat.COATS.items()), True),
])
def test_the_rule_for_models_trained_on_cutouts(data, coats, expected):
    assert registry._trained_on_cutouts({"data": data}, coats) is expected


def test_cats_model_gets_the_edges_of_the_cut_out_by_default(segmenter):
    photo = scene()
    result = logic.photo_result(photo, "edges2cats")
    assert result.cut and result.note == "" and segmenter.calls
    cut = expected_cut_out(photo, 64)  # the tiny model's resolution
    assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(cut)))
    whole = logic.photo_to_edges(photo)
    assert result.edges.size == (64, 64) != whole.size
    # the clutter is far from the cat: its outline is in the whole photo's edges, not in the cut-out's
    left, top, right, bottom = CLUTTER_BOX
    assert (np.asarray(whole)[top - 2:bottom + 3, left - 2:right + 3] < 128).sum() > 50
    ink = np.asarray(result.edges) < 128
    assert ink.sum() > 20 and not ink[:, :3].any() and not ink[:3].any()  # white margin around the cat
    # the picture is the model's answer to those edges, in the colour inside the cut-out (not the rug's)
    assert np.array_equal(np.asarray(result.image), np.asarray(logic.generate_from_edges(result.edges, "edges2cats",
                                                                                         coat=result.coat)))
    assert np.allclose(result.coat, np.array(CAT_RGB) / 255, atol=0.06)
    assert result.coat_hex == "#%02x%02x%02x" % tuple(round(v * 255) for v in result.coat)


def test_draw_gets_the_same_picture_for_the_same_edges_and_the_carried_colour(segmenter):
    from pix2pix_demo.ui import draw_tab

    result = logic.photo_result(scene(), "edges2cats")
    # the Draw tab sends the carried colour as "#rrggbb": the very colour the Photo tab used
    again = logic.generate_from_edges(result.edges, "edges2cats", coat=result.coat_hex)
    assert np.array_equal(np.asarray(again), np.asarray(result.image))
    brown = logic.generate_from_edges(result.edges, "edges2cats")  # what Draw gave before: the model's default colour
    assert not np.array_equal(np.asarray(brown), np.asarray(result.image))
    value = draw_tab.surface_value_for(result.edges, "edges2cats", coat=result.coat_hex)
    assert value["coat"] == result.coat_hex and value["model"] == "edges2cats"
    assert "coat" not in draw_tab.surface_value_for(result.edges, "edges2products", coat=result.coat_hex)


def test_a_close_up_is_cut_out_inside_the_frame_for_a_model_trained_with_close_ups(segmenter, monkeypatch):
    photo = scene()

    def face(image):  # a cat filling the photo's left and cut by its frame (a face close-up)
        mask = Image.new("L", image.size, 0)
        ImageDraw.Draw(mask).ellipse((-60, -40, 200, 280), fill=255)
        return np.asarray(mask, np.float32) / 255

    segmenter.answer[0] = face
    quality = cutout.mask_quality(face(photo))
    assert quality.failed == "frame" and logic.is_close_up(quality)
    # a model trained without close-ups: the old refusal and the whole photo
    result = logic.photo_result(photo, "edges2cats")
    assert not result.cut and not result.close_up and "touches" in result.note
    # trained with them: the cat cut out in a square inside the photo, the frame still cutting it
    pipe = logic.get_pipeline("edges2cats")
    monkeypatch.setitem(pipe.metadata, "data", {**pipe.metadata.get("data", {}), "close_ups": 0.1})
    result = logic.photo_result(photo, "edges2cats")
    assert result.cut and result.close_up and result.note == ""
    alpha = cutout.soft_alpha(face(photo) >= 0.5)
    box = cutout.square_box(alpha > 0.5, 0.08)
    assert box[0] < 0 and box[3] - box[1] > photo.height  # the training cut-out's box would leave the photo...
    from pix2pix_demo.edges import close_up_box

    inside = close_up_box(alpha > 0.5, box[2] - box[0], ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    assert inside == (0, 0, photo.height, photo.height)  # ...this one is the largest square inside it, on the cat
    expected = cutout.cut_out(photo, alpha, size=64, box=inside)
    assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(expected)))
    cut = np.asarray(expected).min(axis=2) < 230
    assert cut[:, 0].all()  # the cat reaches the square's left side: cut by the frame, no white margin there
    # other refusals stay refusals: an unsure outline is no close-up
    assert quality.failures == ("frame",)
    unsure = cutout.MaskQuality(0.5, 0.6, 1.0, 0.5, False, "", "frame", ("uncertain", "frame"))
    assert not logic.is_close_up(unsure)
    assert not logic.is_close_up(cutout.MaskQuality(0.02, 0.0, 1.0, 0.5, False, "", "area", ("too small", "frame")))
    assert not logic.is_close_up(cutout.MaskQuality(0.3, 0.0, 1.0, 0.0, True, "ok", "", ()))  # no refusal at all
    # measured: a cat filling the whole photo is "too large" and cut by the frame, nothing else; every
    # failed check is listed, the first one stays `failed`
    whole = cutout.mask_quality(np.ones((40, 50), np.float32))
    assert whole.failures == ("too large", "frame") and whole.failed == "area" and logic.is_close_up(whole)
    blotchy = np.ones((40, 50), np.float32)
    blotchy[::2] = 0.5  # half the rows undecided
    assert "uncertain" in cutout.mask_quality(blotchy).failures and not logic.is_close_up(cutout.mask_quality(blotchy))
    assert cutout.mask_quality(np.zeros((40, 50), np.float32)).failures == ("no cat",)


def test_unsure_segmenter_falls_back_to_the_whole_photo_with_a_message(segmenter):
    photo = scene()
    segmenter.answer[0] = lambda image: np.zeros((image.height, image.width), np.float32)
    result = logic.photo_result(photo, "edges2cats")
    assert not result.cut and "No cat found" in result.note and "whole photo" in result.note
    assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(photo)))

    def two_cats(image):  # two equal blobs: the checks' "blobs"
        probability = cat_probability(image)
        return np.maximum(probability, np.roll(probability, 170, axis=1))

    segmenter.answer[0] = two_cats
    calls_before = len(segmenter.calls)
    result = logic.photo_result(photo, "edges2cats")
    assert not result.cut and "Not sure where the cat is" in result.note and "main blob" in result.note
    # the refused cut-out's segmentation also gives the whole photo's colour: the photo is segmented once
    assert len(segmenter.calls) == calls_before + 1
    assert result.coat is not None


def test_handler_warns_about_the_fallback_and_still_answers(segmenter, tmp_path):
    from test_app import png_bytes, uploaded

    from pix2pix_demo.ui import photo_tab

    segmenter.answer[0] = lambda image: np.zeros((image.height, image.width), np.float32)
    path = uploaded(png_bytes(scene()), "scene.png")
    with warnings.catch_warnings(record=True) as caught:  # gr.Warning outside a request warns
        warnings.simplefilter("always")
        edges, image, coat = photo_tab.photo_to_image(path, "edges2cats")
    assert any("No cat found" in str(w.message) for w in caught)
    assert Image.open(edges).size == (320, 240) and Image.open(image).size[0] > 0


def test_checkbox_off_gives_the_whole_photo_as_before(segmenter, tmp_path):
    from test_app import png_bytes, uploaded

    from pix2pix_demo.ui import photo_tab

    photo = scene()
    result = logic.photo_result(photo, "edges2cats", cutout=False)
    assert not result.cut and result.note == ""
    assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(photo)))
    expected = logic.generate_from_edges(logic.photo_to_edges(photo), "edges2cats",
                                         coat=logic._quantized(logic.photo_colour(photo)))
    assert np.array_equal(np.asarray(result.image), np.asarray(expected))
    # through the handler (the API's optional 4th argument): off -> the photo's size; left out -> the cut-out
    path = uploaded(png_bytes(photo), "scene.png")
    for off in (False, "false"):
        edges, _, _ = photo_tab.photo_to_image(path, "edges2cats", "hed-like", off)
        assert Image.open(edges).size == (320, 240)
    edges, _, coat = photo_tab.photo_to_image(path, "edges2cats")
    assert Image.open(edges).size == (64, 64) and coat.startswith("#")


def test_products_model_is_unaffected(segmenter):
    photo = scene()
    segmenter.calls.clear()
    for cut in (None, True):
        result = logic.photo_result(photo, "edges2products", cutout=cut)
        assert not result.cut and result.note == "" and result.coat is None
        assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(photo)))
    assert segmenter.calls == []  # the cat segmenter is never asked


def test_without_a_segmenter_the_whole_photo_is_used_and_said():
    photo = scene()  # the tiny weights folder has no cat-segmenter
    result = logic.photo_result(photo, "edges2cats")
    assert not result.cut and "No cat segmenter" in result.note
    assert np.array_equal(np.asarray(result.edges), np.asarray(logic.photo_to_edges(photo)))


def test_model_change_shows_the_checkbox_only_for_cutout_models(tmp_path):
    from pix2pix_demo.ui import photo_tab

    assert photo_tab.model_changed(None, "edges2cats")[1].visible is True
    assert photo_tab.model_changed(None, "edges2products")[1].visible is False


def test_edit_in_draw_carries_the_colour(segmenter):
    from test_app import png_bytes, uploaded

    from pix2pix_demo.ui import draw_tab, photo_tab

    edges, _, coat = photo_tab.photo_to_image(uploaded(png_bytes(scene()), "scene.png"), "edges2cats")
    draw = draw_tab.DrawTab(target=None, model=None, seed=None, value_for_sketch=draw_tab.surface_value_for)
    value, _ = photo_tab.edges_to_canvas(edges, "edges2cats", coat, draw=draw)
    assert value["coat"] == coat and value["model"] == "edges2cats" and value["load"].startswith("data:image/png")
    value, _ = photo_tab.edges_to_canvas(edges, "edges2cats", "", draw=draw)  # no colour yet: none carried
    assert "coat" not in value


def test_config_flag_is_read_from_a_model_folder(tmp_path, monkeypatch):
    from conftest import save_tiny_pix2pix

    from pix2pix_demo.hub import read_config

    folder = save_tiny_pix2pix(tmp_path / "plain-cats", coats=True)
    config = read_config(folder)
    config["data"] = {"path": "runs/data/cats-cutout", "cutout": False}
    (folder / "config.json").write_text(json.dumps(config))
    monkeypatch.setattr(registry, "_added", dict(registry._added))  # the model leaves with this test
    registry.add_local_model("plain-cats", folder)
    assert not logic.cuts_out_cats("plain-cats")


def test_the_drawing_of_an_edge_map_is_what_the_live_path_makes_of_it(segmenter):
    """"Edit the edges in Draw" loads logic.drawing_of_edges' square into the canvas; the live path's own reading of
    that square (sketch_from_canvas) must leave it as it is, or the Draw tab's picture would not be the Photo tab's."""
    result = logic.photo_result(scene(), "edges2cats")
    for size in (64, 256):
        square, (left, top, right, bottom) = logic.drawing_of_edges(result.edges, size)
        assert square.size == (size, size) and square.mode == "L"
        assert np.array_equal(np.asarray(logic.sketch_from_canvas(square, size=size)), np.asarray(square))
        # the canvas doubles (256) or octuples (64) each pixel to 512²; the surface and the server shrink it back
        blocks = square.resize((512, 512), Image.NEAREST)
        assert np.array_equal(np.asarray(logic.sketch_from_canvas(blocks, size=size)), np.asarray(square))
        ink = np.asarray(square) < 128
        assert ink.any() and not ink[:top].any() and not ink[bottom:].any()  # the edges fill the box, centred
        assert right - left == size or bottom - top == size


def test_a_close_up_model_is_offered_for_close_ups_and_set_by_the_close_up_example(segmenter, tmp_path):
    from conftest import save_tiny_pix2pix
    from pix2pix_demo.ui import photo_tab

    assert logic.close_up_model() is None and logic.close_up_model("edges2cats") is None  # none installed
    faces = tmp_path / "edges2cats-faces"
    save_tiny_pix2pix(faces, seed=3, label="Edges → cat face (close-up)", coats=True)
    config = json.loads((faces / "config.json").read_text())
    config["data"] = {**config.get("data", {}), "close_ups": 1.0, "cutout": True}
    (faces / "config.json").write_text(json.dumps(config))
    registry.add_local_model("edges2cats-faces", faces)
    try:
        assert registry.list_models()["edges2cats-faces"].close_ups == 1.0
        assert registry.list_models()["edges2cats"].close_ups < 0.99
        assert logic.close_up_model("edges2cats") == "edges2cats-faces"
        assert logic.close_up_model("edges2cats-faces") is None  # not offered for itself
        rows = {__import__("pathlib").Path(path).stem: key for path, key in photo_tab.example_rows()}
        assert rows["chelsea"] == "edges2cats-faces" and rows["coffee"] == logic.default_model()

        def face(image):  # the cat fills the photo's left, cut by its frame
            mask = Image.new("L", image.size, 0)
            ImageDraw.Draw(mask).ellipse((-60, -40, 200, 280), fill=255)
            return np.asarray(mask, np.float32) / 255

        segmenter.answer[0] = face
        result = logic.photo_result(scene(), "edges2cats")  # the whole-cat model: the whole photo, and a pointer
        assert not result.cut and "“Edges → cat face (close-up)” is made for photos the cat fills" in result.note
        result = logic.photo_result(scene(), "edges2cats-faces")  # the close-up model cuts it out as a close-up
        assert result.cut and result.close_up and result.note == ""
        segmenter.answer[0] = cat_probability  # a whole cat: no pointer, the usual cut-out
        assert logic.photo_result(scene(), "edges2cats").note == ""
    finally:
        registry._added.pop("edges2cats-faces", None)
        logic._pipelines.clear()
    assert logic.close_up_model() is None
