"""Where the app finds models, in one place: `weights/` first, then Hugging Face Hub repos.

    from pix2pix_demo import registry
    registry.list_models("pix2pix")      # {key: ModelEntry}; reads config.json files only, no network
    model = registry.load("edges2cats")  # local folder, else download into the HF cache; cached per process

1. Every folder `weights_dir()/NAME` holding a config.json is a model with key NAME; its kind comes
   from config.json `model_type` ("pix2pix-unet" -> "pix2pix", "singan" -> "singan") without
   loading the weights.
2. `add_local_model(key, folder)` registers a model made at run time (SinGAN "train on my image").
3. `HUB_MODELS` (below, or env PIX2PIX_HUB_MODELS="key=owner/name[@revision],...") lists Hub repos
   used when no local folder has that key. They are downloaded on first `load` with
   `hf_hub_download` into the normal HF cache (HF_HOME / HF_HUB_CACHE), and load from that cache
   with HF_HUB_OFFLINE=1 afterwards. NOTE: the default repos under "pix2pix-demo" are not
   published yet; until they are, only local weights/ folders (or your own repos) load.

Failures raise `ModelUnavailable` (a RuntimeError) with a message meant for the user: offline and not
cached, no such repo, no such revision, not a model. With HF_HUB_OFFLINE=1 nothing touches the network,
so the error comes back at once.

Download progress in Gradio: `gr.Progress` is called as `progress(fraction, desc)`, which is exactly
the callback signature used here, so a handler can pass it straight through:

    def generate(sketch, model_key, progress=gr.Progress()):
        pipe = Pix2PixPipeline(registry.load(model_key, progress=progress))  # or however the app wraps it
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from . import hub

logger = logging.getLogger(__name__)

DEFAULT_HUB_OWNER = "pix2pix-demo"  # not yet published: see the module docstring
HUB_MODELS: dict[str, dict] = {
    "edges2cats": {"repo_id": f"{DEFAULT_HUB_OWNER}/edges2cats", "kind": "pix2pix",
                   "label": "Edges → cats", "revision": None},
    "edges2products": {"repo_id": f"{DEFAULT_HUB_OWNER}/edges2products", "kind": "pix2pix",
                       "label": "Edges → shoes & bags", "revision": None},
}
HUB_MODELS_ENV = "PIX2PIX_HUB_MODELS"
WEIGHTS_DIR_ENV = "PIX2PIX_WEIGHTS_DIR"
KIND_BY_MODEL_TYPE = {"pix2pix-unet": "pix2pix", "singan": "singan"}
DOWNLOAD_FILES = (hub.CONFIG_NAME, hub.WEIGHTS_NAME)  # all that loading needs; the card stays on the Hub

Progress = Callable[[float, str], object]


class ModelUnavailable(RuntimeError):
    """A model cannot be listed or loaded; str(error) is a message for the user."""


@dataclass(frozen=True)
class ModelEntry:
    key: str
    label: str
    kind: str          # "pix2pix" | "singan" | another model_type
    source: str        # a local folder or a Hub repo id
    local: bool
    revision: str | None = None
    edge_method: str | None = None  # the extractor its training inputs came from (config data.edge_method)
    coats: tuple = ()  # ((name, (r, g, b)), ...): the coat colours it takes (config "coats"), see pix2pix_demo.coat
    cutouts: bool = False  # trained on cut-outs (a cat on white): the Photo tab cuts a photo's cat out first
    close_ups: float = 0.0  # the share of face close-ups among its training pairs (config data.close_ups)
    fur: bool = False  # its config turns the fur finish on by default ("fur"): the Draw tab's switch starts on
    holes: bool = False  # its config holds a fitted hole guess ("holes"): the Draw tab's "Keep holes open" switch


def _coats(config: dict) -> tuple:
    """The named coat colours of a model that takes one (architecture.condition_channels 3 and "coats")."""
    architecture = config.get("architecture") if isinstance(config.get("architecture"), dict) else {}
    coats = config.get("coats")
    if architecture.get("condition_channels") != 3 or not isinstance(coats, dict):
        return ()
    try:
        return tuple((str(name), tuple(float(v) for v in rgb)) for name, rgb in coats.items() if len(rgb) == 3)
    except (TypeError, ValueError):
        return ()


def _asks_fur(config: dict) -> bool:
    """Does a pix2pix config turn the fur finish (`pix2pix_demo.fur`) on by default? (A bad value: no.)"""
    from .fur import config_fur

    return config_fur(config) is not None


def _asks_holes(config: dict) -> bool:
    """Does a pix2pix config hold a hole guess (`pix2pix_demo.holes`) it applies by default? (A bad value: no.)"""
    from .holes import config_holes

    return config_holes(config) is not None


def _trained_on_cutouts(config: dict, coats: tuple) -> bool:
    """Was a pix2pix model trained on cut-outs (cats on white, `train.data.edges --cutout`)? Its
    config's data.cutout when it says (true / false); else whether its data.path names a cut-out set
    ("cutout" in it, e.g. runs/data/cats-cutout); else whether it takes the cats' named coats
    (`coat.COATS`: edges2cats; edges2products takes product colours)."""
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    if isinstance(data.get("cutout"), bool):
        return data["cutout"]
    if isinstance(data.get("path"), str) and "cutout" in data["path"].lower():
        return True
    from .coat import COATS

    return bool(coats) and set(COATS) <= {name for name, _ in coats}


_lock = threading.Lock()                   # guards the dicts below
_key_locks: dict[str, threading.Lock] = {}  # one per key: a model is loaded once, others wait
_loaded: dict[tuple[str, str, str], torch.nn.Module] = {}  # (key, source, device): another folder, another model
_scans: dict[Path, dict[str, ModelEntry]] = {}
_added: dict[str, ModelEntry] = {}
# Models that belong to someone (a SinGAN a visitor trained, ui/user_models.py): listed and loadable only where
# `_private_check(key)` says so (the owner's session); for everyone else they do not exist.
_private: dict[str, ModelEntry] = {}
_private_check = None  # callable(key) -> bool; None: private models are visible to no one
_fetched: dict[str, dict] = {}              # kind and edge_method learnt from a downloaded repo's config.json


def weights_dir() -> Path:
    """env PIX2PIX_WEIGHTS_DIR, else <repository>/weights."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or Path(__file__).resolve().parent.parent / "weights")


def model_kind(config: dict) -> str:
    """A config's "kind" when it names one (the facades models say "facades": they belong to their own tab,
    not to the Draw tab's pix2pix list), else the kind of its model_type."""
    kind = config.get("kind")
    return kind if isinstance(kind, str) and kind else KIND_BY_MODEL_TYPE.get(config["model_type"], config["model_type"])


def _entry_from_folder(key: str, folder: Path) -> ModelEntry:
    config = hub.read_config(folder)  # raises ModelLoadError for anything that is not a model folder
    label = config.get("label") or HUB_MODELS.get(key, {}).get("label") or key
    kind = model_kind(config)
    data = config.get("data") if isinstance(config.get("data"), dict) else {}
    coats = _coats(config)
    try:
        close_ups = min(1.0, max(0.0, float(data.get("close_ups") or 0.0)))
    except (TypeError, ValueError):
        close_ups = 0.0
    return ModelEntry(key, label, kind, str(folder), local=True, edge_method=data.get("edge_method"),
                      coats=coats, cutouts=_trained_on_cutouts(config, coats), close_ups=close_ups,
                      fur=_asks_fur(config), holes=_asks_holes(config))


def _scan(folder: Path) -> dict[str, ModelEntry]:
    entries = {}
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        if (sub / hub.CONFIG_NAME).is_file():
            try:
                entries[sub.name] = _entry_from_folder(sub.name, sub)
            except hub.ModelLoadError as error:  # one broken folder must not hide the others
                logger.warning("Skipping %s: %s", sub, error)
    return entries


def hub_models() -> dict[str, dict]:
    """HUB_MODELS, or the entries of env PIX2PIX_HUB_MODELS="key=owner/name[@revision],..." when set."""
    text = os.environ.get(HUB_MODELS_ENV, "").strip()
    if not text:
        return HUB_MODELS
    models = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, target = item.partition("=")
        repo_id, _, revision = target.strip().partition("@")
        if not sep or not hub.REPO_ID_PATTERN.match(repo_id):  # warn, don't take the app down
            logger.warning("Ignoring %s entry %r: expected 'key=owner/name[@revision]'.", HUB_MODELS_ENV, item)
            continue
        default = HUB_MODELS.get(key.strip(), {})
        models[key.strip()] = {"repo_id": repo_id, "kind": default.get("kind"),
                               "label": default.get("label") or key.strip(), "revision": revision or None}
    return models


def _hub_kind(key: str, spec: dict) -> str:
    # Env entries have no kind until config.json is fetched; before that, guess from the repo name.
    if key in _fetched:
        return _fetched[key]["kind"]
    return spec.get("kind") or ("singan" if "singan" in spec["repo_id"].lower() else "pix2pix")


def list_models(kind: str | None = None) -> dict[str, ModelEntry]:
    """Local folders (scan cached until `refresh()`), then run-time models, then Hub entries not
    present locally. Optionally only one kind. Never touches the network."""
    folder = weights_dir().resolve()
    with _lock:
        if folder not in _scans:
            _scans[folder] = _scan(folder)
        entries = {**_scans[folder], **_added}
        if _private_check is not None:
            entries.update({key: entry for key, entry in _private.items() if _private_check(key)})
        for key, spec in hub_models().items():
            if key not in entries:
                entries[key] = ModelEntry(key, spec.get("label") or key, _hub_kind(key, spec), spec["repo_id"],
                                          local=False, revision=spec.get("revision"),
                                          edge_method=_fetched.get(key, {}).get("edge_method"),
                                          coats=_fetched.get(key, {}).get("coats", ()),
                                          cutouts=_fetched.get(key, {}).get("cutouts", False),
                                          fur=_fetched.get(key, {}).get("fur", False),
                                          holes=_fetched.get(key, {}).get("holes", False))
    return {key: entry for key, entry in entries.items() if kind is None or entry.kind == kind}


def add_local_model(key: str, folder) -> ModelEntry:
    """Register a model folder made at run time so `list_models` shows it and `load(key)` loads it.
    Re-adding a key replaces the earlier model (its cached copy is dropped)."""
    try:
        entry = _entry_from_folder(key, Path(folder))
    except hub.ModelLoadError as error:
        raise ModelUnavailable(str(error)) from None
    with _lock:
        _added[key] = entry
        for cache_key in [k for k in _loaded if k[0] == key]:
            del _loaded[cache_key]
    return entry


def add_private_model(key: str, folder, check=None) -> ModelEntry:
    """Register a model folder made at run time that belongs to someone: `list_models` and `load` see it only
    where `check(key)` (installed once, for all private models; see `_private_check`) is true. A key already
    taken by another model is refused (ValueError): a private model never replaces someone else's."""
    global _private_check
    try:
        entry = _entry_from_folder(key, Path(folder))
    except hub.ModelLoadError as error:
        raise ModelUnavailable(str(error)) from None
    with _lock:
        if key in _private or key in _added or key in _scans.get(weights_dir().resolve(), {}):
            raise ValueError(f"A model called {key!r} exists already.")
        if check is not None:
            _private_check = check
        _private[key] = entry
    return entry


def remove_private_model(key: str) -> None:
    """Forget a private model (and its loaded copy); its folder is the caller's to delete."""
    with _lock:
        _private.pop(key, None)
        for cache_key in [k for k in _loaded if k[0] == key]:
            del _loaded[cache_key]


def is_private(key: str) -> bool:
    with _lock:
        return key in _private


def refresh() -> None:
    """Forget the cached weights/ scan (loaded models stay cached)."""
    with _lock:
        _scans.clear()


def _offline() -> bool:
    from huggingface_hub import constants

    # huggingface_hub reads HF_HUB_OFFLINE at import time; also honour it when set later.
    return constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick TCP connect to the Hub. Without it, a machine with no network waits ~30 s for
    huggingface_hub's retries before failing. Behind a proxy, leave the decision to huggingface_hub."""
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    from huggingface_hub import constants

    url = urlparse(constants.ENDPOINT)
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def download(entry: ModelEntry, progress: Progress | None = None) -> Path:
    """Fetch config.json + model.safetensors of a Hub entry into the HF cache; return the folder.
    When offline (or the Hub is unreachable) only the cache is used."""
    from huggingface_hub import errors, hf_hub_download

    offline = _offline()
    unreachable = not offline and not _hub_reachable()
    where = f"{entry.source}" + (f"@{entry.revision}" if entry.revision else "")
    path = None
    for index, filename in enumerate(DOWNLOAD_FILES):
        if progress:
            progress(index / len(DOWNLOAD_FILES), f"Downloading {where}: {filename}")
        try:
            path = hf_hub_download(entry.source, filename, revision=entry.revision,
                                   local_files_only=offline or unreachable)
        except errors.RevisionNotFoundError:
            raise ModelUnavailable(f"Model {entry.key!r}: the Hub repo {entry.source} has no revision "
                                   f"{entry.revision!r}. Check the revision pinned in {HUB_MODELS_ENV} / HUB_MODELS.") from None
        except errors.RepositoryNotFoundError:
            raise ModelUnavailable(f"Model {entry.key!r}: the Hub repo {entry.source} does not exist or is private "
                                   "(log in with `hf auth login` or set HF_TOKEN for private repos).") from None
        except errors.LocalEntryNotFoundError:  # offline, or the Hub could not be reached, and not cached
            why, fix = (("HF_HUB_OFFLINE is set", "unset HF_HUB_OFFLINE") if offline else
                        ("the Hugging Face Hub could not be reached", "check the network connection"))
            raise ModelUnavailable(f"Model {entry.key!r} is not in {weights_dir()} and not in the local Hugging Face "
                                   f"cache, and {why}, so {where} cannot be downloaded: {fix}, or put the model "
                                   f"folder in {weights_dir() / entry.key}.") from None
        except errors.EntryNotFoundError:
            raise ModelUnavailable(f"Model {entry.key!r}: the Hub repo {where} has no {filename}; "
                                   "it is not a model saved by pix2pix_demo.") from None
        except (errors.HfHubHTTPError, OSError) as error:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelUnavailable(f"Model {entry.key!r}: downloading {where} failed: {first_line}") from None
    if progress:
        progress(1.0, f"Downloaded {where}")
    return Path(path).parent


INTERNAL_KINDS = ("cat-segmenter", "edge-detector")  # helpers of other models, not something a person picks


def offered_models() -> list[str]:
    """The keys an error message may name: the shipped and Hub models a person can pick, not the
    internal helpers nor the models visitors trained at run time (those belong to their session)."""
    with _lock:
        added = set(_added) | set(_private)
    return [key for key, entry in list_models().items() if entry.kind not in INTERNAL_KINDS and key not in added]


def quoted(text, limit: int = 60) -> str:
    """A client's string, quoted and cut to `limit` characters for a message."""
    text = str(text)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "…"


def load(key: str, progress: Progress | None = None, device="cpu") -> torch.nn.Module:
    """The model for `key` in eval mode (loaded once per key, source and device; thread-safe).

    progress: optional callable(fraction, desc), e.g. a gr.Progress, called only while downloading.
    Raises ModelUnavailable with a user-facing message."""
    entry = list_models().get(key)
    if entry is None:
        refresh()  # a folder may have appeared since the last scan
        entry = list_models().get(key)
    if entry is None:
        raise ModelUnavailable(f"Unknown model {quoted(key)}; available: {', '.join(offered_models()) or 'none'}.")
    cache_key = (key, entry.source, str(device))
    with _lock:
        key_lock = _key_locks.setdefault(key, threading.Lock())
    with key_lock:
        with _lock:
            if cache_key in _loaded:
                return _loaded[cache_key]
        folder = Path(entry.source) if entry.local else download(entry, progress)
        try:
            model = hub.load_local(folder, device)
        except hub.ModelLoadError as error:
            raise ModelUnavailable(f"Model {key!r} could not be loaded: {error}") from None
        model.source = entry.source  # the repo id, not the cache path, for Hub models
        with _lock:
            _loaded[cache_key] = model
            if not entry.local:
                data = model.metadata.get("data") if isinstance(model.metadata.get("data"), dict) else {}
                _fetched[key] = {"kind": model_kind({"model_type": model.model_type, **model.metadata}),
                                 "edge_method": data.get("edge_method"),
                                 "coats": _coats({"architecture": dataclasses.asdict(model.config)
                                                  if dataclasses.is_dataclass(getattr(model, "config", None)) else {},
                                                  "coats": model.metadata.get("coats")})}
                _fetched[key]["cutouts"] = _trained_on_cutouts(model.metadata, _fetched[key]["coats"])
                _fetched[key]["fur"] = _asks_fur(model.metadata)
                _fetched[key]["holes"] = _asks_holes(model.metadata)
    return model
