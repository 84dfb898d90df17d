"""The served app as an attacker sees it: no server file can be read through any endpoint.

Only files Gradio received for the request (uploads, in its upload folder) may be opened: a FileData
`url`, a `path` outside the upload folder, `..` and symlinks out of the upload folder, and a bare
string all read nothing, through raw HTTP and through gradio_client alike.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.slow

META = {"_type": "gradio.FileData"}
NOT_UPLOADED = "This file was not uploaded with the request, so it is not read."


def secret_photo(folder: Path) -> Path:
    """An image outside Gradio's upload folder, with clear edges (what an attacker would like to see)."""
    array = np.full((96, 128, 3), 230, np.uint8)
    array[20:70, 30:100] = (40, 90, 160)
    path = folder / "secret.png"
    Image.fromarray(array).save(path)
    return path


# endpoint -> how a file value goes into its inputs
ENDPOINTS = {
    "photo_to_image": lambda f: [f, "edges2cats", "hed-like", True],
    "enhance": lambda f: [f],
    "labels_to_facade": lambda f: [f, "facades-spade", 0],
    "translate_photo": lambda f: [f, "cat-bengal", "bengal", True],
    "sketch_to_image": lambda f: [{"background": None, "layers": [], "composite": f}, "edges2cats", 0, ""],
    "singan_edit": lambda f: ["singan-mini", f, f, -1, 0, False],
    "singan_harmonize": lambda f: ["singan-mini", f, f, -1, 0],
    "singan_paint": lambda f: ["singan-mini", f, -1, 0, False, False],
    "singan_super_resolve": lambda f: ["singan-mini", f, 2, 0, "singan"],
    "singan_train": lambda f: [f, "stolen", 0.1, 32],
    "colourize": lambda f: [f, 0],
    "fill_in": lambda f: [{"background": f, "layers": [f], "composite": None}],
}


def call_raw(url: str, api_name: str, data: list) -> tuple[str, object]:
    """POST /gradio_api/call/NAME then read its event stream: ("complete", data) or ("error", message)."""
    response = httpx.post(f"{url}gradio_api/call/{api_name}", json={"data": data}, timeout=60)
    if response.status_code != 200:
        return "http", response.status_code
    event_id = response.json()["event_id"]
    text = httpx.get(f"{url}gradio_api/call/{api_name}/{event_id}", timeout=300).text
    events = [(block.split("\n")[0].removeprefix("event: "),
               block.split("\n", 1)[1].removeprefix("data: ") if "\n" in block else "")
              for block in text.strip().split("\n\n")]
    kind, payload = next(((k, p) for k, p in reversed(events) if k in ("complete", "error")), events[-1])
    try:
        return kind, json.loads(payload)
    except (ValueError, TypeError):
        return kind, payload


@pytest.fixture(scope="module")
def upload_folder():
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder())


_created: list[Path] = []  # folders made inside Gradio's upload folder, removed after the module


@pytest.fixture(scope="module", autouse=True)
def _remove_created_folders():
    yield
    for folder in _created:
        shutil.rmtree(folder, ignore_errors=True)


def attacks(secret: Path, upload_folder: Path) -> dict[str, object]:
    """Every way a client might name `secret` (a readable image outside the upload folder)."""
    link_dir = upload_folder / f"attack-{uuid.uuid4().hex}"
    link_dir.mkdir(parents=True)
    _created.append(link_dir)
    link = link_dir / "innocent.png"
    link.symlink_to(secret)
    dotdot = str(upload_folder / ".." / ".." / ".." / ".." / str(secret).lstrip("/"))
    return {
        "url-only": {"path": None, "url": str(secret), "meta": META},
        "file-url": {"path": None, "url": f"file://{secret}", "meta": META},
        "url-with-bogus-path": {"path": "", "url": str(secret), "meta": META},
        "path-outside": {"path": str(secret), "meta": META},
        "dotdot": {"path": dotdot, "meta": META},
        "symlink-in-upload-folder": {"path": str(link), "meta": META},
        "bare-string": str(secret),
    }


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_no_endpoint_reads_a_file_the_client_names(running_app, tmp_path, upload_folder, endpoint):
    secret = secret_photo(tmp_path)
    for name, value in attacks(secret, upload_folder).items():
        kind, payload = call_raw(running_app, endpoint, ENDPOINTS[endpoint](value))
        assert kind in ("error", "http"), f"{endpoint} with {name}: the server answered {kind}: {payload!r}"
        if kind == "error":  # the app's message, also where Gradio's own check refused it before the app; no
            message = payload.get("error")  # text where Gradio cannot read the value as a file at all (a bare string,
            # an editor value whose FileData has no path: its pydantic validation)
            unreadable = name == "bare-string" or (endpoint in ("sketch_to_image", "fill_in")  # editor values
                                                   and name.startswith(("url", "file")))
            assert (message is None and unreadable) or (message or "").startswith(NOT_UPLOADED), (endpoint, name, payload)


def test_the_answer_does_not_tell_existing_files_from_missing_ones(running_app, tmp_path):
    """The error for a real image, a folder and a missing path is the same message (no oracle)."""
    secret = secret_photo(tmp_path)
    answers = set()
    for target in (secret, tmp_path, tmp_path / "missing.png", Path("/etc/passwd")):
        kind, payload = call_raw(running_app, "photo_to_image",
                                 ENDPOINTS["photo_to_image"]({"path": None, "url": str(target), "meta": META}))
        assert kind == "error"
        answers.add(json.dumps(payload))
    assert len(answers) == 1, answers


def test_gradio_client_cannot_name_a_server_file(running_app, tmp_path, upload_folder):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(running_app, verbose=False)
    secret = secret_photo(tmp_path)
    for name, value in attacks(secret, upload_folder).items():
        if not isinstance(value, dict) or value.get("path") is not None:
            continue  # gradio_client uploads any local `path` itself: that is a real upload, allowed
        with pytest.raises(AppError, match="not uploaded"):
            client.predict(value, "edges2cats", api_name="/photo_to_image")
    # a real upload of the same file still works, and the server keeps serving
    edges, image = client.predict(handle_file(str(secret)), "edges2cats", api_name="/photo_to_image")
    assert Image.open(edges).size == (128, 96) and os.path.getsize(image) > 0


def test_upload_check_itself(tmp_path, monkeypatch):
    """`uploaded_files` without a server: an upload folder reached through a symlink (macOS's temp
    folder is one) works; symlinks below it, `..`, relative paths and other folders do not."""
    from pix2pix_demo.ui import logic
    from pix2pix_demo.ui.common import uploaded_files

    real_root = tmp_path / "real-temp"
    (real_root / "abc").mkdir(parents=True)
    (tmp_path / "temp-link").symlink_to(real_root)
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "temp-link"))
    upload = tmp_path / "temp-link" / "abc" / "photo.png"
    upload.write_bytes(b"png")
    assert uploaded_files(str(upload)) == str(upload)
    assert uploaded_files({"path": str(real_root / "abc" / "photo.png"), "meta": META}).endswith("photo.png")
    nested = {"background": None, "layers": [{"path": str(upload), "meta": META}], "composite": None}
    assert uploaded_files(nested)["layers"] == [str(upload)]
    secret = secret_photo(tmp_path)
    (real_root / "abc" / "link.png").symlink_to(secret)
    (real_root / "linked-dir").symlink_to(real_root / "abc")
    refused = [str(real_root / "abc" / "link.png"), str(real_root / "linked-dir" / "photo.png"),
               str(real_root / "abc" / ".." / "abc" / "photo.png"), "abc/photo.png", str(secret), str(real_root),
               str(real_root / "abc"), str(real_root / "abc" / "missing.png"),
               {"path": None, "url": str(upload), "meta": META}, {"url": str(upload)}]
    for value in refused:
        with pytest.raises(logic.InputError, match=NOT_UPLOADED):
            uploaded_files(value)
    assert uploaded_files(42) == 42 and uploaded_files(None) is None  # not file references: passed on


def test_singan_canvases_read_only_uploads(tmp_path):
    """The SinGAN canvases' prepare step runs unprocessed too: an editor value naming a server file is
    refused, an uploaded one opens as RGBA (as Gradio's preprocessing gave it)."""
    from pix2pix_demo.ui import logic, singan_tab
    from pix2pix_demo.ui.common import upload_folder

    secret = secret_photo(tmp_path)
    with pytest.raises(logic.InputError, match=NOT_UPLOADED):
        singan_tab.open_canvas({"background": {"path": str(secret), "meta": META}, "layers": [], "composite": None,
                                "id": "x"})
    folder = upload_folder() / f"attack-{uuid.uuid4().hex}"  # a real upload, as Gradio stores it
    folder.mkdir(parents=True)
    _created.append(folder)
    Image.open(secret).save(folder / "upload.png")
    opened = singan_tab.open_canvas({"background": {"path": str(folder / "upload.png"), "meta": META},
                                     "layers": [], "composite": None, "id": "editor-1"})
    assert opened["background"].mode == "RGBA" and opened["background"].size == (128, 96)
    assert opened["layers"] == [] and opened["composite"] is None


def test_a_refused_file_reference_logs_one_line_not_a_traceback(running_app, tmp_path, upload_folder, capfd, caplog):
    """Issue 28: every file reference Gradio refused printed a full traceback (931 from 748 bad requests); now the
    client gets the app's message and the log one line per refusal."""
    import logging

    secret = secret_photo(tmp_path)
    capfd.readouterr()
    refusals = 0
    with caplog.at_level(logging.WARNING, logger="pix2pix_demo.ui.common"):
        for endpoint in ("enhance", "singan_edit", "labels_to_facade"):
            for name in ("path-outside", "dotdot"):
                kind, payload = call_raw(running_app, endpoint, ENDPOINTS[endpoint](attacks(secret, upload_folder)[name]))
                assert kind == "error" and payload.get("error", "").startswith(NOT_UPLOADED), (endpoint, name, payload)
                refusals += 1
    logged = capfd.readouterr()
    assert "Traceback" not in logged.err + logged.out
    lines = [record for record in caplog.records if record.getMessage().startswith("Refused a file")]
    assert len(lines) == refusals and all("\n" not in record.getMessage() for record in lines)
