"""The main window with the real model on the sample folder: searching, the keyboard,
the preview, similar files, adding a folder, pausing, failures, the layout."""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop import system
from tests.conftest import SAMPLE, write
from tests.desktop_support import read_now, running_app, search, search_everything, wait_for
from tests.fakes import FakeEmbedder, SlowEmbedder

pytestmark = pytest.mark.model


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    folder = tmp_path / "sample"
    shutil.copytree(SAMPLE, folder)
    return folder


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Records what would have been opened or revealed, instead of starting programs."""
    calls: dict[str, list[str]] = {"open": [], "reveal": []}
    monkeypatch.setattr(system, "open_file", lambda path, failed: calls["open"].append(path))
    monkeypatch.setattr(system, "reveal_file", lambda path, failed: calls["reveal"].append(path))
    return calls


def names(results: list[Any]) -> list[str]:
    return [os.path.basename(r.path) for r in results]


def test_a_paraphrase_finds_its_file_first_with_preview_and_similar_files(
    qtbot: QtBot, real_embedder: Any, sample: Path
) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)

        results = search(qtbot, window, "how frequently does my indoor ficus tree need a drink")
        assert names(results)[0] == "houseplants.md"
        first = results[0]
        assert first.snippet and first.location

        window.search.down.emit()
        assert window.list.currentIndex().row() == 0
        # The preview shows the file's text with the matched passage marked and in view.
        wait_for(qtbot, lambda: window.preview.passage != (0, 0), 10_000)
        start, end = window.preview.passage
        shown = window.preview.text.toPlainText()
        assert "water" in shown[start:end].lower()
        marks = window.preview.text.extraSelections()
        assert marks and marks[0].cursor.selectedText().replace("\u2029", "\n") == shown[start:end]
        visible = window.preview.text.cursorForPosition(
            window.preview.text.viewport().rect().center()
        )
        assert start - 2000 <= visible.position() <= end + 2000
        # The similar panel lists other files, never the selected one.
        wait_for(qtbot, lambda: window.similar.rowCount() > 0, 10_000)
        assert "houseplants.md" not in names(window.similar.results())
        assert "houseplants.md" in window.similar_title.text()


def test_keyboard_moves_opens_reveals_and_clears(
    qtbot: QtBot, real_embedder: Any, sample: Path, opened: dict[str, list[str]]
) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)
        window.activateWindow()
        wait_for(qtbot, lambda: QApplication.focusWidget() is window.search.box, 5_000)

        results = search_everything(qtbot, window, "rent paid by the tenant each month")
        assert len(results) >= 3
        qtbot.keyClick(window.search.box, Qt.Key.Key_Down)
        assert window.list.hasFocus() and window.list.currentIndex().row() == 0
        qtbot.keyClick(window.list, Qt.Key.Key_Down)
        qtbot.keyClick(window.list, Qt.Key.Key_Down)
        assert window.list.currentIndex().row() == 2
        qtbot.keyClick(window.list, Qt.Key.Key_Up)
        assert window.list.currentIndex().row() == 1

        qtbot.keyClick(window.list, Qt.Key.Key_Return)
        assert opened["open"] == [results[1].path]
        qtbot.keyClick(window.list, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
        assert opened["reveal"] == [results[1].path]

        qtbot.keyClick(window.list, Qt.Key.Key_Up)
        qtbot.keyClick(window.list, Qt.Key.Key_Up)  # above the first row: back to the box
        assert window.search.box.hasFocus()
        qtbot.keyClick(window.search.box, Qt.Key.Key_Escape)
        assert window.search.box.text() == ""
        assert window.results.rowCount() == 0


def test_filters_narrow_the_results(qtbot: QtBot, real_embedder: Any, sample: Path) -> None:
    with running_app(qtbot, real_embedder) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)
        everything = search_everything(qtbot, window, "back up my photos to a drive")
        assert "backup_photos.py" in names(everything)
        assert any(not n.endswith(".py") for n in names(everything))

        with qtbot.waitSignal(window.results_shown, timeout=30_000):
            window.search.types.setCurrentIndex(4)  # Code
        assert names(window.results.results()) == ["backup_photos.py"]


def test_a_dropped_file_from_outside_the_index_finds_similar_files(
    qtbot: QtBot, real_embedder: Any, sample: Path, tmp_path: Path
) -> None:
    outside = write(
        tmp_path / "elsewhere",
        "note.txt",
        "My monstera droops. Should I water the pot more often, or is the light too weak "
        "near the north window? Its leaves are yellowing at the edges.",
    )
    with running_app(qtbot, real_embedder) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(outside))])
        drop = QDropEvent(
            QPointF(20, 20), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )  # fmt: skip
        window.dropEvent(drop)
        wait_for(qtbot, lambda: window.similar.rowCount() > 0, 60_000)
        assert names(window.similar.results())[0] == "houseplants.md"
        assert "note.txt" in window.similar_title.text()


def test_first_run_shows_the_empty_state_and_adding_a_folder_brings_results(
    qtbot: QtBot, sample: Path
) -> None:
    with running_app(qtbot, FakeEmbedder()) as window:
        assert window.pages.currentWidget() is window.empty
        # A search typed before any folder exists is answered once files arrive.
        window.pages.setCurrentIndex(0)
        window.search.box.setText("sourdough loaf oven")
        window.search.search_now()
        window.empty.add_folder.emit(str(sample))
        wait_for(
            qtbot, lambda: window.pages.currentIndex() == 0 and window.folders == [str(sample)]
        )
        wait_for(qtbot, lambda: "sourdough_recipe.md" in names(window.results.results()))
        assert window.search.folder.count() == 2  # "All folders" and the new one


def test_changes_on_disk_reach_the_results_without_a_restart(qtbot: QtBot, sample: Path) -> None:
    with running_app(qtbot, FakeEmbedder()) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)
        assert "zeppelin" not in " ".join(names(search(qtbot, window, "zeppelin hangar")))
        write(sample, "zeppelin_hangar.txt", "The zeppelin hangar tour starts at noon.")
        wait_for(qtbot, lambda: "zeppelin_hangar.txt" in names(window.results.results()))


def test_pause_says_pausing_until_indexing_stops_and_resume_continues_one_count(
    qtbot: QtBot, tmp_path: Path
) -> None:
    folder = tmp_path / "many"
    for i in range(120):
        write(folder, f"note_{i:03}.txt", f"Note number {i} about topic {i % 7}.")
    slow = SlowEmbedder(delay_s=0.25)  # 4 files a step: 7.5 s in all
    with running_app(qtbot, slow, commit_every=4) as window:
        engine, activity = window.engine, window.activity
        with qtbot.waitSignal(engine.progress, timeout=30_000):
            window.add_folder(str(folder))
        # One count while indexing, the activity's; the left says only what is watched.
        wait_for(
            qtbot,
            lambda: (
                activity.label.text().startswith("Indexing")
                and window.status_text.text() == "Watching 1 folder"
            ),
            10_000,
        )
        assert " of 120 files" in activity.label.text()

        slow.gate.clear()
        assert slow.held.wait(10)  # the model is inside a step: the pass cannot stop yet
        qtbot.mouseClick(activity.pause, Qt.MouseButton.LeftButton)
        QApplication.processEvents()
        assert engine.paused and activity.label.text() == "Pausing…"
        slow.gate.set()
        wait_for(qtbot, lambda: activity.label.text() == "Paused", 5_000)
        assert not activity.bar.isVisible()
        held = read_now(qtbot, engine, lambda t: t.store.state_counts())
        done = held.get("indexed", 0)
        wait_for(qtbot, lambda: window.status_text.text().endswith(f" · {done:,} files indexed"))
        qtbot.wait(1500)  # paused: nothing more is indexed, however long it waits
        assert read_now(qtbot, engine, lambda t: t.store.state_counts()) == held
        assert 0 < done < 120

        qtbot.mouseClick(activity.pause, Qt.MouseButton.LeftButton)
        assert not engine.paused
        wait_for(qtbot, lambda: activity.label.text().startswith("Indexing"), 10_000)
        # The count goes on from where it paused ("Indexing 37 of 120"), not "0 of 83".
        counted = re.match(r"Indexing (\d+) of 120 files", activity.label.text())
        assert counted is not None and int(counted[1]) >= done
        wait_for(qtbot, lambda: activity.label.text() == "Up to date")
        wait_for(qtbot, lambda: window.file_count == 120)


def test_a_file_that_cannot_be_read_shows_as_failed(qtbot: QtBot, sample: Path) -> None:
    (sample / "broken.docx").write_bytes(b"this is not a word document")
    with running_app(qtbot, FakeEmbedder()) as window:
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.activity.failures.isVisible())
        assert window.activity.failures.text() == "1 failed"


def test_window_size_and_splitters_are_remembered(qtbot: QtBot) -> None:
    with running_app(qtbot, FakeEmbedder()) as window:
        window.pages.setCurrentIndex(0)  # the search page, not the first-run one
        window.resize(760, 560)
        qtbot.waitUntil(lambda: window.width() == 760)
        window.split.setSizes([300, 440])
        qtbot.waitUntil(lambda: abs(window.split.sizes()[0] - 300) <= 4)
        window.save_layout()
    with running_app(qtbot, FakeEmbedder()) as again:
        assert (again.width(), again.height()) == (760, 560)
        again.pages.setCurrentIndex(0)
        qtbot.waitUntil(lambda: abs(again.split.sizes()[0] - 300) <= 4)


class _LoadingEmbedder(FakeEmbedder):
    """Holds the first query (the engine's warm-up) until the test lets the model 'load'."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded = threading.Event()

    def embed_query(self, text: str) -> Any:
        self.loaded.wait(60)
        return super().embed_query(text)


def test_a_folder_added_while_the_model_loads_is_added_once_it_is_ready(
    qtbot: QtBot, sample: Path
) -> None:
    loading = _LoadingEmbedder()
    try:
        with running_app(qtbot, loading, ready=False) as window:
            wait_for(qtbot, lambda: window.pages.currentWidget() is window.empty)
            window.empty.add_folder.emit(str(sample))
            qtbot.wait(200)
            assert not window.engine.is_ready
            assert "Could not add" not in window.statusBar().currentMessage()
            loading.loaded.set()
            wait_for(qtbot, lambda: window.folders == [str(sample)])
            wait_for(qtbot, lambda: window.file_count == 18)
    finally:
        loading.loaded.set()


def test_a_model_switch_builds_beside_the_index_and_takes_over(qtbot: QtBot, sample: Path) -> None:
    with running_app(qtbot, FakeEmbedder()) as window:
        engine = window.engine
        window.add_folder(str(sample))
        wait_for(qtbot, lambda: window.file_count == 18)
        assert engine.trove is not None
        settings = engine.trove.settings.with_changes(model="test/other-model")
        other = FakeEmbedder(dimension=32, model_id="test/other-model")
        with qtbot.waitSignal(engine.ready, timeout=60_000):
            engine.switch_model(settings, other)
        assert engine.trove is not None and engine.trove.embedder is other
        assert engine.trove.status().states.get("indexed") == 18
        assert "sourdough_recipe.md" in names(search(qtbot, window, "sourdough loaf oven"))
