"""What a watched folder holds but Trove leaves unread is counted in the Folders dialog
and listed, with the reason for each file: real files, a real engine and index."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.engine import Engine
from desktop.folders import FoldersDialog
from desktop.skipped import SkippedDialog
from tests.conftest import write
from tests.desktop_support import started_engine

WAIT_MS = 30_000


@pytest.fixture
def engine(qtbot: QtBot) -> Iterator[Engine]:
    with started_engine(qtbot, WAIT_MS) as engine:
        yield engine


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path / "messy"))
    write(root, "notes.txt", "Meeting notes about the garden fence and its paint.")
    write(root, "credentials.json", '{"token": "not for a search index"}')
    write(root, "logs/build.log", "build started, build finished")
    write(root, "drafts/secret.md", "# Not yet")
    write(root, ".troveignore", "drafts/secret.md\n")
    (root / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0 an old Word file")
    (root / "figure.xyz").write_bytes(b"not a document at all")
    return root


def cells(dialog: FoldersDialog | SkippedDialog) -> list[list[str]]:
    table = dialog.table
    return [
        [table.item(row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


def test_skipped_files_are_counted_and_listed_with_their_reasons(
    qtbot: QtBot, engine: Engine, messy: Path
) -> None:
    dialog = FoldersDialog(engine)
    qtbot.addWidget(dialog)
    dialog.show()
    engine.add_folder(str(messy), "*.log")

    # Indexed, pending, failed, excluded, unsupported.
    expected = [[str(messy), "1", "0", "0", "3", "1"]]
    qtbot.waitUntil(lambda: cells(dialog) == expected, timeout=WAIT_MS)
    assert not dialog.skipped_button.isEnabled()  # nothing selected yet
    dialog.table.selectRow(0)
    assert dialog.skipped_button.isEnabled()

    dialog.skipped_button.click()
    skipped = dialog.findChild(SkippedDialog)
    assert skipped is not None and skipped.isVisible()
    qtbot.waitUntil(lambda: len(skipped.skipped()) == 4, timeout=WAIT_MS)
    rows = {row[0]: row[1:] for row in cells(skipped)}
    assert rows["credentials.json"][:2] == ["", "Excluded"]
    assert rows["credentials.json"][2].startswith("private (")
    assert rows["build.log"] == ["logs", "Excluded", "your patterns: *.log"]
    assert rows["secret.md"] == ["drafts", "Excluded", "your patterns: drafts/secret.md"]
    assert rows["old.doc"][:2] == ["", "Not supported"]
    assert "save it as .docx" in rows["old.doc"][2]
    assert "figure.xyz" not in rows  # not a document: never counted as skipped
    assert skipped.summary.text() == (
        f"4 files in {messy} are not read: 3 excluded and 1 in formats Trove cannot read."
    )


def test_a_folder_with_nothing_skipped_offers_no_list(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    folder = Path(os.path.realpath(tmp_path / "plain"))
    write(folder, "notes.txt", "Nothing private here.")
    dialog = FoldersDialog(engine)
    qtbot.addWidget(dialog)
    dialog.show()
    engine.add_folder(str(folder))
    expected = [[str(folder), "1", "0", "0", "0", "0"]]
    qtbot.waitUntil(lambda: cells(dialog) == expected, timeout=WAIT_MS)
    dialog.table.selectRow(0)
    assert not dialog.skipped_button.isEnabled()
