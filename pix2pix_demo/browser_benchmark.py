"""Many people drawing at once, in a real browser (issue 28 item 9).

    python -m pix2pix_demo.browser_benchmark --pages 10                    # this tree's app.py
    python -m pix2pix_demo.browser_benchmark --pages 10 --tree /work/old --tree .   # two trees side by side

One headless Debian chromium (never a downloaded browser), one browser context per page: its own cookies
and Gradio session, a separate visitor. Every page draws `--strokes` strokes at a person's pace: the next
stroke starts 1-2 s (`--gap`) after the previous one began, whatever its picture is doing; each stroke is a
few mouse steps (software rendering is slow). Each stroke is timed inside its page, from its mouseup to
the first new picture that finished loading before the page's next stroke (or within `--timeout` after the
last one); a stroke without such a picture is *missed* (its picture was dropped as stale, or came too
late) and counts as slower than any picture in the percentiles. Before the timed strokes every page draws
one untimed stroke (model loading, first requests).

`--tree PATH` (repeatable) starts `python app.py` of each tree on a free port (one after the other, before
any drawing), and the trees take turns, `--rounds` times each (the order alternates), so both meet the same
machine; `--url URL` measures apps already running. The browser shares the machine with the servers: on
a 2-core machine ten pages' rendering competes with the model for the CPU (the load averages are reported).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import shutil
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

from .app_benchmark import CHROMIUM_ARGS, INSTRUMENT_JS, REPO_ROOT, app_process

READY = "#draw-surface .p2p[data-ready='1']"
CANVAS = "#draw-surface canvas"
PICTURE = "#draw-surface img.p2p-picture"
SURFACE = "#draw-surface"
# the page's record: pointerup times, picture load times (performance.now(), ms) and the surface's own request log
RECORD_JS = """() => { const s = document.querySelector('#draw-surface .p2p');
    return {ups: window.__bench.pointerups, pictures: window.__bench.pictures,
            stats: s && s.__p2p ? s.__p2p.state.stats : []}; }"""


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`; math.inf among them counts as slower than anything."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def stroke_latencies(ups: list[float], pictures: list[float], first: int, timeout_ms: float) -> list[float]:
    """For each pointerup from index `first` on: the first picture after it and before the next pointerup
    (the last one: within `timeout_ms`), minus the pointerup, in ms; math.inf when there is none."""
    latencies = []
    for index in range(first, len(ups)):
        end = ups[index + 1] if index + 1 < len(ups) else ups[index] + timeout_ms
        after = [t for t in pictures if ups[index] < t < end]
        latencies.append(min(after) - ups[index] if after else math.inf)
    return latencies


def summary(latencies: list[float]) -> dict:
    """p50 / p95 (None where it falls on a missed stroke), the number of strokes and of missed ones."""
    def value(q):
        v = percentile(latencies, q)
        return None if math.isinf(v) else round(v, 1)

    return {"p50": value(0.5), "p95": value(0.95), "n": len(latencies),
            "missed": sum(1 for v in latencies if math.isinf(v))}


async def _stroke(page, box: dict, index: int) -> None:
    """One straight stroke, a different one each time, in 4 mouse steps."""
    row, column = divmod(index, 4)
    y0, x0 = 0.15 + 0.1 * (row % 8), 0.12 + 0.06 * column
    await page.mouse.move(box["x"] + x0 * box["width"], box["y"] + y0 * box["height"])
    await page.mouse.down()
    await page.mouse.move(box["x"] + (x0 + 0.45) * box["width"], box["y"] + (y0 + 0.06) * box["height"], steps=4)
    await page.mouse.up()


async def _draw(page, strokes: int, gaps: list[float], delay: float, offset: int, timeout_s: float) -> None:
    box = await page.locator(CANVAS).first.bounding_box()
    await asyncio.sleep(delay)
    loop = asyncio.get_running_loop()
    for index in range(strokes):
        began = loop.time()
        await _stroke(page, box, offset + index)
        if index + 1 < strokes:
            await asyncio.sleep(max(0.0, gaps[index] - (loop.time() - began)))
    # until the last stroke has its picture (or the time-out): one poll every 50 ms, only now
    last = """() => { const b = window.__bench, up = b.pointerups[b.pointerups.length - 1];
        return b.pictures.some((t) => t > up); }"""
    try:
        await page.wait_for_function(last, timeout=timeout_s * 1000, polling=50)
    except Exception as error:  # playwright's TimeoutError: counted as missed from the page's record
        if "Timeout" not in type(error).__name__ and "Timeout" not in str(error):
            raise


async def run_pages(browser, url: str, pages: int, strokes: int, gap: tuple[float, float], timeout_s: float,
                    seed: int = 0, viewport=(1280, 900), screenshot: Path | None = None) -> dict:
    """`pages` visitors draw at once on the app at `url`; per page and overall mouseup -> picture numbers."""
    rng = random.Random(seed)
    contexts = [await browser.new_context(viewport={"width": viewport[0], "height": viewport[1]}) for _ in range(pages)]
    try:
        opened = []
        for context in contexts:
            page = await context.new_page()
            await page.add_init_script(INSTRUMENT_JS.replace("SELECTOR", json.dumps(PICTURE)))
            opened.append(page)
        await asyncio.gather(*(page.goto(url) for page in opened))
        await asyncio.gather(*(page.wait_for_selector(READY, timeout=180_000) for page in opened))
        # one untimed stroke each (first requests, model loading), at once
        await asyncio.gather(*(_draw(page, 1, [], 0.0, 30 + index, timeout_s) for index, page in enumerate(opened)))
        warm = [len((await page.evaluate(RECORD_JS))["ups"]) for page in opened]
        load_before = os.getloadavg()[0]
        plans = [([rng.uniform(*gap) for _ in range(strokes)], rng.uniform(0, gap[1])) for _ in opened]
        started = time.perf_counter()
        await asyncio.gather(*(_draw(page, strokes, gaps, delay, index * 3, timeout_s)
                               for index, (page, (gaps, delay)) in enumerate(zip(opened, plans))))
        wall = time.perf_counter() - started
        load_after = os.getloadavg()[0]
        rows, every = [], []
        for index, page in enumerate(opened):
            record = await page.evaluate(RECORD_JS)
            latencies = stroke_latencies(record["ups"], record["pictures"], warm[index], timeout_s * 1000)
            every += latencies
            stats = record["stats"][-3 * strokes:]
            server = [entry["serverMs"] for entry in stats if entry.get("serverMs") is not None]
            batches = [entry["batch"] for entry in stats if entry.get("batch")]
            rows.append({**summary(latencies), "requests": len(record["stats"]),
                         "dropped_as_stale": sum(1 for entry in record["stats"] if entry.get("dropped")),
                         "server_ms_p50": round(statistics.median(server), 1) if server else None,
                         "mean_batch": round(statistics.mean(batches), 2) if batches else None})
        if screenshot is not None:
            await _grid_screenshot(opened, screenshot)
    finally:
        for context in contexts:
            await context.close()
    finite = [row for row in rows if row["p95"] is not None]
    return {"url": url, "pages": rows, "all_strokes": summary(every), "wall_s": round(wall, 1),
            "worst_page_p50_ms": max((row["p50"] or math.inf) for row in rows),
            "worst_page_p95_ms": max((row["p95"] or math.inf) for row in rows) if len(finite) == len(rows) else None,
            "load_average_1min": [round(load_before, 2), round(load_after, 2)]}


async def _grid_screenshot(pages, path: Path) -> None:
    """Every page's drawing surface (drawing and picture), side by side in one PNG."""
    import io

    from PIL import Image

    shots = []
    for page in pages:
        shots.append(Image.open(io.BytesIO(await page.locator(SURFACE).screenshot())).convert("RGB"))
    width = max(shot.width for shot in shots) // 2
    scaled = [shot.resize((width, round(shot.height * width / shot.width))) for shot in shots]
    columns = min(5, len(scaled))
    rows = math.ceil(len(scaled) / columns)
    height = max(shot.height for shot in scaled)
    grid = Image.new("RGB", (columns * width, rows * height), "white")
    for index, shot in enumerate(scaled):
        grid.paste(shot, ((index % columns) * width, (index // columns) * height))
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(path)


async def _measure(targets: list[tuple[str, str]], args) -> list[dict]:
    from playwright.async_api import async_playwright

    runs = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        try:
            for round_index in range(args.rounds):
                order = targets if round_index % 2 == 0 else targets[::-1]
                for label, url in order:
                    shot = None
                    if args.screenshots:
                        name = "".join(c if c.isalnum() else "-" for c in label).strip("-")[-40:]
                        shot = Path(args.screenshots) / f"pages-{name}-round{round_index + 1}.png"
                    result = await run_pages(browser, url, args.pages, args.strokes, tuple(args.gap), args.timeout,
                                             seed=round_index, screenshot=shot)
                    runs.append({"target": label, "round": round_index + 1, **result})
                    print(one_line(runs[-1]), flush=True)
                    if args.json:  # after every run: a run cut short still leaves the runs before it
                        Path(args.json).write_text(json.dumps({"runs": runs}, indent=2))
        finally:
            await browser.close()
    return runs


def one_line(run: dict) -> str:
    every = run["all_strokes"]
    worst50, worst95 = run["worst_page_p50_ms"], run["worst_page_p95_ms"]
    server = [row["server_ms_p50"] for row in run["pages"] if row["server_ms_p50"] is not None]
    return (f"{run['target']} round {run['round']}: all strokes p50 {every['p50']} / p95 {every['p95']} ms "
            f"(n={every['n']}, missed {every['missed']}); worst page p50 {worst50} / p95 {worst95} ms; pages' server "
            f"p50 {min(server, default=None)}-{max(server, default=None)} ms; load {run['load_average_1min'][0]} -> "
            f"{run['load_average_1min'][1]}; {run['wall_s']} s")


def table(runs: list[dict]) -> str:
    """One row per run, then every page's p50 / p95."""
    lines = ["| target (round) | all strokes p50 / p95 | missed | worst page p50 / p95 | pages' p50 / p95 (ms) | load |",
             "|---|---|---|---|---|---|"]
    for run in runs:
        every = run["all_strokes"]
        pages = ", ".join(f"{row['p50']}/{row['p95']}" for row in run["pages"])
        lines.append(f"| {run['target']} ({run['round']}) | {every['p50']} / {every['p95']} ms | {every['missed']} of "
                     f"{every['n']} | {run['worst_page_p50_ms']} / {run['worst_page_p95_ms']} ms | {pages} | "
                     f"{run['load_average_1min'][0]} -> {run['load_average_1min'][1]} |")
    return "\n".join(lines)


def get_args_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pix2pix_demo.browser_benchmark",
                                     description=__doc__.split("\n\n")[0] + " " + __doc__.split("\n\n")[2],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10, help="people drawing at once, one browser context each (10)")
    parser.add_argument("--strokes", type=int, default=6, help="timed strokes per page (6), after one untimed stroke")
    parser.add_argument("--gap", type=float, nargs=2, default=[1.0, 2.0], metavar=("MIN_S", "MAX_S"),
                        help="seconds from one stroke's start to the next one's, drawn uniformly (1 2)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds the last stroke waits for its picture (20)")
    parser.add_argument("--tree", action="append", default=[],
                        help="a source tree whose app.py to start (repeatable: the trees take turns); default: this one")
    parser.add_argument("--url", action="append", default=[], help="an app already running (repeatable)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per tree or URL, the order alternating (1)")
    parser.add_argument("--screenshots", default=None, metavar="DIR",
                        help="save every page's drawing surface at the end of each run, as one PNG grid per run")
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the results to this JSON file")
    return parser


def main(argv=None) -> None:
    args = get_args_parser().parse_args(argv)  # --help prints this and exits before anything starts
    if args.pages < 1 or args.strokes < 1 or args.rounds < 1 or not 0 < args.gap[0] <= args.gap[1]:
        raise SystemExit("--pages, --strokes and --rounds must be at least 1, and 0 < MIN_S <= MAX_S for --gap")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        raise SystemExit("playwright is not installed (pip install -r requirements-dev.txt)") from None
    if shutil.which("chromium") is None:
        raise SystemExit("Debian chromium is not installed (apt-get install chromium)")
    trees = [Path(tree).resolve() for tree in args.tree] or ([] if args.url else [REPO_ROOT])
    for tree in trees:
        if not (tree / "app.py").is_file():
            raise SystemExit(f"{tree} has no app.py")
    result = {"pages": args.pages, "strokes_per_page": args.strokes, "gap_s": args.gap, "cpu_count": os.cpu_count(),
              "load_average_1min_before": round(os.getloadavg()[0], 2)}
    with ExitStack() as stack:
        started = [stack.enter_context(app_process(tree=tree)) for tree in trees]  # every app before any drawing
        targets = [(str(tree), url) for tree, (url, _) in zip(trees, started)] + [(url, url) for url in args.url]
        result["runs"] = asyncio.run(_measure(targets, args))
    result["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result, indent=2))
    print(table(result["runs"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
