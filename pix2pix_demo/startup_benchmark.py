"""How long `python app.py` takes to answer: process start -> first HTTP 200 of `/`, wall seconds and the
server process's CPU seconds at that moment (utime + stime from /proc, Linux), for one or more checkouts
started alternately on free ports.

    python -m pix2pix_demo.startup_benchmark [TREE ...] [--runs 3] [--json]

TREE is a folder holding app.py (default: this checkout). Measure on a quiet machine: under load the wall
time mostly says how much CPU the process got.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (None where /proc is not there)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_start(tree: Path, timeout: float = 120.0) -> dict:
    """Start `python app.py` in `tree` and poll `/` until it answers 200; then stop it."""
    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "OMP_NUM_THREADS": "1"}
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "app.py"], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
            if process.poll() is not None:
                raise RuntimeError(f"{tree}/app.py exited before answering: {process.stderr.read().decode()[-500:]}")
            if time.perf_counter() - start > timeout:
                raise RuntimeError(f"{tree}/app.py did not answer within {timeout:.0f} s")
        wall, cpu = time.perf_counter() - start, cpu_seconds(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    return {"wall_s": round(wall, 2), "cpu_s": None if cpu is None else round(cpu, 2),
            "load1": round(os.getloadavg()[0], 2)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path, default=[Path(__file__).resolve().parent.parent],
                        help="folders holding app.py (default: this checkout)")
    parser.add_argument("--runs", type=int, default=3, help="start-ups per tree (trees alternate)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    missing = [str(t) for t in args.trees if not (t / "app.py").is_file()]
    if missing:
        raise SystemExit(f"No app.py in {', '.join(missing)}.")
    results = {str(t): [] for t in args.trees}
    for _ in range(args.runs):
        for tree in args.trees:
            results[str(tree)].append(time_start(tree))
            if not args.json:
                print(tree, results[str(tree)][-1], flush=True)
    if args.json:
        print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
