"""How long a re-index takes when nothing changed, and that it embeds nothing.

Creates N small files in nested folders, indexes them once with the real model, then times
further runs of ``Trove.index`` in-process and of the ``trove index`` command (which adds
Python start-up and imports).

    python benchmarks/noop_reindex.py --files 5000
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.recording import RecordingEmbedder
from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.events import Finished, ScanDone
from core.paths import Locations

TOPICS = ["budget", "garden", "invoice", "travel", "recipe", "meeting", "lease", "backup"]


def make_files(root: Path, count: int) -> None:
    for n in range(count):
        folder = root / f"area{n % 10}" / f"project{n % 50}"
        folder.mkdir(parents=True, exist_ok=True)
        topic = TOPICS[n % len(TOPICS)]
        (folder / f"note{n:05}.txt").write_text(f"Note {n} about the {topic}, item {n * 7}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trove-noop-"))
    make_files(work / "docs", args.files)
    places = Locations(data=work / "home", config=work / "home", cache=work / "home")
    recorder = RecordingEmbedder(SentenceTransformerEmbedder())
    with Trove.open(places, embedder=recorder) as trove:
        trove.add_folder(work / "docs")
        started = time.perf_counter()
        first = next(e for e in trove.index() if isinstance(e, Finished))
        print(
            f"first index            {first.files_indexed} files, "
            f"{time.perf_counter() - started:.1f} s"
        )
        embedded_before = len(recorder.inputs)
        timings = []
        for _ in range(args.runs):
            started = time.perf_counter()
            events = list(trove.index())
            timings.append(time.perf_counter() - started)
            scan = next(e for e in events if isinstance(e, ScanDone))
            assert scan.unchanged == args.files, scan
        embedded = len(recorder.inputs) - embedded_before

    env = dict(os.environ, TROVE_HOME=str(work / "home"))
    trove_cli = str(Path(sys.executable).parent / "trove")
    cli_timings = []
    for _ in range(args.runs):
        started = time.perf_counter()
        subprocess.run([trove_cli, "index"], env=env, check=True, capture_output=True)
        cli_timings.append(time.perf_counter() - started)

    print(
        f"no-op re-index         {args.files} files, {args.runs} runs, {embedded} passages embedded"
    )
    print(
        f"  in-process           median {statistics.median(timings):.2f} s, "
        f"max {max(timings):.2f} s"
    )
    print(
        f"  `trove index` CLI    median {statistics.median(cli_timings):.2f} s, "
        f"max {max(cli_timings):.2f} s (target <= 3 s)"
    )


if __name__ == "__main__":
    main()
