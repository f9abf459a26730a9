"""The watcher with real files, real filesystem events and real SQLite.

The watcher writes through its own Trove; the tests read through another, as the
desktop app's search does.  Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import errno
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from watchdog.observers.polling import PollingObserver

from core.app import Trove
from core.errors import IndexLocked
from core.events import Notice
from core.watch.watcher import Batch, Watcher, WatchEvent, WatchOptions
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

DEADLINE_S = 20.0


def wait_for(condition: Callable[[], bool], deadline_s: float = DEADLINE_S) -> None:
    end = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, "notes/alpha.txt", "Alpha notes about sailing boats and harbours.\n")
    write(root, "beta.md", "# Beta\n\nRecipes for lemon cake and scones.\n")
    return root


@pytest.fixture
def other(tmp_path: Path) -> Path:
    root = tmp_path / "other"
    write(root, "gamma.txt", "Gamma notes about mountain trails.\n")
    return root


@pytest.fixture
def reader(embedder: FakeEmbedder, docs: Path, other: Path) -> Iterator[Trove]:
    trove = open_trove(embedder)
    trove.add_folder(docs)
    trove.add_folder(other)
    yield trove
    trove.close()


class Running:
    """A watcher on its own Trove and thread, with the events it has yielded."""

    def __init__(self, embedder: FakeEmbedder, options: WatchOptions) -> None:
        self.trove = open_trove(embedder)
        self.watcher = Watcher(self.trove, options)
        self.events: list[WatchEvent] = []
        self.watcher.start(self.events.append)

    def batches(self) -> list[Batch]:
        return [e for e in self.events if isinstance(e, Batch)]

    def stop(self) -> None:
        try:
            self.watcher.stop()
        finally:
            self.trove.close()


@pytest.fixture
def watching(embedder: FakeEmbedder, reader: Trove) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(**options: object) -> Running:
        running = Running(embedder, WatchOptions(**{"quiet_s": 0.3, **options}))  # type: ignore[arg-type]
        started.append(running)
        wait_for(lambda: any(b.reason == "start" for b in running.batches()))
        return running

    yield start
    for running in started:
        running.stop()


def top(trove: Trove, text: str) -> str | None:
    results = trove.search(text, 3)
    return results[0].path if results else None


def found(trove: Trove, text: str, path: Path) -> Callable[[], bool]:
    return lambda: top(trove, text) == str(path)


def gone(trove: Trove, path: Path) -> Callable[[], bool]:
    return lambda: trove.store.file_by_path(str(path)) is None


def test_start_indexes_what_changed_while_no_watcher_ran(
    reader: Trove, docs: Path, watching: Callable[..., Running]
) -> None:
    run_index(reader)
    (docs / "beta.md").unlink()
    added = write(docs, "later/delta.txt", "Delta notes about volcanic islands.\n")
    watching()
    wait_for(found(reader, "volcanic islands", added))
    assert reader.store.file_by_path(str(docs / "beta.md")) is None


def test_create_modify_and_delete_reach_search(
    reader: Trove, docs: Path, watching: Callable[..., Running]
) -> None:
    watching()
    path = write(docs, "fresh.txt", "Fresh notes about glacier caves.\n")
    wait_for(found(reader, "glacier caves", path))
    path.write_text("Now about desert oases instead.\n", encoding="utf-8")
    wait_for(found(reader, "desert oases", path))
    assert "glacier" not in (reader.store.texts.document(_id(reader, path)) or "")
    path.unlink()
    wait_for(gone(reader, path))


def test_rename_and_move_between_folders_reuse_vectors(
    reader: Trove,
    embedder: FakeEmbedder,
    docs: Path,
    other: Path,
    watching: Callable[..., Running],
) -> None:
    watching()
    alpha = docs / "notes" / "alpha.txt"
    wait_for(found(reader, "sailing boats harbours", alpha))
    before = embedder.embedded
    renamed = docs / "notes" / "alpha-renamed.txt"
    alpha.rename(renamed)
    wait_for(found(reader, "sailing boats harbours", renamed))
    moved = other / "alpha-moved.txt"
    shutil.move(renamed, moved)
    wait_for(found(reader, "sailing boats harbours", moved))
    # Across two watches the source's deletion may arrive a moment after the creation.
    wait_for(gone(reader, renamed))
    assert embedder.embedded == before
    assert reader.store.file_by_path(str(alpha)) is None


def test_renaming_a_folder_moves_its_files(
    reader: Trove, embedder: FakeEmbedder, docs: Path, watching: Callable[..., Running]
) -> None:
    write(docs, "notes/second.txt", "Second notes about copper mines.\n")
    watching()
    wait_for(found(reader, "copper mines", docs / "notes" / "second.txt"))
    before = embedder.embedded
    (docs / "notes").rename(docs / "journal")
    wait_for(found(reader, "copper mines", docs / "journal" / "second.txt"))
    wait_for(found(reader, "sailing boats harbours", docs / "journal" / "alpha.txt"))
    assert embedder.embedded == before
    assert not [p for p in _indexed(reader) if "/notes/" in p]


def test_create_then_delete_within_the_window_costs_nothing(
    reader: Trove, embedder: FakeEmbedder, docs: Path, watching: Callable[..., Running]
) -> None:
    running = watching(quiet_s=0.5)
    before, batches = embedder.embedded, len(running.batches())
    path = write(docs, "flash.txt", "Short-lived notes about comets.\n")
    path.unlink()
    marker = write(docs, "marker.txt", "Marker notes about lanterns.\n")
    wait_for(found(reader, "lanterns", marker))
    assert embedder.embedded == before + 1  # the marker's one passage only
    assert reader.store.file_by_path(str(path)) is None
    assert len(running.batches()) >= batches + 1


def test_a_file_written_in_steps_is_indexed_once_with_its_final_content(
    reader: Trove, embedder: FakeEmbedder, docs: Path, watching: Callable[..., Running]
) -> None:
    watching(quiet_s=0.5)
    before = embedder.embedded
    path = docs / "growing.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for word in ("amber", "basalt", "cobalt", "dolomite", "emerald"):
            handle.write(f"Notes about {word}.\n")
            handle.flush()
            time.sleep(0.1)  # a slow writer, well inside the quiet window
    wait_for(found(reader, "emerald dolomite", path))
    assert embedder.embedded == before + 1
    text = reader.store.texts.document(_id(reader, path)) or ""
    assert "amber" in text and "emerald" in text


def test_a_second_writer_is_refused_while_watching(
    reader: Trove, watching: Callable[..., Running]
) -> None:
    running = watching()
    with pytest.raises(IndexLocked, match=rf"another Trove process \(pid {os.getpid()}\)"):
        run_index(reader)
    with pytest.raises(IndexLocked):
        Watcher(reader).start()
    running.stop()
    finished, _ = run_index(reader)
    assert not finished.cancelled


def test_a_polled_folder_still_picks_up_changes(
    reader: Trove, other: Path, watching: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    polled: list[str] = []
    schedule = PollingObserver.schedule

    def recorded(self: PollingObserver, handler: Any, path: str, **options: Any) -> Any:
        polled.append(path)
        return schedule(self, handler, path, **options)

    monkeypatch.setattr(PollingObserver, "schedule", recorded)
    watching(poll=frozenset({str(other)}), poll_interval_s=0.2)
    assert polled == [str(other)]  # only that folder is polled; the rest use native events
    path = write(other, "polled.txt", "Polled notes about tidal pools.\n")
    wait_for(found(reader, "tidal pools", path))


def test_the_periodic_reconcile_catches_what_no_event_reported(
    reader: Trove, other: Path, watching: Callable[..., Running]
) -> None:
    # A folder polled once an hour sends no event for this file within the test; only the
    # periodic reconcile can find it.
    running = watching(poll=frozenset({str(other)}), poll_interval_s=3600.0, reconcile_every_s=1.0)
    path = write(other, "unseen.txt", "Notes about glacier caves that no event reported.\n")
    wait_for(found(reader, "glacier caves", path))
    assert any(b.reason == "periodic" for b in running.batches())


def test_the_watch_limit_falls_back_to_polling_and_says_so(
    reader: Trove, other: Path, watching: Callable[..., Running], monkeypatch: pytest.MonkeyPatch
) -> None:
    from watchdog.observers.polling import PollingObserver

    native = type(__import__("watchdog.observers", fromlist=["Observer"]).Observer())
    original = native.schedule

    def refuse(self: object, handler: object, path: str, **kwargs: object) -> object:
        if os.path.realpath(path) == str(other) and not isinstance(self, PollingObserver):
            raise OSError(errno.ENOSPC, "inotify watch limit reached")
        return original(self, handler, path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(native, "schedule", refuse)
    running = watching(poll_interval_s=0.2)
    notices = [e.message for e in running.events if isinstance(e, Notice)]
    assert any("limit" in m and str(other) in m for m in notices)
    path = write(other, "limited.txt", "Notes about river deltas.\n")
    wait_for(found(reader, "river deltas", path))


def test_a_folder_that_goes_offline_keeps_its_files_and_resumes(
    reader: Trove, other: Path, tmp_path: Path, watching: Callable[..., Running]
) -> None:
    running = watching(poll_interval_s=0.2)
    gamma = other / "gamma.txt"
    wait_for(found(reader, "mountain trails", gamma))
    parked = tmp_path / "parked"
    other.rename(parked)  # as if unmounted
    wait_for(lambda: any("offline" in getattr(e, "message", "") for e in running.events))
    assert reader.store.file_by_path(str(gamma)) is not None
    write(parked, "while-away.txt", "Notes about coral reefs.\n")
    parked.rename(other)
    wait_for(found(reader, "coral reefs", other / "while-away.txt"))
    assert reader.store.file_by_path(str(gamma)) is not None


def _id(trove: Trove, path: Path) -> int:
    row = trove.store.file_by_path(str(path))
    assert row is not None
    return row.id


def _indexed(trove: Trove) -> set[str]:
    rows = trove.store.conn.execute("SELECT path FROM files WHERE state = 'indexed'")
    return {r[0] for r in rows}


# A real kernel queue overflow: events are lost, and the watcher reconciles at once.
# Linux only; it lowers fs.inotify.max_queued_events while the watcher makes its inotify
# instance (the limit is read then) and restores it at once.
QUEUE_LIMIT = Path("/proc/sys/fs/inotify/max_queued_events")


@pytest.fixture
def tiny_inotify_queue() -> Callable[[], None]:
    if not sys.platform.startswith("linux") or not QUEUE_LIMIT.exists():
        pytest.skip("inotify queues exist on Linux only")
    original = QUEUE_LIMIT.read_text()
    try:
        QUEUE_LIMIT.write_text("16\n")
    except OSError as error:
        pytest.skip(f"cannot lower the inotify queue limit here: {error}")

    def restore() -> None:
        QUEUE_LIMIT.write_text(original)

    return restore


def test_an_overflow_is_reconciled_and_nothing_is_lost(
    reader: Trove,
    docs: Path,
    watching: Callable[..., Running],
    tiny_inotify_queue: Callable[[], None],
) -> None:
    try:
        running = watching()
    finally:
        tiny_inotify_queue()
    paths = [write(docs, f"flood/file{n:04}.txt", f"Flood file number {n}.\n") for n in range(600)]
    wait_for(lambda: any(b.reason == "overflow" for b in running.batches()))
    wait_for(lambda: all(reader.store.file_by_path(str(p)) is not None for p in paths))
    indexed = {
        r[0] for r in reader.store.conn.execute("SELECT path FROM files WHERE state = 'indexed'")
    }
    assert {str(p) for p in paths} <= indexed


def test_changes_to_trove_own_files_wake_no_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embedder: FakeEmbedder
) -> None:
    """A watched home holds Trove's data folder: each commit changes the index's log,
    which must not be noted as a change to index."""
    home = tmp_path / "home"
    monkeypatch.setenv("TROVE_HOME", str(home / ".trove"))
    trove = open_trove(embedder)
    try:
        watcher = Watcher(trove, WatchOptions())
        data = trove.locations.data
        watcher.note([f"{data}/index.sqlite3-wal", f"{data}/index.sqlite3", str(home / "a.txt")])
        assert len(watcher.changes) == 1
    finally:
        trove.close()
