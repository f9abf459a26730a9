"""Start-up of the desktop app: process start to window shown, and to first results.

Prepares an index of the sample folder once (through the command line), then starts the
window with a search RUNS times and reads the moments the app prints when
TROVE_STARTUP_PROBE is set: window shown, index open, first answer by words (while the
model loads), model ready, first answer by meaning. Prints each run, the minimum and
median of each moment, the longest stall of the window's thread until the answer by
meaning (a 10 ms heartbeat on it), and the process's peak memory (VmHWM) by then.

    .venv/bin/python benchmarks/gui_startup.py [--runs 5]
    python3 benchmarks/gui_startup.py --trove /usr/bin/trove --desktop   # an installed app

Without a screen (no DISPLAY) it runs offscreen; with one (xvfb-run, say) it uses it.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QUERY = "how often does my fig tree need water"
MOMENTS = (
    "window shown",
    "index open",
    "first answer by words",
    "model ready",
    "first answer by meaning",
)


def prepare(trove: Path, home: Path, probe: str = "1") -> dict[str, str]:
    env = {**os.environ, "TROVE_HOME": str(home)}
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    for command in (["add", str(REPO / "resources" / "sample")], ["index"]):
        subprocess.run([str(trove), *command], env=env, check=True, capture_output=True)
    return {**env, "TROVE_STARTUP_PROBE": probe}


def one_run(command: list[str], env: dict[str, str]) -> dict[str, float]:
    started = time.time()
    process = subprocess.Popen(
        [*command, "--search", QUERY],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    moments: dict[str, float] = {}
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("trove-probe "):
                _, stamp, what = line.split(" ", 2)
                if read_moment(moments, what, float(stamp) - started):
                    moments["peak MiB"] = peak_memory_mib(process.pid)
                    break
            else:  # a stall's stacks, with --trace
                sys.stderr.write(line)
    finally:
        process.terminate()
        process.wait(30)
    return moments


def read_moment(moments: dict[str, float], what: str, at: float) -> bool:
    """Note one probe line; True once the first answer by meaning is on screen."""
    stall = re.search(r"longest stall so far (\d+) ms", what)
    if stall:
        moments["longest stall ms"] = float(stall.group(1))
    shown = re.match(r"results shown (\d+) by (\w+)", what)
    if shown is None:
        for moment in ("window shown", "index open", "model ready"):
            if what.startswith(moment):
                moments.setdefault(moment, at)
        return False
    if int(shown.group(1)) == 0:
        return False
    key = f"first answer by {shown.group(2)}"
    moments.setdefault(key, at)
    return key == "first answer by meaning"


def peak_memory_mib(pid: int) -> float:
    """The process's peak resident memory so far (Linux; NaN elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--trove",
        type=Path,
        default=Path(sys.executable).with_name("trove"),
        help="the trove executable (default: the one beside this Python)",
    )
    parser.add_argument(
        "--desktop",
        action="store_true",
        help="start the trove-desktop beside it, as a menu entry does, not `trove gui`",
    )
    parser.add_argument(
        "--trace",
        type=int,
        metavar="MS",
        help="print every thread's stack to stderr whenever the window stalls this long",
    )
    args = parser.parse_args()
    trove = args.trove.resolve()
    command = [str(trove.with_name("trove-desktop"))] if args.desktop else [str(trove), "gui"]
    with tempfile.TemporaryDirectory(prefix="trove-startup-") as work:
        probe = f"trace:{args.trace}" if args.trace else "1"
        env = prepare(trove, Path(work) / "home", probe)
        runs = [one_run(command, env) for _ in range(args.runs)]
    for i, run in enumerate(runs, 1):
        shown = ", ".join(f"{k} {run[k]:.2f} s" for k in MOMENTS if k in run)
        stall = run.get("longest stall ms", float("nan"))
        print(f"run {i}: {shown}, longest GUI stall {stall:.0f} ms, "
              f"peak {run.get('peak MiB', float('nan')):.0f} MiB")  # fmt: skip
    for key in (*MOMENTS, "longest stall ms", "peak MiB"):
        values = [run[key] for run in runs if key in run]
        if values:
            unit = {"peak MiB": "MiB", "longest stall ms": "ms"}.get(key, "s")
            print(
                f"{key}: min {min(values):.3f} {unit}, median {statistics.median(values):.3f} "
                f"{unit} ({len(values)} runs)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
