"""The classical coat recolour offered in the Translate tab beside the StarGAN: coat.recolour_coat, its
translator (pix2pix_demo.translate.RecolourTranslator: our cat segmenter + the recolour) and the
/translate_photo endpoint, on pictures and tiny segmenters made here (no ../shared, no network)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import registry, translate
from pix2pix_demo.coat import COAT_DOMAINS, core_colour, recolour_coat
from pix2pix_demo.hub import save_model
from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig
from test_coat_stargan import cat_photo  # the striped-disc 'photo' of the coat StarGAN tests
from train.data.coat_domains import coat_domain


def constant_segmenter(folder, logit: float):
    """A tiny segmenter that calls every pixel cat (logit > 0) or nothing (logit < 0), saved as a model folder."""
    model = CatSegmenter(SegmenterConfig(channels=[2, 4]))
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(logit)
    return save_model(model, folder, {"label": "Constant segmenter"})


@pytest.mark.parametrize("start", [(0.45, 0.44, 0.43), (0.57, 0.40, 0.25), (0.12, 0.11, 0.10)])
def test_recolour_moves_the_coat_to_each_target_and_keeps_the_background(start):
    photo, probability = cat_photo(start, size=(96, 72))
    before = core_colour(photo, probability)
    for target, coat in COAT_DOMAINS.items():
        out = recolour_coat(photo, coat, probability)
        assert out.shape == photo.shape and out.dtype == np.uint8
        after = core_colour(out, probability)
        assert np.linalg.norm(after - coat) < 0.06  # lands on the target coat ...
        if np.linalg.norm(before - coat) > 0.1:
            assert np.linalg.norm(after - coat) < 0.4 * np.linalg.norm(before - coat)  # ... from far away
        assert coat_domain(after) == target  # by the labelling rules, the coat is now the target's
        outside = probability == 0
        assert np.array_equal(out[outside], photo[outside])  # the background keeps its exact pixels
        inside = out[probability == 1].astype(np.float32)
        assert inside.std(axis=0).mean() > 1.0  # the fur keeps its stripes (not a flat fill)


def test_recolour_without_a_sure_cat_changes_nothing():
    photo, _ = cat_photo((0.45, 0.44, 0.43), size=(96, 72))
    out = recolour_coat(photo, COAT_DOMAINS["ginger"], np.zeros(photo.shape[:2], np.float32))
    assert np.array_equal(out, photo)


@pytest.fixture
def weights(tmp_path, monkeypatch):
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(tmp_path))
    registry.refresh()
    yield tmp_path
    monkeypatch.delenv("PIX2PIX_WEIGHTS_DIR")
    registry.refresh()


def test_the_recolour_is_a_classical_translator_only_with_a_segmenter(weights, monkeypatch):
    from pix2pix_demo import cutout
    from pix2pix_demo.ui import translate_tab

    assert translate.RECOLOUR_KEY not in translate.translators()  # no segmenter, no recolour
    constant_segmenter(weights / "cat-segmenter", 6.0)
    registry.refresh()
    translator = translate.get_translator(translate.RECOLOUR_KEY)
    assert not translator.learned and "classical" in translator.label
    assert translator.targets == ("black", "ginger", "grey-tabby", "white-cream")
    assert translate_tab.target_choices(translate.RECOLOUR_KEY)[2] == ("Grey tabby", "grey-tabby")
    assert (translator.label, translate.RECOLOUR_KEY) in translate_tab.translator_choices()
    assert "Classical" in translate_tab.method_note(translate.RECOLOUR_KEY)

    photo, disc = cat_photo((0.45, 0.44, 0.43), size=(120, 90))
    monkeypatch.setattr(cutout, "segment", lambda model, picture: np.asarray(
        Image.fromarray((disc * 255).astype(np.uint8)).resize(picture.size, Image.BILINEAR), np.float32) / 255)
    for target in translator.targets:
        out = np.asarray(translator.translate(Image.fromarray(photo).convert("RGBA"), target))
        assert out.shape == photo.shape  # the photo's own size
        before, after = core_colour(photo, disc), core_colour(out, disc)
        coat = np.asarray(COAT_DOMAINS[target])
        assert np.linalg.norm(after - coat) < min(0.06, np.linalg.norm(before - coat) + 1e-6)
    big = translator.translate(Image.fromarray(photo).resize((2400, 1800)), "black")
    assert big.size == (translate.RECOLOUR_MAX_SIDE, 768)
    with pytest.raises(translate.TranslateError, match="black, ginger, grey-tabby, white-cream"):
        translator.translate(Image.fromarray(photo), "tabby")
    with pytest.raises(translate.TranslateError, match="too thin"):
        translator.translate(Image.new("RGB", (1000, 20)), "black")
    monkeypatch.setattr(cutout, "segment", lambda model, picture: np.zeros(picture.size[::-1], np.float32))
    with pytest.raises(translate.TranslateError, match="No cat found"):
        translator.translate(Image.fromarray(photo), "black")


# ---------------------------------------------------------------- the app endpoint


@pytest.fixture(scope="module")
def client(running_app, tiny_weights_dir):
    from gradio_client import Client

    folder = constant_segmenter(tiny_weights_dir / "cat-segmenter", 6.0)  # every pixel is cat
    registry.refresh()
    yield Client(running_app, verbose=False)
    shutil.rmtree(folder)  # other tests' photos must not meet a segmenter
    registry.refresh()


@pytest.mark.slow
def test_translate_photo_endpoint_recolours_the_coat(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    photo, _ = cat_photo((0.45, 0.44, 0.43), size=(120, 90))
    path = tmp_path / "cat.png"
    Image.fromarray(photo).save(path)
    everything = np.ones(photo.shape[:2], np.float32)  # this segmenter calls the whole picture cat
    before = core_colour(photo, everything)
    for target in ("ginger", "black"):
        out = np.asarray(Image.open(client.predict(handle_file(str(path)), translate.RECOLOUR_KEY, target,
                                                   api_name="/translate_photo")).convert("RGB"))
        assert out.shape == photo.shape
        after = core_colour(out, everything)
        coat = np.asarray(COAT_DOMAINS[target])
        assert np.linalg.norm(after - coat) < 0.5 * np.linalg.norm(before - coat)
    with pytest.raises(AppError, match="black, ginger, grey-tabby, white-cream"):
        client.predict(handle_file(str(path)), translate.RECOLOUR_KEY, "zebra", api_name="/translate_photo")
