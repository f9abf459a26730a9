"""Opening a result, or showing it in its folder, says in the window when it cannot be
done: real programs on a PATH arranged so that none can handle the file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.system import NO_OPENER
from desktop.window import MainWindow
from tests.conftest import write
from tests.desktop_support import running_app, search, wait_for
from tests.fakes import FakeEmbedder


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    """The window with one result, notes.txt, selected."""
    write(tmp_path / "docs", "notes.txt", "Meeting notes about the garden fence.")
    with running_app(qtbot, FakeEmbedder()) as window:
        window.add_folder(str(tmp_path / "docs"))
        wait_for(qtbot, lambda: window.file_count == 1)
        assert search(qtbot, window, "garden fence")
        window.list.setCurrentIndex(window.results.index(0))
        yield window


def only_programs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *programs: str) -> None:
    """PATH holds these programs and nothing else; no application is registered for
    any kind of file (the XDG folders are empty)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in programs:
        found = shutil.which(program)
        if found is None:
            pytest.skip(f"{program} is not installed")
        os.symlink(found, bin_dir / program)
    empty = tmp_path / "xdg"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    for name in ("XDG_DATA_HOME", "XDG_DATA_DIRS", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS"):
        monkeypatch.setenv(name, str(empty))
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


def shown(qtbot: QtBot, window: MainWindow, start: str) -> str:
    """The status bar's message once it starts with ``start``."""
    bar = window.statusBar()
    wait_for(qtbot, lambda: bar.currentMessage().startswith(start), timeout=30_000)
    return bar.currentMessage()


def test_opening_with_no_program_to_open_files_says_so(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    only_programs(monkeypatch, tmp_path)
    window.open_selected()
    assert shown(qtbot, window, "Could not open") == f"Could not open notes.txt: {NO_OPENER}"


def test_opening_a_file_no_application_handles_says_why(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    only_programs(monkeypatch, tmp_path, "gio")
    window.open_selected()
    message = shown(qtbot, window, "Could not open notes.txt: ")
    reason = message.removeprefix("Could not open notes.txt: ")
    assert "application" in reason.lower() and "file://" not in reason


def test_showing_in_the_folder_with_no_file_manager_says_why(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # dbus-send finds no session bus, so no file manager answers; then no application
    # opens the folder either.
    only_programs(monkeypatch, tmp_path, "dbus-send", "gio")
    window.reveal_selected()
    message = shown(qtbot, window, "Could not show notes.txt in its folder: ")
    assert "application" in message.lower()


def test_showing_in_the_folder_with_no_program_at_all_says_so(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    only_programs(monkeypatch, tmp_path)
    window.reveal_selected()
    message = shown(qtbot, window, "Could not show")
    assert message == f"Could not show notes.txt in its folder: {NO_OPENER}"


def test_opening_a_file_that_is_gone_says_so(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    (tmp_path / "docs" / "notes.txt").unlink()
    window.open_selected()
    message = shown(qtbot, window, "Could not open")
    folder = os.path.realpath(tmp_path / "docs")
    assert message == f"Could not open notes.txt: it is no longer in {folder}"
