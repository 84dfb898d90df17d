"""Coat colours (pix2pix_demo.coat): recolouring, measuring, the conditioned U-Net, training and the app path.

Tiny generated fixtures only (no ../shared, no network)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import load_model
from pix2pix_demo.coat import COATS, DEFAULT_COAT, coat_colour, coat_mask, parse_coat, random_recolour, recolour_photo
from pix2pix_demo.data import PairedDataset
from pix2pix_demo.hub import save_model
from pix2pix_demo.models import UNetConfig, UNetGenerator
from pix2pix_demo.pipelines import Pix2PixPipeline


def cutout_cat(size: int = 64, colour=(150, 100, 60)) -> np.ndarray:
    """A brown 'cat' (a striped disc) on white, as uint8 HxWx3."""
    image = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse([10, 12, size - 10, size - 8], fill=colour)
    for y in range(16, size - 10, 6):
        draw.line([(14, y), (size - 14, y)], fill=tuple(c // 2 for c in colour), width=2)
    return np.asarray(image)


def conditioned_unet(seed: int = 0) -> UNetGenerator:
    torch.manual_seed(seed)
    return UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32, condition_channels=3,
                                    condition_default=list(COATS[DEFAULT_COAT])))


def test_recolouring_keeps_white_and_makes_grey_dark_and_pale_coats():
    cat = cutout_cat()
    white = coat_mask(cat) == 0
    rng = np.random.default_rng(0)
    for _ in range(20):
        out = recolour_photo(cat, **random_recolour(rng, keep=0.0))
        assert out.dtype == np.uint8 and out.shape == cat.shape
        assert (out[white] == 255).all()  # the background of a cut-out stays clean
    grey = recolour_photo(cat, saturation=0.0).astype(int)
    inside = coat_mask(cat)
    assert np.abs(grey[inside] - grey[inside].mean(axis=1, keepdims=True)).max() <= 1
    dark, pale = coat_colour(recolour_photo(cat, gamma=2.5), inside), coat_colour(recolour_photo(cat, gamma=0.3), inside)
    original = coat_colour(cat)
    assert dark.mean() < original.mean() - 0.15 and pale.mean() > original.mean() + 0.15


def test_coat_colour_is_the_mean_inside_the_cat_or_the_default():
    cat = cutout_cat(colour=(200, 120, 40))
    colour = coat_colour(cat)
    assert colour.dtype == np.float32 and colour.shape == (3,)
    assert colour[0] > colour[1] > colour[2]  # orange stays orange
    blank = np.full((32, 32, 3), 255, np.uint8)
    assert np.allclose(coat_colour(blank), COATS[DEFAULT_COAT])


@pytest.mark.parametrize("value, expected", [("ginger", COATS["ginger"]), ("  Black ", COATS["black"]),
                                             ("#ff8000", (1.0, 128 / 255, 0.0)), ([0.1, 0.2, 0.3], (0.1, 0.2, 0.3))])
def test_parse_coat_accepts_names_hex_and_triples(value, expected):
    assert np.allclose(parse_coat(value), expected)


@pytest.mark.parametrize("value", ["purple", "#12345", "#gggggg", [0.1, 0.2], [0.1, 2.0, 0.3], [float("nan")] * 3, None])
def test_parse_coat_refuses_anything_else_with_a_message(value):
    with pytest.raises(ValueError, match="coat"):
        parse_coat(value)


def test_conditioned_unet_follows_its_condition_and_round_trips(tmp_path):
    model = conditioned_unet().eval()
    x = torch.rand(2, 3, 48, 32) * 2 - 1
    with torch.no_grad():
        default = model(x)
        same = model(x, torch.tensor(COATS[DEFAULT_COAT]))
        black = model(x, torch.tensor(COATS["black"]))
        per_image = model(x, torch.tensor([COATS["black"], COATS["white"]]))
    assert default.shape == (2, 3, 48, 32)
    assert torch.allclose(default, same) and not torch.allclose(default, black, atol=1e-4)
    assert torch.allclose(per_image[0], black[0], atol=1e-6) and not torch.allclose(per_image[1], black[1], atol=1e-4)
    save_model(model, tmp_path / "m", {"resolution": 32, "coats": {k: list(v) for k, v in COATS.items()}})
    loaded = load_model(tmp_path / "m").eval()
    assert loaded.config.condition_channels == 3 and loaded.config.condition_default == list(COATS[DEFAULT_COAT])
    with torch.no_grad():
        assert torch.allclose(loaded(x, torch.tensor(COATS["black"])), black, atol=1e-5)
    plain = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32))
    with pytest.raises(ValueError, match="no condition"):
        plain(x, torch.tensor(COATS["black"]))
    with pytest.raises(ValueError, match="condition_default"):
        UNetConfig(condition_channels=3)


def test_fine_tuning_a_plain_model_into_a_conditioned_one_starts_where_it_was():
    from train.pix2pix import init_generator

    torch.manual_seed(1)
    plain = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32, upsampling="resize")).eval()
    config = dataclasses.replace(plain.config, condition_channels=3, condition_default=[0.5, 0.5, 0.5])
    widened_model = UNetGenerator(config).eval()
    widened = init_generator(widened_model, plain)
    assert len(widened) == 4  # every up-sampling conv takes the condition
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(widened_model(x, torch.tensor([0.9, 0.1, 0.3])), plain(x), atol=1e-6)


def test_coat_dataset_recolours_targets_and_measures_their_colour():
    edges = np.full((64, 64, 3), 255, np.uint8)
    edges[20:44, 30] = 0
    pairs = [(edges, cutout_cat(colour=(150, 100, 60)))] * 6
    dataset = PairedDataset(pairs, size=32, jitter=1.0, coat=True, seed=3)
    items = [dataset[i] for i in range(6)]
    colours = torch.stack([c for _, _, c in items])
    assert colours.shape == (6, 3) and colours.min() >= 0 and colours.max() <= 1
    assert colours.std(dim=0).max() > 0.03  # different coats for the same photo
    for a, b, colour in items:
        assert a.shape == b.shape == (3, 32, 32)
        assert (b[:, 0, 0] > 0.99).all()  # the corner is white background
        inside = b[:, 16, 16]
        assert torch.allclose((inside + 1) / 2, colour, atol=0.25)  # the measured colour is the cat's
    again = PairedDataset(pairs, size=32, jitter=1.0, coat=True, seed=3)
    assert torch.equal(again[2][2], items[2][2])  # reproducible
    assert len(PairedDataset(pairs, size=32, jitter=1.0)[0]) == 2  # without coat: (input, target) as before


def test_pipeline_takes_named_coats_and_refuses_unknown_ones(tmp_path):
    save_model(conditioned_unet(), tmp_path / "cats", {"resolution": 32, "coats": {k: list(v) for k, v in COATS.items()}})
    pipe = Pix2PixPipeline.from_pretrained(tmp_path / "cats")
    assert list(pipe.coats) == list(COATS)
    drawing = Image.fromarray(cutout_cat(32)).convert("L")
    default, ginger = np.asarray(pipe(drawing)), np.asarray(pipe(drawing, coat="ginger"))
    assert np.array_equal(default, np.asarray(pipe(drawing, coat=DEFAULT_COAT)))
    assert np.abs(default.astype(int) - ginger).max() > 0
    with pytest.raises(ValueError, match="Unknown coat"):
        pipe(drawing, coat="purple")
    torch.manual_seed(0)
    save_model(UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=4, max_channels=32)), tmp_path / "plain",
               {"resolution": 32})
    plain = Pix2PixPipeline.from_pretrained(tmp_path / "plain")
    assert plain.coats == {} and np.array_equal(np.asarray(plain(drawing, coat="ginger")), np.asarray(plain(drawing)))


def test_registry_lists_the_coats_from_config_json(tiny_weights_dir):
    from pix2pix_demo.ui import logic

    choices = logic.coat_choices()
    assert list(choices) == ["edges2cats"]  # the tiny edges2products takes none
    names = [name for name, _ in choices["edges2cats"]]
    assert names == list(COATS)
    assert all(hex_.startswith("#") and len(hex_) == 7 for _, hex_ in choices["edges2cats"])


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_live_render_paints_the_chosen_coat_and_explains_bad_ones(tiny_weights_dir):
    import asyncio

    from pix2pix_demo.ui import live

    def render_live(request):
        return asyncio.run(live.render(request))

    drawing = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(drawing).ellipse([40, 40, 210, 210], outline="black", width=3)
    request = {"png": _png(drawing), "model": "edges2cats", "seed": 0}
    default = render_live(request)
    brown = render_live({**request, "coat": DEFAULT_COAT})
    black = render_live({**request, "coat": "black"})
    assert "image" in default and default["image"] == brown["image"] != black["image"]
    assert "Unknown coat" in render_live({**request, "coat": "purple"})["error"]
    assert "coat" in render_live({**request, "coat": 3})["error"]
    # a model without coats ignores the field
    products = render_live({**request, "model": "edges2products", "coat": "black"})
    assert products["image"] == render_live({**request, "model": "edges2products"})["image"]


@pytest.mark.slow
def test_train_with_coat_fine_tunes_a_plain_model_and_evaluates_per_coat(tmp_path):
    from tests.test_train import TINY_ARGS, run_cli

    data = tmp_path / "data"
    (data / "A").mkdir(parents=True)
    (data / "B").mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        colour = tuple(int(v) for v in rng.integers(40, 200, 3))
        cat = Image.fromarray(cutout_cat(32, colour))
        cat.save(data / "B" / f"{i}.png")
        edges = Image.new("RGB", (32, 32), "white")
        ImageDraw.Draw(edges).ellipse([10, 12, 22, 24], outline="black")
        edges.save(data / "A" / f"{i}.png")
    torch.manual_seed(0)
    plain = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=5, max_channels=32))
    save_model(plain, tmp_path / "plain", {"resolution": 32, "label": "Plain cats", "fur": {"amount": 0.1, "length": 2}})
    run_cli("train.pix2pix", "--data", str(data), "--name", "coats", "--out", str(tmp_path / "w"),
            "--runs", str(tmp_path / "runs"), *TINY_ARGS, "--coat", "--init-from", str(tmp_path / "plain"),
            "--steps", "6")
    config = json.loads((tmp_path / "w" / "coats" / "config.json").read_text())
    assert config["architecture"]["condition_channels"] == 3 and list(config["coats"]) == list(COATS)
    assert config["data"]["coat"] is True
    # how the app shows and runs the model it fine-tunes is kept (harness.APP_SETTINGS), not how it trained
    assert config["label"] == "Plain cats" and config["fur"] == {"amount": 0.1, "length": 2} and "kind" not in config
    result = run_cli("train.eval.pix2pix", "--model", str(tmp_path / "w" / "coats"), "--data", str(data), "--json",
                     "--coat", "target", "--grid", str(tmp_path / "grid.png"))
    metrics = json.loads(result.stdout)
    assert metrics["coat"] == "target" and metrics["pairs"] == 8
    # the run's checkpoint exports as a model too (what a run still training holds): the same weights
    from train.publish.export_checkpoint import export

    folder = export(tmp_path / "runs" / "coats", tmp_path / "from-checkpoint")
    exported, final = load_model(folder).eval(), load_model(tmp_path / "w" / "coats").eval()
    assert exported.metadata["training"]["steps"] == 6 and exported.config == final.config
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(exported(x, torch.tensor(COATS["black"])), final(x, torch.tensor(COATS["black"])), atol=1e-5)


def test_model_card_lists_the_colours_only_for_models_that_take_one(tmp_path):
    from pix2pix_demo.cards import model_card
    from tests.conftest import save_tiny_pix2pix

    save_tiny_pix2pix(tmp_path / "cats", coats=True)
    save_tiny_pix2pix(tmp_path / "plain")
    card = model_card(tmp_path / "cats")
    assert "## Colour" in card and "| ginger |" in card and 'coat="ginger"' in card
    assert "## Colour" not in model_card(tmp_path / "plain")


def test_photo_tab_paints_the_photos_own_colour(tiny_weights_dir, tmp_path):
    from pix2pix_demo.ui import logic

    orange = Image.fromarray(cutout_cat(96, colour=(220, 120, 30)))  # an object on white
    colour = logic.photo_colour(orange)
    assert colour is not None and colour[0] > colour[1] > colour[2]
    path = tmp_path / "orange.png"
    orange.save(path)
    edges, image = logic.photo_to_image(str(path), "edges2cats")
    default = logic.generate_from_edges(edges, "edges2cats")
    assert not np.array_equal(np.asarray(image), np.asarray(default))  # the photo's colour, not the default
    used = logic.photo_result(str(path), "edges2cats").coat  # the measured colour, rounded to 8 bits for Draw
    assert np.allclose(used, colour, atol=1 / 255)
    assert np.array_equal(np.asarray(image), np.asarray(logic.generate_from_edges(edges, "edges2cats", coat=used)))
    # a photo with a background and no segmenter installed (the tiny weights folder has none): the default
    noisy = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    assert logic.photo_colour(noisy) is None


def test_match_chroma_moves_the_objects_hue_keeps_lightness_and_white():
    from pix2pix_demo.coat import match_chroma

    cat = cutout_cat(64, colour=(150, 100, 60))  # brown
    grey = match_chroma(cat, COATS["grey"])
    inside, outside = coat_mask(cat), ~coat_mask(cat)
    assert (grey[outside] == 255).all()  # the background stays white
    luma = np.array([0.299, 0.587, 0.114])
    assert np.abs(grey[inside] @ luma - cat[inside] @ luma).max() <= 2  # lightness kept (up to rounding)
    spread = lambda image: np.abs(image[inside].astype(int).mean(axis=0) - image[inside].mean()).max()
    assert spread(grey) < spread(cat) / 4  # brown -> (nearly) neutral
    ginger = match_chroma(cat, COATS["ginger"]).astype(int)
    assert ginger[inside][:, 0].mean() - ginger[inside][:, 2].mean() > cat[inside][:, 0].mean() - cat[inside][:, 2].mean() - 1



def test_match_chroma_leaves_no_coloured_halo_along_a_light_outline():
    from pix2pix_demo.coat import match_chroma

    image = np.full((64, 64, 3), 255, np.uint8)
    yy, xx = np.mgrid[:64, :64]
    radius = np.hypot(yy - 32, xx - 32)
    image[radius < 20] = (90, 80, 75)  # a dark grey-brown cat
    ring = (radius >= 20) & (radius < 22)
    image[ring] = (225, 222, 220)  # the light, nearly white edge a network paints along the outline
    ginger = match_chroma(image, COATS["ginger"]).astype(int)
    warmth = lambda pixels: (pixels[:, 0] - pixels[:, 2]).mean()
    inside = radius < 18
    assert warmth(ginger[inside]) > warmth(image[inside].astype(int)) + 20  # the cat turned ginger
    assert warmth(ginger[ring]) - warmth(image[ring].astype(int)) < 0.3 * (
        warmth(ginger[inside]) - warmth(image[inside].astype(int)))  # the pale outline barely did

def test_the_coat_palette_option_picks_the_models_colours_and_default():
    from pix2pix_demo.coat import PALETTES, PRODUCT_COLOURS
    from train.pix2pix import generator_config, get_args_parser

    for palette, colours in PALETTES.items():
        args = get_args_parser().parse_args(["--data", "x", "--name", "n", "--coat", "--coat-palette", palette])
        assert generator_config(args).condition_default == list(next(iter(colours.values())))
    assert PALETTES["products"] is PRODUCT_COLOURS and PALETTES["cats"] is COATS
