"""Shared test setup: the `slow` marker, and tiny pix2pix models for app tests (no network, no weights/)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Browser tests (tests/test_browser.py, tests/test_singan_browser.py): Debian chromium via playwright.
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BROWSER_WAIT_MS = 240_000  # generous: the CI machine is small and shared


@pytest.fixture(scope="module")
def chromium_browser():
    """Headless Debian chromium (never a downloaded browser); skipped when it or playwright is missing."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(BROWSER_WAIT_MS)
    page.goto(url)
    return page


def wait_for_surface_picture(page, root: str, shown_before: int):
    """Until the drawing surface under `root` (the Draw or Facades tab) has shown a new picture and has no
    request in flight."""
    page.wait_for_function(
        """([root, before]) => { const el = document.querySelector(root + ' .p2p');
               const img = el.querySelector('img.p2p-picture');
               return Number(el.dataset.pictures) > before && el.dataset.busy === '0' && !img.hidden
                      && img.complete && img.naturalWidth > 0; }""",
        arg=[root, shown_before])


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: browser, end-to-end and training smoke tests (run by default; "
                                       "deselect with -m 'not slow')")


os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


# a hole guess (pix2pix_demo.holes) that takes every enclosed region for a hole: the tiny models paint noise
HOLES_ALL = {"features": ["log_area"], "mean": [0.0], "scale": [1.0], "weights": [0.0], "bias": 5.0, "threshold": 0.5}


def save_tiny_pix2pix(folder, seed: int = 0, label: str | None = None, coats: bool = False, fur: bool = False,
                      holes: bool = False):
    """A tiny, untrained pix2pix U-Net saved as a model folder (what tests need: shapes, not quality).
    `coats=True`: it takes a coat colour, like the shipped edges2cats (pix2pix_demo.coat); `fur=True`: its
    config turns the fur finish on by default, like the shipped edges2cats (pix2pix_demo.fur); `holes=True`:
    its config holds a hole guess (HOLES_ALL), like the shipped edges2products (pix2pix_demo.holes)."""
    import torch

    from pix2pix_demo.coat import COATS, DEFAULT_COAT
    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models import UNetConfig, UNetGenerator

    torch.manual_seed(seed)
    condition = dict(condition_channels=3, condition_default=list(COATS[DEFAULT_COAT])) if coats else {}
    model = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=5, max_channels=32, **condition))
    metadata = {"resolution": 64, **({"label": label} if label else {})}
    if coats:
        metadata["coats"] = {name: list(rgb) for name, rgb in COATS.items()}
    if fur:
        metadata["fur"] = True  # the finish's defaults
    if holes:
        metadata["holes"] = HOLES_ALL
    return save_model(model, folder, metadata)


def save_tiny_singan(folder, seed: int = 0):
    """A tiny, untrained 4-scale SinGAN saved as a model folder (the SinGAN endpoints need one)."""
    import torch

    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models.singan import SinGAN, SinGANConfig

    torch.manual_seed(seed)
    model = SinGAN(SinGANConfig(shapes=[[25, 25], [30, 34], [36, 44], [44, 56]], channels=[8] * 4, num_layers=3))
    return save_model(model, folder, {"label": "Tiny SinGAN"})


def save_tiny_facades(folder, kind: str, seed: int = 0):
    """A tiny, untrained facades model (kind "facades"): a U-Net on colour labels or a SPADE generator."""
    import torch

    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models import UNetConfig, UNetGenerator
    from pix2pix_demo.models.spade import SPADEConfig, SPADEGenerator

    torch.manual_seed(seed)
    if kind == "spade":
        model = SPADEGenerator(SPADEConfig(base_channels=4, max_channels=16, num_upsamplings=4, hidden_channels=4,
                                           z_channels=2))
    else:
        model = UNetGenerator(UNetConfig(base_channels=8, num_downsamplings=5, max_channels=32))
    return save_model(model, folder, {"resolution": 64, "kind": "facades", "label": f"Tiny facades {kind}"})


def save_tiny_srgan(folder, seed: int = 0):
    """A tiny SRGAN generator (×4) whose correction to bicubic is not zero (the real one's tail starts at zero)."""
    import torch

    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models.srgan import SRGANConfig, SRGANGenerator

    torch.manual_seed(seed)
    model = SRGANGenerator(SRGANConfig(channels=8, num_blocks=2))
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    return save_model(model, folder, {"label": "Tiny SRGAN ×4", "scale": 4})


def save_tiny_cyclegan(folder, domains=("cat", "bengal"), seed: int = 0):
    """A tiny, untrained CycleGAN pair saved as `train.cyclegan` exports it: folder/<a>2<b> and folder/<b>2<a>."""
    import torch

    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models.resnet import ResnetConfig, ResnetGenerator

    torch.manual_seed(seed)
    a, b = domains
    for source, target in ((a, b), (b, a)):
        model = ResnetGenerator(ResnetConfig(base_channels=4, num_blocks=1))
        save_model(model, Path(folder) / f"{source}2{target}",
                   {"kind": "cyclegan", "label": f"{source} → {target}", "resolution": 32,
                    "domains": {"source": source, "target": target}, "partner": f"{target}2{source}",
                    "data": {"a": {"domain": a}, "b": {"domain": b}}})


def save_tiny_photo_task(folder, task: str, seed: int = 0, hole: str = "telea", config: dict | None = None):
    """A tiny, untrained photo-task U-Net (pix2pix_demo.photo_tasks: "colourize" or "fill-in") as a model folder;
    a fill-in model sees `hole` in the erased pixels (Telea's fill, as weights/fill-in, or mid grey); `config`:
    more config entries (e.g. fill-in's "feather" and "texture")."""
    import torch

    from pix2pix_demo.hub import save_model
    from pix2pix_demo.models import UNetConfig, UNetGenerator
    from pix2pix_demo.photo_tasks import IN_CHANNELS, OUT_CHANNELS

    torch.manual_seed(seed)
    model = UNetGenerator(UNetConfig(in_channels=IN_CHANNELS[task], out_channels=OUT_CHANNELS[task], base_channels=8,
                                     num_downsamplings=4, max_channels=16, norm="instance", dropout=0.3))
    extra = {"hole": hole} if task == "fill-in" else {}
    return save_model(model, folder, {"resolution": 64, "task": task, "kind": "photo-task", "label": f"Tiny {task}", **extra,
                                      **(config or {})})


@pytest.fixture(scope="session")
def tiny_weights_dir(tmp_path_factory):
    """A weights folder with tiny `edges2cats`, `edges2products`, `singan-mini`, `facades-pix2pix`, `facades-spade`,
    `srgan-x4`, `cat2bengal`, `bengal2cat`, `colourize` and `fill-in` models, used by the app through
    PIX2PIX_WEIGHTS_DIR for the whole session (set before `app` is imported)."""
    folder = tmp_path_factory.mktemp("weights")
    save_tiny_pix2pix(folder / "edges2cats", seed=0, label="Edges → cats", coats=True, fur=True)
    save_tiny_pix2pix(folder / "edges2products", seed=1, label="Edges → shoes & bags", holes=True)
    save_tiny_singan(folder / "singan-mini")
    save_tiny_facades(folder / "facades-pix2pix", "pix2pix")
    save_tiny_facades(folder / "facades-spade", "spade")
    save_tiny_srgan(folder / "srgan-x4")
    save_tiny_cyclegan(folder)  # cat2bengal + bengal2cat: the Translate tab's "cat-bengal" translator
    save_tiny_photo_task(folder / "colourize", "colourize")  # the Colour & fill tab's two models
    # as weights/fill-in: the feather and the texture finish from the photo's own patches
    save_tiny_photo_task(folder / "fill-in", "fill-in", seed=1,
                         config={"feather": 5, "texture": {"levels": 2, "iterations": 1, "seam": 4}})
    old = os.environ.get("PIX2PIX_WEIGHTS_DIR")
    os.environ["PIX2PIX_WEIGHTS_DIR"] = str(folder)
    from pix2pix_demo import registry

    registry.refresh()
    yield folder
    if old is None:
        os.environ.pop("PIX2PIX_WEIGHTS_DIR", None)
    else:
        os.environ["PIX2PIX_WEIGHTS_DIR"] = old
    registry.refresh()


@pytest.fixture(scope="session")
def app_module(tiny_weights_dir):
    """`import app` with the tiny models (the UI lists models when it is built)."""
    import app

    return app


@pytest.fixture(scope="session")
def running_app(app_module):
    """The app served on a free loopback port for the session; yields its URL."""
    from pix2pix_demo.app_benchmark import free_port
    from pix2pix_demo.ui.common import patient_launch_check

    patient_launch_check()  # on a saturated machine Gradio's 15-s check that the server answers gave up
    port = free_port()
    app_module.demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                           **app_module.LAUNCH_OPTIONS)
    yield f"http://127.0.0.1:{port}/"
    app_module.demo.close()
