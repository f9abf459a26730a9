"""Hostile and broken files, made on the fly: each ends in the ledger, the run finishes,
and the index stays intact and searchable."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.app import Trove
from core.events import ScanDone
from core.indexer import CHANGING_REASON
from tests.conftest import open_trove, run_index, write
from tests.extract_files import add_zeros, write_zip
from tests.fakes import FakeEmbedder

GOOD = "The harbour master keeps a log of every ferry crossing in winter."


def _ledger(trove: Trove) -> dict[str, tuple[str, str]]:
    rows = trove.store.conn.execute(
        "SELECT path, state, COALESCE(reason, '') FROM files"
    ).fetchall()
    return {os.path.basename(p): (s, r) for p, s, r in rows}


def _intact(trove: Trove, folder: Path) -> None:
    assert trove.store.integrity_check() == "ok"
    chunks = trove.store.chunk_count()
    vectors = trove.store.conn.execute("SELECT count(*) FROM chunk_vec").fetchone()[0]
    assert chunks == vectors > 0
    assert trove.search("ferry crossing log", 1)[0].path == str(folder / "good.txt")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "docs"
    write(root, "good.txt", GOOD)
    return root


@pytest.fixture
def trove(folder: Path) -> Trove:
    trove = open_trove(FakeEmbedder(), extract_timeout_s=20)
    trove.add_folder(folder)
    return trove


def test_special_files_and_links(trove: Trove, folder: Path, tmp_path: Path) -> None:
    os.mkfifo(folder / "pipe.txt")
    os.mknod(folder / "device.txt", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    os.symlink("self-loop.txt", folder / "self-loop.txt")
    (folder / "sub").mkdir()
    os.symlink("..", folder / "sub" / "up")
    os.symlink(tmp_path, folder / "outside")
    finished, _ = run_index(trove)
    ledger = _ledger(trove)
    assert ledger["pipe.txt"] == ("failed", "not a regular file (a named pipe)")
    assert ledger["device.txt"] == ("failed", "not a regular file (a device)")
    for link in ("self-loop.txt", "up", "outside"):
        assert ledger[link] == ("excluded", "symbolic link: links are not followed")
    assert finished.files_indexed == 1
    _intact(trove, folder)


def test_empty_binary_and_gigantic_files(trove: Trove, folder: Path) -> None:
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(os.urandom(4096))
    (folder / "huge-line.txt").write_text("lorem ipsum dolor " * 450_000)  # 8 MB, one line
    run_index(trove)
    ledger = _ledger(trove)
    assert ledger["empty.txt"] == ("failed", "the file is empty")
    assert ledger["binary.txt"][0] == "failed"
    assert ledger["huge-line.txt"][0] == "indexed"
    _intact(trove, folder)


def test_file_over_the_size_limit(folder: Path) -> None:
    (folder / "big.txt").write_bytes(b"x" * (2 * 1024 * 1024 + 1))
    trove = open_trove(FakeEmbedder(), max_file_mb=2)
    trove.add_folder(folder)
    run_index(trove)
    state, reason = _ledger(trove)["big.txt"]
    assert state == "failed" and "MB" in reason
    _intact(trove, folder)


def test_decompression_bomb_in_a_word_file(trove: Trove, folder: Path) -> None:
    write_zip(folder / "bomb.docx", {"[Content_Types].xml": "<Types/>"})
    add_zeros(folder / "bomb.docx", "word/document.xml", 300)
    assert (folder / "bomb.docx").stat().st_size < 2_000_000
    run_index(trove)
    state, reason = _ledger(trove)["bomb.docx"]
    assert state == "failed" and reason
    _intact(trove, folder)


def test_odd_file_names(trove: Trove, folder: Path) -> None:
    names = [
        "new\nline.txt",
        "emoji 📚 notes.txt",
        'quote\'s "name".txt',
        "-dash.txt",
        "back\\slash.txt",
        "x" * 250 + ".txt",
        "tab\tname.md",
    ]
    for name in names:
        (folder / name).write_text(f"Garden notes kept under the odd name {name!r}.")
    bad = os.fsencode(folder) + b"/latin1-\xe9t\xe9.txt"
    with open(bad, "wb") as handle:
        handle.write(b"summer notes")
    run_index(trove)
    ledger = _ledger(trove)
    for name in names:
        assert ledger[name][0] == "indexed", name
    stand_in = "latin1-\\xe9t\\xe9.txt"
    assert ledger[stand_in] == ("failed", "the file name is not valid text (UTF-8); rename it")
    run_index(trove)  # the stand-in path is stable: nothing moves on the second run
    assert _ledger(trove)[stand_in][0] == "failed"
    _intact(trove, folder)


def test_files_that_vanish_or_change_while_being_read(trove: Trove, folder: Path) -> None:
    write(folder, "vanishing.txt", "This file is deleted while the run is under way.")
    write(folder, "changing.txt", "First draft about tulips.")
    for event in trove.index():
        if isinstance(event, ScanDone):
            (folder / "vanishing.txt").unlink()
            os.utime(folder / "changing.txt", ns=(1, 1))
            write(folder, "changing.txt", "Second draft about orchids and their roots.")
    ledger = _ledger(trove)
    assert "vanishing.txt" not in ledger
    # Not stored with stale text, and not silently left pending: a failure that says why.
    assert ledger["changing.txt"] == ("failed", CHANGING_REASON)
    run_index(trove)
    assert _ledger(trove)["changing.txt"][0] == "indexed"
    assert trove.search("orchids roots", 1)[0].path == str(folder / "changing.txt")
    _intact(trove, folder)


def test_unreadable_file_is_recorded(tmp_path: Path) -> None:
    """Permission denied, for real: as root, the run drops the capability to bypass it."""
    runner = [str(Path(sys.executable).parent / "trove")]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop the read override")
        runner = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--", *runner]
    folder = tmp_path / "docs"
    write(folder, "good.txt", GOOD)
    secret = write(folder, "secret.txt", "no one may read this")
    secret.chmod(0)
    env = dict(os.environ, TROVE_HOME=str(tmp_path / "home"))
    for args in (["add", str(folder)], ["index"]):
        done = subprocess.run(
            [*runner, *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    listing = subprocess.run(
        [*runner, "status", "--failed"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    assert "secret.txt" in listing and "ermission denied" in listing
