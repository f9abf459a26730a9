"""Driving a running watcher as the desktop app does: writes submitted to its loop,
folders added and removed while it runs, pause and resume."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Trove
from core.errors import ConfigError, StoreError
from core.events import Notice
from core.watch.watcher import Batch, Watcher, WatchEvent, WatchOptions
from tests.conftest import open_trove, write
from tests.fakes import SlowEmbedder
from tests.test_watch import wait_for


@pytest.fixture
def embedder() -> SlowEmbedder:
    return SlowEmbedder()


@pytest.fixture
def running(embedder: SlowEmbedder) -> Iterator[tuple[Trove, Watcher, list[WatchEvent]]]:
    trove = open_trove(embedder, commit_every=2)
    watcher = Watcher(trove, WatchOptions(quiet_s=0.2))
    events: list[WatchEvent] = []
    watcher.start(events.append)
    yield trove, watcher, events
    watcher.stop()
    trove.close()


def indexed(trove: Trove, path: Path) -> bool:
    reader = trove.reader()
    try:
        row = reader.store.file_by_path(str(path))
        return row is not None and row.state == "indexed"
    finally:
        reader.close()


def test_submitted_calls_run_on_the_loop_and_return_or_raise(running, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trove, watcher, _ = running
    names = watcher.submit(lambda: threading.current_thread().name).result(timeout=10)
    assert names == "trove-watch"
    failing = watcher.submit(lambda: trove.remove_folder(tmp_path / "never-added"))
    with pytest.raises(ConfigError):
        failing.result(timeout=10)


def test_a_folder_added_while_running_is_indexed_and_watched(running, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trove, watcher, events = running
    folder = tmp_path / "added"
    first = write(folder, "first.txt", "Kites and the wind on the beach.")
    watcher.submit(lambda: trove.add_folder(folder)).result(timeout=10)
    wait_for(lambda: indexed(trove, first))
    assert any(isinstance(e, Batch) and e.reason == "added" for e in events)
    later = write(folder, "sub/later.txt", "A note written after the folder was added.")
    wait_for(lambda: indexed(trove, later))  # a live watch, not only the first scan

    watcher.submit(lambda: trove.remove_folder(folder)).result(timeout=10)
    wait_for(lambda: not indexed(trove, first))


def test_pause_holds_indexing_and_resume_catches_up(
    running,  # type: ignore[no-untyped-def]
    embedder: SlowEmbedder,
    tmp_path: Path,
) -> None:
    trove, watcher, events = running
    folder = tmp_path / "many"
    paths = [write(folder, f"n{i:02}.txt", f"Note {i} about kites.") for i in range(20)]
    embedder.gate.clear()  # the first batch waits inside the model
    watcher.submit(lambda: trove.add_folder(folder)).result(timeout=10)
    assert embedder.entered.wait(10)  # the pass is inside the model, on its first batch
    watcher.pause()
    embedder.gate.set()
    wait_for(lambda: any(isinstance(e, Batch) and e.reason == "added" for e in events))
    cancelled = next(e for e in events if isinstance(e, Batch) and e.reason == "added")
    assert cancelled.indexed < 20 and watcher.paused
    watcher.submit(lambda: None).result(timeout=10)  # the loop has turned since pausing
    new = write(folder, "while_paused.txt", "Written while paused.")
    wait_for(lambda: len(watcher.changes) == 1)
    time.sleep(watcher.options.quiet_s)  # ready now: a loop that was not paused takes it...
    watcher.submit(lambda: None).result(timeout=10)  # ...before it runs this
    assert len(watcher.changes) == 1 and not indexed(trove, new)

    watcher.resume()
    wait_for(lambda: all(indexed(trove, p) for p in [*paths, new]))
    assert any(isinstance(e, Batch) and e.reason == "resumed" for e in events)


def test_a_loop_that_fails_says_so_and_answers_every_call(tmp_path: Path) -> None:
    trove = open_trove(SlowEmbedder())
    folder = tmp_path / "docs"
    write(folder, "a.txt", "A note.")
    trove.add_folder(folder)
    watcher = Watcher(trove, WatchOptions(quiet_s=0.2))

    class BrokenIndexer:
        def run(self, *_: object, **__: object) -> Iterator[object]:
            raise StoreError("disk I/O error")

    trove.indexer = lambda pool: BrokenIndexer()  # type: ignore[assignment,method-assign,return-value]
    events: list[WatchEvent] = []
    watcher.start(events.append)
    try:
        wait_for(lambda: any(isinstance(e, Notice) for e in events))
        notice = next(e for e in events if isinstance(e, Notice))
        assert "Watching stopped" in notice.message and "disk I/O error" in notice.message
        with pytest.raises(RuntimeError, match="stopped watching"):
            watcher.submit(lambda: None).result(timeout=10)
    finally:
        with pytest.raises(StoreError):
            watcher.stop()
        trove.close()
