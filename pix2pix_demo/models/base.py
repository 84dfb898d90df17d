"""The base of every model class that a model folder names: built from its config dataclass and
registered under its `model_type` (`pix2pix_demo.model_types`) by naming both in the class line:

    class SRGANGenerator(ConfiguredModel, model_type="srgan", config_class=SRGANConfig): ...
"""

from __future__ import annotations

from torch import nn

from ..model_types import register_model_type


class ConfiguredModel(nn.Module):
    model_type: str
    config_class: type

    def __init_subclass__(cls, model_type: str | None = None, config_class: type | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if model_type is not None:
            cls.model_type, cls.config_class = model_type, config_class
            register_model_type(cls)

    def __init__(self, config=None):
        """`self.config`: `config`, or the config class's defaults."""
        super().__init__()
        self.config = config if config is not None else self.config_class()
