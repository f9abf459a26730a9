"""Honest progress and a pause that pauses: progress moves at least every second, even
inside one large file; the watcher's count is one count over a run (across a pause and
resume, or passes of one turn); a pause stops the writing within a second and leaves
every file whole or pending."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path

import pytest

from core.app import Trove
from core.events import Progress, ScanDone
from core.watch.watcher import Resting, Watcher, WatchEvent, WatchOptions
from tests.conftest import open_trove, write
from tests.fakes import SlowEmbedder
from tests.test_watch import wait_for

LINE = "The tide tables for the northern harbour list every ferry crossing of the week.\n"
Timed = list[tuple[float, WatchEvent]]


@pytest.fixture
def embedder() -> SlowEmbedder:
    return SlowEmbedder(per_passage_s=0.01)  # a hundred passages a second, as on a laptop


@contextmanager
def watching(embedder: SlowEmbedder, **settings: object) -> Iterator[tuple[Trove, Watcher, Timed]]:
    """A running watcher whose events are noted with the moment each arrived."""
    trove = open_trove(embedder, **settings)
    watcher = Watcher(trove, WatchOptions(quiet_s=0.2))
    events: Timed = []
    watcher.start(lambda event: events.append((time.monotonic(), event)))
    try:
        yield trove, watcher, events
    finally:
        watcher.stop()
        trove.close()


def progress(events: Timed) -> list[Progress]:
    return [event for _, event in events if isinstance(event, Progress)]


def rested(events: Timed, paused: bool, since: int = 0) -> float | None:
    """When the watcher said it rests (paused or up to date), among ``events[since:]``."""
    times = [t for t, e in events[since:] if isinstance(e, Resting) and e.paused == paused]
    return times[-1] if times else None


def ledger(trove: Trove) -> list[tuple[str, str, int]]:
    """(path, state, passages) of every file, as another reader sees the index."""
    with trove.reader() as reader:
        rows = reader.store.conn.execute(
            "SELECT f.path, f.state, count(c.id) FROM files f "
            "LEFT JOIN chunks c ON c.file_id = f.id GROUP BY f.id ORDER BY f.path"
        ).fetchall()
    return [tuple(row) for row in rows]


def test_progress_moves_every_second_even_inside_a_large_file(
    embedder: SlowEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    huge = write(docs, "huge.log", LINE * 1200)
    write(docs, "small.txt", "A short note about lemon cake.")
    trove = open_trove(embedder)
    try:
        trove.add_folder(docs)
        timed = [(time.monotonic(), event) for event in trove.index()]
    finally:
        trove.close()
    inside = [
        p
        for _, p in timed
        if isinstance(p, Progress) and p.current == str(huge) and p.file_chunks_done < p.file_chunks
    ]
    assert len(inside) >= 3, "no movement inside the large file"
    done = [p.file_chunks_done for p in inside]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert all(p.files_done < p.files_total for p in inside)
    # From the plan to the end, something moves at least every second.
    moments = [t for t, e in timed if isinstance(e, ScanDone | Progress)]
    assert max(later - earlier for earlier, later in pairwise(moments)) < 1.0


def test_pause_stops_writing_within_a_second_and_leaves_no_half_file(
    embedder: SlowEmbedder, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    for n in range(3):
        write(docs, f"large{n}.log", f"Report {n}.\n" + LINE * 900)
    with watching(embedder) as (trove, watcher, events):
        watcher.submit(lambda: trove.add_folder(docs)).result(timeout=10)
        assert embedder.entered.wait(10)  # the model is at work, inside a large file
        asked = time.monotonic()
        watcher.pause()
        wait_for(lambda: rested(events, paused=True) is not None)
        assert rested(events, paused=True) - asked < 1.0  # type: ignore[operator]
        held = ledger(trove)
        watcher.submit(lambda: None).result(timeout=10)  # the loop has turned since
        assert ledger(trove) == held  # nothing more is written while paused
    assert "pending" in {state for _, state, _ in held}  # it did stop in the middle
    for path, state, passages in held:
        whole = state == "indexed" and passages > 0
        assert whole or (state == "pending" and passages == 0), (path, state, passages)


def test_the_count_continues_after_pause_and_resume(embedder: SlowEmbedder, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    for n in range(60):
        write(docs, f"note{n:02}.txt", f"Note {n} about kites and the wind on the beach.")
    embedder.per_passage_s = 0.05
    with watching(embedder, commit_every=4) as (trove, watcher, events):
        watcher.submit(lambda: trove.add_folder(docs)).result(timeout=10)
        wait_for(lambda: any(p.files_done >= 8 for p in progress(events)))
        embedder.gate.clear()
        assert embedder.held.wait(10)  # the model is inside a step
        watcher.pause()
        embedder.gate.set()
        wait_for(lambda: rested(events, paused=True) is not None)
        before = progress(events)[-1]
        assert 0 < before.files_done < 60 and before.files_total == 60

        resumed = len(events)
        watcher.resume()
        wait_for(lambda: rested(events, paused=False, since=resumed) is not None)
    after = progress(events[resumed:])
    assert after and after[0].files_done == before.files_done  # "26 of 60", not "0 of 34"
    counts = progress(events)
    assert {p.files_total for p in counts} == {60}
    done = [p.files_done for p in counts]
    assert done == sorted(done) and done[-1] == 60


def test_passes_of_one_turn_are_one_count_and_a_rest_starts_a_new_one(
    embedder: SlowEmbedder, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for n in range(5):
        write(first, f"a{n}.txt", f"First folder note {n}.")
    for n in range(7):
        write(second, f"b{n}.txt", f"Second folder note {n}.")
    with watching(embedder) as (trove, watcher, events):
        watcher.pause()
        wait_for(lambda: rested(events, paused=True) is not None)
        # Two reasons due in one turn make two passes: one folder asked for, one added.
        watcher.reconcile([str(first.resolve())], "requested")
        watcher.submit(lambda: (trove.add_folder(first), trove.add_folder(second))).result(10)
        start = len(events)
        watcher.resume()
        wait_for(lambda: rested(events, paused=False, since=start) is not None)
        passes = [e for _, e in events[start:] if isinstance(e, ScanDone) and e.to_index]
        assert len(passes) == 2
        done = [p.files_done for p in progress(events[start:])]
        assert done == sorted(done) and done[-1] == 12
        assert progress(events)[-1].files_total == 12

        start = len(events)
        write(first, "later.txt", "A note written once all was indexed.")
        wait_for(lambda: any(p.files_done == 1 for p in progress(events[start:])))
        assert {p.files_total for p in progress(events[start:])} == {1}
