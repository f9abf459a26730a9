"""The window on a damaged index: it says so, offers to set the file aside (kept, not
deleted) and, when the person agrees, indexes the same folders into a new index."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop import window as window_module
from tests.conftest import garble_header, settled_index, write
from tests.desktop_support import running_app, search, wait_for
from tests.fakes import FakeEmbedder


def _damaged_index(tmp_path: Path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    write(docs, "ferry.txt", "The harbour ferry timetable for the winter season.")
    database = settled_index(docs)
    garble_header(database)
    return docs, database


def test_the_window_offers_to_set_a_damaged_index_aside_and_rebuilds(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, database = _damaged_index(tmp_path)
    damaged_bytes = database.read_bytes()
    asked: list[bool] = []
    monkeypatch.setattr(window_module, "confirm_set_aside", lambda _: asked.append(True) or True)
    with running_app(qtbot, FakeEmbedder()) as window:
        assert asked == [True]
        kept = list(database.parent.glob("index.damaged-*.sqlite3"))
        assert len(kept) == 1 and kept[0].read_bytes() == damaged_bytes
        wait_for(qtbot, lambda: window.folders == [str(docs)])
        wait_for(qtbot, lambda: window.file_count == 1)
        assert [r.path for r in search(qtbot, window, "harbour ferry")] == [str(docs / "ferry.txt")]


def test_declining_leaves_the_damaged_index_in_place_and_says_so(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, database = _damaged_index(tmp_path)
    monkeypatch.setattr(window_module, "confirm_set_aside", lambda _: False)
    with running_app(qtbot, FakeEmbedder(), ready=False) as window:
        wait_for(qtbot, lambda: "damaged" in window.message.text())
        assert "trove repair" in window.message.text()
    assert not list(database.parent.glob("index.damaged-*"))
