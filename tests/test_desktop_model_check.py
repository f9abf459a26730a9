"""A new model is checked in the Settings dialog before anything is confirmed or built,
and a model change that fails anyway is told in a dialog and leaves nothing behind."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from core.embedding import bundled_model_path
from core.paths import Locations
from core.settings import Settings
from desktop.engine import Engine
from desktop.settings_dialog import CHECKING_TEXT, SettingsDialog
from tests.conftest import write
from tests.desktop_support import running_app, wait_for
from tests.fakes import FakeEmbedder

# The first check imports torch and sentence-transformers: seconds on a slow machine.
CHECK_MS = 120_000


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every attempt to reach another machine, refused and written down."""
    attempts: list[object] = []
    connect = socket.socket.connect

    def refuse(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            attempts.append(address)
            raise OSError("network use refused by the test")
        connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)  # the check must not need it
    return attempts


@pytest.fixture
def engine() -> Iterator[Engine]:
    """An engine that checks models; no index needs to be open for that."""
    engine = Engine(embedder=FakeEmbedder())
    yield engine
    engine.shutdown()


def other_model(qtbot: QtBot, engine: Engine, model: str) -> SettingsDialog:
    dialog = SettingsDialog(Settings(), engine=engine)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.model.setCurrentIndex(1)  # "Other model…"
    dialog.model_path.setText(model)
    return dialog


def ok_button(dialog: SettingsDialog) -> Any:
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)


def refused(qtbot: QtBot, dialog: SettingsDialog) -> str:
    """Press OK and wait for the check's refusal; returns the reason shown."""
    ok_button(dialog).click()
    assert dialog.checking.isVisible() and dialog.checking.text() == CHECKING_TEXT
    assert not ok_button(dialog).isEnabled()
    qtbot.waitUntil(dialog.error.isVisible, timeout=CHECK_MS)
    assert dialog.isVisible() and dialog.result() == 0 and dialog.checked is None
    assert not dialog.checking.isVisible() and ok_button(dialog).isEnabled()
    return dialog.error.text()


def test_a_made_up_model_id_is_refused_in_the_dialog(
    qtbot: QtBot, engine: Engine, no_network: list[object]
) -> None:
    dialog = other_model(qtbot, engine, "acme/not-a-real-model")
    reason = refused(qtbot, dialog)
    assert reason == (
        "Cannot load the model 'acme/not-a-real-model': "
        "it is neither a folder nor a model already on this computer"
    )
    assert no_network == []


def test_a_folder_without_a_model_is_refused_in_one_line(
    qtbot: QtBot, engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "not-a-model"
    write(folder, "notes.txt", "Just some notes, no model here.")
    dialog = other_model(qtbot, engine, str(folder))
    reason = refused(qtbot, dialog)
    assert reason.startswith(f"Cannot load the model '{folder}': ")
    assert "\n" not in reason

    dialog.model_path.setText(str(tmp_path))  # another choice: the old reason goes
    assert not dialog.error.isVisible()


@pytest.mark.model
def test_a_model_that_loads_is_accepted_and_handed_over_loaded(
    qtbot: QtBot, engine: Engine, no_network: list[object]
) -> None:
    dialog = other_model(qtbot, engine, str(bundled_model_path()))
    with qtbot.waitSignal(dialog.accepted, timeout=CHECK_MS):
        ok_button(dialog).click()
    assert dialog.checked is not None and dialog.checked.loaded
    assert dialog.checked.dimension == 384
    assert no_network == []


def test_a_failed_switch_is_shown_in_a_dialog_and_leaves_nothing_behind(
    qtbot: QtBot, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    write(docs, "kites.txt", "Flying kites on a windy beach.")
    not_a_model = tmp_path / "empty-model"
    not_a_model.mkdir()
    with running_app(qtbot, FakeEmbedder()) as window:
        engine = window.engine
        window.add_folder(str(docs))
        wait_for(qtbot, lambda: window.file_count == 1)
        assert engine.trove is not None
        building: list[str] = []
        engine.status.connect(building.append)

        # No check before it (as after a dialog that skipped it): the build itself fails.
        engine.switch_model(engine.trove.settings.with_changes(model=str(not_a_model)))

        wait_for(qtbot, lambda: bool(shown_boxes(window)), timeout=CHECK_MS)
        box = shown_boxes(window)[0]
        assert box.windowTitle() == "The model was not changed"
        assert box.text().startswith(f"The index for {not_a_model} could not be built: ")
        assert building[0].startswith("Building the index for")
        assert not window.status_text.text().startswith("Building")
        assert not Locations.from_environment().next_index.exists()
        assert engine.trove.embedder.model_id == "test/fake-hashing"
        box.accept()


def shown_boxes(window: Any) -> list[QMessageBox]:
    return [box for box in window.findChildren(QMessageBox) if box.isVisible()]
