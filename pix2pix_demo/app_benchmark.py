"""App benchmark: the `app` section of `python -m pix2pix_demo.benchmark`.

Starts `python app.py` in a subprocess on a free loopback port (the real start-up path, with the
models in weights/ or PIX2PIX_WEIGHTS_DIR) and measures through `gradio_client`, as a user's
script would:

- startup_s: process start -> the page answers (imports, building the UI, server up);
- sketch_roundtrip_ms {p50, p95}: one `/sketch_to_image` call (upload the drawing, queue,
  run, download the image), after a warm-up;
- gradio_floor_ms {p50, p95}: the same round trip to a tiny Gradio app in this process whose
  handler only inverts the drawing: what Gradio itself costs on this machine;
- rss_mb_after_loading_models: the server's resident memory after every pix2pix model ran once;
- load: N concurrent clients x M requests each: failures (errors, and empty or cut images returned
  as a success), p50/p95 latency, RSS growth.

`full=False` runs a short load (16 x 5); `full=True` the real one (16 x 50).
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SKETCH = REPO_ROOT / "examples" / "sketches" / "cat.png"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (Linux /proc), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentiles(values_ms: list[float]) -> dict:
    ordered = sorted(values_ms)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "n": len(ordered)}


def wait_until_up(url: str, process: subprocess.Popen | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the app exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def sketch_payload():
    from gradio_client import handle_file

    return {"background": None, "layers": [], "composite": handle_file(str(SKETCH))}


def roundtrips(client, api_name: str, args: tuple, repeats: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        client.predict(*args, api_name=api_name)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.predict(*args, api_name=api_name)
        times.append((time.perf_counter() - start) * 1000)
    return times


def gradio_floor(repeats: int) -> dict:
    """Round trip to a minimal Gradio 6 app whose handler only inverts the drawing."""
    import gradio as gr
    from gradio_client import Client
    from PIL import ImageOps

    def invert(canvas):
        return ImageOps.invert(canvas["composite"].convert("RGB"))

    with gr.Blocks() as floor_demo:
        canvas = gr.Sketchpad(type="pil")
        output = gr.Image(format="jpeg")
        gr.Button().click(invert, canvas, output, api_name="invert")
    port = free_port()
    floor_demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        return percentiles(roundtrips(client, "/invert", (sketch_payload(),), repeats))
    finally:
        floor_demo.close()


def check_image(path) -> None:
    """Raise ValueError unless `path` (a downloaded result) is a whole, non-empty image."""
    from PIL import Image

    if not path or os.path.getsize(path) == 0:
        raise ValueError(f"empty image returned as a success: {path!r}")
    with Image.open(path) as image:
        image.load()  # a cut file fails here
        if min(image.size) < 8:
            raise ValueError(f"image of {image.size} returned")


def load_run(url: str, model_key: str, clients: int, requests_each: int) -> dict:
    """`clients` threads, each with its own gradio_client, `requests_each` calls in a row."""
    from gradio_client import Client

    latencies, failures, lock = [], [], threading.Lock()

    def worker(index: int):
        client = Client(url, verbose=False)
        for _ in range(requests_each):
            start = time.perf_counter()
            try:
                result = client.predict(sketch_payload(), model_key, api_name="/sketch_to_image")
                check_image(result)  # an empty or cut image returned as a success is a failure too
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000)
            except Exception as error:  # counted and reported, the run goes on
                with lock:
                    failures.append(f"{type(error).__name__}: {str(error)[:120]}")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    result = {"clients": clients, "requests_each": requests_each, "failures": len(failures),
              "wall_s": round(time.perf_counter() - start, 1)}
    if latencies:
        result["latency_ms"] = percentiles(latencies)
    if failures:
        result["first_failures"] = sorted(set(failures))[:3]
    return result


def benchmark_section(full: bool = False) -> dict:
    """Start the app, measure it, stop it. Returns a JSON-serialisable dict."""
    from gradio_client import Client

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    log = tempfile.TemporaryFile()
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py")], cwd=REPO_ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    result: dict = {}
    try:
        wait_until_up(url, process, timeout=300)
        result["startup_s"] = round(time.perf_counter() - start, 2)
        client = Client(url, verbose=False)
        from pix2pix_demo.ui.logic import default_model, model_choices

        keys = [key for _, key in model_choices()]
        for key in keys:  # load every model once
            client.predict(sketch_payload(), key, api_name="/sketch_to_image")
        result["models"] = keys
        result["rss_mb_after_loading_models"] = round(rss_mb(process.pid), 1)
        key = default_model()
        result["sketch_roundtrip_ms"] = percentiles(roundtrips(client, "/sketch_to_image", (sketch_payload(), key),
                                                               repeats=30 if full else 15))
        result["gradio_floor_ms"] = gradio_floor(repeats=30 if full else 15)
        before = rss_mb(process.pid)
        load = load_run(url, key, clients=16, requests_each=50 if full else 5)
        load["rss_growth_mb"] = round(rss_mb(process.pid) - before, 1)
        result["load" if full else "load_quick"] = load
        result["load_average_1min"] = round(os.getloadavg()[0], 2)  # this machine is shared: context
    except Exception as error:
        log.seek(0)
        result["error"] = f"{type(error).__name__}: {error}"
        result["app_log_tail"] = log.read().decode(errors="replace")[-1500:]
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(benchmark_section(full="--full" in sys.argv), indent=2))
