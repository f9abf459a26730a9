"""Nothing leaves the index silently: a folder that can no longer be listed, or a path too
long for the OS, gets a ledger row that says why."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import open_trove, run_index, write
from tests.fakes import FakeEmbedder

TROVE = str(Path(sys.executable).parent / "trove")


def _as_user(*args: str) -> list[str]:
    """The CLI without root's power to read anything, so a mode means what it says."""
    if os.geteuid() != 0:
        return [TROVE, *args]
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root needs setpriv (util-linux) to test permissions")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", TROVE, *args]


def test_files_in_a_folder_that_became_unreadable_are_failed_not_forgotten(
    tmp_path: Path,
) -> None:
    docs = tmp_path / "docs"
    write(docs, "open/plan.txt", "The garden plan: tomatoes along the south fence.")
    write(docs, "locked/diary.txt", "zqlocked diary entry about the harbour")
    env = dict(os.environ, TROVE_HOME=str(tmp_path / "home"))

    def trove(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(_as_user(*args), env=env, capture_output=True, text=True, timeout=120)

    assert trove("add", str(docs)).returncode == 0
    assert trove("index").returncode == 0
    assert "diary.txt" in trove("search", "zqlocked").stdout
    (docs / "locked").chmod(0)
    try:
        indexed = trove("index")
        failed = trove("status", "--failed").stdout
        found = trove("search", "zqlocked").stdout
    finally:
        (docs / "locked").chmod(0o755)
    assert indexed.returncode == 0, indexed.stderr
    assert "2 failed" in indexed.stdout  # the folder and the file known below it
    assert str(docs / "locked" / "diary.txt") in failed
    assert "cannot be listed: permission denied" in failed
    assert "diary.txt" not in found

    again = trove("index")  # readable again: read again, and the folder's row goes
    assert "0 failed" in again.stdout, again.stdout
    assert "diary.txt" in trove("search", "zqlocked").stdout


def _deep_folder(root: Path, total_bytes: int) -> str:
    """A chain of folders whose path is longer than ``total_bytes``, made one level at
    a time through folder descriptors (the OS refuses such a path in one call)."""
    name = "n" * 200
    path, fd = str(root), os.open(root, os.O_RDONLY)
    try:
        while len(path.encode()) <= total_bytes:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, path = inner, os.path.join(path, name)
        note = os.open("deep-note.txt", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=fd)
        os.write(note, b"a note buried too deep for the system to name")
        os.close(note)
    finally:
        os.close(fd)
    return path


def test_a_path_longer_than_the_system_allows_gets_a_ledger_row(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    write(docs, "top.txt", "A note at the top of the folder.")
    deep = _deep_folder(docs, 4096)
    trove = open_trove(FakeEmbedder())
    try:
        trove.add_folder(docs)
        finished, _ = run_index(trove)
        failures = trove.failures()
        kinds = [r[0] for r in trove.store.conn.execute("SELECT kind FROM files ORDER BY path")]
    finally:
        trove.close()
        shutil.rmtree(docs, ignore_errors=True)  # rmtree walks by descriptors too
    assert finished.files_indexed == 1
    assert finished.files_failed == 1
    [(path, _category, reason)] = failures
    assert deep.startswith(path) and len(path.encode()) > 3800
    assert "longer than the system allows" in reason
    assert kinds == ["folder", "text"]  # the deep folder's row, then top.txt


def test_a_watched_folder_replaced_by_a_link_is_not_followed(tmp_path: Path) -> None:
    docs, elsewhere = tmp_path / "docs", tmp_path / "elsewhere"
    write(docs, "mine.txt", "My own note about the allotment.")
    write(elsewhere, "theirs.txt", "zqelsewhere: someone else's payroll figures")
    trove = open_trove(FakeEmbedder())
    try:
        trove.add_folder(docs)
        run_index(trove)
        docs.rename(tmp_path / "docs.old")
        docs.symlink_to(elsewhere, target_is_directory=True)
        finished, events = run_index(trove)
        notices = [getattr(e, "message", "") for e in events]
        assert any("symbolic link" in n and str(elsewhere) in n for n in notices)
        hits = trove.search("zqelsewhere payroll", floor=False)  # every file, however weak
        assert [r.path for r in hits] == [str(docs / "mine.txt")]
        assert trove.store.file_by_path(str(docs / "theirs.txt")) is None
        assert finished.files_indexed == 0
    finally:
        trove.close()
