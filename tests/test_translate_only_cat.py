"""Translate, "Change only the cat" (issue 26): the GAN's change kept on the cat our segmenter finds
(pix2pix_demo.translate: cat_alpha, restrict_to_cat, LearnedTranslator.run), its fallbacks and the tab's
flag; tiny models and drawn pictures made here (no ../shared, no network)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from conftest import save_tiny_cyclegan
from pix2pix_demo import cutout, registry, translate
from pix2pix_demo.hub import load_model, save_model
from test_coat_recolour import constant_segmenter


def disc(size=(120, 90), box=(30, 15, 90, 75)) -> np.ndarray:
    """A cat's probability: 1 on an ellipse, 0 elsewhere (HxW float32)."""
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).ellipse(box, fill=255)
    return np.asarray(mask, np.float32) / 255


def striped_photo(size=(120, 90)) -> Image.Image:
    """A grey room with a brown cat whose fur has 2-px stripes (detail a 4x smaller picture cannot hold)."""
    photo = np.full((size[1], size[0], 3), (200, 190, 170), np.uint8)
    cat = disc(size) > 0.5
    fur = np.where((np.arange(size[0]) // 2 % 2)[None, :, None] == 0, (150, 100, 60), (120, 80, 40))
    photo[cat] = np.broadcast_to(fur, photo.shape)[cat]
    return Image.fromarray(photo)


def test_cat_alpha_is_one_on_the_cat_fades_out_and_drops_specks():
    probability = disc()
    probability[2:5, 2:5] = 1.0  # a speck in a corner: not a cat
    alpha = translate.cat_alpha(probability)
    assert alpha.shape == probability.shape and alpha.dtype == np.float32
    assert alpha[45, 60] == 1.0 and alpha[27:64, 42:79].min() == 1.0  # the cat's inside
    assert alpha[3, 3] == 0.0 and alpha[85, 115] == 0.0  # the speck and the far background
    band = alpha[45, 91:100]  # just right of the cat: it fades out, never rises again
    assert band[0] > 0.5 and band[-1] < 0.05 and np.all(np.diff(band) <= 1e-6)
    two = disc() + disc(box=(0, 0, 40, 30))  # a second cat a third the size stays
    assert translate.cat_alpha(two)[15, 20] == 1.0
    assert not translate.cat_alpha(np.zeros((20, 30), np.float32)).any()


def test_restrict_to_cat_keeps_the_background_exactly_and_the_fur_detail_under_the_change():
    photo = striped_photo()
    working = photo.resize((60, 45), Image.LANCZOS)
    output = Image.fromarray(np.clip(np.asarray(working, np.int16) - 40, 0, 255).astype(np.uint8))  # darker, everywhere
    alpha = translate.cat_alpha(disc())
    out = np.asarray(translate.restrict_to_cat(photo, working, output, alpha), np.int16)
    original = np.asarray(photo, np.int16)
    assert out.shape == original.shape  # the photo's own size, not the working size
    assert np.array_equal(out[alpha == 0], original[alpha == 0])  # the room keeps its exact pixels
    inside = alpha == 1
    change = out[inside] - original[inside]
    assert abs(change.mean() + 40) < 4  # the cat got the network's change ...
    assert change.std() < 6  # ... as an offset: the 2-px stripes are still there under it
    assert out[inside].std() > 10
    with pytest.raises(ValueError, match="alpha"):
        translate.restrict_to_cat(photo, working, output, alpha[:10])


@pytest.fixture
def weights(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    save_tiny_cyclegan(folder)
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(folder))
    registry.refresh()
    yield folder
    registry.refresh()


def _stargan(folder):
    from pix2pix_demo.models.stargan import StarGANConfig, StarGANGenerator

    torch.manual_seed(0)
    model = StarGANGenerator(StarGANConfig(domains=("black", "ginger"), generator={"base_channels": 4, "num_blocks": 1}))
    save_model(model, folder / "coats", {"resolution": 32, "label": "Coats (StarGAN)"})


def test_learned_translators_change_only_the_cat_by_default(weights, monkeypatch):
    _stargan(weights)
    constant_segmenter(weights / "cat-segmenter", 6.0)
    registry.refresh()
    photo = striped_photo()
    monkeypatch.setattr(cutout, "segment", lambda model, picture: np.asarray(
        Image.fromarray((disc() * 255).astype(np.uint8)).resize(picture.size, Image.BILINEAR), np.float32) / 255)
    alpha = translate.cat_alpha(disc())
    for key, target in (("cat-bengal", "bengal"), ("coats", "ginger")):
        translator = translate.get_translator(key)
        kept = translator.run(photo, target)
        assert kept.only_cat and kept.note == "" and 0.2 < kept.cat_share < 0.5
        out = np.asarray(kept.image)
        assert out.shape == (90, 120, 3)  # the photo's size
        assert np.array_equal(out[alpha == 0], np.asarray(photo)[alpha == 0])
        assert np.abs(out[alpha == 1].astype(int) - np.asarray(photo)[alpha == 1]).mean() > 1  # the cat changed
        assert np.array_equal(np.asarray(translator.translate(photo, target)), out)  # translate() is run().image
        whole = translator.run(photo, target, only_cat=False)
        assert not whole.only_cat and whole.image.size == (43, 32)  # the network's picture, its working size
    model = load_model(weights / "cat2bengal")  # the whole picture is the plain generator's output
    assert np.array_equal(np.asarray(translate.get_translator("cat-bengal").translate(photo, "bengal", only_cat=False)),
                          np.asarray(translate.translate_image(model, photo)))
    big = translate.get_translator("cat-bengal").translate(photo.resize((2400, 1800)), "bengal")
    assert big.size == (translate.OUTPUT_MAX_SIDE, 768)

    monkeypatch.setattr(cutout, "segment", lambda model, picture: np.zeros(picture.size[::-1], np.float32))
    nothing = translate.get_translator("cat-bengal").run(photo, "bengal")  # no sure cat: the whole picture, said
    assert not nothing.only_cat and nothing.note == translate.NO_CAT_NOTE and nothing.image.size == (43, 32)


def test_without_a_segmenter_the_whole_picture_is_translated_and_the_note_says_why(weights):
    translator = translate.get_translator("cat-bengal")
    result = translator.run(striped_photo(), "bengal")
    assert not result.only_cat and "segmenter" in result.note and result.image.size == (43, 32)
    with pytest.raises(translate.TranslateError, match="too thin"):
        translator.run(Image.new("RGB", (1000, 20)), "bengal")


def test_the_tab_takes_the_flag_and_warns_when_the_cat_could_not_be_kept(weights, monkeypatch):
    from pix2pix_demo.ui import logic, translate_tab

    warnings = []
    monkeypatch.setattr(translate_tab.gr, "Warning", warnings.append)
    photo = striped_photo()
    whole = translate_tab.translate_image(photo, "cat-bengal", "bengal", "false")
    assert whole.size == (43, 32) and warnings == []  # asked for the whole picture: nothing to warn about
    translate_tab.translate_image(photo, "cat-bengal", "bengal")  # default on, no segmenter here
    assert len(warnings) == 1 and "segmenter" in warnings[0]
    with pytest.raises(logic.InputError, match="only_cat must be true or false"):
        translate_tab.translate_image(photo, "cat-bengal", "bengal", "yes")
    assert translate_tab.is_learned("cat-bengal") and not translate_tab.is_learned("nothing")


def test_cyclegan_evaluator_scores_the_background_whole_and_only_the_cat(tmp_path, monkeypatch):
    """train.eval.cyclegan --only-cat: by the true trimaps the change kept on the cat leaves the background
    far less changed than the whole picture, the cat about as changed; KID for both and for doing nothing."""
    from train.eval import cyclegan as cyclegan_eval

    save_tiny_cyclegan(tmp_path / "w")
    constant_segmenter(tmp_path / "seg", 6.0)
    for domain in ("a", "b"):
        (tmp_path / domain).mkdir()
    (tmp_path / "trimaps").mkdir()
    for i in range(3):
        for domain in ("a", "b"):
            striped_photo().save(tmp_path / domain / f"{domain}{i}.png")
            Image.fromarray(np.where(disc() >= 0.5, 1, 2).astype(np.uint8)).save(tmp_path / "trimaps" / f"{domain}{i}.png")
    monkeypatch.setattr(cutout, "segment", lambda model, picture: np.asarray(
        Image.fromarray((disc() * 255).astype(np.uint8)).resize(picture.size, Image.BILINEAR), np.float32) / 255)
    results = cyclegan_eval.main(["--ab", str(tmp_path / "w" / "cat2bengal"), "--ba", str(tmp_path / "w" / "bengal2cat"),
                                  "--a", str(tmp_path / "a"), "--b", str(tmp_path / "b"), "--no-swd", "--only-cat",
                                  "--segmenter", str(tmp_path / "seg"), "--trimaps", str(tmp_path / "trimaps"),
                                  "--grid", str(tmp_path / "grid.png"), "--json"])
    for direction in ("cat2bengal", "bengal2cat"):
        scores = results[direction]["only_cat"]
        background, cat = scores["background_change"]["true"], scores["cat_change"]["true"]
        assert background["photos"] == 3 and scores["no_sure_cat"] == 0
        assert background["whole"] > 0.02 and background["only_cat"] < 0.25 * background["whole"]
        assert abs(cat["only_cat"] - cat["whole"]) < 0.3 * cat["whole"]
        assert set(scores["kid_x1000"]) == {"identity", "whole", "only_cat"}
    assert len(np.asarray(Image.open(tmp_path / "grid.png")).shape) == 3
