"""Start-up of the desktop app: process start to window shown, and to first results.

Prepares an index of the sample folder once (through the command line), then starts
`trove gui --search ...` RUNS times without a screen and reads the moments the app
prints when TROVE_STARTUP_PROBE is set.  Prints each run and the medians.

    .venv/bin/python benchmarks/gui_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TROVE = Path(sys.executable).with_name("trove")
QUERY = "how frequently does my indoor ficus tree need a drink"


def prepare(home: Path) -> dict[str, str]:
    env = {**os.environ, "TROVE_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    for command in (["add", str(REPO / "resources" / "sample")], ["index"]):
        subprocess.run([str(TROVE), *command], env=env, check=True, capture_output=True)
    return {**env, "TROVE_STARTUP_PROBE": "1"}


def one_run(env: dict[str, str]) -> dict[str, float]:
    started = time.time()
    process = subprocess.Popen(
        [str(TROVE), "gui", "--search", QUERY],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    moments: dict[str, float] = {}
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if not line.startswith("trove-probe "):
                continue
            _, stamp, what = line.split(" ", 2)
            key = what.split()[0] + " " + what.split()[1]
            moments.setdefault(key, float(stamp) - started)
            if key == "results shown" and int(what.split()[2]) > 0:
                break
    finally:
        process.terminate()
        process.wait(30)
    return moments


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trove-startup-") as work:
        env = prepare(Path(work) / "home")
        runs = [one_run(env) for _ in range(args.runs)]
    for i, run in enumerate(runs, 1):
        shown = ", ".join(f"{k} {v:.2f} s" for k, v in sorted(run.items(), key=lambda kv: kv[1]))
        print(f"run {i}: {shown}")
    for key in ("window shown", "model ready", "results shown"):
        values = [run[key] for run in runs if key in run]
        if values:
            print(f"median {key}: {statistics.median(values):.3f} s ({len(values)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
