"""Model registry: local weights/ first, then Hub repos from a fake, offline HF cache (no network)."""

import shutil
import threading
import time

import pytest
import torch
from huggingface_hub import constants

from pix2pix_demo import hub, registry
from pix2pix_demo.models import UNetConfig, UNetGenerator

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def tiny_model(seed=0):
    torch.manual_seed(seed)
    return UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8))


def publish_to_cache(folder, repo_id, cache, commit=COMMIT, ref="main"):
    """Lay a model folder out as huggingface_hub's cache does: refs/REF -> commit, snapshots/COMMIT/*."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / ref).write_text(commit)
    shutil.copytree(folder, repo / "snapshots" / commit, dirs_exist_ok=True)


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty weights dir, an empty HF cache and offline mode. huggingface_hub reads HF_HUB_CACHE and
    HF_HUB_OFFLINE at import time, so its constants are patched as well as the environment."""
    weights, cache = tmp_path / "weights", tmp_path / "hf" / "hub"
    weights.mkdir()
    cache.mkdir(parents=True)
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("PIX2PIX_HUB_MODELS", raising=False)
    for name in ("_loaded", "_scans", "_added", "_fetched", "_key_locks"):
        monkeypatch.setattr(registry, name, {})
    return weights, cache


def test_local_folder_listed_with_kind_from_config_and_loaded(env):
    weights, _ = env
    hub.save_model(tiny_model(), weights / "mine", {"label": "My model", "resolution": 32})
    (weights / "not-a-model").mkdir()
    (weights / "broken").mkdir()
    (weights / "broken" / "config.json").write_text("{")
    entries = registry.list_models()
    assert entries["mine"] == registry.ModelEntry("mine", "My model", "pix2pix", str(weights / "mine"), local=True)
    assert "not-a-model" not in entries and "broken" not in entries
    assert registry.list_models("singan").keys().isdisjoint({"mine"})
    model = registry.load("mine")
    assert model.metadata["resolution"] == 32
    assert registry.load("mine") is model  # cached


def test_folder_scan_is_cached_until_refresh(env):
    weights, _ = env
    assert "late" not in registry.list_models()
    hub.save_model(tiny_model(), weights / "late")
    assert "late" not in registry.list_models()
    registry.refresh()
    assert registry.list_models()["late"].local


def test_hub_entry_loads_from_offline_cache_with_progress(env, tmp_path, monkeypatch):
    _, cache = env
    model = tiny_model(seed=1)
    hub.save_model(model, tmp_path / "pub", {"resolution": 32})
    publish_to_cache(tmp_path / "pub", "someone/cats", cache)
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "cats=someone/cats")
    entry = registry.list_models()["cats"]
    assert (entry.source, entry.local, entry.revision) == ("someone/cats", False, None)
    calls = []
    loaded = registry.load("cats", progress=lambda fraction, desc: calls.append((fraction, desc)))
    assert loaded.source == "someone/cats"
    assert [fraction for fraction, _ in calls] == [0.0, 0.5, 1.0]
    assert "someone/cats" in calls[0][1]
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), model.eval()(x))


def test_edge_method_comes_from_config_local_at_once_hub_once_fetched(env, tmp_path, monkeypatch):
    weights, cache = env
    hub.save_model(tiny_model(), weights / "local-canny", {"data": {"edge_method": "canny"}})
    assert registry.list_models()["local-canny"].edge_method == "canny"
    hub.save_model(tiny_model(), tmp_path / "pub", {"data": {"edge_method": "canny"}})
    publish_to_cache(tmp_path / "pub", "someone/canny-cats", cache)
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "hubcats=someone/canny-cats")
    assert registry.list_models()["hubcats"].edge_method is None  # config.json not fetched yet
    registry.load("hubcats")
    assert registry.list_models()["hubcats"].edge_method == "canny"


def test_local_folder_shadows_hub_entry(env, monkeypatch):
    weights, _ = env
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "cats=someone/cats")
    hub.save_model(tiny_model(), weights / "cats")
    assert registry.list_models()["cats"].local


def test_pinned_revision_loads_that_snapshot(env, tmp_path, monkeypatch):
    _, cache = env
    hub.save_model(tiny_model(), tmp_path / "pub", {"resolution": 32})
    publish_to_cache(tmp_path / "pub", "someone/cats", cache, ref="v1")
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "cats=someone/cats@v1")
    assert registry.list_models()["cats"].revision == "v1"
    assert registry.load("cats").metadata["resolution"] == 32


def test_missing_repo_offline_fails_fast_with_clear_message(env, monkeypatch):
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "ghost=nobody/does-not-exist")
    start = time.perf_counter()
    with pytest.raises(registry.ModelUnavailable) as info:
        registry.load("ghost")
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert "nobody/does-not-exist" in message and "HF_HUB_OFFLINE" in message and "weights" in message


def test_offline_flag_set_after_import_is_honoured(env, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # only the environment variable says offline
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "ghost=nobody/does-not-exist")
    with pytest.raises(registry.ModelUnavailable, match="HF_HUB_OFFLINE"):
        registry.load("ghost")


def test_unreachable_hub_uses_the_cache_and_fails_fast(env, tmp_path, monkeypatch):
    _, cache = env
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    def no_network(*args, **kwargs):
        raise OSError("no route to host")

    monkeypatch.setattr(registry.socket, "create_connection", no_network)
    hub.save_model(tiny_model(), tmp_path / "pub", {"resolution": 32})
    publish_to_cache(tmp_path / "pub", "someone/cats", cache)
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "cats=someone/cats,ghost=nobody/ghost")
    assert registry.load("cats").metadata["resolution"] == 32  # cached copy, no network needed
    start = time.perf_counter()
    with pytest.raises(registry.ModelUnavailable, match="could not be reached.*check the network"):
        registry.load("ghost")
    assert time.perf_counter() - start < 1.0  # not huggingface_hub's ~30 s of retries


def test_unknown_key_lists_available_models(env):
    weights, _ = env
    hub.save_model(tiny_model(), weights / "mine")
    with pytest.raises(registry.ModelUnavailable, match="Unknown model 'nope'.*mine"):
        registry.load("nope")


def test_default_hub_models_listed_and_bad_env_entries_ignored(env, monkeypatch):
    assert {key: entry.source for key, entry in registry.list_models().items()} == {
        key: spec["repo_id"] for key, spec in registry.HUB_MODELS.items()}
    monkeypatch.setenv("PIX2PIX_HUB_MODELS", "good=a/b@rev, bad, worse=not a repo")
    assert list(registry.list_models()) == ["good"]


def test_add_local_model_replaces_cached_model(env, tmp_path):
    hub.save_model(tiny_model(seed=1), tmp_path / "run1", {"resolution": 32})
    registry.add_local_model("mine-live", tmp_path / "run1")
    first = registry.load("mine-live")
    hub.save_model(tiny_model(seed=2), tmp_path / "run2", {"resolution": 64})
    registry.add_local_model("mine-live", tmp_path / "run2")
    assert registry.list_models()["mine-live"].source == str(tmp_path / "run2")
    assert registry.load("mine-live") is not first
    with pytest.raises(registry.ModelUnavailable, match="config.json"):
        registry.add_local_model("nothing", tmp_path / "empty")


def test_concurrent_loads_build_one_model(env):
    weights, _ = env
    hub.save_model(tiny_model(), weights / "mine")
    results = []
    threads = [threading.Thread(target=lambda: results.append(registry.load("mine"))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(model is results[0] for model in results)


def test_a_model_of_the_same_key_in_another_weights_folder_is_loaded_not_taken_from_the_cache(env, tmp_path,
                                                                                               monkeypatch):
    weights, _ = env
    hub.save_model(tiny_model(), weights / "mine", {"label": "first", "resolution": 32})
    first = registry.load("mine")
    assert registry.load("mine") is first  # cached
    other = tmp_path / "other-weights"
    hub.save_model(tiny_model(), other / "mine", {"label": "second", "resolution": 64})
    monkeypatch.setenv("PIX2PIX_WEIGHTS_DIR", str(other))
    registry.refresh()
    second = registry.load("mine")
    assert second is not first and second.metadata["resolution"] == 64


def test_unknown_key_message_names_only_models_a_person_picks_and_is_bounded(env):
    weights, _ = env
    hub.save_model(tiny_model(), weights / "mine")
    from pix2pix_demo.models.segmenter import CatSegmenter, SegmenterConfig

    hub.save_model(CatSegmenter(SegmenterConfig(channels=[2, 2])), weights / "cat-segmenter")
    registry.refresh()
    with pytest.raises(registry.ModelUnavailable) as error:
        registry.load("x" * 5000)
    message = str(error.value)
    assert "mine" in message and "cat-segmenter" not in message
    assert len(message) < 600 and "…" in message
