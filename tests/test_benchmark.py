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


def test_app_benchmark_help_prints_usage_and_starts_nothing(monkeypatch, capsys):
    from pix2pix_demo import app_benchmark

    def must_not_run(*args, **kwargs):
        raise AssertionError("--help started the benchmark")

    monkeypatch.setattr(app_benchmark, "benchmark_section", must_not_run)
    monkeypatch.setattr(app_benchmark, "browser_section", must_not_run)
    monkeypatch.setattr(app_benchmark, "pages_section", must_not_run)
    with pytest.raises(SystemExit) as exited:
        app_benchmark.main(["--help"])
    assert exited.value.code == 0 and "--pages" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        app_benchmark.main(["--strokes"])  # a missing value is an error, not a run
    assert exited.value.code == 2


@pytest.mark.slow
def test_pages_benchmark_draws_on_several_pages_at_once(running_app, capsys):
    """The many-people browser benchmark (issue 28 item 9) runs: two pages in contexts of their own, each of
    its strokes timed; here it only has to work (what it measures goes to the README, not to an assert)."""
    import shutil

    pytest.importorskip("playwright.async_api")
    if shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    from pix2pix_demo import app_benchmark

    app_benchmark.main(["--browser", "--pages", "2", "--strokes", "2", "--url", running_app])
    out = capsys.readouterr().out
    table = out[out.index("| page |"):]
    result = app_benchmark.json.loads(out[:out.index("| page |")])
    assert result["pages_at_once"] == 2 and len(result["pages"]) == 2 and table.count("\n| ") == 2
    for page in result["pages"]:
        assert page["strokes_without_picture"] == 0 and page["mouseup_to_picture_ms"]["n"] == 2
        assert page["requests"] >= 3  # the untimed first stroke and the two timed ones
