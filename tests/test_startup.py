"""Start-up: what the first page needs is imported at start; torch (several seconds) is not.

Start-up time itself is measured by `python -m pix2pix_demo.app_benchmark` (startup_s), not here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_building_the_app_does_not_import_torch():
    code = ("import sys, app; print('torch' in sys.modules, 'pix2pix_demo.singan' in sys.modules, "
            "'cv2' in sys.modules)")  # OpenCV: pix2pix_demo.edges imports it on first use (issue 28)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-3:] == ["False", "False", "False"], result.stdout


def test_the_library_still_exports_the_pipeline():
    import pix2pix_demo

    assert pix2pix_demo.Pix2PixPipeline.__name__ == "Pix2PixPipeline"
    assert "Pix2PixPipeline" in pix2pix_demo.__all__


def test_startup_benchmark_times_app_py_until_it_answers(tmp_path):
    import subprocess
    import sys

    from pix2pix_demo import startup_benchmark

    # a stand-in app.py: a plain HTTP server on GRADIO_SERVER_PORT that answers after a pause
    (tmp_path / "app.py").write_text(
        "import os, time, http.server\n"
        "time.sleep(0.5)\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
        "    def log_message(self, *a):\n"
        "        pass\n"
        "http.server.HTTPServer(('127.0.0.1', int(os.environ['GRADIO_SERVER_PORT'])), H).serve_forever()\n")
    result = startup_benchmark.main([str(tmp_path), "--runs", "2", "--json"])
    runs = result[str(tmp_path)]
    assert len(runs) == 2 and all(run["wall_s"] >= 0.5 for run in runs)  # it waited for the answer
    assert all(run["cpu_s"] is None or run["cpu_s"] >= 0 for run in runs)
    (tmp_path / "app.py").write_text("raise SystemExit('broken')\n")
    try:
        startup_benchmark.time_start(tmp_path, timeout=30)
    except RuntimeError as error:
        assert "exited before answering" in str(error) and "broken" in str(error)
    else:
        raise AssertionError("a crashing app.py must be reported")
    bad = subprocess.run([sys.executable, "-m", "pix2pix_demo.startup_benchmark", str(tmp_path / "nothing")],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "No app.py" in bad.stderr
