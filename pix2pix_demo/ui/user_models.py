"""Models visitors train in the app ("Train on my image"): theirs alone, for a while, and few.

A trained SinGAN (and the copy of the photo it keeps for the finish) belongs to the session that trained it
(Gradio's session hash: one browser tab, or one gradio_client Client). It is registered with
`registry.add_private_model`, so for every other session it does not exist: not listed in any dropdown or
message, not loadable by any endpoint or private event (fn_index) whatever key is sent. It expires
`LIFETIME_S` after training (then its folder is deleted), a session keeps at most `MAX_PER_SESSION` models
and the server at most `MAX_MODELS` (the oldest go first, folder and all).

Calls made in-process, outside any request (tests, scripts), have no session: their models are theirs too.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from .. import registry

logger = logging.getLogger(__name__)

LIFETIME_S = 3600  # one hour after training, like the app's other outputs
MAX_PER_SESSION = 2
MAX_MODELS = 20
SWEEP_EVERY_S = 300


@dataclass
class Owned:
    session: str | None
    created: float
    folder: Path


_lock = threading.Lock()
_owned: OrderedDict[str, Owned] = OrderedDict()  # oldest first
_sweeper: threading.Thread | None = None


def current_session() -> str | None:
    """The session hash of the request being handled in this thread (None outside a request)."""
    from gradio.context import LocalContext

    request = LocalContext.request.get(None)
    return getattr(request, "session_hash", None) if request is not None else None


def owns(key: str, session: str | None = ...) -> bool:
    """Whether `session` (default: the current request's) may see and use model `key`."""
    session = current_session() if session is ... else session
    with _lock:
        owned = _owned.get(key)
    return owned is not None and owned.session == session and time.time() - owned.created < LIFETIME_S


def add(key: str, folder: Path, session: str | None) -> None:
    """Register a freshly trained model as `session`'s; older models over the caps are removed."""
    global _sweeper
    registry.add_private_model(key, folder, check=owns)
    with _lock:
        _owned[key] = Owned(session, time.time(), Path(folder))
        mine = [k for k, owned in _owned.items() if owned.session == session]
        extra = mine[:max(0, len(mine) - MAX_PER_SESSION)]
        extra += [k for k in list(_owned)[:max(0, len(_owned) - MAX_MODELS)] if k not in extra]
        if _sweeper is None:
            _sweeper = threading.Thread(target=_sweep_forever, daemon=True, name="user-models-sweeper")
            _sweeper.start()
    for old in extra:
        remove(old)
    sweep()


def unique_key(key: str) -> str:
    """`key`, or `key-2`, `key-3`, ... if that one is taken (by anyone: the answer says nothing about whose)."""
    taken = set(registry.list_models()) | set(_owned)
    candidate, number = key, 1
    while candidate in taken or registry.is_private(candidate):
        number += 1
        candidate = f"{key}-{number}"
    return candidate


def remove(key: str) -> None:
    with _lock:
        owned = _owned.pop(key, None)
    registry.remove_private_model(key)
    if owned is not None:
        shutil.rmtree(owned.folder, ignore_errors=True)


def sweep(now: float | None = None) -> int:
    """Remove the models older than LIFETIME_S; returns how many."""
    now = time.time() if now is None else now
    with _lock:
        expired = [key for key, owned in _owned.items() if now - owned.created >= LIFETIME_S]
    for key in expired:
        remove(key)
    return len(expired)


def sweep_folder(folder: Path, now: float | None = None) -> int:
    """Delete model folders in `folder` older than LIFETIME_S that no one owns (left by an earlier server)."""
    now = time.time() if now is None else now
    with _lock:
        kept = {owned.folder.resolve() for owned in _owned.values()}
    removed = 0
    for path in folder.glob("my-*") if folder.is_dir() else ():
        try:
            if path.is_dir() and path.resolve() not in kept and now - path.stat().st_mtime >= LIFETIME_S:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        except OSError:
            continue
    return removed


def _sweep_forever() -> None:
    while True:
        time.sleep(SWEEP_EVERY_S)
        try:
            sweep()
        except Exception:  # noqa: BLE001 - the sweeper must keep going
            logger.exception("sweeping the visitors' models failed")
