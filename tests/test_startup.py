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
