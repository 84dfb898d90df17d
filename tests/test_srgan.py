"""SRGAN "Enhance ×4": the generator, the library function, the training script and the app's endpoints,
on tiny models and pictures made here (no ../shared, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from pix2pix_demo.hub import ModelLoadError, load_model, save_model
from pix2pix_demo.imaging import ImageError
from pix2pix_demo.models.srgan import SRGANConfig, SRGANGenerator
from pix2pix_demo.superres import MAX_INPUT_SIDE, bicubic, downscale, enhance, upscale_tensor


def tiny(scale=4, seed=0, trained_tail=True) -> SRGANGenerator:
    torch.manual_seed(seed)
    model = SRGANGenerator(SRGANConfig(channels=8, num_blocks=2, scale=scale))
    if trained_tail:  # the tail starts at zero (= bicubic); a non-zero one makes the network's part show
        torch.nn.init.normal_(model.tail.weight, std=0.05)
    return model.eval()


def picture(width: int, height: int, seed: int = 0) -> Image.Image:
    """A smooth synthetic photo: colour gradients, discs and stripes."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([128 + 100 * np.sin(x / rng.uniform(5, 20) + c) * np.cos(y / rng.uniform(5, 20)) for c in range(3)], -1)
    image = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), rng.integers(3, max(4, width // 4))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    for k in range(0, width, 9):
        draw.line([(k, 0), (k + height // 2, height)], fill=(20, 20, 20), width=1)
    return image


# ---------------------------------------------------------------- the generator


@pytest.mark.parametrize("scale,size", [(4, (7, 13)), (4, (1, 1)), (2, (9, 4)), (8, (5, 3))])
def test_forward_multiplies_any_size_by_the_scale(scale, size):
    model = tiny(scale)
    with torch.no_grad():
        out = model(torch.rand(2, 3, *size) * 2 - 1)
    assert out.shape == (2, 3, size[0] * scale, size[1] * scale)
    assert torch.isfinite(out).all()


def test_untrained_generator_is_bicubic_and_bad_configs_are_refused():
    model = tiny(trained_tail=False)
    x = torch.rand(1, 3, 11, 6) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(model(x), F.interpolate(x, scale_factor=4, mode="bicubic", align_corners=False))
    for bad in (dict(scale=3), dict(scale=1), dict(head_kernel=4), dict(channels=0)):
        with pytest.raises(ValueError):
            SRGANConfig(**bad)


def test_save_load_round_trip_gives_identical_outputs(tmp_path):
    model = tiny()
    save_model(model, tmp_path / "sr", {"label": "test"})
    loaded = load_model(tmp_path / "sr")
    assert isinstance(loaded, SRGANGenerator) and loaded.config == model.config and not loaded.training
    x = torch.rand(1, 3, 9, 10) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    save_model(model, tmp_path / "half", dtype=torch.float16)  # what train.srgan ships
    with torch.no_grad():
        assert (load_model(tmp_path / "half")(x) - model(x)).abs().max() < 1e-2
    config = json.loads((tmp_path / "sr" / "config.json").read_text())
    config["architecture"]["num_blocks"] = 3  # weights no longer match
    (tmp_path / "sr" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="does not match"):
        load_model(tmp_path / "sr")


# ---------------------------------------------------------------- the library function


@pytest.mark.parametrize("blocks", [2, 8])  # 8: the shipped model's depth (the overlap must grow with it)
def test_tiles_give_the_same_result_as_one_pass(blocks):
    torch.manual_seed(0)
    model = SRGANGenerator(SRGANConfig(channels=8, num_blocks=blocks)).eval()
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    x = torch.rand(1, 3, 45, 70) * 2 - 1
    with torch.no_grad():
        whole = upscale_tensor(model, x, tile=1000)
        tiled = upscale_tensor(model, x, tile=16)
    assert whole.shape == tiled.shape == (1, 3, 180, 280)
    assert (whole - tiled).abs().max() < 1e-5


def test_enhance_takes_any_mode_and_size_up_to_the_limit():
    model = tiny()
    rgba = picture(33, 21).convert("RGBA")
    out = enhance(model, rgba)
    assert out.mode == "RGB" and out.size == (132, 84)
    assert enhance(model, picture(MAX_INPUT_SIDE, 40), tile=128).size == (4 * MAX_INPUT_SIDE, 160)
    with pytest.raises(ImageError, match=f"at most {MAX_INPUT_SIDE} px on the long side.*Shrink it first"):
        enhance(model, picture(MAX_INPUT_SIDE + 1, 30))
    with pytest.raises(ImageError, match="too thin"):
        enhance(model, Image.new("RGB", (400, 10)))


def test_downscale_pairs_and_bicubic_baseline():
    high, low = downscale(picture(103, 61), 4)
    assert high.size == (100, 60) and low.size == (25, 15)
    assert bicubic(low).size == high.size
    with pytest.raises(ImageError, match="too small"):
        downscale(Image.new("RGB", (3, 9)))


# ---------------------------------------------------------------- training


def test_training_sources_leave_the_heldout_photos_out(tmp_path):
    from train.eval.srgan import heldout_photos
    from train.srgan import get_args_parser, training_sources

    root = tmp_path / "data"
    for folder, names in (("cats/train", ["a", "b"]), ("cats/test", ["t1", "t2", "t3"]),
                          ("cats-masked/images", ["m1", "m2", "m3"]), ("edges2products/val", ["v1"])):
        (root / folder).mkdir(parents=True)
        for name in names:
            picture(40, 30).save(root / folder / f"{name}.jpg")
    (root / "edges2products/train").mkdir(parents=True)
    picture(64, 32).save(root / "edges2products/train/1_AB.jpg")
    (root / "cats/heldout.txt").write_text("t1.jpg\nt3.jpg\n")
    (root / "cats-masked/heldout.txt").write_text("m2\n")
    args = get_args_parser().parse_args(["--data", str(root), "--steps", "1"])
    sources = training_sources(args)
    assert {name: [p.name for p in files] for name, (files, _) in sources.items()} == {
        "cats/train": ["a.jpg", "b.jpg"], "cats-masked/images": ["m1.jpg", "m3.jpg"],
        "edges2products/train": ["1_AB.jpg"]}
    assert sources["edges2products/train"][1] == "left"
    assert [(source, path.name) for source, path, _ in heldout_photos(root, 5)] == [
        ("cats/test", "t1.jpg"), ("cats/test", "t3.jpg"), ("cats-masked/images", "m2.jpg"),
        ("edges2products/val", "v1.jpg")]


@pytest.mark.slow
def test_training_smoke_run_learns_exports_and_resumes(tmp_path):
    from train.srgan import get_args_parser, main

    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(6):
        picture(96, 80, seed).save(photos / f"p{seed}.png")
    common = ["--photos", str(photos), "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out"),
              "--crop", "32", "--batch-size", "4", "--channels", "8", "--blocks", "1", "--d-channels", "8",
              "--lr", "3e-3", "--log-every", "1", "--checkpoint-every", "10"]
    main(get_args_parser().parse_args([*common, "--steps", "60", "--warmup-steps", "40"]))
    records = [json.loads(line) for line in (tmp_path / "runs/srgan/log.jsonl").read_text().splitlines()]
    assert [r["phase"] for r in records[:2]] == ["l1", "l1"] and records[-1]["phase"] == "gan"
    last = [r for r in records if r["phase"] == "l1"][-5:]
    # the generator starts as bicubic (its correction is zero) and learns to beat it on the same batches
    assert records[0]["l1"] == pytest.approx(records[0]["bicubic_l1"], abs=1e-4)
    assert np.mean([r["l1"] / r["bicubic_l1"] for r in last]) < 0.97
    gan = [r for r in records if r["phase"] == "gan"]
    assert all(np.isfinite([r["d"], r["adv"], r["l1"]]).all() for r in gan)
    l1_only, final = load_model(tmp_path / "runs/srgan/l1-only"), load_model(tmp_path / "out")
    assert l1_only.metadata["stage"] == "l1-only" and final.metadata["stage"] == "l1+adversarial"
    assert final.metadata["training"]["steps"] == 60
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        assert not torch.equal(l1_only(x), final(x))  # the adversarial phase changed the generator
    main(get_args_parser().parse_args([*common, "--steps", "64", "--warmup-steps", "40", "--resume"]))
    assert load_model(tmp_path / "out").metadata["training"]["steps"] == 64
    with pytest.raises(SystemExit, match="--channels"):
        main(get_args_parser().parse_args([*common, "--steps", "70", "--resume", "--channels", "16"]))


@pytest.mark.slow
def test_fine_tune_with_feature_matching_starts_from_a_saved_model(tmp_path):
    """--init starts G from a saved SRGAN (fresh D); --lambda-fm adds the discriminator feature-matching term:
    logged, finite, moving, and it changes the update (same seed and batches, without it G ends elsewhere)."""
    from train.srgan import get_args_parser, main

    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(4):
        picture(80, 72, seed).save(photos / f"p{seed}.png")
    start = tiny(seed=3)
    save_model(start, tmp_path / "start", {"scale": 4})
    outs = {}
    for fm in ("0", "5"):
        args = ["--photos", str(photos), "--runs", str(tmp_path / "runs"), "--name", f"fm{fm}", "--out",
                str(tmp_path / f"out{fm}"), "--init", str(tmp_path / "start"), "--crop", "32", "--batch-size", "2",
                "--d-channels", "8", "--log-every", "1", "--steps", "6", "--warmup-steps", "0", "--lambda-fm", fm]
        main(get_args_parser().parse_args(args))
        outs[fm] = load_model(tmp_path / f"out{fm}")
        records = [json.loads(line) for line in (tmp_path / "runs" / f"fm{fm}" / "log.jsonl").read_text().splitlines()]
        assert [r["phase"] for r in records] == ["gan"] * 6
        if fm == "5":
            assert all(np.isfinite(r["fm"]) and r["fm"] > 0 for r in records) and len({r["fm"] for r in records}) > 1
            training = outs[fm].metadata["training"]
            assert training["lambda_fm"] == 5 and "feature matching" in training["losses"]
            assert training["init"] == str(tmp_path / "start")
        else:
            assert all("fm" not in r for r in records)
    assert outs["0"].config.channels == 8 and outs["0"].config.num_blocks == 2  # the --init model's architecture
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    with torch.no_grad():
        first_step = [json.loads(line) for line in (tmp_path / "runs/fm0/log.jsonl").read_text().splitlines()][0]
        # step 1 starts from the saved model: its L1 is the saved model's, not bicubic's
        assert first_step["l1"] != pytest.approx(first_step["bicubic_l1"], abs=1e-4)
        assert not torch.allclose(outs["0"].float()(x), outs["5"].float()(x))
    with pytest.raises(SystemExit, match="not an SRGAN"):
        from pix2pix_demo.models.stargan import StarGANConfig, StarGANGenerator

        save_model(StarGANGenerator(StarGANConfig(generator={"base_channels": 4, "num_blocks": 1})), tmp_path / "star")
        main(get_args_parser().parse_args(["--photos", str(photos), "--runs", str(tmp_path / "runs"), "--steps", "1",
                                           "--init", str(tmp_path / "star")]))


def test_model_card_describes_the_srgan(tmp_path):
    from pix2pix_demo.cards import model_card

    save_model(tiny(), tmp_path / "srgan-x4", {"label": "SRGAN ×4", "stage": "l1+adversarial",
                                               "data": {"sources": ["cats/train", "edges2products/train"]}})
    card = model_card(tmp_path / "srgan-x4")
    assert "from pix2pix_demo.superres import enhance" in card and "super-resolution" in card
    assert "no VGG weights" in card and "L1 + adversarial" in card
    assert "**cats**" in card and "**edges2products**" in card  # each data set's licence note


# ---------------------------------------------------------------- the app


def test_draw_download_at_1024_is_enhanced(tiny_weights_dir):
    import base64
    import io

    from pix2pix_demo.imaging import resize_to
    from pix2pix_demo.ui import live

    drawing = Image.new("RGB", (256, 256), "white")
    ImageDraw.Draw(drawing).ellipse([50, 50, 200, 200], outline="black", width=3)
    buffer = io.BytesIO()
    drawing.save(buffer, "PNG")
    request = {"png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode(), "model": "edges2cats"}

    def image_of(result):
        assert "image" in result, result
        return Image.open(io.BytesIO(base64.b64decode(result["image"].partition(",")[2])))

    enhanced = image_of(live.render_png({**request, "size": live.ENHANCED_SIZE}))
    assert enhanced.size == (1024, 1024)
    plain = resize_to(image_of(live.render_png({**request, "size": 256})).convert("RGB"), (1024, 1024))
    assert np.abs(np.asarray(enhanced.convert("RGB"), float) - np.asarray(plain, float)).mean() > 0.5  # not a resize


@pytest.fixture(scope="module")
def client(running_app):
    from gradio_client import Client

    return Client(running_app, verbose=False)


@pytest.mark.slow
def test_enhance_endpoint(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    small = tmp_path / "small.png"
    picture(40, 30).save(small)
    assert Image.open(client.predict(handle_file(str(small)), api_name="/enhance")).size == (160, 120)
    big = tmp_path / "big.png"  # a picture shown larger than the model's 256 px goes back to 256 first
    picture(600, 400).save(big)
    assert Image.open(client.predict(handle_file(str(big)), api_name="/enhance")).size == (1024, 684)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a picture")
    with pytest.raises(AppError, match="Could not read the image"):
        client.predict(handle_file(str(junk)), api_name="/enhance")
    assert client.predict(None, api_name="/enhance") is None  # nothing generated yet: a warning, no picture
    thin = tmp_path / "thin.png"  # refused for its own shape, named at the size that was sent (not 256×6)
    picture(4000, 100).save(thin)
    with pytest.raises(AppError, match="4000×100 pixels: too thin"):
        client.predict(handle_file(str(thin)), api_name="/enhance")


@pytest.mark.slow
def test_singan_super_resolution_offers_srgan(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "low.png"
    picture(30, 20).save(path)
    for factor, size in ((4, (120, 80)), (2, (60, 40))):
        result = client.predict("singan-mini", handle_file(str(path)), factor, 0, "srgan",
                                api_name="/singan_super_resolve")
        assert Image.open(result).size == size
    # SRGAN needs no SinGAN model; SinGAN's own method is still the default
    assert Image.open(client.predict("", handle_file(str(path)), 4, 0, "srgan",
                                     api_name="/singan_super_resolve")).size == (120, 80)
    singan = client.predict("singan-mini", handle_file(str(path)), 2, 0, api_name="/singan_super_resolve")
    assert Image.open(singan).size == (60, 40)
    with pytest.raises(AppError, match="method must be one of singan, srgan"):
        client.predict("singan-mini", handle_file(str(path)), 2, 0, "esrgan", api_name="/singan_super_resolve")


@pytest.mark.slow
def test_srgan_method_reads_no_file_the_client_names(running_app, tmp_path):
    from gradio.utils import get_upload_folder

    from test_app_security import NOT_UPLOADED, attacks, call_raw, secret_photo

    secret = secret_photo(tmp_path)
    for name, value in attacks(secret, Path(get_upload_folder())).items():
        kind, payload = call_raw(running_app, "singan_super_resolve", ["", value, 4, 0, "srgan"])
        assert kind in ("error", "http"), f"{name}: the server answered {kind}: {payload!r}"
        if kind == "error":
            assert payload.get("error") is None or payload["error"].startswith(NOT_UPLOADED), (name, payload)


@pytest.mark.slow
def test_browser_draw_tab_downloads_an_enhanced_1024_png(running_app, chromium_browser):
    from conftest import new_page

    surface = "#draw-surface"
    page = new_page(chromium_browser, running_app)
    try:
        page.wait_for_selector(f"{surface} .p2p[data-ready='1']")
        options = page.locator(f"{surface} [data-role=download-size] option").all_inner_texts()
        assert "1024² ×4" in options  # the test weights have an SRGAN model
        page.click(f"{surface} button[data-example=shoe]")
        page.wait_for_function(f"Number(document.querySelector('{surface} .p2p').dataset.pictures) > 0")
        page.select_option(f"{surface} [data-role=download-size]", "1024")
        with page.expect_download() as download_info:
            page.click(f"{surface} [data-action=download]")
        png = Image.open(download_info.value.path())
        assert png.format == "PNG" and png.size == (1024, 1024)
        assert download_info.value.suggested_filename.endswith("1024x1024.png")
    finally:
        page.close()


def random_lite0(with_head: bool = True, **_):
    """The frozen network's architecture with random weights (no wheel file needed)."""
    from pix2pix_demo.features import EfficientNetLite0

    torch.manual_seed(0)
    return EfficientNetLite0(with_head=with_head).eval().requires_grad_(False)


def test_evaluate_measures_bicubic_each_model_and_singan(tmp_path, monkeypatch):
    from conftest import save_tiny_singan
    from train.eval import srgan as srgan_eval
    from train.srgan import get_args_parser, main

    monkeypatch.setattr(srgan_eval, "load_lite0", random_lite0)

    for seed in range(2):
        picture(48, 40, seed).save(tmp_path / f"p{seed}.png")
    save_model(tiny(), tmp_path / "sr")
    save_tiny_singan(tmp_path / "singan")
    args = get_args_parser().parse_args(["--evaluate", str(tmp_path / "sr"), "--pictures", str(tmp_path / "p0.png"),
                                         str(tmp_path / "p1.png"), "--singan", str(tmp_path / "singan"),
                                         "--grid", str(tmp_path / "grid.png")])
    from train.eval.srgan import evaluate

    report = evaluate(args)
    assert list(report) == ["bicubic", str(tmp_path / "sr"), "singan"]
    assert all(row["photos"] == 2 and 5 < row["psnr"] < 60 and 0 < row["ssim"] <= 1 for row in report.values())
    assert report["bicubic"]["psnr"] != report[str(tmp_path / "sr")]["psnr"]
    # KID on each picture's windows (48×40: one window each), next to PSNR / SSIM, for every method (its
    # ranking is test_kid_report_ranks_a_far_method_above_a_close_one's: a random network's KIDs are all ~0)
    assert all(row["windows"] == 2 and np.isfinite(row["kid_x1000"]) and row["kid_x1000_spread"] >= 0
               for row in report.values())
    grid = Image.open(tmp_path / "grid.png")
    assert grid.width == 5 * 192 + 4 * 4  # low-res, bicubic, the model, SinGAN, the original
    main(get_args_parser().parse_args(["--evaluate", str(tmp_path / "sr"), "--enlarge", str(tmp_path / "p0.png"),
                                       "--grid", str(tmp_path / "enlarged.png")]))
    assert Image.open(tmp_path / "enlarged.png").width == 2 * 256 + 4  # bicubic, the model


def test_kid_windows_keep_the_pictures_resolution():
    from train.eval.srgan import KID_WINDOW, kid_windows

    big = picture(300, 600)
    windows = kid_windows(big)
    assert [w.size for w in windows] == [(KID_WINDOW, KID_WINDOW)] * 4
    assert np.array_equal(np.asarray(windows[3]), np.asarray(big.crop((300 - KID_WINDOW, 600 - KID_WINDOW, 300, 600))))
    assert [w.size for w in kid_windows(picture(256, 100))] == [(256, 100)]  # shorter than a window: taken whole
    assert [w.size for w in kid_windows(picture(400, 256))] == [(256, 256)] * 2


def test_kid_report_ranks_a_far_method_above_a_close_one():
    """KID per method against the windows of the photos it ran on, with a spread and per source."""
    from train.eval.srgan import kid_report

    torch.manual_seed(0)
    targets = [torch.randn(2, 16) for _ in range(20)]
    close = [t + 0.05 * torch.randn_like(t) for t in targets]
    far = [t + 1.5 for t in targets]
    sources = ["cats"] * 10 + ["products"] * 10
    report = kid_report({"close": close, "far": far, "few": far[:5]}, targets,
                        {"close": list(range(20)), "far": list(range(20)), "few": list(range(5))}, sources)
    assert report["far"]["kid_x1000"] > 10 * max(report["close"]["kid_x1000"], 1e-3)
    assert report["far"]["windows"] == 40 and report["few"]["windows"] == 10
    assert set(report["far"]["per_source"]) == {"cats", "products"} and set(report["few"]["per_source"]) == {"cats"}
    assert report["far"]["kid_x1000"] - report["close"]["kid_x1000"] > 3 * report["far"]["kid_x1000_spread"]


@pytest.mark.slow
def test_fine_tune_with_the_pretrained_feature_recipe(tmp_path, monkeypatch):
    """train.srgan gains the shared recipe (train.harness.pretrained): unconditional projected heads over the
    frozen Lite0 features (random weights here), the perceptual and low-frequency losses, no PatchGAN, an
    EMA; each term logged and finite, recorded in the config, the perceptual term changes the update,
    and the run resumes (a checkpoint without heads is refused)."""
    from train.harness import pretrained
    from train.srgan import get_args_parser, main

    monkeypatch.setattr(pretrained, "load_lite0", lambda device="cpu", with_head=False: random_lite0(with_head))
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(4):
        picture(80, 72, seed).save(photos / f"p{seed}.png")
    save_model(tiny(seed=3), tmp_path / "start", {"scale": 4})

    def args(name, *more):
        return get_args_parser().parse_args(
            ["--photos", str(photos), "--runs", str(tmp_path / "runs"), "--name", name, "--out", str(tmp_path / name),
             "--init", str(tmp_path / "start"), "--crop", "32", "--batch-size", "2", "--log-every", "1",
             "--warmup-steps", "0", "--num-threads", "1", "--no-patchgan", "--d-features", "lite0",
             "--lambda-projected", "0.1", "--lambda-lowfreq", "2", "--lowfreq-pool", "4", "--ema", "0.5",
             "--lr-gan", "2e-3", *more])

    main(args("recipe", "--steps", "4", "--lambda-perceptual", "0.5", "--checkpoint-every", "2"))
    records = [json.loads(line) for line in (tmp_path / "runs/recipe/log.jsonl").read_text().splitlines()]
    assert len(records) == 4 and all(r["phase"] == "gan" and "d" not in r for r in records)  # no PatchGAN
    for key in ("loss_d_projected", "loss_g_projected", "loss_perceptual", "loss_lowfreq"):
        assert all(np.isfinite(r[key]) for r in records), key
    assert len({r["loss_perceptual"] for r in records}) > 1 and all(r["loss_perceptual"] > 0 for r in records)
    model = load_model(tmp_path / "recipe")
    training = model.metadata["training"]
    assert training["pretrained_features"]["projected_discriminator"] and training["discriminator"] is None
    assert training["pretrained_features"]["lambda_perceptual"] == 0.5 and training["lambda_lowfreq"] == 2
    assert training["ema"] == 0.5 and "perceptual" in training["losses"] and "Lite0" in training["content_loss"]
    state = torch.load(tmp_path / "runs/recipe/checkpoint.pt", weights_only=True)
    assert {"projected", "opt_p", "ema"} <= set(state) and "discriminator" not in state
    exported = model.float().state_dict()  # what ships is the average, not the last step's weights

    def distance(weights):
        return sum((exported[k] - weights[k].float()).abs().sum().item() for k in exported)

    assert distance(state["ema"]) < 0.2 * distance(state["generator"])
    x = torch.rand(1, 3, 8, 8) * 2 - 1
    # the same seed and batches without the perceptual term end elsewhere
    main(args("plain", "--steps", "4", "--lambda-perceptual", "0"))
    with torch.no_grad():
        assert not torch.allclose(load_model(tmp_path / "plain").float()(x), model.float()(x), atol=1e-3)
    assert "loss_perceptual" not in json.loads((tmp_path / "runs/plain/log.jsonl").read_text().splitlines()[0])
    main(args("recipe", "--steps", "5", "--lambda-perceptual", "0.5", "--resume"))
    assert load_model(tmp_path / "recipe").metadata["training"]["steps"] == 5
    from pix2pix_demo.cards import model_card

    card = model_card(tmp_path / "recipe")
    assert "perceptual loss" in card and "EfficientNet-Lite0" in card and "no VGG weights" not in card
    # refused: resuming a run without heads with them, no discriminator at all, feature matching without the PatchGAN
    main(get_args_parser().parse_args(["--photos", str(photos), "--runs", str(tmp_path / "runs"), "--name", "old",
                                       "--out", str(tmp_path / "old"), "--crop", "32", "--batch-size", "2",
                                       "--channels", "8", "--blocks", "2", "--d-channels", "8", "--steps", "1"]))
    with pytest.raises(SystemExit, match="d_features"):
        main(args("old", "--steps", "2", "--resume", "--channels", "8", "--blocks", "2"))
    with pytest.raises(SystemExit, match="--d-features lite0"):
        main(get_args_parser().parse_args(["--photos", str(photos), "--steps", "1", "--no-patchgan"]))
    with pytest.raises(SystemExit, match="needs the PatchGAN"):
        main(args("fm", "--steps", "1", "--lambda-fm", "1"))
