"""The code's layout: no import circles among the library's and the training scripts' modules
(every import counted, also those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def module_imports() -> dict[str, set[str]]:
    """{module: the modules of ours it imports} for pix2pix_demo/ and train/."""
    files = {}
    for package in ("pix2pix_demo", "train"):
        for path in (REPO / package).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else [])) \
                    if node.level else node.module
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in targets if target in files and target != name}
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_the_circle_finder_finds_a_circle():
    assert import_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert import_circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles():
    graph = module_imports()
    assert "pix2pix_demo.model_types" in graph["pix2pix_demo.hub"]  # the graph sees our imports
    assert import_circles(graph) == []


def test_the_model_registry_imports_nothing_of_ours():
    """Models register in pix2pix_demo.model_types; the loader reads it; neither imports the other."""
    graph = module_imports()
    assert graph["pix2pix_demo.model_types"] == set()
    assert not any(target == "pix2pix_demo.hub" for model in graph if model.startswith("pix2pix_demo.models")
                   for target in graph[model])


def test_the_earlier_flat_script_names_are_the_moved_modules():
    import importlib

    import train

    for old, new in train.RENAMED.items():
        module = importlib.import_module(f"train.{old}")
        assert module is importlib.import_module(f"train.{new}"), old
        assert module.__name__ == f"train.{new}" and module.__spec__.name == f"train.{new}"
        assert hasattr(module, "main"), old
    from train import evaluate  # noqa: F401 - `from train import OLD` too
    with __import__("pytest").raises(ModuleNotFoundError):
        importlib.import_module("train.no_such_script")


def test_old_and_new_script_names_run_from_the_command_line():
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    for name in ("train.evaluate", "train.eval.pix2pix", "train.push_to_hub", "train.data.edges"):
        result = subprocess.run([sys.executable, "-m", name, "--help"], cwd=REPO, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0 and "usage:" in result.stdout, (name, result.stderr[-2000:])
