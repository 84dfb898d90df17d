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

`--browser` (`browser_section`): the Draw tab as a person uses it, in headless Debian chromium
(playwright; never a downloaded browser): a fresh page's first stroke (does it produce a picture,
and how fast), then N strokes, each timed from mouseup to the new picture having loaded in the page
(timestamps taken inside the page), and the requests, body bytes sent and bytes received per stroke.
(It measured the previous path, Gradio's ImageEditor, beside this one until that path was removed;
those numbers are in docs/app.md.)

Ten people drawing at the same time: `python -m pix2pix_demo.browser_benchmark --pages 10`.
"""

from __future__ import annotations

import os
import socket
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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


def stop_app(process: subprocess.Popen, log) -> None:
    """Terminate an app started by this module (kill it after 20 s) and close its log file."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


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
        timeline, done = [], threading.Event()

        def watch_memory():  # the server's RSS every 2 s: growth that levels off is not a leak
            while not done.wait(2.0):
                timeline.append(rss_mb(process.pid))

        watcher = threading.Thread(target=watch_memory, daemon=True)
        watcher.start()
        try:
            load = load_run(url, key, clients=16, requests_each=50 if full else 5)
        finally:
            done.set()
            watcher.join()
        load["rss_growth_mb"] = round(rss_mb(process.pid) - before, 1)
        if timeline:  # growth at each quarter of the run
            load["rss_growth_mb_by_quarter"] = [round(timeline[min(len(timeline) - 1, round(q * len(timeline) / 4))]
                                                      - before, 1) for q in (1, 2, 3, 4)]
        result["load" if full else "load_quick"] = load
        result["load_average_1min"] = round(os.getloadavg()[0], 2)  # this machine is shared: context
    except Exception as error:
        log.seek(0)
        result["error"] = f"{type(error).__name__}: {error}"
        result["app_log_tail"] = log.read().decode(errors="replace")[-1500:]
    finally:
        stop_app(process, log)
    return result


# ---------------------------------------------------------------- the Draw tab in a real browser

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Where each path shows its picture, and what marks the page as ready to draw.
DRAW_PATHS = {
    "new (drawing surface)": {"ready": "#draw-surface .p2p[data-ready='1']",
                              "canvas": "#draw-surface canvas", "picture": "#draw-surface img.p2p-picture"},
}
# In the page, installed before the app's own scripts: when each pointerup happened, when each new
# picture finished loading, and the body bytes of every fetch / XHR the page sends (file uploads
# included: the browser's network log does not report multipart and FormData bodies).
INSTRUMENT_JS = """
(() => {
  const bench = window.__bench = {pointerups: [], pictures: [], requests: 0, sentBytes: 0};
  const encoder = new TextEncoder();
  const size = (body) => {
    if (body == null) return 0;
    if (typeof body === 'string') return encoder.encode(body).length;
    if (body instanceof Blob) return body.size;
    if (body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return body.byteLength;
    if (body instanceof URLSearchParams) return encoder.encode(body.toString()).length;
    if (body instanceof FormData) {
      let total = 0;
      for (const [key, value] of body.entries()) total += encoder.encode(key).length + size(value);
      return total;
    }
    return 0;
  };
  const originalFetch = window.fetch;
  window.fetch = function (input, init) {
    bench.requests += 1;
    bench.sentBytes += size(init && init.body);
    return originalFetch.apply(this, arguments);
  };
  // bytes received: every finished resource (fetch, XHR, images, event streams once closed)
  performance.setResourceTimingBufferSize(100000);
  bench.received = () => performance.getEntriesByType('resource').reduce((total, e) => total + (e.encodedBodySize || 0), 0);
  const originalSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    bench.requests += 1;
    bench.sentBytes += size(body);
    return originalSend.apply(this, arguments);
  };
  document.addEventListener('pointerup', () => bench.pointerups.push(performance.now()), true);
  const seen = new WeakMap();
  const check = (img) => {
    if (!img.matches || !img.matches(SELECTOR) || !img.getAttribute('src') || seen.get(img) === img.src) return;
    seen.set(img, img.src);
    const done = () => bench.pictures.push(performance.now());
    if (img.complete && img.naturalWidth) done(); else img.addEventListener('load', done, {once: true});
  };
  const observe = () => new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === 'attributes') check(m.target);
      for (const node of m.addedNodes || []) {
        if (node.nodeType !== 1) continue;
        check(node);
        if (node.querySelectorAll) node.querySelectorAll('img').forEach(check);
      }
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  if (document.body) observe(); else document.addEventListener('DOMContentLoaded', observe);
})();
"""


@contextmanager
def app_process(extra_env: dict | None = None, timeout: float = 300, tree: Path = REPO_ROOT):
    """`python app.py` of `tree` (default: this one) on a free loopback port (its shipped models, offline);
    yields (url, process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    env = {**os.environ, "GRADIO_SERVER_NAME": "127.0.0.1", "GRADIO_SERVER_PORT": str(port),
           "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", **(extra_env or {})}
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, str(Path(tree) / "app.py")], cwd=tree, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            wait_until_up(url, process, timeout=timeout)
        except Exception as error:
            log.seek(0)
            raise RuntimeError(f"{error}; app log: {log.read().decode(errors='replace')[-1500:]}") from None
        yield url, process
    finally:
        stop_app(process, log)


def _stroke(page, box, index: int) -> None:
    """One straight stroke, a different one each time (few mouse steps: software rendering is slow)."""
    row, column = divmod(index, 4)
    y0 = 0.2 + 0.15 * (row % 5)
    x0 = 0.15 + 0.05 * column
    page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + (x0 + 0.5) * box["width"], box["y"] + (y0 + 0.08) * box["height"], steps=4)
    page.mouse.up()


# the first picture that finished loading after the last pointerup (a picture shown while the stroke
# was still being drawn does not count), minus that pointerup; null while there is none
LATENCY_JS = """() => { const b = window.__bench; const up = b.pointerups[b.pointerups.length - 1];
    const after = b.pictures.filter((t) => t > up); return after.length ? after[0] - up : null; }"""


def _wait_for_picture(page, timeout_s: float) -> bool:
    try:
        page.wait_for_function(f"({LATENCY_JS})() !== null", timeout=timeout_s * 1000, polling=20)
        return True
    except Exception as error:  # playwright's TimeoutError
        if "Timeout" in type(error).__name__ or "Timeout" in str(error):
            return False
        raise


def measure_draw_path(browser, url: str, path: dict, strokes: int, first_timeout_s: float,
                      stroke_timeout_s: float) -> dict:
    """A fresh page: the first stroke, then `strokes` more, each waiting for its picture."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(INSTRUMENT_JS.replace("SELECTOR", json.dumps(path["picture"])))
    try:
        started = time.perf_counter()
        page.goto(url)
        page.wait_for_selector(path["ready"], timeout=120_000)
        result: dict = {"page_ready_s": round(time.perf_counter() - started, 2)}
        page.wait_for_timeout(300)
        box = page.locator(path["canvas"]).first.bounding_box()

        def traffic() -> list[int]:
            return page.evaluate("[window.__bench.requests, window.__bench.sentBytes, window.__bench.received()]")

        def one(index: int, timeout_s: float) -> tuple:
            before = traffic()
            _stroke(page, box, index)
            ok = _wait_for_picture(page, timeout_s)
            latency = page.evaluate(LATENCY_JS) if ok else None
            page.wait_for_timeout(150)  # a person's pause; requests of this stroke that end after the picture
            return (latency, *(after - start for after, start in zip(traffic(), before)))

        first, *first_traffic = one(0, first_timeout_s)
        result["first_stroke"] = ({"picture": True, "ms": round(first, 1)} if first is not None else
                                  {"picture": False, "waited_s": first_timeout_s})
        latencies, missed, per_stroke = [], 0, [first_traffic]
        for index in range(1, strokes + 1):
            latency, *stroke_traffic = one(index, stroke_timeout_s)
            per_stroke.append(stroke_traffic)
            if latency is None:
                missed += 1
            else:
                latencies.append(latency)
        result["strokes"] = strokes
        result["mouseup_to_picture_ms"] = percentiles(latencies) if latencies else None
        result["strokes_without_picture"] = missed
        result["requests_per_stroke"] = round(statistics.mean(t[0] for t in per_stroke), 1)
        result["bytes_sent_per_stroke"] = round(statistics.median(t[1] for t in per_stroke))
        result["bytes_received_per_stroke"] = round(statistics.median(t[2] for t in per_stroke))
        if "#draw-surface" in path["canvas"]:
            stats = page.evaluate("document.querySelector('#draw-surface .p2p').__p2p.state.stats")
            server = [entry["serverMs"] for entry in stats if entry.get("serverMs") is not None]
            if server:
                result["server_ms_in_handler"] = percentiles(server)
        return result
    finally:
        page.close()


def browser_section(strokes: int = 12, first_timeout_s: float = 60, stroke_timeout_s: float = 60) -> dict:
    """Each Draw path (today one: the drawing surface) in this run, on the shipped models."""
    import shutil

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"error": "playwright is not installed (pip install -r requirements-dev.txt)"}
    executable = shutil.which("chromium")
    if executable is None:
        return {"error": "Debian chromium is not installed (apt-get install chromium)"}
    result: dict = {"load_average_1min_before": round(os.getloadavg()[0], 2), "paths": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for name, path in DRAW_PATHS.items():
                try:
                    with app_process() as (url, _):
                        result["paths"][name] = measure_draw_path(browser, url, path, strokes, first_timeout_s,
                                                                  stroke_timeout_s)
                except Exception as error:  # reported, and the other path still runs
                    result["paths"][name] = {"error": f"{type(error).__name__}: {str(error)[:500]}"}
        finally:
            browser.close()
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    return result


def browser_table(result: dict) -> str:
    """The browser section as a Markdown table (what the README shows)."""
    rows = ["| path | first stroke | mouseup → picture p50 / p95 | strokes without picture | requests / stroke "
            "| bytes sent / received per stroke |", "|---|---|---|---|---|---|"]
    for name, entry in result.get("paths", {}).items():
        if "error" in entry:
            rows.append(f"| {name} | error: {entry['error'][:80]} | | | | |")
            continue
        first = entry["first_stroke"]
        first_text = f"picture in {first['ms']:.0f} ms" if first["picture"] else f"no picture in {first['waited_s']:.0f} s"
        latency = entry["mouseup_to_picture_ms"]
        latency_text = f"{latency['p50']:.0f} / {latency['p95']:.0f} ms (n={latency['n']})" if latency else "—"
        rows.append(f"| {name} | {first_text} | {latency_text} | {entry['strokes_without_picture']} of "
                    f"{entry['strokes']} | {entry['requests_per_stroke']} | {entry['bytes_sent_per_stroke']:,} / "
                    f"{entry['bytes_received_per_stroke']:,} |")
    return "\n".join(rows)


def get_args_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pix2pix_demo.app_benchmark",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--browser", action="store_true",
                        help="the Draw tab's drawing surface in headless chromium (browser_section)")
    parser.add_argument("--strokes", type=int, default=12, help="with --browser: timed strokes")
    parser.add_argument("--full", action="store_true", help="the full load test (16 clients x 50 requests; default 16 x 5)")
    return parser


def main(argv=None) -> None:
    args = get_args_parser().parse_args(argv)  # --help prints this and exits before anything starts
    if args.browser:
        section = browser_section(strokes=args.strokes)
        print(json.dumps(section, indent=2))
        print(browser_table(section))
    else:
        print(json.dumps(benchmark_section(full=args.full), indent=2))


if __name__ == "__main__":
    main()
