"""CycleGAN: the ResNet generator, the trainer (smoke run, resume, export), the translators and /translate_photo.

Fixtures are made in code: two folders of small generated pictures (A: warm horizontal stripes, B: cool
dots), tiny networks. Nothing here reads ../shared or the network.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from pix2pix_demo import registry, translate
from pix2pix_demo.hub import load_model, save_model
from pix2pix_demo.imaging import image_to_tensor
from pix2pix_demo.models.resnet import ResnetConfig, ResnetGenerator
from conftest import save_tiny_cyclegan
from train import cyclegan

TINY = "--size 16 --base-channels 4 --num-blocks 1 --d-channels 4 --d-layers 1 --pool-size 3 --num-threads 1"


# ---------------------------------------------------------------- the networks


@pytest.mark.parametrize("upsampling", ["transpose", "resize"])
def test_resnet_generator_keeps_any_aspect_and_stays_in_range(upsampling):
    torch.manual_seed(0)
    model = ResnetGenerator(ResnetConfig(base_channels=4, num_blocks=2, upsampling=upsampling)).eval()
    x = torch.rand(2, 3, 24, 40) * 2 - 1
    y = model(x)
    assert y.shape == (2, 3, 24, 40) and torch.isfinite(y).all() and y.abs().max() <= 1
    assert not torch.allclose(y[0], y[1])  # the output depends on the input


def test_resnet_generator_takes_extra_input_planes_and_says_what_it_needs():
    model = ResnetGenerator(ResnetConfig(in_channels=3 + 3, base_channels=4, num_blocks=1))  # StarGAN's use
    assert model(torch.zeros(1, 6, 16, 16)).shape == (1, 3, 16, 16)
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 6, 18, 16))
    with pytest.raises(ValueError, match="3 channels, this generator takes 6"):
        model(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ValueError, match="upsampling"):
        ResnetConfig(upsampling="pixelshuffle")


def test_resnet_generator_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    model = ResnetGenerator(ResnetConfig(base_channels=4, num_blocks=2, upsampling="resize")).eval()
    save_model(model, tmp_path / "g", {"resolution": 32})
    loaded = load_model(tmp_path / "g")
    x = torch.rand(1, 3, 20, 28) * 2 - 1
    assert isinstance(loaded, ResnetGenerator) and loaded.config == model.config
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))


def test_discriminators_judge_patches_of_plain_photos():
    args = cyclegan.get_args_parser().parse_args(["--a", "x", "--b", "y", "--d-channels", "4"])
    d = cyclegan.CycleDiscriminators(cyclegan.discriminator_config(args))
    scores_a, scores_b = d(torch.zeros(2, 3, 64, 64), torch.zeros(1, 3, 64, 64))
    assert scores_a.shape == (2, 1, 6, 6) and scores_b.shape == (1, 1, 6, 6)  # 70×70 patches, unconditional


def test_image_pool_keeps_the_last_images_and_mixes_old_ones_in():
    pool = cyclegan.ImagePool(size=3)
    first = [torch.full((1, 3, 2, 2), float(i)) for i in range(3)]
    for image in first:  # filling: each image comes straight back
        assert torch.equal(pool.query(image), image)
    out = torch.cat([pool.query(torch.full((1, 3, 2, 2), 10.0 + i)) for i in range(40)])
    values = out[:, 0, 0, 0].tolist()
    assert len(pool.images) == 3 and any(v < 10 for v in values) and any(v >= 10 for v in values)
    assert cyclegan.ImagePool(size=0).query(first[0]) is first[0]


# ---------------------------------------------------------------- data


def _fixture_folders(root, count: int = 5):
    """A: warm stripes, B: cool dots, sizes and aspects varying; plus a held-out list naming one of each."""
    rng = np.random.default_rng(0)
    for domain in ("a", "b"):
        (root / domain).mkdir(parents=True)
        for i in range(count):
            image = Image.new("RGB", (30 + 4 * i, 24 + 3 * (i % 2)), (200, 120, 60) if domain == "a" else (40, 80, 170))
            draw = ImageDraw.Draw(image)
            for j in range(6):
                if domain == "a":
                    draw.line((0, 4 * j, image.width, 4 * j), fill=tuple(int(v) for v in rng.integers(150, 255, 3)))
                else:
                    x, y = (int(v) for v in rng.integers(0, 24, 2))
                    draw.ellipse((x, y, x + 4, y + 4), fill=(230, 230, 250))
            image.save(root / domain / f"{domain}_{i}.png")
    (root / "heldout.txt").write_text("a_4.png\nb_4\n")  # with and without the suffix, as the shared lists are
    return root / "a", root / "b", root / "heldout.txt"


def test_list_photos_filters_by_pattern_names_and_held_out_list(tmp_path):
    a, b, heldout = _fixture_folders(tmp_path)
    (a / "notes.txt").write_text("not a photo")
    excluded = {"a_4.png", "b_4"}
    assert [p.name for p in cyclegan.list_photos([a], "*", None, excluded)] == [f"a_{i}.png" for i in range(4)]
    assert [p.name for p in cyclegan.list_photos([a, b], "b_*", None, excluded)] == [f"b_{i}.png" for i in range(4)]
    assert [p.name for p in cyclegan.list_photos([b], "*", {"b_1", "b_3.png"})] == ["b_1.png", "b_3.png"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cyclegan.list_photos([tmp_path / "missing"])


def test_unpaired_dataset_gives_crops_of_both_domains_reproducibly(tmp_path):
    a, b, _ = _fixture_folders(tmp_path)
    photos_a = cyclegan.load_photos(cyclegan.list_photos([a]), 18)
    photos_b = cyclegan.load_photos(cyclegan.list_photos([b]), 18)
    assert all(min(p.shape[:2]) <= 18 for p in photos_a)
    dataset = cyclegan.UnpairedDataset(photos_a, photos_b, size=16, jitter=1.12, seed=3)
    crop_a, crop_b = dataset[2]
    assert crop_a.shape == crop_b.shape == (3, 16, 16)
    assert crop_a[0].mean() > crop_a[2].mean() and crop_b[2].mean() > crop_b[0].mean()  # warm A, cool B
    again_a, again_b = dataset[2]
    assert torch.equal(crop_a, again_a) and torch.equal(crop_b, again_b)
    before = [dataset[i] for i in range(4)]
    dataset.epoch = 1
    after = [dataset[i] for i in range(4)]
    assert any(not torch.equal(x[1], y[1]) for x, y in zip(before, after))  # a new epoch, new crops and partners


# ---------------------------------------------------------------- training: smoke run, resume, export


def _train(tmp_path, a, b, heldout, extra: str):
    argv = ["--a", str(a), "--b", str(b), "--exclude", str(heldout), "--domains", "warm,cool",
            "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "weights"), "--name", "smoke",
            "--log-every", "1", "--sample-every", "1000", *TINY.split(), *extra.split()]
    return cyclegan.main(cyclegan.get_args_parser().parse_args(argv))


@pytest.mark.slow
def test_smoke_run_learns_resumes_and_exports_both_directions(tmp_path):
    a, b, heldout = _fixture_folders(tmp_path)
    _train(tmp_path, a, b, heldout, "--steps 30 --lr 2e-3")
    log_path = tmp_path / "runs" / "smoke" / "log.jsonl"
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 31))
    for key in ("loss_d_a", "loss_d_b", "loss_gan_ab", "loss_gan_ba", "loss_cycle", "loss_identity"):
        values = [r[key] for r in records]
        assert all(np.isfinite(values)), key
        assert len(set(values)) > 5, f"{key} does not move: {values}"
    # the cycle and identity losses (plain L1 reconstructions) fall as the generators learn
    assert np.mean([r["loss_cycle"] for r in records[-5:]]) < np.mean([r["loss_cycle"] for r in records[:5]])
    assert np.mean([r["loss_identity"] for r in records[-5:]]) < np.mean([r["loss_identity"] for r in records[:5]])
    state = torch.load(tmp_path / "runs" / "smoke" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 30 and state["pool_a"].shape == (3, 3, 16, 16)

    ab, ba = _train(tmp_path, a, b, heldout, "--steps 36 --lr 2e-3 --resume")
    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 37))  # continued at 31, no step logged twice
    state = torch.load(tmp_path / "runs" / "smoke" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert state["step"] == 36

    assert (ab.name, ba.name) == ("warm2cool", "cool2warm")
    generators = cyclegan.CycleGenerators(ResnetConfig(base_channels=4, num_blocks=1))
    generators.load_state_dict(state["generators"])
    generators.eval()
    x = image_to_tensor(Image.open(a / "a_0.png").resize((16, 16)))
    for folder, network, source, target in ((ab, generators.a2b, "warm", "cool"), (ba, generators.b2a, "cool", "warm")):
        model = load_model(folder)
        config = json.loads((folder / "config.json").read_text())
        assert config["kind"] == "cyclegan" and config["domains"] == {"source": source, "target": target}
        assert config["data"]["a"]["photos"] == 4 and config["data"]["b"]["photos"] == 4  # held-out ones left out
        assert config["training"]["steps"] == 36 and config["resolution"] == 16
        with torch.no_grad():
            assert torch.allclose(model(x), network(x), atol=1e-6)


@pytest.mark.slow
def test_resume_refuses_another_architecture(tmp_path):
    a, b, heldout = _fixture_folders(tmp_path)
    _train(tmp_path, a, b, heldout, "--steps 2")
    with pytest.raises(SystemExit, match="--num-blocks 1 in the checkpoint, 2 now"):
        _train(tmp_path, a, b, heldout, "--steps 4 --resume --num-blocks 2")


@pytest.mark.slow
def test_pretrained_feature_recipe_fine_tunes_an_exported_pair(tmp_path, monkeypatch):
    """Issue 26: --init starts both generators from an exported pair, --no-patchgan --d-features lite0 judges
    each domain with projected heads over the frozen features (random weights here), --lambda-perceptual
    scores the cycle on them; every term logged and finite, recorded in the config; an old run (PatchGANs
    only) still resumes as it was, and resuming it with heads is refused."""
    from test_srgan import random_lite0
    from train.harness import pretrained

    monkeypatch.setattr(pretrained, "load_lite0", lambda device="cpu", with_head=False: random_lite0(with_head))
    a, b, heldout = _fixture_folders(tmp_path)
    old_ab, old_ba = _train(tmp_path, a, b, heldout, "--steps 2 --size 32")  # the plain recipe: two PatchGANs
    assert "pretrained_features" not in load_model(old_ab).metadata["training"]
    start = {k: v.clone() for k, v in load_model(old_ab).float().state_dict().items()}

    argv = ["--a", str(a), "--b", str(b), "--exclude", str(heldout), "--domains", "warm,cool",
            "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "tuned"), "--name", "tuned",
            "--log-every", "1", "--sample-every", "1000", *TINY.split(), "--size", "32", "--steps", "3",
            "--init", str(old_ab), str(old_ba), "--base-channels", "8", "--num-blocks", "3",  # taken from --init
            "--no-patchgan", "--d-features", "lite0", "--lambda-perceptual", "0.1", "--lr", "2e-3"]
    ab, ba = cyclegan.main(cyclegan.get_args_parser().parse_args(argv))
    records = [json.loads(line) for line in (tmp_path / "runs/tuned/log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    for key in ("loss_dp_a", "loss_dp_b", "loss_g_projected_a", "loss_g_projected_b", "loss_perceptual_cycle",
                "loss_cycle"):
        assert all(np.isfinite(r[key]) and r[key] != 0 for r in records), key
    assert all("loss_d_a" not in r for r in records)  # no PatchGAN
    tuned = load_model(ab)
    training = tuned.metadata["training"]
    assert training["discriminator"] is None and training["init"] == [str(old_ab), str(old_ba)]
    assert training["pretrained_features"]["projected_discriminator"]
    assert training["pretrained_features"]["lambda_perceptual"] == 0.1
    assert tuned.config == load_model(old_ab).config  # the architecture of --init (base 4, 1 block), not the options
    moved = sum((tuned.float().state_dict()[k] - start[k]).abs().sum().item() for k in start)
    assert 0 < moved < sum(v.abs().sum().item() for v in start.values())  # a fine-tune: it moved from the start
    state = torch.load(tmp_path / "runs/tuned/checkpoint.pt", weights_only=True)
    assert {"heads_a", "heads_b", "opt_pa", "opt_pb"} <= set(state) and "discriminators" not in state

    _train(tmp_path, a, b, heldout, "--steps 3 --size 32 --resume")  # the old run continues as before
    with pytest.raises(SystemExit, match="d_features|d-features"):
        _train(tmp_path, a, b, heldout, "--steps 4 --size 32 --resume --d-features lite0")
    with pytest.raises(SystemExit, match="--d-features lite0"):
        _train(tmp_path, a, b, heldout, "--steps 1 --size 32 --no-patchgan")
    with pytest.raises(SystemExit, match="--init: Could not load"):
        _train(tmp_path, a, b, heldout, f"--steps 1 --size 32 --init {old_ab} {tmp_path / 'nothing'}")


def test_trainer_says_what_is_missing(tmp_path):
    a, b, heldout = _fixture_folders(tmp_path)
    with pytest.raises(SystemExit, match="Say how long"):
        _train(tmp_path, a, b, heldout, "")
    with pytest.raises(SystemExit, match="No photos"):
        _train(tmp_path, a, b, heldout, "--steps 1 --b-glob nothing_*")
    with pytest.raises(SystemExit, match="two different names"):
        cyclegan.parse_domains("cat")


# ---------------------------------------------------------------- translators


@pytest.fixture
def weights(tmp_path, monkeypatch):
    folder = tmp_path / "weights"
    save_tiny_cyclegan(folder)
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(folder))
    registry.refresh()
    yield folder
    registry.refresh()


def test_the_two_directions_of_a_run_make_one_translator(weights):
    found = translate.translators()
    assert list(found) == ["cat-bengal"]
    translator = found["cat-bengal"]
    assert translator.targets == ("bengal", "cat")
    assert translator.models == {"bengal": "cat2bengal", "cat": "bengal2cat"}
    assert "Bengal" in translator.label and translator.target_label("bengal").startswith("Bengal")


def test_translate_any_photo_at_the_models_scale(weights):
    translator = translate.get_translator("cat-bengal")
    photo = Image.new("RGBA", (90, 60), (0, 0, 0, 0))  # transparent: flattened onto white
    ImageDraw.Draw(photo).ellipse((20, 10, 60, 50), fill=(150, 100, 60, 255))
    spotted = translator.translate(photo, "bengal")
    back = translator.translate(photo, "cat")
    assert spotted.mode == back.mode == "RGB"
    assert spotted.size == back.size == (48, 32)  # short side = the model's resolution (32), aspect kept
    assert not np.array_equal(np.asarray(spotted), np.asarray(back))  # two different generators
    # the same as running the exported generator by hand on the resized photo
    model = load_model(weights / "cat2bengal")
    assert np.array_equal(np.asarray(spotted), np.asarray(translate.translate_image(model, photo)))
    tiny = translator.translate(Image.new("RGB", (5, 3), "gray"), "bengal")  # replicate-padded up to 8×8
    assert tiny.size == (53, 32)


def test_translator_errors_are_messages(weights):
    translator = translate.get_translator("cat-bengal")
    with pytest.raises(translate.TranslateError, match="translates into bengal, cat"):
        translator.translate(Image.new("RGB", (40, 40)), "zebra")
    with pytest.raises(translate.TranslateError, match="too thin"):
        translator.translate(Image.new("RGB", (1000, 20)), "bengal")
    with pytest.raises(translate.TranslateError, match="Unknown translator 'horse-zebra'; available: cat-bengal"):
        translate.get_translator("horse-zebra")
    with pytest.raises(translate.TranslateError, match="not a translator model"):
        translate.get_translator("cat2bengal")  # a direction's folder is part of the pair, not a translator key


def test_a_lone_direction_is_a_one_target_translator(weights):
    import shutil

    shutil.rmtree(weights / "bengal2cat")
    registry.refresh()
    found = translate.translators()
    assert list(found) == ["cat2bengal"] and found["cat2bengal"].targets == ("bengal",)


def test_a_stargan_model_is_a_translator_whose_domain_the_user_switches(weights):
    stargan = pytest.importorskip("pix2pix_demo.models.stargan")
    torch.manual_seed(0)
    model = stargan.StarGANGenerator(stargan.StarGANConfig(domains=("cat", "abyssinian", "bengal"),
                                                           generator={"base_channels": 4, "num_blocks": 1}))
    save_model(model, weights / "cats-stargan", {"resolution": 32, "label": "Cats (StarGAN)"})
    registry.refresh()
    found = translate.translators()
    assert sorted(found) == ["cat-bengal", "cats-stargan"]  # the CycleGAN pair stays
    translator = found["cats-stargan"]
    assert isinstance(translator, translate.MultiDomainTranslator) and translator.label == "Cats (StarGAN)"
    assert translator.targets == ("cat", "abyssinian", "bengal")
    photo = Image.new("RGB", (90, 60), (180, 140, 100))
    outputs = {target: np.asarray(translator.translate(photo, target)) for target in translator.targets}
    assert all(out.shape == (32, 48, 3) for out in outputs.values())
    assert not np.array_equal(outputs["cat"], outputs["bengal"])  # the target code changes the picture
    with pytest.raises(translate.TranslateError, match="translates into cat, abyssinian, bengal"):
        translator.translate(photo, "sphynx")


# ---------------------------------------------------------------- the app endpoint


@pytest.fixture(scope="module")
def client(running_app):
    from gradio_client import Client

    return Client(running_app, verbose=False)


@pytest.mark.slow
def test_translate_photo_endpoint(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    path = tmp_path / "cat.png"
    photo = Image.new("RGB", (120, 80), (200, 190, 170))
    ImageDraw.Draw(photo).ellipse((30, 10, 90, 70), fill=(150, 100, 60))
    photo.save(path)
    spotted = Image.open(client.predict(handle_file(str(path)), "cat-bengal", "bengal", api_name="/translate_photo"))
    back = Image.open(client.predict(handle_file(str(path)), "cat-bengal", "cat", api_name="/translate_photo"))
    assert spotted.size == back.size == (48, 32)  # no segmenter in the tests' weights: the whole picture
    assert not np.array_equal(np.asarray(spotted.convert("RGB")), np.asarray(back.convert("RGB")))
    whole = Image.open(client.predict(handle_file(str(path)), "cat-bengal", "bengal", False, api_name="/translate_photo"))
    assert np.array_equal(np.asarray(whole.convert("RGB")), np.asarray(spotted.convert("RGB")))  # the optional 4th
    with pytest.raises(AppError, match="only_cat must be true or false"):
        client.predict(handle_file(str(path)), "cat-bengal", "bengal", "yes", api_name="/translate_photo")
    with pytest.raises(AppError, match="translates into bengal, cat"):
        client.predict(handle_file(str(path)), "cat-bengal", "zebra", api_name="/translate_photo")
    with pytest.raises(AppError, match="not a translator model"):
        client.predict(handle_file(str(path)), "edges2cats", "bengal", api_name="/translate_photo")


@pytest.mark.slow
def test_translate_tab_in_a_browser(running_app, chromium_browser, tmp_path):
    """Upload a photo in the Translate tab: the translation appears; another target gives another picture."""
    import io

    from conftest import ARTIFACTS, BROWSER_WAIT_MS, new_page

    path = tmp_path / "cat.png"
    photo = Image.new("RGB", (240, 160), (205, 195, 175))
    ImageDraw.Draw(photo).ellipse((60, 20, 180, 140), fill=(150, 100, 60))
    photo.save(path)

    def shown(page) -> tuple[str, np.ndarray]:
        src = page.locator("#translate-output img").first.get_attribute("src")
        return src, np.asarray(Image.open(io.BytesIO(page.request.get(src).body())).convert("RGB"))

    def wait_for_new(page, previous: str):
        page.wait_for_function(
            """(previous) => { const img = document.querySelector('#translate-output img');
                   return img && img.src && img.src !== previous && img.complete && img.naturalWidth > 0; }""",
            arg=previous)

    page = new_page(chromium_browser, running_app)
    try:
        page.get_by_role("tab", name="Translate").click()
        assert page.locator("#translate-target input[value='bengal']").is_checked()
        assert page.locator("#translate-only-cat input").is_checked()  # "Change only the cat" is the default
        page.locator("#translate-input input[type=file]").set_input_files(str(path))
        wait_for_new(page, "")
        src, spotted = shown(page)
        assert spotted.shape == (32, 48, 3)  # the tiny model's scale (short side 32), the photo's aspect
        page.locator("#translate-target label").filter(has_text="Ordinary cat").click()
        wait_for_new(page, src)
        assert not np.array_equal(shown(page)[1], spotted)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "translate-tab.png"), timeout=BROWSER_WAIT_MS)
    finally:
        page.close()
