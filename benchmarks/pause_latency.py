"""What the status bar can show while the watcher indexes, and how fast pause pauses.

    .venv/bin/python -m benchmarks.pause_latency [--small 250] [--pdf-pages 400]

Indexes a folder of mixed documents (small abstracts, the robustness documents, large
PDFs and a large text file) with the real model through a running ``Watcher``, as the
desktop app does, and prints:

1. start-up: from adding the folder to the plan (ScanDone) and to the first Progress,
   the longest gap between Progress events, and the first Progress that moved inside
   a large file;
2. pause: after ``--pause-after`` seconds of indexing, ``pause()``; the time from it
   to the last write (the last committed transaction), to the end of the pass, how many
   files were indexed after it, and the CPU seconds the process and its readers used in
   the 3 s after the pass ended;
3. resume: the first Progress after ``resume()`` (a cumulative count continues);
   pause and resume are repeated ``--cycles`` times, ``--resume-for`` seconds apart.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

from benchmarks.recording import RecordingEmbedder
from core.app import Trove
from core.embedding import SentenceTransformerEmbedder
from core.events import Progress, ScanDone
from core.paths import Locations
from core.settings import Settings
from core.watch.watcher import Batch, Watcher, WatchEvent, WatchOptions
from tests.test_extract_pdf_docx import make_pdf

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WORDS = (
    "The tide tables for the northern harbour list every ferry crossing of the week, "
    "with the pilot's notes on currents, the lighthouse keeper's log and the weather. "
)


def build_folder(folder: Path, small: int, pdf_pages: int) -> int:
    count = 0
    with open(SHARED / "eval" / "scifact" / "corpus.jsonl", encoding="utf-8") as corpus:
        for line in corpus:
            doc = json.loads(line)
            (folder / f"{doc['_id']}.txt").write_text(doc["title"] + "\n\n" + doc["text"])
            count += 1
            if count == small:
                break
    robust = SHARED / "docs_robustness"
    for path in robust.rglob("*"):
        if path.is_file() and path.name != "MANIFEST.json":
            shutil.copy(path, folder / f"r_{path.parent.name}_{path.name}")
            count += 1
    for n in range(3):
        pages = [f"Page {p} of report {n}. " + WORDS * 12 for p in range(pdf_pages)]
        make_pdf(folder / f"big_report_{n}.pdf", pages)  # type: ignore[arg-type]
        count += 1
    (folder / "big_log.txt").write_text(WORDS * 6000)
    return count + 1


class Timed(RecordingEmbedder):
    """Also notes when each call started, and its size, while it is still running."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        super().__init__(inner)
        self.calls: list[tuple[float, int]] = []

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        self.calls.append((time.monotonic(), len(texts)))
        return super().embed_documents(texts)


class Recorder:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.events: list[tuple[float, WatchEvent]] = []
        self.writes: list[float] = []
        self.changed = threading.Condition()

    def now(self) -> float:
        return time.monotonic() - self.started

    def on_event(self, event: WatchEvent) -> None:
        with self.changed:
            self.events.append((self.now(), event))
            self.changed.notify_all()

    def first(self, kind: type, after: float = 0.0) -> tuple[float, object] | None:
        return next(((t, e) for t, e in self.events if isinstance(e, kind) and t >= after), None)


def record_writes(trove: Trove, recorder: Recorder) -> None:
    original = trove.store.transaction

    @contextlib.contextmanager
    def transaction() -> Iterator[None]:
        with original():
            yield
        recorder.writes.append(recorder.now())

    trove.store.transaction = transaction  # type: ignore[method-assign]


def cpu_seconds() -> float:
    """CPU time of this process and of its living children (the readers)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = usage.ru_utime + usage.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def describe(progress: Progress) -> str:
    inside = ""
    if getattr(progress, "reading", False):
        inside = " (reading)"
    elif getattr(progress, "file_chunks", 0):
        inside = f" ({progress.file_chunks_done} of {progress.file_chunks} passages)"
    name = os.path.basename(progress.current)
    return f"{progress.files_done} of {progress.files_total} files, {name}{inside}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=250)
    parser.add_argument("--pdf-pages", type=int, default=400)
    parser.add_argument("--pause-after", type=float, default=25.0)
    parser.add_argument("--resume-for", type=float, default=15.0)
    parser.add_argument("--cycles", type=int, default=3, help="pause and resume this often")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="trove-pause-"))
    folder = work / "docs"
    folder.mkdir()
    files = build_folder(folder, args.small, args.pdf_pages)
    model = SentenceTransformerEmbedder()
    model.embed_query("warm up")
    embedder = Timed(model)
    places = Locations(work / "home", work / "home", work / "home" / "cache")
    trove = Trove.open(places, settings=Settings(), embedder=embedder)
    recorder = Recorder()
    record_writes(trove, recorder)
    watcher = Watcher(trove, WatchOptions())
    watcher.start(recorder.on_event)
    try:
        print(f"{files} files in {folder}")
        added = recorder.now()
        watcher.submit(lambda: trove.add_folder(folder)).result()
        time.sleep(args.pause_after)
        report_start(recorder, added)
        report_calls(embedder, recorder.started + added)
        for _ in range(args.cycles):
            measure_pause(trove, watcher, recorder)
            resumed = recorder.now()
            watcher.resume()
            time.sleep(args.resume_for)
            first = recorder.first(Progress, resumed)
            if first is not None:
                print(
                    f"resume: first progress after {first[0] - resumed:.1f} s: {describe(first[1])}"  # type: ignore[arg-type]
                )
    finally:
        watcher.pause()
        watcher.stop()
        trove.close()
        shutil.rmtree(work, ignore_errors=True)


def report_calls(embedder: Timed, added: float) -> None:
    durations = [b - a for a, b in embedder.intervals]
    for n, (start, size) in enumerate(embedder.calls[:6]):
        took = f"took {durations[n]:.1f} s" if n < len(durations) else "still running"
        print(f"   model call {n + 1}: {size} passages at {start - added:.1f} s, {took}")
    if durations:
        print(f"start: {len(embedder.calls)} model calls, longest {max(durations):.1f} s")


def _moves(progress: Progress) -> bool:
    """Whether it shows more than the plan: a file done, or passages inside one."""
    return progress.files_done > 0 or getattr(progress, "file_chunks_done", 0) > 0


def report_start(recorder: Recorder, added: float) -> None:
    scan = recorder.first(ScanDone)
    progress = [(t, e) for t, e in recorder.events if isinstance(e, Progress)]
    if scan is not None:
        print(f"start: plan done (ScanDone) {scan[0] - added:.1f} s after adding the folder")
    if not progress:
        print("start: no progress at all")
        return
    print(f"start: first progress {progress[0][0] - added:.1f} s: {describe(progress[0][1])}")
    moved = next((t, e) for t, e in progress if _moves(e))  # type: ignore[arg-type]
    print(f"start: first movement {moved[0] - added:.1f} s: {describe(moved[1])}")  # type: ignore[arg-type]
    times = [scan[0] if scan else added] + [t for t, _ in progress]
    gaps = [(b - a, b) for a, b in pairwise(times)]
    gap, at = max(gaps)
    print(
        f"start: {len(progress)} progress events, longest gap {gap:.1f} s "
        f"(ending {at - added:.1f} s after adding the folder)"
    )
    for t, event in progress[:12]:
        print(f"   {t - added:6.1f} s  {describe(event)}")


def indexed(trove: Trove) -> int:
    with trove.reader() as reader:
        return reader.store.state_counts().get("indexed", 0)


def measure_pause(trove: Trove, watcher: Watcher, recorder: Recorder) -> None:
    indexed_before = indexed(trove)
    paused = recorder.now()
    watcher.pause()
    with recorder.changed:
        recorder.changed.wait_for(lambda: recorder.first(Batch, paused) is not None, 300)
    batch = recorder.first(Batch, paused)
    ended = batch[0] if batch else recorder.now()
    cpu = cpu_seconds()
    time.sleep(3)
    cpu = cpu_seconds() - cpu
    last_write = max((t for t in recorder.writes if t >= paused), default=paused)
    indexed_after = indexed(trove)
    print(
        f"pause: last write {last_write - paused:.2f} s after pause(), pass ended "
        f"{ended - paused:.2f} s after, {indexed_after - indexed_before} files indexed after "
        f"pause(), {cpu:.1f} CPU s in the 3 s after the pass ended"
    )


if __name__ == "__main__":
    main()
