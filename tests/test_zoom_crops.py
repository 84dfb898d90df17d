"""--projected-zoom-crops (train.harness.pretrained): windows on the object, the same crops for output and target."""
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from pix2pix_demo.projected import ProjectedDiscriminator, hinge_generator_loss
import pytest

from train.harness.pretrained import generator_terms, make_feature_losses, zoom_crops, zoom_pass, zoom_windows


def picture(n=2, size=32):
    target = torch.ones(n, 3, size, size)  # white ground, a dark square off-centre
    target[:, :, 20:28, 2:10] = -0.5
    return target


def test_windows_sizes_inside_and_on_the_object():
    torch.manual_seed(0)
    target = picture()
    windows = zoom_windows(target, 3, 8, 12)
    assert windows.shape == (6, 3)
    for y, x, side in windows.tolist():
        assert 8 <= side <= 12 and 0 <= y <= 32 - side and 0 <= x <= 32 - side
        assert (target[0, 0, y:y + side, x:x + side] < 0.8).any()  # each window holds some of the square


def test_crops_same_windows_for_output_and_target():
    real = torch.rand(2, 3, 32, 32) * 2 - 1
    windows = torch.tensor([[0, 0, 32], [4, 6, 10], [20, 1, 12], [3, 3, 8]])
    crops = zoom_crops(real, windows, 32)
    assert crops.shape == (4, 3, 32, 32)
    assert torch.allclose(crops[0], real[0])  # the whole picture at its own size: unchanged
    assert torch.allclose(zoom_crops(real + 0.25, windows, 32), crops + 0.25, atol=1e-6)
    assert torch.allclose(crops[1], F.interpolate(real[:1, :, 4:14, 6:16], size=(32, 32), mode="bilinear"))


def args(**kw):
    base = dict(projected_zoom_crops=2, zoom_window="8,12", diffaugment="", lambda_lowfreq=0.0, lambda_projected=1.0,
                lambda_perceptual=0.0, lambda_zoom=2.0, lambda_zoom_perceptual=0.0)
    return SimpleNamespace(**{**base, **kw})


def features(x):
    return [F.avg_pool2d(x, 4)]


def test_zoom_pass_pairs_output_with_target_and_ink():
    torch.manual_seed(1)
    real_b, real_a = picture(), torch.ones(2, 3, 32, 32)
    real_a[:, :, 16, :] = -1  # a line across
    zoomed = zoom_pass(features, real_a, real_b, real_b.clone(), args(diffaugment="translation,cutout,colour"))
    feats_real, feats_fake, ink = zoomed
    assert feats_real[0].shape == (4, 3, 8, 8) and ink.shape == (4, 1, 32, 32)
    assert torch.allclose(feats_real[0], feats_fake[0])  # same windows and augmentation for both
    assert zoom_pass(features, real_a, real_b, real_b, args(projected_zoom_crops=0)) is None


def test_generator_terms_unchanged_without_zoom_and_adds_the_zoom_term():
    torch.manual_seed(2)
    heads = ProjectedDiscriminator((3,), (4,), size=32, condition_channels=1).eval()  # no power-iteration step
    fake, real = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    ink = torch.rand(2, 1, 32, 32)
    plain = generator_terms(args(), fake, real, features(fake), features(real), heads, ink, (1.0,), {})
    off = generator_terms(args(), fake, real, features(fake), features(real), heads, ink, (1.0,), {}, zoom=None)
    assert torch.equal(plain, off)
    zoom_fake, zoom_real, zoom_ink = features(torch.rand(4, 3, 32, 32)), features(torch.rand(4, 3, 32, 32)), torch.rand(4, 1, 32, 32)
    extra = {}
    with_zoom = generator_terms(args(lambda_zoom_perceptual=0.5), fake, real, features(fake), features(real), heads, ink,
                                (1.0,), extra, zoom=((zoom_real, zoom_fake, zoom_ink), heads))
    expected = plain + 2.0 * hinge_generator_loss(heads(zoom_fake, zoom_ink)) + 0.5 * extra["loss_zoom_perceptual"]
    assert torch.allclose(with_zoom, expected) and extra["loss_zoom_perceptual"] > 0


def test_a_trainer_without_zoom_pass_refuses_the_option():
    with pytest.raises(SystemExit, match="does not use it"):
        make_feature_losses(args(patchgan=True, d_features="lite0"), "cpu")


@pytest.mark.parametrize("changes, message", [
    (dict(d_features="none", lambda_zoom=2.0), "add --d-features lite0"),
    (dict(d_features="lite0", lambda_zoom=0.0, lambda_zoom_perceptual=0.0), "nothing uses the windows"),
    (dict(d_features="lite0", zoom_window="128"), "two whole numbers"),
    (dict(d_features="lite0", zoom_window="128,96"), "LO <= HI"),
])
def test_zoom_windows_nobody_would_use_are_refused(changes, message):
    with pytest.raises(SystemExit, match=message):
        make_feature_losses(args(patchgan=True, **changes), "cpu", zoom=True)
