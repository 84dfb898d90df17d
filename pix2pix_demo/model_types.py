"""Which model class a config.json's `model_type` names. The registry stands on its own (no torch, no
other module of ours), so the model modules register themselves here and the loader
(`pix2pix_demo.hub`) looks them up here: neither imports the other back."""

from __future__ import annotations

import importlib

# model_type -> model class; each class has `config_class` (a dataclass) and `model_type`.
MODEL_TYPES: dict[str, type] = {}
# the model types of `pix2pix_demo.models` itself (imported on the first look-up) ...
BUILTIN_MODULE = "pix2pix_demo.models"
# ... and those whose module is imported only when such a model is loaded
LAZY_MODEL_MODULES = {"singan": "pix2pix_demo.models.singan", "edge-detector": "pix2pix_demo.models.edge_detector",
                      "cat-segmenter": "pix2pix_demo.models.segmenter", "spade-generator": "pix2pix_demo.models.spade",
                      "srgan": "pix2pix_demo.models.srgan", "resnet-generator": "pix2pix_demo.models.resnet",
                      "stargan": "pix2pix_demo.models.stargan", "detail": "pix2pix_demo.models.detail"}


def register_model_type(cls):
    """Class decorator (or plain call) that makes a model class loadable by `pix2pix_demo.hub.load_model`."""
    MODEL_TYPES[cls.model_type] = cls
    return cls


def model_class(model_type: str) -> type | None:
    """The class registered for `model_type` (its module imported first where needed); None if unknown."""
    importlib.import_module(BUILTIN_MODULE)
    if model_type not in MODEL_TYPES and model_type in LAZY_MODEL_MODULES:
        importlib.import_module(LAZY_MODEL_MODULES[model_type])
    return MODEL_TYPES.get(model_type)
