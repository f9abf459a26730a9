"""How quickly a saved file becomes searchable while `trove watch` runs.

    .venv/bin/python -m benchmarks.watch_latency [--edits 50] [--idle-files 10000]

1. Latency, real model: a watched folder of a few files; each edit rewrites one file
   with new unique words; the time from the write until a search for those words
   returns that file first.  Prints p50 and p95 (target: p95 <= 2 s).
2. Burst, real model: 2,000 mixed operations (create, modify, rename, move, delete);
   the time until the index holds exactly the files on disk with their current hashes.
3. Idle cost: CPU used by a watcher over 10,000 files during 30 s of quiet (a hashing
   stand-in model, since an idle watcher embeds nothing).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.burst import change_randomly, write_words
from core.app import Trove
from core.embedding import Embedder, SentenceTransformerEmbedder
from core.indexer import file_digest
from core.paths import Locations
from core.settings import Settings
from core.watch.watcher import Watcher, WatchOptions

VOCABULARY = (
    "harbor lantern copper meadow glacier violin orchard canyon saffron turbine falcon "
    "quartz lagoon pepper cobalt tundra marble walnut beacon ember prairie cedar compass "
    "velvet granite harvest thunder coral maple summit reef anchor willow basalt"
).split()


def open_trove(home: Path, embedder: Embedder) -> Trove:
    return Trove.open(Locations(home, home, home / "cache"), settings=Settings(), embedder=embedder)


def wait(condition: object, deadline_s: float, every_s: float = 0.01) -> float:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        if time.monotonic() - started > deadline_s:
            raise TimeoutError("condition not met")
        time.sleep(every_s)
    return time.monotonic() - started


def latency(base: Path, embedder: Embedder, edits: int) -> None:
    folder = base / "latency"
    folder.mkdir()
    rng = random.Random(1)
    files = [folder / f"note{i}.txt" for i in range(5)]
    for path in files:
        path.write_text(" ".join(rng.sample(VOCABULARY, 12)) + "\n", encoding="utf-8")
    watched, reader = open_trove(base / "home-l", embedder), open_trove(base / "home-l", embedder)
    watched.add_folder(folder)
    watcher = Watcher(watched, WatchOptions())
    watcher.start()
    try:
        wait(lambda: len(reader.search("harbor", 10)) == len(files), 120)
        timings = []
        for number in range(edits):
            path = files[number % len(files)]
            code = f"zq{number:03d}x{rng.randrange(10**6):06d}"
            words = " ".join(rng.sample(VOCABULARY, 6))
            query = f"{code} {words}"
            written = time.monotonic()
            path.write_text(f"{query}\nA fresh note about {words}.\n", encoding="utf-8")
            wait(lambda q=query, p=str(path): _top(reader, q) == p, 30)
            timings.append(time.monotonic() - written)
    finally:
        watcher.stop()
        watched.close()
        reader.close()
    timings.sort()
    p95 = timings[max(0, round(0.95 * len(timings)) - 1)]
    print(
        f"latency over {edits} edits: p50 {statistics.median(timings):.2f}s, "
        f"p95 {p95:.2f}s, max {timings[-1]:.2f}s"
    )


def burst(base: Path, embedder: Embedder, operations: int = 2_000) -> None:
    roots = [base / "burst-a", base / "burst-b"]
    rng = random.Random(2)
    for root in roots:
        for number in range(150):
            write_words(root / f"d{number % 10}" / f"seed{number}.txt", rng, VOCABULARY)
    watched, reader = open_trove(base / "home-b", embedder), open_trove(base / "home-b", embedder)
    for root in roots:
        watched.add_folder(root)
    watcher = Watcher(watched, WatchOptions())
    watcher.start()
    try:
        wait(lambda: _converged(reader, roots), 600, 0.2)
        started = time.monotonic()
        change_randomly(roots, rng, operations, VOCABULARY)
        ended = time.monotonic()
        wait(lambda: _converged(reader, roots), 600, 0.1)
        done = time.monotonic()
    finally:
        watcher.stop()
        watched.close()
        reader.close()
    print(
        f"burst of {operations} operations: made in {ended - started:.1f}s; index converged "
        f"{done - started:.1f}s after the first ({done - ended:.1f}s after the last)"
    )


def idle_cpu(base: Path, files: int, seconds: float) -> None:
    from tests.fakes import FakeEmbedder  # an idle watcher embeds nothing

    folder = base / "idle"
    for number in range(files):
        path = folder / f"d{number % 100}" / f"f{number}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"file {number}\n", encoding="utf-8")
    embedder = FakeEmbedder()
    for poll in (False, True):
        home = base / f"home-idle-{poll}"
        trove = open_trove(home, embedder)  # type: ignore[arg-type]
        trove.add_folder(folder)
        list(trove.index())
        options = WatchOptions(poll=frozenset({str(folder)}) if poll else frozenset())
        watcher = Watcher(trove, options)
        started = time.monotonic()
        watcher.start()
        wait(lambda w=watcher, t=started: w.idle and time.monotonic() - t > 1, 120)
        ready = time.monotonic() - started
        before, clock = _cpu(), time.monotonic()
        time.sleep(seconds)
        used, spent = _cpu() - before, time.monotonic() - clock
        watcher.stop()
        trove.close()
        kind = "polling every 5s" if poll else "native events"
        print(
            f"idle watcher, {files} files, {kind}: {used:.2f}s CPU over {spent:.0f}s "
            f"({100 * used / spent:.1f}% of a core); start-up catch-up {ready:.1f}s"
        )


def _top(trove: Trove, query: str) -> str | None:
    results = trove.search(query, 3)
    return results[0].path if results else None


def _converged(reader: Trove, roots: list[Path]) -> bool:
    on_disk = {str(p): p for root in roots for p in root.rglob("*.txt")}
    rows = reader.store.conn.execute("SELECT path, hash, state FROM files").fetchall()
    if len(rows) != len(on_disk) or any(state != "indexed" for _, _, state in rows):
        return False
    try:
        return all(path in on_disk and file_digest(path) == digest for path, digest, _ in rows)
    except OSError:
        return False


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--idle-files", type=int, default=10_000)
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    args = parser.parse_args()
    embedder = SentenceTransformerEmbedder()
    _ = embedder.model
    print(f"threads alive at start: {threading.active_count()}; pid {os.getpid()}")
    with tempfile.TemporaryDirectory(prefix="trove-watch-bench-") as temporary:
        base = Path(os.path.realpath(temporary))
        latency(base, embedder, args.edits)
        burst(base, embedder)
        idle_cpu(base, args.idle_files, args.idle_seconds)


if __name__ == "__main__":
    main()
