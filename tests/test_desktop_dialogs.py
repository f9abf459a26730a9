"""The folders, failures and settings dialogs and the tray, on a real engine: real
widgets, a real SQLite index (with the fake model) and real files in temporary folders."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QSystemTrayIcon, QTableWidget
from pytestqt.qtbot import QtBot

from core.paths import Locations
from core.settings import Settings, load_settings
from desktop.engine import Engine
from desktop.failures import EMPTY_TEXT, FailuresDialog
from desktop.folders import FoldersDialog
from desktop.settings_dialog import SettingsDialog, apply_from_dialog
from desktop.tray import PAUSE_TEXT, RESUME_TEXT, Tray
from tests.conftest import write
from tests.desktop_support import read_now, started_engine
from tests.fakes import FakeEmbedder

WAIT_MS = 30_000  # indexing spawns an extraction process: generous on a slow machine


@pytest.fixture
def engine(qtbot: QtBot) -> Iterator[Engine]:
    with started_engine(qtbot, WAIT_MS) as engine:
        yield engine


def watched(qtbot: QtBot, engine: Engine) -> dict[str, str]:
    """Watched folder -> its ignore patterns, as the index holds them."""
    return {f.path: f.ignore for f in read_now(qtbot, engine, lambda t: t.folders())}


def cells(table: QTableWidget) -> list[list[str]]:
    return [
        [table.item(row, column).text() for column in range(table.columnCount())]
        for row in range(table.rowCount())
    ]


def docx_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def folders_dialog(qtbot: QtBot, engine: Engine, chosen: str = "") -> FoldersDialog:
    dialog = FoldersDialog(engine)
    qtbot.addWidget(dialog)
    dialog.choose_directory = lambda parent: chosen
    dialog.show()
    return dialog


def add_through(qtbot: QtBot, dialog: FoldersDialog, folder: Path) -> None:
    dialog.choose_directory = lambda parent: str(folder)
    dialog.add_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=WAIT_MS)
    dialog.table.selectRow(0)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    root = Path(os.path.realpath(tmp_path / "docs"))
    write(root, "notes.txt", "Meeting notes about the garden fence and its paint.")
    write(root, "plan.md", "# Plan\n\nRepaint the fence in spring, before the roses bloom.")
    (root / "letter.docx").write_bytes(b"this is no Word document at all")
    return root


# -- folders ---------------------------------------------------------------------------


def test_an_added_folder_is_listed_with_its_counts_once_indexed(
    qtbot: QtBot, engine: Engine, docs: Path
) -> None:
    asked: list[object] = []
    dialog = folders_dialog(qtbot, engine)
    dialog.choose_directory = lambda parent: asked.append(parent) or str(docs)
    assert dialog.empty_hint.isVisible()

    dialog.add_button.click()

    assert asked == [dialog]
    expected = [[str(docs), "2", "0", "1", "0", "0"]]
    qtbot.waitUntil(lambda: cells(dialog.table) == expected, timeout=WAIT_MS)
    assert not dialog.empty_hint.isVisible()
    assert dialog.error.isHidden()
    assert str(docs) in watched(qtbot, engine)


def test_a_folder_that_is_not_there_is_reported_in_the_dialog(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    dialog = folders_dialog(qtbot, engine, chosen=str(tmp_path / "gone"))
    dialog.add_button.click()
    qtbot.waitUntil(dialog.error.isVisible, timeout=WAIT_MS)
    assert "is not a folder" in dialog.error.text()
    assert dialog.table.rowCount() == 0


def test_remove_asks_first_and_keeps_the_files_on_disk(
    qtbot: QtBot, engine: Engine, docs: Path
) -> None:
    dialog = folders_dialog(qtbot, engine)
    add_through(qtbot, dialog, docs)
    asked: list[str] = []
    dialog.confirm_remove = lambda parent, path: asked.append(path) or False

    dialog.remove_button.click()
    # Writes run in order on one thread: once this one is done, a removal would be too.
    with qtbot.waitSignal(engine.folders_changed, timeout=WAIT_MS):
        engine.set_ignore(str(docs), "")
    assert asked == [str(docs)]
    assert str(docs) in watched(qtbot, engine)

    dialog.confirm_remove = lambda parent, path: True
    dialog.remove_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 0, timeout=WAIT_MS)
    assert watched(qtbot, engine) == {}
    assert (docs / "notes.txt").is_file()
    assert not dialog.remove_button.isEnabled()


def test_ignore_patterns_are_saved_and_shown_again_on_reopening(
    qtbot: QtBot, engine: Engine, docs: Path
) -> None:
    dialog = folders_dialog(qtbot, engine)
    add_through(qtbot, dialog, docs)
    assert not dialog.save_patterns.isEnabled()  # nothing typed yet

    dialog.patterns.setPlainText("*.log\nbuild/")
    assert dialog.save_patterns.isEnabled()
    dialog.save_patterns.click()
    qtbot.waitUntil(lambda: watched(qtbot, engine)[str(docs)] == "*.log\nbuild/", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not dialog.save_patterns.isEnabled(), timeout=WAIT_MS)
    dialog.close()

    again = folders_dialog(qtbot, engine)
    qtbot.waitUntil(lambda: again.table.rowCount() == 1, timeout=WAIT_MS)
    assert again.patterns.toPlainText() == ""  # no folder chosen yet
    again.table.selectRow(0)
    assert again.patterns.toPlainText() == "*.log\nbuild/"


def test_typing_survives_a_refresh_of_the_counts(qtbot: QtBot, engine: Engine, docs: Path) -> None:
    dialog = folders_dialog(qtbot, engine)
    add_through(qtbot, dialog, docs)
    dialog.patterns.setPlainText("drafts/")
    with qtbot.waitSignal(engine.folders_changed, timeout=WAIT_MS):
        engine.add_folder(str(docs))  # already watched: only announces a change
    qtbot.waitUntil(lambda: not dialog._soon.pending, timeout=WAIT_MS)
    read_now(qtbot, engine, lambda t: None)  # the dialog's own read has been answered
    assert dialog.patterns.toPlainText() == "drafts/"
    assert dialog.save_patterns.isEnabled()


# -- failures --------------------------------------------------------------------------


def test_failures_lists_an_unreadable_file_and_retry_reads_it_again(
    qtbot: QtBot, engine: Engine, docs: Path, tmp_path: Path
) -> None:
    good = docx_bytes("A letter about the fence.")
    broken = docs / "letter.docx"
    broken.write_bytes(b"this is no Word document at all".ljust(len(good), b"!"))
    dialog = FailuresDialog(engine)
    qtbot.addWidget(dialog)
    counts: list[int] = []
    dialog.count_changed.connect(counts.append)
    dialog.show()
    qtbot.waitUntil(lambda: counts == [0], timeout=WAIT_MS)
    assert dialog.empty.isVisible() and dialog.empty.text() == EMPTY_TEXT
    assert not dialog.retry_button.isEnabled()

    engine.add_folder(str(docs))
    qtbot.waitUntil(lambda: dialog.count() == 1, timeout=WAIT_MS)
    name, folder, category, reason = cells(dialog.table)[0]
    assert (name, folder) == ("letter.docx", str(docs))
    assert category and reason
    assert dialog.table.item(0, 0).toolTip() == str(broken)
    assert counts == [0, 1]

    # Fixed without a change the watcher would notice: same size, same time, swapped in
    # at once.  Only "Retry all" reads it again.
    fixed = tmp_path / "fixed.docx"
    fixed.write_bytes(good)
    stat = broken.stat()
    os.utime(fixed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(fixed, broken)

    with qtbot.waitSignal(engine.pass_finished, timeout=WAIT_MS):
        dialog.retry_button.click()
        assert not dialog.retry_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.count() == 0, timeout=WAIT_MS)
    assert dialog.empty.text() == EMPTY_TEXT
    assert counts == [0, 1, 0]
    states = read_now(qtbot, engine, lambda t: t.folder_counts())[str(docs)]
    assert states.get("indexed") == 3 and "failed" not in states
    qtbot.waitUntil(lambda: dialog.note.text() == "Retry done: 1 now indexed.", timeout=WAIT_MS)


def test_retry_all_says_what_came_of_it(
    qtbot: QtBot, engine: Engine, docs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = docx_bytes("A letter about the fence.")
    letter, memo = docs / "letter.docx", docs / "memo.docx"
    for broken in (letter, memo):
        broken.write_bytes(b"this is no Word document at all".ljust(len(good), b"!"))
    dialog = FailuresDialog(engine)
    qtbot.addWidget(dialog)
    notes: list[str] = []
    show_note = dialog.note.setText
    monkeypatch.setattr(dialog.note, "setText", lambda text: notes.append(text) or show_note(text))
    dialog.show()
    engine.add_folder(str(docs))
    qtbot.waitUntil(lambda: dialog.count() == 2, timeout=WAIT_MS)

    # The letter is fixed (unseen by the watcher: same size and time); the memo is not.
    fixed = tmp_path / "fixed.docx"
    fixed.write_bytes(good)
    stat = letter.stat()
    os.utime(fixed, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(fixed, letter)
    dialog.retry_button.click()

    outcome = "Retry done: 1 now indexed, 1 still failing."
    qtbot.waitUntil(lambda: dialog.note.text() == outcome, timeout=WAIT_MS)
    assert "Retrying 2 files…" in notes
    assert notes.index("Retrying 2 files…") < notes.index(outcome)
    qtbot.waitUntil(lambda: dialog.count() == 1, timeout=WAIT_MS)
    assert cells(dialog.table)[0][0] == "memo.docx"
    assert dialog.retry_button.isEnabled()


# -- settings --------------------------------------------------------------------------


def settings_dialog(qtbot: QtBot, settings: Settings) -> SettingsDialog:
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    return dialog


def ok_button(dialog: SettingsDialog) -> Any:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


@pytest.mark.parametrize(
    "settings",
    [
        Settings(),
        Settings(
            model="org/some-model", device="cuda", index_cores=1, reconcile_minutes=7.0,
            keep_running=True,
        ),
        Settings(device="mps", reconcile_minutes=0.5, index_cores=512),
    ],
    ids=["defaults", "changed", "odd values"],
)  # fmt: skip
def test_settings_dialog_returns_what_it_was_given(qtbot: QtBot, settings: Settings) -> None:
    dialog = settings_dialog(qtbot, settings)
    assert ok_button(dialog).isEnabled()
    assert dialog.result_settings() == settings


def test_settings_dialog_shows_the_values(qtbot: QtBot) -> None:
    settings = Settings(
        model="org/some-model", device="cuda", index_cores=1, reconcile_minutes=7, keep_running=True
    )
    dialog = settings_dialog(qtbot, settings)
    assert dialog.model.currentText() == "Other model…"
    assert dialog.model_path.text() == "org/some-model"
    assert dialog.device.currentText() == "CUDA (NVIDIA)"
    assert dialog.cores.text() == "1 core"
    assert dialog.minutes.text() == "7 minutes"
    assert dialog.keep_running.isChecked()

    dialog = settings_dialog(qtbot, Settings())
    assert dialog.model.currentText() == "Default (all-MiniLM-L6-v2, bundled)"
    assert not dialog.model_path.isEnabled()
    assert dialog.device.currentText() == "Automatic"
    assert dialog.cores.text() == "all cores"
    assert not dialog.keep_running.isChecked()


def test_settings_dialog_returns_the_edited_values(qtbot: QtBot, tmp_path: Path) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    dialog = settings_dialog(qtbot, Settings(chunk_tokens=300))
    dialog.choose_directory = lambda parent: str(model)
    dialog.browse.click()
    dialog.device.setCurrentIndex(dialog.device.findText("CPU"))
    dialog.cores.setValue(1)
    dialog.minutes.setValue(30)
    dialog.keep_running.setChecked(True)

    assert dialog.model.currentText() == "Other model…"
    assert dialog.result_settings() == Settings(
        chunk_tokens=300,
        model=str(model),
        device="cpu",
        index_cores=1,
        reconcile_minutes=30.0,
        keep_running=True,
    )


def test_settings_that_cannot_be_used_disable_ok(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = settings_dialog(qtbot, Settings())
    dialog.model.setCurrentIndex(1)  # "Other model…" with nothing entered
    assert not ok_button(dialog).isEnabled()
    assert dialog.error.isVisibleTo(dialog) and "Enter a model" in dialog.error.text()

    dialog.model_path.setText(str(tmp_path / "no-such-model"))
    assert not ok_button(dialog).isEnabled()
    assert "no folder" in dialog.error.text()

    dialog.model_path.setText("org/some-model")
    assert ok_button(dialog).isEnabled()
    assert not dialog.error.isVisibleTo(dialog)

    # Values the dialog does not show are still checked, by Settings itself.
    broken = settings_dialog(qtbot, Settings(chunk_tokens=0))
    assert not ok_button(broken).isEnabled()
    assert "chunk_tokens" in broken.error.text()


def test_the_picture_model_is_chosen_typed_or_left_off(qtbot: QtBot, tmp_path: Path) -> None:
    clip = tmp_path / "clip-ViT-B-32"
    clip.mkdir()
    dialog = settings_dialog(qtbot, Settings())
    assert dialog.pictures.text() == ""
    assert dialog.result_settings().picture_model == ""
    dialog.choose_directory = lambda parent: str(clip)
    dialog.browse_pictures.click()
    assert dialog.result_settings().picture_model == str(clip)
    assert dialog.model.currentIndex() == 0  # the language model is another setting
    dialog.pictures.setText(str(tmp_path / "missing"))
    assert not ok_button(dialog).isEnabled()
    assert "no folder" in dialog.error.text()
    dialog.pictures.setText("sentence-transformers/clip-ViT-B-32")
    assert ok_button(dialog).isEnabled()
    shown = settings_dialog(qtbot, Settings(picture_model="sentence-transformers/clip-ViT-B-32"))
    assert shown.pictures.text() == "sentence-transformers/clip-ViT-B-32"


def test_a_picture_model_change_waits_for_a_restart(
    qtbot: QtBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "switch_model", lambda *a: pytest.fail("model switched"))
    old = engine.trove.settings  # type: ignore[union-attr]
    new = old.with_changes(picture_model="sentence-transformers/clip-ViT-B-32")
    message = apply_from_dialog(engine, old, new, lambda *a: pytest.fail("asked"))
    assert message == "Settings saved; the picture model change applies at the next start"
    saved(qtbot, new)


def saved(qtbot: QtBot, wanted: Settings) -> None:
    path = Locations.from_environment().settings
    qtbot.waitUntil(lambda: load_settings(path) == wanted, timeout=WAIT_MS)


def test_applying_saves_and_names_what_waits_for_a_restart(
    qtbot: QtBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "switch_model", lambda *a: pytest.fail("model switched"))
    old = engine.trove.settings  # type: ignore[union-attr]
    new = old.with_changes(device="cpu", reconcile_minutes=5, keep_running=True)

    message = apply_from_dialog(engine, old, new, lambda *a: pytest.fail("asked"))

    assert message == "Settings saved; the device change applies at the next start"
    saved(qtbot, new)
    message = apply_from_dialog(engine, new, new.with_changes(keep_running=False), bool)
    assert message == "Settings saved"


def test_a_model_change_declined_keeps_the_model(
    qtbot: QtBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    switched: list[Settings] = []
    monkeypatch.setattr(engine, "switch_model", switched.append)
    asked: list[tuple[Settings, Settings]] = []
    old = engine.trove.settings  # type: ignore[union-attr]
    new = old.with_changes(model="org/other-model", keep_running=True)

    def decline(o: Settings, n: Settings) -> bool:
        asked.append((o, n))
        return False

    message = apply_from_dialog(engine, old, new, decline)

    assert asked == [(old, new)]
    assert message.startswith("Settings saved; the model stays all-MiniLM-L6-v2")
    saved(qtbot, old.with_changes(keep_running=True))
    assert switched == []


def test_a_model_change_accepted_switches_after_saving_the_rest(
    qtbot: QtBot, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    switched: list[tuple[Settings, object]] = []
    monkeypatch.setattr(engine, "switch_model", lambda s, m: switched.append((s, m)))
    old = engine.trove.settings  # type: ignore[union-attr]
    new = old.with_changes(model="org/other-model", index_cores=1)
    checked = FakeEmbedder(model_id="org/other-model")  # what the dialog's check loaded

    message = apply_from_dialog(engine, old, new, lambda o, n: True, checked)

    assert "building the index for org/other-model" in message
    assert switched == [(new, checked)]
    # Until the new index is ready, the saved settings keep the model it was built with.
    saved(qtbot, old.with_changes(index_cores=1))


# -- tray ------------------------------------------------------------------------------


@pytest.fixture
def tray(engine: Engine) -> Iterator[Tray]:
    tray = Tray(engine)
    yield tray
    tray.hide()


def test_tray_menu_asks_for_search_and_quit(qtbot: QtBot, tray: Tray) -> None:
    assert [a.text() for a in tray.menu.actions() if not a.isSeparator()] == [
        "Search…",
        PAUSE_TEXT,
        "Quit Trove",
    ]
    with qtbot.waitSignal(tray.search_requested, timeout=1000):
        tray.search_action.trigger()
    with qtbot.waitSignal(tray.quit_requested, timeout=1000):
        tray.quit_action.trigger()
    with qtbot.waitSignal(tray.search_requested, timeout=1000):
        tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    with qtbot.assertNotEmitted(tray.search_requested):
        tray.icon.activated.emit(QSystemTrayIcon.ActivationReason.Context)


def test_tray_pauses_and_follows_the_engine(qtbot: QtBot, engine: Engine, tray: Tray) -> None:
    with qtbot.waitSignal(engine.paused_changed, timeout=1000) as paused:
        tray.pause_action.trigger()
    assert paused.args == [True]
    assert engine.paused
    assert tray.pause_action.isChecked() and tray.pause_action.text() == RESUME_TEXT

    engine.set_paused(False)  # from elsewhere, say the main window
    assert not tray.pause_action.isChecked()
    assert tray.pause_action.text() == PAUSE_TEXT


def test_tray_shows_only_where_there_is_a_tray(tray: Tray) -> None:
    tray.show()
    assert tray.icon.isVisible() == Tray.available()
    assert not tray.icon.icon().isNull()


def test_work_asked_for_after_shutdown_is_dropped(qtbot: QtBot) -> None:
    from desktop.tasks import Tasks

    tasks = Tasks("trove-test")
    ran: list[int] = []
    assert tasks.run(lambda: ran.append(1)).result(timeout=5) is None
    tasks.shutdown()
    late = tasks.run(lambda: ran.append(2))  # a timer firing while the app closes
    assert late.cancelled() and ran == [1]
