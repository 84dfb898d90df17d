"""Train on my image (issue 28 item 4): a short budget is kept (the floor of iterations per scale fits it), the
progress bar only goes forward, through the instant preview, the training and the finish, and a file that is
not a picture is refused when it is uploaded, before Train."""

from __future__ import annotations

import re
import shutil

import pytest
from PIL import Image

from pix2pix_demo import singan
from pix2pix_demo.ui import singan_handlers as handlers


def test_the_floor_of_iterations_fits_a_short_budget():
    photo = Image.new("RGB", (451, 300))  # the size of the app's example cat
    options, shapes, floor, one_pass = handlers.training_options(singan, photo, 250, 0.1)
    assert options.plan == "measured" and options.budget_clock == "wall" and options.min_iters == floor
    # it was 20 per scale whatever the budget: 20 x 11 scales cost ~14 s of a 6-s budget; now the floor's
    # iterations and the work around them fit half the budget, and that work counts (one_pass holds it once)
    iteration = handlers.LOOP_COST_FACTOR * sum(singan.iteration_cost_ms(shapes, n, options)
                                                for n in range(len(shapes))) / 1000
    around = one_pass - iteration
    assert around >= handlers.SCALE_OVERHEAD_CPU_S * len(shapes) - 1e-9
    assert 1 <= floor < 20 and (floor * iteration + around <= 0.5 * 6 or floor == 1), (floor, iteration, around)
    import torch._dynamo  # noqa: F401  (what app.warm_up does): the estimate no longer counts its import

    options, shapes, floor, one_pass = handlers.training_options(singan, photo, 250, 0.1)
    assert one_pass == pytest.approx(iteration + handlers.SCALE_OVERHEAD_CPU_S * len(shapes))
    assert 2 <= floor < 20 and floor * iteration + one_pass - iteration <= 0.5 * 6, (floor, one_pass)
    # on a machine 20x slower (wall / CPU) the minimum grows with it and the floor falls to one iteration
    busy = handlers.training_options(singan, photo, 250, 0.1, slowdown=20)
    assert busy[2] == 1 and busy[3] == pytest.approx(20 * one_pass)
    assert handlers.training_options(singan, photo, 250, 3.0)[2] == 20  # a long budget keeps the floor of 20
    assert len(shapes) == len(singan.pyramid_shapes(451, 300, options)[0])


def test_the_bar_goes_forward_and_stays_in_the_phase_it_is_in(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(handlers.time, "perf_counter", lambda: now[0])
    seen = []
    bar = handlers.TrainingBar(lambda value, desc=None: seen.append(value), {"instant": 2, "train": 6, "finish": 2})
    bar.phase("instant")
    for t in (0, 1, 2, 4, 8, 30):  # the preview runs far longer than expected: its segment fills slowly, never more
        now[0] = t
        bar.tick("instant")
    assert seen == sorted(seen) and 0.18 < seen[-1] < 0.2
    bar.phase("train")
    for t in range(7):
        now[0] = 30 + t
        bar.tick("train")
    assert seen == sorted(seen)
    assert seen[-4] == pytest.approx(0.2 + 0.6 * 3 / 6)  # half the budget spent: half the training's segment
    assert max(b - a for a, b in zip(seen, seen[1:])) < 0.15  # no jump
    bar.phase("finish")  # the training ended on its budget: the bar goes on from where its segment starts
    bar.tick("finish")
    assert bar.value == pytest.approx(0.8) and seen[-2] < 0.8
    now[0] = 37
    assert bar.tick("finishing") == f"`{'█' * 22}{'░' * 2}` 90% · finishing"  # half the finish's expected 2 s


@pytest.mark.slow
def test_train_on_my_image_keeps_a_short_budget_and_its_bar_moves_forward(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from pix2pix_demo.ui import user_models

    monkeypatch.setenv("PIX2PIX_SINGAN_USER_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(user_models, "_owned", type(user_models._owned)())  # this test's model: gone afterwards
    seen = []

    def progress(value, desc=None):
        seen.append((value, desc))

    outputs = list(handlers.train_handler(singan.reference_image(128).resize((128, 96)), "bar", 0.1, 128,
                                          request=SimpleNamespace(session_hash="progress-test"), progress=progress))
    status = outputs[-1][0]
    first = next(output[0] for output in outputs if output[0].startswith("Instant preview"))
    assert re.search(r"now: 6 s on \d+ CPU threads? \(\d+ scales, at least \d+ iterations? each\), then about \d+ s "
                     r"to finish a sample from your photo", first), first
    assert re.search(r"Trained \*\*.*?\*\* in \d+ s", status), status
    # it kept the 6 s budget (issue 28: at least 20 per scale, whatever the budget: a 0.1-minute budget trained
    # 22 s). The plan is measured on the wall clock, so a faster machine than ours runs more iterations in the same
    # 6 s (CI: 81, 75, 53, ... = 8.5 s on our cost model) and a busy one fewer, each stretched: the training kept the
    # budget on the wall clock, or, where a busy machine stretched the wall clock, its iterations fit the budget on
    # the cost model (load-independent). The old floor fails both (22 s; 9.1 s on the cost model at this size).
    import json

    config = json.loads(next((tmp_path / "models").glob("*/config.json")).read_text())
    iterations, shapes = config["training"]["iterations"], config["architecture"]["shapes"]
    options = singan.TrainOptions(max_size=128, time_budget=0.1)
    cost_s = sum(i * singan.iteration_cost_ms(shapes, n, options) for n, i in enumerate(iterations)) / 1000
    wall_s = config["training"]["wall_time_s"]
    assert wall_s <= 1.5 * 6 or cost_s <= 1.2 * 6, (iterations, wall_s, cost_s)
    bars = [int(m.group(1)) for output in outputs for m in [re.search(r"` (\d+)% · ", output[0])] if m]
    assert len(bars) >= len(outputs) - 1 and bars == sorted(bars), bars  # the page's bar: in every status but the last
    values = [value for value, _ in seen]
    assert values == sorted(values) and values[0] < 0.15  # (where it ends depends on how well the finish was guessed)
    assert max(b - a for a, b in zip(values, values[1:])) < 0.3, values  # no 0.1 % -> 79 % jump
    descs = " ".join(desc for _, desc in seen)
    assert "Instant preview" in descs and "Training: scale" in descs and "Finishing a sample" in descs


def test_a_file_that_is_not_a_picture_is_refused_on_upload():
    from pix2pix_demo.ui.common import upload_folder

    folder = upload_folder() / "test-singan-train-upload"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        text = folder / "notes.png"
        text.write_text("not a picture")
        status, upload = handlers.check_training_upload({"path": str(text), "meta": {"_type": "gradio.FileData"}})
        assert status.startswith("**This file cannot be trained on:**") and upload is None
        picture = folder / "photo.png"
        singan.reference_image(32).save(picture)
        status, upload = handlers.check_training_upload({"path": str(picture), "meta": {"_type": "gradio.FileData"}})
        assert status == "" and upload == {"__type__": "update"}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
