"""The process pool: real spawned workers that hang, crash and run out of memory."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category, Document, ExtractionPool, Piece, Registry

MB = 1024 * 1024


# Extractors that misbehave on purpose.  Spawned workers import this module by name, so
# they live at module level; the registry factory below is what the pool is told to use.
class _Hang:
    kind = "hang"

    def extract(self, path: Path) -> Document:
        threading.Event().wait()  # forever, like a parser stuck in a loop
        raise AssertionError("unreachable")


class _Segfault:
    kind = "segfault"

    def extract(self, path: Path) -> Document:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class _Hog:
    kind = "hog"

    def extract(self, path: Path) -> Document:
        hoard = bytearray(4096 * MB)  # far above the worker's address-space limit
        return Document([Piece(str(len(hoard)))])


class _Pid:
    kind = "pid"

    def extract(self, path: Path) -> Document:
        return Document([Piece(str(os.getpid()))])


def misbehaving_registry() -> Registry:
    registry = Registry.default()
    for extractor in (_Hang(), _Segfault(), _Hog(), _Pid()):
        registry.register(extractor, [extractor.kind])
    return registry


FACTORY = f"{__name__}:misbehaving_registry"


def make_pool(workers: int = 1, timeout_s: float = 20, memory_mb: int = 1024) -> ExtractionPool:
    return ExtractionPool(workers, timeout_s, memory_mb, 10 * MB, registry_factory=FACTORY)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for kind in ("hang", "segfault", "hog", "pid"):
        made[kind] = tmp_path / f"trigger.{kind}"
        made[kind].write_text("anything", encoding="utf-8")
    made["text"] = tmp_path / "notes.txt"
    made["text"].write_text("first block\n\nsecond block\n", encoding="utf-8")
    return made


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Every test must leave neither live workers nor zombies behind."""
    yield
    assert multiprocessing.active_children() == []
    assert _zombie_children() == []


def _zombie_children() -> list[int]:
    if not sys.platform.startswith("linux"):
        return []
    zombies = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # the process ended while we looked
            if fields[0] == "Z" and int(fields[1]) == os.getpid():
                zombies.append(int(entry.name))
    return zombies


def test_worker_extracts_a_file(files: dict[str, Path]) -> None:
    with make_pool() as pool:
        document = pool.extract(files["text"])
    assert document.pieces == [Piece("first block", "line 1"), Piece("second block", "line 3")]


def test_workers_start_lazily() -> None:
    with make_pool(workers=3):
        assert multiprocessing.active_children() == []


def test_extraction_runs_in_another_process_and_reuses_it(files: dict[str, Path]) -> None:
    with make_pool() as pool:
        first = pool.extract(files["pid"]).pieces[0].text
        second = pool.extract(files["pid"]).pieces[0].text
    assert first == second != str(os.getpid())


def test_failures_cross_the_pipe_with_their_category(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_bytes(bytes(range(256)) * 16)
    with make_pool() as pool, pytest.raises(ExtractionFailed) as caught:
        pool.extract(path)
    assert caught.value.category == Category.WRONG_TYPE
    assert "binary" in caught.value.reason


def test_hung_worker_is_killed_and_replaced(files: dict[str, Path]) -> None:
    with make_pool(timeout_s=1) as pool:
        before = pool.extract(files["pid"]).pieces[0].text
        started = time.monotonic()
        with pytest.raises(ExtractionFailed) as caught:
            pool.extract(files["hang"])
        assert time.monotonic() - started < 5
        assert caught.value.category == Category.TIMEOUT
        assert "longer than 1 s" in caught.value.reason
        after = pool.extract(files["pid"]).pieces[0].text
    assert after != before


def test_interrupt_stops_a_read_under_way_at_once(files: dict[str, Path]) -> None:
    """A cancelled run wants no more reads: the one under way ends now, not at the
    time limit, and the pool reads again afterwards."""
    with make_pool(timeout_s=60) as pool, ThreadPoolExecutor(1) as caller:
        pool.interrupt()  # nothing under way: nothing happens
        reading = caller.submit(pool.extract, files["hang"])
        started = time.monotonic()
        _wait_until(lambda: pool.interrupt() or reading.done(), timeout=30)
        with pytest.raises(ExtractionFailed) as caught:
            reading.result()
        assert caught.value.category == Category.CRASHED
        assert time.monotonic() - started < 30
        assert pool.extract(files["text"]).pieces[0].text == "first block"


def test_crashed_worker_is_reported_and_replaced(files: dict[str, Path]) -> None:
    with make_pool() as pool:
        with pytest.raises(ExtractionFailed) as caught:
            pool.extract(files["segfault"])
        assert caught.value.category == Category.CRASHED
        assert "SIGSEGV" in caught.value.reason
        assert pool.extract(files["text"]).pieces[0].text == "first block"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_memory_limit_stops_a_greedy_extraction(files: dict[str, Path]) -> None:
    with make_pool(memory_mb=512) as pool:
        with pytest.raises(ExtractionFailed) as caught:
            pool.extract(files["hog"])
        assert caught.value.category == Category.CRASHED
        assert "512 MB" in caught.value.reason
        assert pool.extract(files["text"]).pieces[0].text == "first block"


def test_worker_killed_while_idle_is_replaced(files: dict[str, Path]) -> None:
    with make_pool() as pool:
        pid = int(pool.extract(files["pid"]).pieces[0].text)
        os.kill(pid, signal.SIGKILL)
        _wait_until(lambda: not _alive(pid))
        assert int(pool.extract(files["pid"]).pieces[0].text) != pid


def test_concurrent_callers_share_the_workers(tmp_path: Path) -> None:
    paths = []
    for number in range(8):
        path = tmp_path / f"note{number}.md"
        path.write_text(f"# Note {number}\n\nBody of note {number}.\n", encoding="utf-8")
        paths.append(path)
    with make_pool(workers=2) as pool, ThreadPoolExecutor(max_workers=4) as threads:
        titles = list(threads.map(lambda path: pool.extract(path).title, paths))
    assert titles == [f"Note {number}" for number in range(8)]


def test_inline_pool_extracts_in_the_calling_process(files: dict[str, Path]) -> None:
    with make_pool(workers=0) as pool:
        assert pool.extract(files["pid"]).pieces[0].text == str(os.getpid())
        with pytest.raises(ExtractionFailed) as caught:
            pool.extract(files["text"].with_name("missing.txt"))
    assert caught.value.category == Category.UNREADABLE


def test_closed_pool_refuses_work(files: dict[str, Path]) -> None:
    pool = make_pool()
    pool.extract(files["text"])
    pool.close()
    pool.close()  # closing twice is harmless
    with pytest.raises(RuntimeError, match="closed"):
        pool.extract(files["text"])


def test_unimportable_registry_factory_is_a_clear_error(files: dict[str, Path]) -> None:
    pool = ExtractionPool(1, 5, 1024, MB, registry_factory="no_such_module:factory")
    with pool, pytest.raises(RuntimeError, match="no_such_module"):
        pool.extract(files["text"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _wait_until(condition: object, timeout: float = 5.0) -> None:
    assert callable(condition)
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
