"""README.md front matter: a valid Hugging Face Spaces config that matches the installed Gradio and the registry."""

import re
from pathlib import Path

import gradio
import pytest
import yaml

from pix2pix_demo import registry

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def read_front_matter() -> tuple[dict, str]:
    if not README.is_file():
        pytest.skip("README.md does not exist yet")
    text = README.read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.S)
    if not match:
        pytest.skip("README.md has no YAML front matter yet (see the Spaces section: it must be the first lines)")
    return yaml.safe_load(match.group(1)), match.group(2)


def test_front_matter_is_a_gradio_space_for_the_installed_gradio():
    meta, body = read_front_matter()
    assert meta["sdk"] == "gradio"
    assert str(meta["sdk_version"]) == gradio.__version__, "update sdk_version to the Gradio the app is tested with"
    assert re.fullmatch(r"3\.\d+(\.\d+)?", str(meta["python_version"])), "quote python_version, e.g. \"3.11\""
    assert (ROOT / meta["app_file"]).is_file()
    assert meta["title"] and meta["emoji"] and meta["license"]
    assert 0 < len(meta["short_description"]) <= 60  # the Hub rejects longer ones
    assert meta.get("pinned") in (True, False)
    assert re.search(r"^# ", body, re.M), "the README body should still start a readable document"


def test_models_and_preloads_match_the_registry():
    meta, _ = read_front_matter()
    hub_repos = {spec["repo_id"]: spec.get("revision") for spec in registry.HUB_MODELS.values()}
    assert set(meta.get("models") or []) <= set(hub_repos), "front matter names models the app never loads"
    for line in meta.get("preload_from_hub") or []:
        repo_id, *rest = str(line).split()
        assert repo_id in hub_repos
        if rest:  # "repo file1,file2 [revision]": the files the registry downloads, the revision it pins
            assert set(rest[0].split(",")) == set(registry.DOWNLOAD_FILES)
        pinned = hub_repos[repo_id]
        assert (rest[1] if len(rest) > 1 else None) == pinned, f"preload {repo_id} at the revision HUB_MODELS pins"
