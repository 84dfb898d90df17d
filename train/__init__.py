"""Training, evaluation and data scripts (`python -m train.NAME`), told apart by where they live:

    train/<model>.py      trainers, one per model family: pix2pix, cyclegan, spade, stargan, srgan,
                          segmenter, detail, edge_detector, singan; each holds only its own data,
                          networks, losses and step
    train/harness/        what every trainer shares: the run (budget clock, checkpoints and resume,
                          log, samples, EMA, export) and the pretrained-feature recipe
    train/eval/           evaluators (held-out metrics, grids, tables)
    train/data/           dataset builders
    train/publish/        export, requantize, ONNX, push to the Hub

The scripts' earlier flat names still work, for commands in model cards and notes (`python -m
train.evaluate`, `train.push_to_hub`, ...): RENAMED maps each to its module, and importing or running
an old name gives that very module.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

RENAMED = {
    "evaluate": "eval.pix2pix", "cyclegan_eval": "eval.cyclegan", "edges_eval": "eval.edges",
    "facades_eval": "eval.facades", "stargan_eval": "eval.stargan", "coat_stargan_eval": "eval.coat_stargan",
    "photo_eval": "eval.photo", "singan_eval": "eval.singan",
    "make_edges_dataset": "data.edges", "pack_dataset": "data.pack", "coat_domains": "data.coat_domains",
    "coat_palette": "data.coat_palette",
    "export_checkpoint": "publish.export_checkpoint", "export_onnx": "publish.export_onnx",
    "push_to_hub": "publish.push_to_hub", "requantize": "publish.requantize",
}


class _RenamedModules(importlib.abc.MetaPathFinder, importlib.abc.InspectLoader):
    """`train.OLD` -> the module `train.NEW` itself (imported), or its code (`python -m train.OLD`)."""

    @staticmethod
    def _target(fullname: str) -> str | None:
        prefix, _, old = fullname.partition(".")
        return f"{__name__}.{RENAMED[old]}" if prefix == __name__ and old in RENAMED else None

    def find_spec(self, fullname, path=None, target=None):
        new = self._target(fullname)
        if new is None:
            return None
        return importlib.util.spec_from_loader(fullname, self, origin=importlib.util.find_spec(new).origin)

    def create_module(self, spec):
        return importlib.import_module(self._target(spec.name))

    def exec_module(self, module):
        module.__spec__ = importlib.util.spec_from_file_location(module.__name__, module.__file__)

    def get_code(self, fullname):
        spec = importlib.util.find_spec(self._target(fullname))
        return spec.loader.get_code(spec.name)

    def get_source(self, fullname):
        spec = importlib.util.find_spec(self._target(fullname))
        return spec.loader.get_source(spec.name)


if not any(isinstance(finder, _RenamedModules) for finder in sys.meta_path):
    sys.meta_path.append(_RenamedModules())
