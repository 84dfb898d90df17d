"""push_to_hub --dry-run and model cards; the staged folder loads by repo id from an offline HF cache."""

import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from huggingface_hub import constants
from PIL import Image

from pix2pix_demo import hub, load_model, registry
from pix2pix_demo.cards import extra_markdown_of, model_card, write_model_card
from pix2pix_demo.models import UNetConfig, UNetGenerator
from train.publish import push_to_hub

COMMIT = "89abcdef0123456789abcdef0123456789abcdef"
METADATA = {
    "resolution": 32,
    "data": {"path": "../shared/data/cats/train", "pairs": 981, "edge_method": "xdog"},
    "training": {"command": "python -m train.pix2pix --data ../shared/data/cats/train --name cats",
                 "wall_time_s": 5400.0, "hardware": "2-core CPU", "steps": 1234, "discriminator": {"n_layers": 3}},
    "metrics": {"heldout": {"fid": 61.25, "l1": 0.183, "pairs": 200}, "eval_set": "cats/heldout.txt"},
}


@pytest.fixture
def model_folder(tmp_path):
    torch.manual_seed(0)
    model = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8))
    return hub.save_model(model, tmp_path / "weights" / "cats", METADATA)


def front_matter(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def publish_to_cache(folder, repo_id, cache, commit=COMMIT):
    """Lay a folder out as huggingface_hub's cache does: refs/main -> commit, snapshots/COMMIT/*."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit)


def test_dry_run_writes_exactly_the_upload_with_a_parsable_card(model_folder, tmp_path):
    out = push_to_hub.main([str(model_folder), "--repo-id", "me/cats", "--dry-run", str(tmp_path / "up")])
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    for name in ("config.json", "model.safetensors"):
        assert (out / name).read_bytes() == (model_folder / name).read_bytes()
    card = (out / "README.md").read_text()
    meta = front_matter(card)
    assert meta["library_name"] == "pix2pix_demo" and meta["pipeline_tag"] == "image-to-image"
    assert {"pix2pix", "gan", "image-to-image"} <= set(meta["tags"]) and meta["license"]
    assert meta["metrics"] == ["fid", "l1"]  # "pairs" is context, not a metric
    results = meta["model-index"][0]["results"][0]
    assert results["dataset"]["name"] == "cats (heldout)"
    assert {m["type"]: m["value"] for m in results["metrics"]} == {"fid": 61.25, "l1": 0.183}
    assert 'load_model("me/cats")' in card and 'Pix2PixPipeline.from_pretrained("me/cats")' in card
    assert METADATA["training"]["command"] in card and "1.50 h" in card and "2-core CPU" in card
    assert "| heldout.fid | 61.25 |" in card and "research" in card  # metrics table and data licence note


def test_sample_image_is_uploaded_and_linked(model_folder, tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "grid.png")
    out = push_to_hub.main([str(model_folder), "--repo-id", "me/cats", "--sample-image", str(tmp_path / "grid.png"),
                            "--dry-run", str(tmp_path / "up")])
    assert (out / "sample.png").is_file()
    assert "![sample output of cats](sample.png)" in (out / "README.md").read_text()


def test_sample_and_extra_text_linked_from_the_current_card_are_carried_over(model_folder, tmp_path):
    Image.new("RGB", (8, 8), "blue").save(tmp_path / "docs.png")
    write_model_card(model_folder, sample_image=str(tmp_path / "docs.png"), extra_markdown="## Notes\nTrained twice.")
    assert "](../../docs.png)" in (model_folder / "README.md").read_text()  # relative: works on GitHub
    out = push_to_hub.main([str(model_folder), "--repo-id", "me/cats", "--dry-run", str(tmp_path / "up")])
    card = (out / "README.md").read_text()
    assert (out / "sample.png").read_bytes() == (tmp_path / "docs.png").read_bytes()
    assert extra_markdown_of(card) == "## Notes\nTrained twice."


def test_dry_run_folder_loads_by_repo_id_offline(model_folder, tmp_path, monkeypatch):
    out = push_to_hub.main([str(model_folder), "--repo-id", "me/cats", "--dry-run", str(tmp_path / "up")])
    cache = tmp_path / "hf" / "hub"
    publish_to_cache(out, "me/cats", cache)
    empty_weights = tmp_path / "no-weights"
    empty_weights.mkdir()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read at import time by huggingface_hub
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(empty_weights))
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "cats=me/cats")
    for name in ("_loaded", "_scans", "_added", "_fetched", "_key_locks"):
        monkeypatch.setattr(registry, name, {})
    original = hub.load_local(model_folder)
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    by_repo = load_model("me/cats")
    by_registry = registry.load("cats")
    assert not registry.list_models()["cats"].local and by_registry.source == "me/cats"
    with torch.no_grad():
        assert torch.equal(by_repo(x), original(x)) and torch.equal(by_registry(x), original(x))


@pytest.mark.parametrize("problem", ["missing", "no-weights", "bad-repo-id"])
def test_clear_errors(problem, model_folder, tmp_path):
    folder, repo_id = model_folder, "me/cats"
    if problem == "missing":
        folder = tmp_path / "nothing-here"
    elif problem == "no-weights":
        (model_folder / "model.safetensors").unlink()
    else:
        repo_id = "not a repo"
    with pytest.raises(SystemExit) as info:
        push_to_hub.main([str(folder), "--repo-id", repo_id, "--dry-run", str(tmp_path / "up")])
    expected = {"missing": "is not a folder", "no-weights": "model.safetensors is missing",
                "bad-repo-id": "is not 'owner/name'"}[problem]
    assert expected in str(info.value)
    assert not (tmp_path / "up").exists()


def test_upload_without_token_says_how_to_log_in(model_folder, monkeypatch):
    import huggingface_hub

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: pytest.fail("must not reach the network"))
    with pytest.raises(SystemExit, match="hf auth login"):
        push_to_hub.main([str(model_folder), "--repo-id", "me/cats"])


def test_upload_offline_refuses(model_folder, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(SystemExit, match="HF_HUB_OFFLINE"):
        push_to_hub.main([str(model_folder), "--repo-id", "me/cats"])


def test_card_tolerates_missing_keys_and_knows_singan(tmp_path):
    folder = tmp_path / "singan-balloons"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "singan", "architecture": {"num_scales": 8}}))
    card = model_card(folder, repo_id="me/singan-balloons")
    meta = front_matter(card)
    assert "singan" in meta["tags"] and "metrics" not in meta and "model-index" not in meta
    assert "from pix2pix_demo.singan import sample" in card and 'load_model("me/singan-balloons")' in card
    assert "No metrics recorded" in card and "Not recorded in config.json" in card
    with pytest.raises(FileNotFoundError):
        model_card(folder, sample_image="missing.png")


WEIGHTS = Path(__file__).resolve().parent.parent / "weights"
SHIPPED = sorted(config.parent.name for config in WEIGHTS.glob("*/config.json"))


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_model_publishes(name, tmp_path):
    """--dry-run works for every folder in weights/ (the edge detector's config describes its data in a
    sentence, which used to crash the card), and the card says how to use that kind of model."""
    folder = WEIGHTS / name
    out = push_to_hub.main([str(folder), "--repo-id", f"me/{name}", "--dry-run", str(tmp_path / "up")])
    for file in ("config.json", "model.safetensors"):
        assert (out / file).read_bytes() == (folder / file).read_bytes()
    card = (out / "README.md").read_text()
    meta = front_matter(card)
    assert meta["library_name"] == "pix2pix_demo" and meta["license"]
    config = json.loads((folder / "config.json").read_text())
    # a facades U-Net and a photo-task U-Net (colourize / fill-in) are pix2pix U-Nets used their own way
    model_type = config.get("kind") if config.get("kind") in ("facades", "photo-task") else config["model_type"]
    usage = {"edge-detector": 'method="hed-learned"', "singan": "from pix2pix_demo.singan import sample",
             "cat-segmenter": "from pix2pix_demo.cutout import cut_out, segment, soft_alpha",
             "srgan": "from pix2pix_demo.superres import enhance",
             "stargan": "from pix2pix_demo.models.stargan import translate_image", "facades": "FacadesPipeline.from_pretrained",
             "spade-generator": "FacadesPipeline.from_pretrained",
             "resnet-generator": "from pix2pix_demo.translate import translate_image",
             "photo-task": "from pix2pix_demo.photo_tasks import"}
    assert usage.get(model_type, "Pix2PixPipeline.from_pretrained") in card
    assert f'"me/{name}"' in card


@pytest.mark.parametrize("name, says", [("singan-chelsea", True), ("singan-balloons", False)])
def test_a_model_that_holds_its_training_photo_says_so_before_publishing(name, says, tmp_path, capsys):
    push_to_hub.main([str(WEIGHTS / name), "--repo-id", f"me/{name}", "--dry-run", str(tmp_path / "up")])
    printed = capsys.readouterr().out
    assert ("holds its training photo (250x166 px" in printed) is says, printed
