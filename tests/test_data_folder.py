"""Trove's data folder: private to its owner, and safe to open from many processes at once."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.app import Trove
from core.paths import remove_abandoned
from core.settings import save_settings
from core.store import schema
from desktop.state import save_state
from tests.conftest import REPO, dead_pid, open_trove
from tests.fakes import FakeEmbedder

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")

# Each child opens Trove on every path it is sent and answers "ok" or the error, so one
# start-up serves many rounds and each round's opens begin within a few milliseconds.
OPENER = """
import sys
from pathlib import Path
from core.app import Trove
from core.paths import Locations
from tests.fakes import FakeEmbedder
for line in sys.stdin:
    try:
        Trove.open(Locations.under(Path(line.strip())), embedder=FakeEmbedder()).close()
        print("ok", flush=True)
    except Exception as exc:
        print(f"{type(exc).__name__}: {exc}".replace("\\n", " "), flush=True)
"""
OPENERS = 16
ROUNDS = 12


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, which leaves new files readable by everyone."""
    old = os.umask(0o022)
    yield
    os.umask(old)


@posix_only
@pytest.mark.usefixtures("umask_022")
def test_a_new_data_folder_is_private(trove_home: Path) -> None:
    trove = _used_trove()
    data = trove.locations.data
    try:
        assert mode(data) == 0o700
        assert mode(trove.locations.cache) == 0o700
        for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
            assert mode(data / name) == 0o600, name
        assert mode(data / "index.sqlite3.lock") == 0o600
        assert mode(trove.locations.settings) == 0o600
        window = trove.locations.window_state
        save_state(window, {"width": 800})
        assert (mode(window.parent), mode(window)) == (0o700, 0o600)
    finally:
        trove.close()


@posix_only
@pytest.mark.usefixtures("umask_022")
def test_the_copy_taken_before_migrating_is_private(
    trove_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:1])
        open_trove(FakeEmbedder()).close()
    open_trove(FakeEmbedder()).close()
    assert mode(trove_home / "index.before-0001_initial.sqlite3") == 0o600


@posix_only
@pytest.mark.usefixtures("umask_022")
def test_an_open_data_folder_is_made_private_again(trove_home: Path) -> None:
    _used_trove().close()
    (trove_home / "state").mkdir()
    (trove_home / "state" / "window.json").write_text("{}")
    backup = trove_home / "index.before-0001_initial.sqlite3"
    backup.write_bytes(b"")
    other = trove_home / "notes.txt"  # not Trove's: left as it is
    other.write_text("mine")
    owned = [p for p in trove_home.rglob("*") if p != other]
    for path in [trove_home, *owned, other]:
        path.chmod(0o755 if path.is_dir() else 0o644)

    trove = open_trove(FakeEmbedder())
    trove.close()
    assert mode(trove_home) == 0o700
    for path in owned:
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(other) == 0o644


@posix_only
@pytest.mark.usefixtures("umask_022")
def test_folders_above_trove_home_keep_their_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    above = tmp_path / "shared"
    above.mkdir(mode=0o755)
    above.chmod(0o755)
    home = above / "new" / "trove"
    monkeypatch.setenv("TROVE_HOME", str(home))
    open_trove(FakeEmbedder()).close()
    assert mode(home) == 0o700
    assert mode(above) == 0o755
    assert mode(home.parent) == 0o755  # made on the way, but not Trove's own


def test_many_processes_opening_a_new_index_at_once_all_succeed(tmp_path: Path) -> None:
    """Commands started together on a fresh data folder each create the schema."""
    openers = [_opener() for _ in range(OPENERS)]
    try:
        for round_ in range(ROUNDS):
            home = tmp_path / f"home-{round_}"
            for opener in openers:
                _send(opener, f"{home}\n")
            answers = [_answer(opener) for opener in openers]
            assert set(answers) == {"ok"}, f"round {round_}: {answers}"
    finally:
        for opener in openers:
            _stop(opener)


def _used_trove() -> Trove:
    """A Trove whose index has a write-ahead log, a lock taken and settings saved."""
    trove = open_trove(FakeEmbedder())
    with trove.lock, trove.store.transaction():
        trove.store.add_folder("/nowhere")
    save_settings(trove.settings, trove.locations.settings)
    return trove


def _opener() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OPENER],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _send(opener: subprocess.Popen[str], line: str) -> None:
    assert opener.stdin is not None
    opener.stdin.write(line)
    opener.stdin.flush()


def _answer(opener: subprocess.Popen[str]) -> str:
    assert opener.stdout is not None
    return opener.stdout.readline().strip() or f"exited with {opener.wait()}"


def _stop(opener: subprocess.Popen[str]) -> None:
    assert opener.stdin is not None and opener.stdout is not None
    opener.stdin.close()  # the child's loop ends
    opener.wait(timeout=30)
    opener.stdout.close()


@posix_only
def test_what_a_dead_process_left_on_its_way_to_a_copy_is_removed(tmp_path: Path) -> None:
    """A crash in the middle of saving a copy leaves its scratch and temporary files, which
    hold the words or vectors of private documents; a later save removes them."""
    copy = tmp_path / "index.sqlite3-words"
    dead, alive = dead_pid(), os.getpid()
    names = [
        f"index.sqlite3-words.{dead}.runs",
        f"index.sqlite3-words.{dead}.tmp",
        f"index.sqlite3-words.{alive}.tmp",  # being written now
        "index.sqlite3-words",
        f"index.sqlite3-vectors.{dead}.tmp",  # another copy's, removed when that one saves
        "index.sqlite3-words.notes.txt",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    remove_abandoned(copy)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names[2:])
