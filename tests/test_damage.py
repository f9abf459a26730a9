"""A damaged index or a full disk is explained in one line, never a traceback; a damaged
index is moved aside (never deleted) and a new one starts for the same folders."""

from __future__ import annotations

import os
from pathlib import Path

import apsw
import pytest

from core.cli.main import known_condition, main
from core.errors import DiskFull, IndexDamaged
from core.events import Finished
from core.paths import Locations
from core.store import Store
from tests.conftest import garble_header, open_trove, run_index, settled_index, write
from tests.fakes import FakeEmbedder


def _indexed_home(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    for n in range(30):
        write(docs, f"note{n}.txt", f"Note {n}: the harbour ferry leaves at dawn. " * 40)
    return docs, settled_index(docs)


def _truncate(database: Path) -> None:
    os.truncate(database, database.stat().st_size // 2)


DAMAGE = {"truncated": _truncate, "garbage header": garble_header}


@pytest.fixture(params=sorted(DAMAGE))
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path]:
    docs, database = _indexed_home(tmp_path)
    DAMAGE[request.param](database)
    return docs, database


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("command", [["status"], ["search", "ferry"], ["index"], ["add", "."]])
def test_commands_on_a_damaged_index_say_what_to_do_in_one_line(
    damaged: tuple[Path, Path], command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, database = damaged
    code, _out, err = _run(capsys, *command)
    assert code == 1
    assert len(err.strip().splitlines()) == 1, err
    assert f"the index at {database} is damaged" in err
    assert "`trove repair`" in err and "nothing is deleted" in err


def test_repair_moves_the_damaged_index_aside_and_keeps_the_folders(
    damaged: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    docs, database = damaged
    damaged_bytes = database.read_bytes()
    code, out, _ = _run(capsys, "repair")
    assert code == 0
    kept = list(database.parent.glob("index.damaged-*.sqlite3"))
    assert len(kept) == 1 and kept[0].read_bytes() == damaged_bytes
    assert str(kept[0]) in out
    trove = open_trove(FakeEmbedder())
    try:
        folders = [f.path for f in trove.folders()]
        finished, _ = run_index(trove)
    finally:
        trove.close()
    # A cut-short file may have lost the folders table; a garbled header loses nothing.
    if request.node.callspec.params["damaged"] == "garbage header":
        assert folders
    if folders:
        assert folders == [str(docs)] and finished.files_indexed == 30
        assert "A new index watches the same 1 folders" in out
    else:
        assert "add yours again with `trove add`" in out


def test_repair_leaves_a_sound_index_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, database = _indexed_home(tmp_path)
    code, out, _ = _run(capsys, "repair")
    assert code == 0 and "nothing to repair" in out
    assert not list(database.parent.glob("index.damaged-*"))


def test_damage_found_by_a_query_is_explained_too() -> None:
    database = Locations.from_environment().database
    corrupt = known_condition(apsw.CorruptError("database disk image is malformed"))
    assert isinstance(corrupt, IndexDamaged) and corrupt.path == database
    assert isinstance(known_condition(OSError(28, "No space left on device")), DiskFull)
    assert known_condition(apsw.SQLError("no such column: x")) is None  # a bug stays a bug
    denied = known_condition(PermissionError(13, "Permission denied", "/srv/trove"))
    assert denied is not None and "cannot write /srv/trove (Permission denied)" in str(denied)
    assert known_condition(OSError(5, "Input/output error")) is None


@pytest.mark.model
def test_doctor_reports_the_damage_and_still_checks_the_rest(
    damaged: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "doctor")
    assert code == 1 and "Traceback" not in err
    lines = {line.split()[1]: line for line in out.splitlines() if line[:4].strip()}
    assert "damaged" in lines["index"] and lines["index"].startswith("FAIL")
    assert lines["model"].startswith("ok") and lines["data"].startswith("ok")


def test_a_full_disk_is_reported_and_the_next_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's page limit gives the very error a full disk gives (SQLITE_FULL); the
    OS's answer to "how much room is left" is what a full disk would say."""
    import shutil

    room = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("core.store.index.shutil.disk_usage", lambda _: room._replace(free=4096))
    docs = tmp_path / "docs"
    for n in range(60):
        write(docs, f"note{n:02}.txt", f"Note {n} about sailing and tides. " * 200)
    trove = open_trove(FakeEmbedder(), commit_every=16)
    try:
        trove.add_folder(docs)
        pages = trove.store.conn.execute("PRAGMA page_count").fetchone()[0]
        trove.store.conn.execute(f"PRAGMA max_page_count = {pages + 100}")
        with pytest.raises(DiskFull, match="is full"):
            run_index(trove)
        assert trove.store.integrity_check() == "ok"
        partly = trove.store.state_counts()
        assert 0 < partly.get("indexed", 0) < 60, partly
        trove.store.conn.execute("PRAGMA max_page_count = 1073741823")
        monkeypatch.undo()
        finished, _ = run_index(trove)
        assert isinstance(finished, Finished)
        assert trove.store.state_counts() == {"indexed": 60}
        assert trove.store.integrity_check() == "ok"
    finally:
        trove.close()


def test_a_store_on_a_garbled_file_raises_index_damaged(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(IndexDamaged, match="is damaged"):
        Store.open(path)
