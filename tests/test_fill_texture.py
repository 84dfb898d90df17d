"""Fill-in's texture finish (issue 29): the hole rebuilt from the photo's own unerased patches
(pix2pix_demo.gpnn.fill_hole), switched on by a fill-in model's config "texture" (photo_tasks.model_texture)
or fill_in's `texture`, and the evaluator's --fill-texture variants; on tiny untrained models and pictures
made in code."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import save_tiny_photo_task
from pix2pix_demo import gpnn
from pix2pix_demo import photo_tasks as pt
from pix2pix_demo.hub import load_model


def textured(width=96, height=72, seed=0) -> np.ndarray:
    """A picture with grain everywhere: a gradient, stripes and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([80 + x, 90 + 40 * np.sin(x / 2.0) + y, 120 + (x * 3 + y) % 17 * 4], -1) + rng.normal(0, 12, (height, width, 3))
    return np.clip(rgb, 0, 255).astype(np.uint8)


def hole(height=72, width=96) -> np.ndarray:
    mask = np.zeros((height, width), bool)
    mask[20:46, 30:70] = True  # a 40 x 26 box
    mask[50:58, 10:80] = True  # and a thin stroke
    return mask


def with_config(folder, **extra):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **extra}))
    return folder


def tensor(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1.0).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fill-texture")
    plain = load_model(with_config(save_tiny_photo_task(folder / "plain", "fill-in"), feather=3))
    finished = load_model(with_config(save_tiny_photo_task(folder / "finished", "fill-in"), feather=3,
                                      texture={"levels": 2, "iterations": 1, "seam": 4}))
    return plain, finished


def test_fill_hole_keeps_the_kept_pixels_and_only_averages_kept_ones():
    """Two exact colours outside the hole (a checkerboard of 3-px cells), a wild first fill (magenta) inside:
    every rebuilt pixel lies on the segment between the two colours (a weighted mean of kept pixels), the
    kept pixels are the picture's bit for bit, and the magenta is gone."""
    y, x = np.mgrid[0:72, 0:96]
    a, b = np.array([200, 40, 30], np.float32), np.array([30, 160, 90], np.float32)
    cells = ((y // 3 + x // 3) % 2 == 0)[..., None]
    rgb = np.where(cells, a, b).astype(np.uint8)
    mask = hole()
    start = rgb.copy()
    start[mask] = (255, 0, 255)
    for options in ({}, {"levels": 1, "iterations": 2, "sigma": None}, {"levels": 3, "ring": 16}):
        out = gpnn.fill_hole(tensor(start), torch.from_numpy(mask), **options)
        levels = ((out[0].permute(1, 2, 0).numpy() + 1.0) * 127.5)
        assert np.array_equal(np.rint(levels[~mask]).astype(np.uint8), rgb[~mask])
        inside = levels[mask]
        t = np.clip(((inside - b) @ (a - b)) / ((a - b) @ (a - b)), 0, 1)
        off_segment = np.linalg.norm(inside - (b + t[:, None] * (a - b)), axis=1)
        assert off_segment.max() < 0.5, options  # on the segment between the two kept colours
        assert np.abs(inside - (255, 0, 255)).sum(1).min() > 100


def test_fill_hole_gives_a_hole_the_surrounding_grain():
    """A noisy picture, a flat first fill: the rebuilt hole's high-pass energy is close to the photo's own
    there (the flat fill's is none), and the seam option leaves the kept pixels alone too."""
    rgb = textured()
    mask = hole()
    start = rgb.copy()
    start[mask] = rgb[~mask].mean(0).astype(np.uint8)

    def grain(picture):
        grey = picture.astype(np.float32).mean(-1)
        return np.abs(grey[:, 1:] - grey[:, :-1])[mask[:, 1:] & mask[:, :-1]].mean()

    for options in ({}, {"seam": 4}, {"lowpass": 2}):
        out = gpnn.fill_hole(tensor(start), torch.from_numpy(mask), **options)
        filled = np.rint((out[0].permute(1, 2, 0).numpy() + 1.0) * 127.5).clip(0, 255).astype(np.uint8)
        assert np.array_equal(filled[~mask], rgb[~mask])
        assert grain(filled) > 0.5 * grain(rgb) and grain(start) < 0.1 * grain(rgb), options


def test_fill_hole_refuses_mismatched_input_and_returns_unusable_holes_unchanged():
    picture = tensor(textured())
    with pytest.raises(ValueError, match="do not match"):
        gpnn.fill_hole(picture, torch.zeros(10, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match="levels"):
        gpnn.fill_hole(picture, torch.from_numpy(hole()), levels=9)
    everything = torch.ones(72, 96, dtype=torch.bool)
    assert torch.equal(gpnn.fill_hole(picture, everything), picture)
    assert torch.equal(gpnn.fill_hole(picture, torch.zeros(72, 96, dtype=torch.bool)), picture)


def test_the_config_option_round_trips_and_bad_ones_are_refused(tmp_path, models):
    plain, finished = models
    assert pt.model_texture(plain) is None
    assert pt.model_texture(finished) == {"levels": 2, "iterations": 1, "seam": 4.0}
    assert json.loads(json.dumps(finished.metadata["texture"])) == {"levels": 2, "iterations": 1, "seam": 4}
    assert pt.texture_options(True) == {} and pt.texture_options(None) is None and pt.texture_options(False) is None
    assert pt.texture_options({"start": "telea", "sigma": None}) == {"start": "telea", "sigma": None}
    for bad, message in (({"levels": 0}, "levels is 0"), ({"levels": 1.5}, "levels is 1.5"), ({"wide": 1}, "keys among"),
                         ({"ring": "far"}, "ring is 'far'"), ({"start": "grey"}, "start is 'grey'"), ("yes", "keys among"),
                         ({"blurred_keys": 1}, "blurred_keys is 1")):
        with pytest.raises(ValueError, match=message):
            pt.texture_options(bad)
    broken = load_model(with_config(save_tiny_photo_task(tmp_path / "broken", "fill-in"), texture={"levels": 99}))
    with pytest.raises(ValueError, match="levels is 99"):
        pt.fill_in(broken, Image.fromarray(textured()), hole())


def test_fill_in_with_the_finish_keeps_pixels_is_deterministic_and_absent_means_the_old_output(models):
    plain, finished = models
    picture, mask = Image.fromarray(textured()), hole()
    rgb = np.asarray(picture)
    old = np.asarray(pt.fill_in(plain, picture, mask))
    # the model's own setting: none for the plain model (texture="model", the default) = no finish at all
    assert np.array_equal(np.asarray(pt.fill_in(plain, picture, mask, texture=None)), old)
    # the same network with the finish switched off by the caller = the old output too
    assert np.array_equal(np.asarray(pt.fill_in(finished, picture, mask, texture=None)), old)
    new = np.asarray(pt.fill_in(finished, picture, mask))
    assert np.array_equal(new[~mask], rgb[~mask])
    assert np.abs(new[mask].astype(int) - old[mask]).mean() > 2  # the finish changed the hole
    assert np.array_equal(np.asarray(pt.fill_in(finished, picture, mask)), new)  # deterministic
    seeded = [np.asarray(pt.fill_in(finished, picture, mask, seed=5)) for _ in range(2)]
    assert np.array_equal(seeded[0], seeded[1]) and np.array_equal(seeded[0][~mask], rgb[~mask])
    # a texture given to fill_in overrides the config's; "telea" starts from Telea's fill
    other = np.asarray(pt.fill_in(plain, picture, mask, texture={"levels": 2, "iterations": 1, "seam": 4}))
    assert np.array_equal(other, new)
    from_telea = np.asarray(pt.fill_in(plain, picture, mask, texture={"start": "telea"}))
    assert np.array_equal(from_telea[~mask], rgb[~mask]) and not np.array_equal(from_telea, other)


def test_the_finish_works_on_photos_larger_than_the_networks_side(models):
    _, finished = models
    big = Image.fromarray(textured(700, 420, seed=1))
    mask = np.zeros((420, 700), bool)
    mask[100:160, 200:420] = True
    out = np.asarray(pt.fill_in(finished, big, mask))
    assert out.shape == (420, 700, 3) and np.array_equal(out[~mask], np.asarray(big)[~mask])


def test_evaluator_measures_texture_variants_side_by_side(tmp_path, models):
    from train.eval import photo_tasks as evaluation

    paths = []
    for i in range(2):
        paths.append(tmp_path / f"p{i}.png")
        Image.fromarray(textured(120, 90, seed=i)).save(paths[-1])
    folder = with_config(save_tiny_photo_task(tmp_path / "f", "fill-in"), feather=3)
    report = evaluation.evaluate(evaluation.get_args_parser().parse_args([
        "--pictures", *map(str, paths), "--fill-in", str(folder), "--out", str(tmp_path / "out"), "--no-kid",
        "--fill-texture", "off", '{"levels": 2, "iterations": 1}']))
    variants = report["fill_in"]["variants"]
    assert list(variants) == ["off", '{"levels": 2, "iterations": 1}']
    assert all(v["kept_exact_all"] for v in variants.values())
    assert variants["off"]["psnr_minus_reference"] == 0
    assert variants['{"levels": 2, "iterations": 1}']["psnr"] != variants["off"]["psnr"]
    assert report["fill_in"]["psnr_model"] == variants["off"]["psnr"]  # the first variant is the "model" column
    with pytest.raises(SystemExit, match="not 'model', 'off' or a JSON"):
        evaluation.evaluate(evaluation.get_args_parser().parse_args([
            "--pictures", str(paths[0]), "--fill-in", str(folder), "--out", str(tmp_path / "o2"), "--no-kid",
            "--fill-texture", "levels=2"]))
    with pytest.raises(ValueError, match="levels is 0"):
        evaluation.texture_variants(['{"levels": 0}'])


def test_shipped_fill_in_draws_no_4px_lattice_on_a_smooth_background():
    """weights/fill-in (its config's texture finish) on the CC0 cat's blurred background with a 32-px stroke (the
    app's brush): the mean vertical step inside the stroke is about the same on every row mod 4 (max / min < 1.5;
    the photo 1.06, session 19's finish 1.09, session 21's 1.34: edges of copied pieces, not on the dashes' rows),
    where the network's own fill draws horizontal dashes 4 px apart (2.9 measured); kept pixels exact."""
    from pathlib import Path

    from PIL import ImageDraw

    root = Path(__file__).resolve().parents[1]
    if not (root / "weights" / "fill-in" / "config.json").is_file():
        pytest.skip("weights/fill-in is not shipped")
    model = load_model(root / "weights" / "fill-in")
    assert pt.model_texture(model) is not None
    picture = Image.open(root / "examples" / "photos" / "chelsea.png").convert("RGB")
    rgb = np.asarray(picture)
    canvas = Image.new("L", picture.size, 0)
    ImageDraw.Draw(canvas).line([(385, 25), (425, 150)], fill=255, width=32)
    mask = np.asarray(canvas) > 127

    def phase(x):
        step = np.abs(np.diff(x.astype(np.float64).mean(-1), axis=0))
        inside = mask[1:] & mask[:-1]
        rows = np.arange(step.shape[0])[:, None] % 4
        means = [step[inside & (rows == k)].mean() for k in range(4)]
        return max(means) / min(means)

    finished = np.asarray(pt.fill_in(model, picture, mask))
    plain = np.asarray(pt.fill_in(model, picture, mask, texture=None))
    assert np.array_equal(finished[~mask], rgb[~mask])
    assert phase(finished) < 1.5 and phase(plain) > 2.0, (phase(finished), phase(plain))


def test_fill_hole_defaults_are_the_shipped_finish():
    """gpnn.fill_hole's (and, for the structure keys, fill_exemplar's) defaults are what weights/fill-in's config sets."""
    import inspect
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "weights" / "fill-in" / "config.json"
    if not config.is_file():
        pytest.skip("weights/fill-in is not shipped")
    texture = json.loads(config.read_text())["texture"]
    defaults = {name: p.default for name, p in inspect.signature(gpnn.fill_hole).parameters.items()}
    structure = {name: p.default for name, p in inspect.signature(gpnn.fill_exemplar).parameters.items()}
    assert texture and texture.pop("method", "patches") in pt.TEXTURE_METHODS
    assert all((structure if key in pt.TEXTURE_STRUCTURE else defaults)[key] == value for key, value in texture.items())


def test_the_card_says_when_the_hole_is_rebuilt_from_the_photos_patches(tmp_path):
    from pix2pix_demo.cards import model_card

    plain = save_tiny_photo_task(tmp_path / "plain", "fill-in")
    finished = save_tiny_photo_task(tmp_path / "finished", "fill-in", config={"texture": {"levels": 2}})
    phrase = "rebuilt from the photo's own unerased 7×7 patches"
    assert phrase in model_card(finished) and phrase not in model_card(plain)
    structure = save_tiny_photo_task(tmp_path / "s", "fill-in", config={"texture": {"method": "structure"}})
    assert "gpnn.fill_exemplar" in model_card(structure) and "fill_exemplar" not in model_card(finished)
    bounded = save_tiny_photo_task(tmp_path / "b", "fill-in", config={"texture": {"max_hole": 16384}})
    assert "more than 16384 px is rebuilt where it has that many" in model_card(bounded)
    assert "more than" not in model_card(structure)


def stripes_across_a_stroke():
    """Light lines every 12 px (joints), a 32-px band across them with a flat grey first fill."""
    y, x = np.mgrid[0:96, 0:128]
    grey = np.where(x % 12 < 3, 0.6, -0.2) + 0.02 * np.sin(y * 0.7)
    picture = torch.from_numpy(np.repeat(grey[None, None], 3, 1).astype(np.float32))
    hole = torch.zeros(96, 128, dtype=torch.bool)
    hole[32:64, 10:118] = True
    first = picture.clone()
    first[..., hole] = float(grey.mean())
    return picture, first, hole


def test_the_structure_level_carries_lines_across_a_stroke_the_patches_cannot_see_across():
    """~38 dB in the hole with the structure level, ~17 dB without (1/2-size patches see no line across)."""
    picture, first, hole = stripes_across_a_stroke()

    def psnr(out):
        return float(10 * torch.log10(4 / ((out - picture)[..., hole] ** 2).mean()))

    patches = gpnn.fill_hole(first, hole)
    structure = gpnn.fill_hole(first, hole, exemplar={})
    assert psnr(structure) > 30 and psnr(structure) > psnr(patches) + 10, (psnr(structure), psnr(patches))
    assert torch.equal(structure[..., ~hole], picture[..., ~hole])
    assert torch.equal(gpnn.fill_hole(first, hole, exemplar={}), structure)
    # unguided it copies the lines exactly; a strong plain guide to the grey fill holds it back
    alone = gpnn.fill_exemplar(first, hole, guide=0, guide_mean=0, seam=0)
    assert torch.equal(alone[..., ~hole], picture[..., ~hole]) and psnr(alone) > 60
    assert psnr(gpnn.fill_exemplar(first, hole, guide=100, tolerance=0, seam=0)) < psnr(alone) - 20
    with pytest.raises(ValueError, match="patch must be odd"):
        gpnn.fill_exemplar(first, hole, patch=8)
    with pytest.raises(ValueError, match="do not match"):
        gpnn.fill_exemplar(first, hole[:10])


def test_the_structure_method_is_an_option_of_fill_in_and_checked(models):
    plain, _ = models
    picture, mask = Image.fromarray(textured()), hole()
    rgb = np.asarray(picture)
    structure = np.asarray(pt.fill_in(plain, picture, mask, texture={"method": "structure", "guide": 2}))
    patches = np.asarray(pt.fill_in(plain, picture, mask, texture={"method": "patches"}))
    assert np.array_equal(structure[~mask], rgb[~mask]) and not np.array_equal(structure, patches)
    assert np.array_equal(patches, np.asarray(pt.fill_in(plain, picture, mask, texture={})))
    assert pt.texture_options({"method": "structure", "patch": 7, "levels": 3}) == {"method": "structure", "patch": 7, "levels": 3}
    for bad, message in (({"guide": 1}, 'apply to "method": "structure" only'), ({"method": "x"}, "method is 'x'"),
                         ({"method": "structure", "patch": 8}, "patch is 8, expected an odd"),
                         ({"method": "structure", "levels": 1}, "needs levels 2 or more"),
                         ({"method": "structure", "tolerance": 3}, "tolerance is 3, expected 0..2"),
                         ({"method": ["structure"]}, "method is")):
        with pytest.raises(ValueError, match=message):
            pt.texture_options(bad)


def test_a_hole_above_max_hole_is_rebuilt_where_it_has_max_hole_pixels_and_enlarged(monkeypatch):
    """The time bound (issue 29): a hole of more than max_hole pixels is the same as the finish run explicitly on the
    picture shrunk to max_hole hole pixels (ring scaled alike) and enlarged into the hole; its structure level gets
    a quarter of the pixels; a hole of max_hole pixels or fewer is untouched by the bound; kept pixels stay exact."""
    picture = tensor(textured(160, 120))
    hole = torch.zeros(120, 160, dtype=torch.bool)
    hole[30:90, 40:120] = True  # 4800 px
    first = torch.where(hole, picture.mean((2, 3), keepdim=True), picture)
    seen = []
    exemplar = gpnn.fill_exemplar
    monkeypatch.setattr(gpnn, "fill_exemplar", lambda x, h, **k: seen.append(int(torch.as_tensor(h).sum())) or exemplar(x, h, **k))
    full = gpnn.fill_hole(first, hole, exemplar={}, max_hole=None)
    assert torch.equal(gpnn.fill_hole(first, hole, exemplar={}, max_hole=4800), full)
    bounded = gpnn.fill_hole(first, hole, exemplar={}, max_hole=1200)  # shrunk by sqrt(1200 / 4800) = 1/2
    assert len(seen) == 3 and seen[0] == seen[1] and seen[2] < seen[0] / 3, seen
    assert torch.equal(bounded[..., ~hole], picture[..., ~hole]) and not torch.equal(bounded, full)
    small_hole = torch.nn.functional.interpolate(hole[None, None].float(), size=(60, 80), mode="area")[0, 0] > 0
    small = gpnn.fill_hole(gpnn._resize(first, (60, 80)), small_hole, exemplar={}, ring=24, max_hole=None)
    assert torch.equal(bounded, torch.where(hole, gpnn._resize(small, (120, 160)), first))
    assert gpnn.MAX_HOLE >= 128 * 128  # one 32-px stroke across a 512-px photo keeps its full-size finish
    framed = torch.ones(120, 160, dtype=torch.bool)
    framed[:6], framed[-6:], framed[:, :6], framed[:, -6:] = False, False, False, False
    # at that scale no whole patch is kept: the first fill comes back exactly, not shrunk and enlarged
    assert torch.equal(gpnn.fill_hole(first, framed, exemplar={}, max_hole=1200), first)


def test_the_bound_is_a_texture_option_and_checked(models):
    plain, _ = models
    picture, mask = Image.fromarray(textured()), hole()
    rgb = np.asarray(picture)
    bounded = np.asarray(pt.fill_in(plain, picture, mask, texture={"max_hole": 256}))
    unbounded = np.asarray(pt.fill_in(plain, picture, mask, texture={"max_hole": None}))
    assert np.array_equal(bounded[~mask], rgb[~mask]) and not np.array_equal(bounded, unbounded)
    assert np.array_equal(unbounded, np.asarray(pt.fill_in(plain, picture, mask, texture={"max_hole": int(mask.sum())})))
    assert pt.texture_options({"max_hole": None}) == {"max_hole": None}
    for bad, message in (({"max_hole": 10}, "max_hole is 10, expected 256..1000000"), ({"max_hole": 2.5}, "max_hole is 2.5")):
        with pytest.raises(ValueError, match=message):
            pt.texture_options(bad)
