"""The speed benchmark's timing helper (models timed in interleaved rounds) and the app benchmark's command line."""

from __future__ import annotations

import pytest
import torch

from pix2pix_demo.benchmark import interleaved_forward_ms
from pix2pix_demo.models import UNetConfig, UNetGenerator


def test_interleaved_rounds_time_every_model_once_per_round():
    torch.manual_seed(0)
    small = UNetGenerator(UNetConfig(base_channels=4, num_downsamplings=3, max_channels=8))
    large = UNetGenerator(UNetConfig(base_channels=32, num_downsamplings=3, max_channels=64))
    calls = {"small": 0, "large": 0}
    for name, model in (("small", small), ("large", large)):
        model.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))
    times = interleaved_forward_ms({"small": small, "large": large}, torch.device("cpu"), size=64, repeats=7, warmup=2)
    assert set(times) == {"small", "large"} and all(len(t) == 7 for t in times.values())
    assert calls == {"small": 9, "large": 9}  # warm-up rounds run but are not timed
    assert all(ms > 0 for t in times.values() for ms in t)


def help_output(module, starters: tuple[str, ...], monkeypatch, capsys) -> str:
    """`module.main(["--help"])` with its `starters` (functions that would start work) made to fail: exits 0;
    returns what it printed."""

    def must_not_run(*args, **kwargs):
        raise AssertionError(f"--help started {module.__name__}")

    for name in starters:
        monkeypatch.setattr(module, name, must_not_run)
    with pytest.raises(SystemExit) as exited:
        module.main(["--help"])
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_app_benchmark_help_prints_usage_and_starts_nothing(monkeypatch, capsys):
    from pix2pix_demo import app_benchmark

    assert "--browser" in help_output(app_benchmark, ("benchmark_section", "browser_section"), monkeypatch, capsys)
    with pytest.raises(SystemExit) as exited:
        app_benchmark.main(["--strokes"])  # a missing value is an error, not a run
    assert exited.value.code == 2


def test_browser_benchmark_help_prints_usage_and_starts_nothing(monkeypatch, capsys):
    from pix2pix_demo import browser_benchmark

    out = help_output(browser_benchmark, ("app_process", "_measure"), monkeypatch, capsys)
    assert "--pages" in out and "--tree" in out
    with pytest.raises(SystemExit, match="no app.py"):
        browser_benchmark.main(["--tree", "/"])  # refused before any app or browser starts


def test_browser_benchmark_times_each_stroke_to_its_own_picture():
    """A stroke's latency is the first picture after its mouseup and before the next stroke's; a stroke whose
    picture never came counts as slower than any, and percentiles that land on it are None, not a number."""
    import math

    from pix2pix_demo.browser_benchmark import stroke_latencies, summary

    ups = [100.0, 1000.0, 2000.0, 3000.0]
    pictures = [150.0, 1120.0, 1130.0, 2990.0, 3050.0]  # the warm-up's, two for stroke 1, a late one, the last
    latencies = stroke_latencies(ups, pictures, first=1, timeout_ms=500)
    assert latencies == [120.0, 990.0, 50.0]
    assert stroke_latencies([100.0, 200.0], [250.0], first=0, timeout_ms=1000) == [math.inf, 50.0]
    assert stroke_latencies([100.0], [700.0], first=0, timeout_ms=500) == [math.inf]  # after the time-out
    assert summary([10.0, 20.0, math.inf]) == {"p50": 20.0, "p95": None, "n": 3, "missed": 1}


@pytest.mark.slow
def test_browser_benchmark_draws_on_several_pages_at_once(running_app, capsys, tmp_path):
    """The many-people browser benchmark (issue 28 item 9) runs: two pages in contexts of their own, each of
    their strokes timed; here it only has to work (what it measures goes to docs/app.md, not to an assert)."""
    import json
    import shutil

    pytest.importorskip("playwright.async_api")
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    from pix2pix_demo import browser_benchmark

    browser_benchmark.main(["--pages", "2", "--strokes", "2", "--gap", "0.8", "1.0", "--url", running_app,
                            "--json", str(tmp_path / "result.json"), "--screenshots", str(tmp_path)])
    result = json.loads((tmp_path / "result.json").read_text())
    assert "| target (round) |" in capsys.readouterr().out
    (run,) = result["runs"]
    assert len(run["pages"]) == 2 and run["all_strokes"]["n"] == 4
    for page in run["pages"]:
        assert page["missed"] == 0 and page["p95"] is not None
        assert page["requests"] >= 3 and page["mean_batch"] >= 1  # the untimed stroke and the two timed ones
    assert len(list(tmp_path.glob("pages-*-round1.png"))) == 1
