"""Save and load models: a folder with `config.json` + `model.safetensors` (+ `README.md`).

    save_model(model, "weights/edges2cats", metadata={...})
    model = load_model("weights/edges2cats")          # a local folder ...
    model = load_model("someone/edges2cats")          # ... else a Hugging Face Hub repo id

`config.json` holds `model_type` (which class to build), `architecture` (the dataclass
config that rebuilds it: the constructor arguments *are* the config) and free-form
metadata (training command, data, wall time, hardware, metrics). No pickle anywhere:
tensors come from safetensors, everything else from JSON.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from pathlib import Path

# the registry of model types (re-exported: `hub.register_model_type` is what older code imports)
from .model_types import LAZY_MODEL_MODULES, MODEL_TYPES, model_class, register_model_type  # noqa: F401

# torch and safetensors are imported by the functions that need them: reading configs and listing
# models (all the app needs before its first page) must not pay for importing torch.

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
FORMAT_VERSION = 1
# int8 storage: a weight W of shape (C, ...) is stored as int8 values `name` plus one float32 scale
# per first-axis channel, `name` + INT8_SCALE_SUFFIX; W = values * scale. Other tensors: float16.
INT8_SCALE_SUFFIX = ".int8_scale"
INT8_MIN_ELEMENTS = 1024  # smaller weights (and every bias / norm) stay float16: they cost nothing

class ModelLoadError(RuntimeError):
    """A model could not be found or read; the message says where we looked and why."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that a crash mid-write never leaves a half-written file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: torch.nn.Module, folder, metadata: dict | None = None,
               dtype: torch.dtype | None = None) -> Path:
    """Write `folder/config.json` and `folder/model.safetensors` for `model`.

    `metadata` (JSON-serialisable) is stored next to the architecture: training command,
    data, resolution, wall time, hardware, metrics. `dtype=torch.float16` stores floating
    point tensors at half size (shipped models: the loader casts back to the model's dtype);
    `dtype=torch.int8` stores each weight with at least INT8_MIN_ELEMENTS values as int8 with one
    scale per output channel (a quarter of float32; `load_local` restores float weights) and the
    rest as float16. Returns the folder.
    """
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "model_type": model.model_type,
        "format_version": FORMAT_VERSION,
        "architecture": dataclasses.asdict(model.config),
        **(metadata or {}),
    }
    state = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        if dtype == torch.int8 and tensor.is_floating_point():
            if tensor.dim() >= 2 and tensor.numel() >= INT8_MIN_ELEMENTS:
                state[name], state[name + INT8_SCALE_SUFFIX] = quantize_int8(tensor)
            else:
                state[name] = tensor.to(torch.float16)
        else:
            state[name] = tensor.to(dtype) if dtype is not None and tensor.is_floating_point() else tensor
    if dtype is not None:
        config["weights_dtype"] = str(dtype).removeprefix("torch.")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".model.", suffix=".tmp")
    os.close(fd)
    try:
        save_file(state, tmp, metadata={"model_type": model.model_type})
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files; these are meant to be shared
        os.replace(tmp, folder / WEIGHTS_NAME)
    finally:
        Path(tmp).unlink(missing_ok=True)
    atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode())
    return folder


def quantize_int8(tensor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 with one scale per channel of the first axis: (int8 values, float32 scales).

    The largest magnitude of each channel maps to 127, so the rounding error of a value is at most
    half a step, 1/254 of its channel's largest weight."""
    import torch

    flat = tensor.detach().float().reshape(tensor.shape[0], -1)
    scale = flat.abs().amax(dim=1).clamp_min(1e-12) / 127
    values = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return values.reshape(tensor.shape), scale


def dequantize_state(state: dict) -> dict:
    """Turn the int8 weights of a loaded state dict (and their scales) back into float32 tensors."""
    import torch

    for key in [key for key in state if key.endswith(INT8_SCALE_SUFFIX)]:
        scale, name = state.pop(key), key.removesuffix(INT8_SCALE_SUFFIX)
        values = state.get(name)
        if values is None or values.dtype != torch.int8 or scale.numel() != values.shape[0]:
            raise ModelLoadError(f"int8 weights: {key} has no matching int8 tensor {name}.")
        state[name] = (values.float().reshape(values.shape[0], -1) * scale.float()[:, None]).reshape(values.shape)
    return state


def read_config(folder) -> dict:
    """Parse `folder/config.json`, raising ModelLoadError with the reason when it is unusable."""
    path = Path(folder) / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path} is missing: a model folder needs {CONFIG_NAME} and {WEIGHTS_NAME}.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is not valid JSON ({error}). The file may be truncated or corrupt.") from None
    if not isinstance(config, dict) or "model_type" not in config or "architecture" not in config:
        raise ModelLoadError(f"{path} lacks 'model_type' and 'architecture': not a model saved by pix2pix_demo.")
    return config


def update_config(folder, **changes) -> dict:
    """Merge top-level keys (e.g. metrics=...) into folder/config.json, atomically; weights untouched."""
    config = read_config(folder)
    config.update(changes)
    atomic_write_bytes(Path(folder) / CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode())
    return config


def build_model(config: dict) -> torch.nn.Module:
    """Instantiate the (untrained) model described by a parsed config.json."""
    model_type = config["model_type"]
    cls = model_class(model_type)
    if cls is None:
        raise ModelLoadError(f"Unknown model_type {model_type!r}; known: {', '.join(sorted(MODEL_TYPES))}.")
    fields = {field.name for field in dataclasses.fields(cls.config_class)}
    architecture = config["architecture"]
    unknown = set(architecture) - fields
    if unknown:
        raise ModelLoadError(f"config.json has unknown {model_type} settings: {', '.join(sorted(unknown))}.")
    try:
        return cls(cls.config_class(**architecture))
    except (TypeError, ValueError) as error:
        raise ModelLoadError(f"config.json describes an invalid {model_type}: {error}") from error


def load_local(folder, device="cpu") -> torch.nn.Module:
    """Load a model folder (config.json + model.safetensors) onto `device`, in eval mode."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    config = read_config(folder)
    model = build_model(config)
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise ModelLoadError(f"{weights} is missing.")
    try:
        state = load_file(weights, device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise ModelLoadError(f"{weights} is not a readable safetensors file ({error}); it may be truncated.") from None
    dequantize_state(state)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        first_line = str(error).splitlines()[0]
        raise ModelLoadError(f"{weights} does not match {folder / CONFIG_NAME}: {first_line}") from None
    model.metadata = {key: value for key, value in config.items() if key not in ("architecture",)}
    model.source = str(folder)
    return model.to(resolve_device(device)).eval()


REPO_ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def load_model(path_or_repo_id, device="cpu", revision: str | None = None,
               cache_dir=None) -> torch.nn.Module:
    """Load a model from a local folder, else from the Hugging Face Hub.

    - a local folder with config.json wins;
    - otherwise `path_or_repo_id` is treated as a Hub repo id ("owner/name") and fetched with
      `huggingface_hub.snapshot_download` (honours HF_HUB_OFFLINE, HF_HOME / the HF cache and
      `revision`, a branch, tag or commit).
    The model comes back in eval mode on `device` ("cpu", "cuda", "mps" or "auto"), with
    `model.metadata` (config.json minus the architecture) and `model.source` set.
    Raises ModelLoadError naming both places it tried when neither works.
    """
    target = str(path_or_repo_id)
    local = Path(target).expanduser()
    if local.is_dir():
        return load_local(local, device)
    local_reason = f"no folder {local.resolve()}"
    if not REPO_ID_PATTERN.match(target):
        raise ModelLoadError(f"Could not load model {target!r}: {local_reason}, and it is not a Hub repo id "
                             "(expected 'owner/name').")
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id=target, revision=revision, cache_dir=cache_dir,
                                   allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME])
    except Exception as error:  # offline, missing repo, missing revision, network errors...
        offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
        hint = " (HF_HUB_OFFLINE is set, so only the local HF cache was searched)" if offline else ""
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(
            f"Could not load model {target!r}: {local_reason}; and the Hugging Face Hub repo "
            f"{target!r}{'@' + revision if revision else ''} failed{hint}: {reason}"
        ) from None
    return load_local(folder, device)


def resolve_device(device="auto") -> torch.device:
    """'auto' -> cuda if available, else mps, else cpu. Clear error for unavailable devices."""
    import torch

    name = str(device)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ModelLoadError("CUDA was requested but is not available on this machine; use device='cpu'.")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ModelLoadError("MPS was requested but is not available on this machine; use device='cpu'.")
    return torch.device(name)
