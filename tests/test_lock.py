"""The writer lock: one writer at a time, in this process or another."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.errors import IndexLocked
from core.lock import WriterLock
from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder


def test_a_second_lock_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3.lock"
    with WriterLock(path):
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(IndexLocked, match=rf"another Trove process \(pid {os.getpid()}\)"):
            WriterLock(path).acquire()
    with WriterLock(path) as again:  # released: free to take
        assert again.held


def test_the_holder_may_take_its_own_lock_again(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "lock")
    with lock, lock:
        assert lock.held
    assert not lock.held
    with pytest.raises(IndexLocked), lock, WriterLock(tmp_path / "lock"):
        pass


def test_another_process_is_refused_while_one_indexes(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.txt", "Notes about lighthouses.\n")
    trove = open_trove(FakeEmbedder())
    trove.add_folder(docs)
    lock = WriterLock.beside(trove.locations.database)
    script = (
        "from core.lock import WriterLock\n"
        "from pathlib import Path\n"
        "import sys, time\n"
        "lock = WriterLock(Path(sys.argv[1]))\n"
        "lock.acquire()\n"
        "print('held', flush=True)\n"
        "sys.stdin.readline()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(lock.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(IndexLocked, match=rf"pid {holder.pid}\)"):
            run_index(trove)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
        assert holder.stdout is not None
        holder.stdout.close()
    finished, _ = run_index(trove)  # the holder exited: the lock is free again
    assert finished.files_indexed == 1
    trove.close()


def test_every_write_of_a_second_trove_is_refused_while_one_holds_the_lock(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    write(docs, "a.txt", "Notes about lighthouses.\n")
    holder, other = open_trove(FakeEmbedder()), open_trove(FakeEmbedder())
    other.add_folder(docs)
    with holder.lock:
        for write_something in (
            lambda: other.add_folder(tmp_path),
            lambda: other.remove_folder(docs),
            other.retry_failed,
            lambda: list(other.index()),
        ):
            with pytest.raises(IndexLocked):
                write_something()
    run_index(other)  # released: writes go through again
    assert other.search("lighthouses", 1)[0].path == str(docs / "a.txt")
