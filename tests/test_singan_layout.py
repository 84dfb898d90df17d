"""SinGAN's "warp" layout (issue 30, session 14): random samples start from the model's reconstruction warped at
random along its width (pix2pix_demo.singan.layout), the scales above train on such layouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from pix2pix_demo import singan
from pix2pix_demo.hub import load_model, read_config, save_model
from pix2pix_demo.models.singan import SinGAN, SinGANConfig


def arrays_equal(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_warp_grid_moves_columns_and_keeps_rows_and_the_bottom_row():
    """The "warp" layout's grid (issue 30, session 14): every output column reads one picture column (columns stay
    columns), left to right (a monotone map: nothing is turned round inside the picture), every row one picture
    row (rows stay straight), the bottom row stays the bottom row and nothing reads above the top one; seeds
    differ, a seed repeats; a wider output reads a wider window of the picture."""
    for seed in range(8):
        grid = singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(seed), 0.25, 0.3, 0.1)[0]
        gx, gy = grid[..., 0], grid[..., 1]
        assert torch.equal(gx, gx[:1].expand_as(gx)) and torch.equal(gy, gy[:, :1].expand_as(gy))
        assert bool((gx[0, 1:] > gx[0, :-1]).all())
        assert bool((gy[1:, 0] >= gy[:-1, 0]).all()) and float(gy[-1, 0]) == 1.0 and float(gy.min()) >= -1.0
    first = singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(1))
    assert torch.equal(first, singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(1)))
    assert not torch.equal(first, singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(2)))
    still = singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(3), shift=0, stretch=0, height=0)[0]
    assert torch.allclose(still[0, :, 0], -still[0, :, 0].flip(0), atol=1e-6)  # centred, even spacing
    assert torch.allclose(still[:, 0, 1], torch.linspace(-1, 1, 12))
    wide = singan.warp_grid((12, 18), (12, 36), torch.Generator().manual_seed(3), shift=0, stretch=0, height=0)[0]
    width = lambda g: float(g[0, -1, 0] - g[0, 0, 0])  # noqa: E731
    assert width(wide) == pytest.approx(2 * width(still), rel=1e-5)


def test_warp_reads_at_most_layout_edge_past_the_picture_and_stays_as_tall_by_default():
    """Session 17 (Marina Bay's last broken samples): the warp's window reads at most `edge` picture widths past
    the picture's left or right edge (mirrored) beyond what a window wider than the picture must; the same random
    numbers are drawn (the same stretch, only the shift clamped); without `edge` (every model saved before session
    17) the window went far past. The defaults: edge 0.08, no vertical stretch (rows read their own row)."""
    options = singan.TrainOptions()
    assert options.layout_edge == 0.08 and options.layout_height == 0
    assert SinGANConfig().layout_edge is None  # a config without it: as before
    beyond = []
    for seed in range(40):
        for out_shape in ((12, 18), (12, 36)):  # the training aspect and a 2x-wide sample
            free = singan.warp_grid((12, 18), out_shape, torch.Generator().manual_seed(seed), 1.0, 0.3, 0.0)[0, 0, :, 0]
            kept = singan.warp_grid((12, 18), out_shape, torch.Generator().manual_seed(seed), 1.0, 0.3, 0.0,
                                    edge=0.08)[0, 0, :, 0]
            x, y = (free + 1) / 2, (kept + 1) / 2  # picture widths: 0..1 is the picture
            assert torch.allclose(x.diff(), y.diff(), atol=1e-6)  # same stretch and span, only shifted
            span = float(y[-1] - y[0])
            assert float(y[0]) >= min(0.0, 1 - span) - 0.08 - 1e-5 and float(y[-1]) <= max(1.0, span) + 0.08 + 1e-5
            beyond.append(max(-float(x[0]), float(x[-1]) - max(1.0, span)))
    assert max(beyond) > 0.5  # unbounded, a shift of 1 picture width reads far past an edge
    flat = singan.warp_grid((12, 18), (12, 18), torch.Generator().manual_seed(3), 0.25, 0.3, options.layout_height)
    assert torch.allclose(flat[0, :, 0, 1], torch.linspace(-1, 1, 12))  # height 0: every row reads its own row
    for bad in (-0.1, 2.0):
        with pytest.raises(ValueError, match="layout_edge"):
            singan.TrainOptions(layout_edge=bad).validate()
    with pytest.raises(ValueError, match="layout_edge"):
        SinGANConfig(layout_edge=-1)



def test_warp_gap_keeps_an_edge_object_and_its_mirror_image_apart():
    """Session 18 (Marina Bay's last tower, 7 px from the right edge, drawn with its mirror image as one wide tower
    with a hole): past an edge the window first reads the edge column for `gap` picture widths, then the picture
    mirrored, so an object one column from the edge and its mirror image stand at least `gap` apart (with no
    gap: 2 columns apart); inside the picture nothing changes, gap 0 is the warp as before, and the defaults are
    0.1 for new trainings and 0 for a config without it (every model saved before session 18)."""
    assert singan.TrainOptions().layout_gap == 0.1 and SinGANConfig().layout_gap == 0
    w = 40
    picture = torch.zeros(1, 1, 8, w)
    picture[..., w - 5:w - 1] = 1.0  # a bright "tower", 4 columns wide, one column from the right edge
    for seed in range(60):
        args = ((8, w), (8, w), torch.Generator().manual_seed(seed), 1.0, 0.0, 0.0)
        plain = singan.warp_grid(*args)
        gapped = singan.warp_grid(*args[:2], torch.Generator().manual_seed(seed), *args[3:], None, 0.1)
        x = (plain[0, 0, :, 0] + 1) / 2
        inside = (x >= 0) & (x <= 1)
        assert torch.equal(plain[0, 0, inside], gapped[0, 0, inside])  # the picture itself reads as before
        assert torch.equal(plain, singan.warp_grid(*args[:2], torch.Generator().manual_seed(seed), *args[3:], None, 0.0))
        if float(x[-1]) < 1 + 0.1 + 3 / w:  # the window must read past the gap and the tower's mirror image
            continue
        out = torch.nn.functional.grid_sample(picture, gapped, mode="bilinear", padding_mode="reflection",
                                              align_corners=True)[0, 0, 0]
        ungapped = torch.nn.functional.grid_sample(picture, plain, mode="bilinear", padding_mode="reflection",
                                                   align_corners=True)[0, 0, 0]

        def apart(row):  # picture widths between the tower's right side and its mirror image's left side
            here, there = x[(row > 0.5) & (x <= 1)], x[(row > 0.5) & (x > 1)]
            assert len(here) and len(there)  # both stand in the window
            return float(there.min() - here.max())

        assert apart(out) >= 0.1 and apart(ungapped) < 0.1  # without the gap it stands right beside the tower
        break
    else:
        raise AssertionError("no seed read far enough past the right edge")
    with pytest.raises(ValueError, match="layout_gap"):
        singan.TrainOptions(layout_gap=-0.1).validate()
    with pytest.raises(ValueError, match="layout_gap"):
        SinGANConfig(layout_gap=-1)


WARP = dict(max_size=40, min_size=12, channels=8, num_layers=3, iters=6, min_iters=6, device="cpu", crop_size=0)


def test_warp_layout_trains_the_scales_above_on_warped_reconstructions_and_samples_from_one(monkeypatch, tmp_path):
    """layout "warp" (the default): the scales above layout_scale train on the reconstruction through it, warped
    at random, and sample() starts from one (seeded: a seed repeats, seeds differ); the model records its layout,
    a saved one loads with it, and a config without one (every model before session 14) means "noise"."""
    torch.set_num_threads(1)
    assert singan.TrainOptions().layout == "warp" and SinGANConfig().layout == "noise"
    calls = []
    original = singan.training.warped_layout

    gaps = []

    def recording(model, generator, shapes=None, gap=None):
        out, scale = original(model, generator, shapes, gap)
        calls.append(scale)
        gaps.append(gap)
        return out, scale

    monkeypatch.setattr(singan.training, "warped_layout", recording)
    model, stats = singan.train_singan(singan.reference_image(40), singan.TrainOptions(**WARP))
    assert model.config.layout == "warp" and model.num_scales >= 4 and singan.layout_scale(model) == 1
    # each scale above 1 trains on warped coarse inputs (a new one every coarse_refresh = 4 iterations: 2 in 6),
    # scales 0 and 1 on none
    assert len(calls) == (model.num_scales - 2) * 2 and set(calls) == {1}
    # training keeps the mirror at the edge; the config's gap (0.1 by default) is for samples (session 18)
    assert set(gaps) == {0.0} and model.config.layout_gap == 0.1
    calls.clear()
    noise_model, _ = singan.train_singan(singan.reference_image(40), singan.TrainOptions(**WARP, layout="noise"))
    assert noise_model.config.layout == "noise" and calls == [] and singan.layout_scale(noise_model) is None

    # sample(): the generators above scale 1 silenced, a sample is exactly the warped reconstruction, up-sampled
    quiet = SinGAN(model.config)
    quiet.load_state_dict(model.state_dict())
    for g in quiet.generators[2:]:
        for p in g.parameters():
            torch.nn.init.zeros_(p)
    seed = 5
    layout, _ = original(quiet, torch.Generator().manual_seed(seed + singan.applications.LAYOUT_SEED_OFFSET))
    x = layout
    for n in range(2, quiet.num_scales):
        x = singan.upsample(x, quiet.config.shapes[n])
    assert arrays_equal(singan.sample(quiet, seed=seed), singan.tensor_to_image(x))
    assert arrays_equal(singan.sample(model, seed=3), singan.sample(model, seed=3))
    assert not arrays_equal(singan.sample(model, seed=3), singan.sample(model, seed=4))
    assert singan.sample(model, seed=3, width_factor=2).size == (80, model.config.shapes[-1][0])

    save_model(model, tmp_path / "warp")
    loaded = load_model(str(tmp_path / "warp"))
    assert loaded.config.layout == "warp" and arrays_equal(singan.sample(loaded, seed=3), singan.sample(model, seed=3))
    config = read_config(tmp_path / "warp")
    for key in ("layout", "layout_scale", "layout_shift", "layout_stretch", "layout_height"):
        del config["architecture"][key]
    old = SinGAN(SinGANConfig(**config["architecture"]))
    assert old.config.layout == "noise" and singan.layout_scale(old) is None
    for bad in (dict(layout="blobs"), dict(layout_scale=-1), dict(layout_shift=2.0)):
        with pytest.raises(ValueError, match="layout"):
            singan.TrainOptions(**bad).validate()
    with pytest.raises(ValueError, match="layout"):
        SinGANConfig(layout="blobs")
    with pytest.raises(ValueError, match="noise"):
        singan.warped_layout(noise_model, torch.Generator())


def test_train_singan_cli_records_the_layout(tmp_path):
    """python -m train.singan (tiny run): the exported config's architecture says where samples' layouts come
    from ("warp" by default, --layout noise: SinGAN's), and the loaded model samples that way."""
    from train.singan import get_args_parser, main

    torch.set_num_threads(1)
    image = tmp_path / "photo.png"
    singan.reference_image(40).save(image)
    common = ["--image", str(image), "--max-size", "40", "--min-size", "12", "--channels", "4", "--iters", "2",
              "--min-iters", "1", "--device", "cpu", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r")]
    folder = main(get_args_parser().parse_args(common + ["--name", "warp", "--layout-shift", "0.5"]))
    architecture = read_config(folder)["architecture"]
    assert architecture["layout"] == "warp" and architecture["layout_scale"] == 1
    assert architecture["layout_shift"] == 0.5 and architecture["layout_stretch"] == 0.3
    assert singan.layout_scale(load_model(str(folder))) == 1
    assert architecture["layout_edge"] == 0.08 and architecture["layout_height"] == 0  # session 17's defaults
    assert architecture["layout_gap"] == 0.1  # session 18's default
    folder = main(get_args_parser().parse_args(common + ["--name", "far", "--layout-edge", "-1", "--layout-height", "0.1",
                                                         "--layout-gap", "0"]))
    architecture = read_config(folder)["architecture"]
    assert architecture["layout_edge"] is None and architecture["layout_height"] == 0.1  # the session-14 warp
    assert architecture["layout_gap"] == 0
    folder = main(get_args_parser().parse_args(common + ["--name", "noise", "--layout", "noise"]))
    assert read_config(folder)["architecture"]["layout"] == "noise"
    assert singan.layout_scale(load_model(str(folder))) is None


def test_fine_padding_starts_above_the_warped_layout():
    """The scales above the warped layout use reflect padding by default (they need not know where the border
    is: with zeros there, Marina Bay's edge pieces floated in the sky); "noise" layouts keep zeros to scale 4."""
    from pix2pix_demo.singan_options import TrainOptions, padding_at

    warp = TrainOptions()
    assert warp.layout == "warp" and warp.fine_padding_from == warp.layout_scale + 1
    pads = [padding_at(k, warp.padding, warp.fine_padding, warp.fine_padding_from) for k in range(4)]
    assert pads[:warp.layout_scale + 1] == ["zeros"] * (warp.layout_scale + 1)
    assert set(pads[warp.layout_scale + 1:]) == {"reflect"}
    assert TrainOptions(layout="noise").fine_padding_from == 5
    assert TrainOptions(layout_scale=3).fine_padding_from == 4
    assert TrainOptions(layout="noise", fine_padding_from=7).fine_padding_from == 7


def test_train_cli_leaves_fine_padding_to_the_layout():
    from train.singan import get_args_parser

    assert get_args_parser().parse_args(["--image", "x.png", "--name", "x"]).fine_padding_from is None
    assert get_args_parser().parse_args(["--image", "x.png", "--name", "x", "--fine-padding-from", "6"]).fine_padding_from == 6
