"""The window as a desktop app: every Quit quits (closing only hides, with "keep running"
on), the Help menu tells the real keys, and the window cannot be crushed."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from importlib.metadata import version

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

import desktop.window
from core.paths import Locations
from core.settings import Settings, save_settings
from desktop.engine import Engine
from desktop.help import ShortcutsDialog
from desktop.main import build
from desktop.window import MIN_SIZE, MainWindow
from tests.app_process import AppProcess
from tests.fakes import FakeEmbedder

# How long a Quit may take to end the event loop before the test ends it itself.
QUIT_WITHIN_MS = 5000
NOT_QUIT = 3


@pytest.fixture
def app_window(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    """The app's window, tray and quit wiring over a started engine, with "keep running"
    on and a system tray to keep running in."""
    save_settings(
        Settings(extract_workers=1, keep_running=True), Locations.from_environment().settings
    )
    monkeypatch.setattr(desktop.window, "_tray_available", lambda: True)
    engine = Engine(embedder=FakeEmbedder())
    window = build(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        with qtbot.waitSignal(engine.ready, timeout=60_000):
            engine.start()
        assert window.keep_running, "read from the settings once the engine is ready"
        yield window
    finally:
        window.hide()
        window.tray.hide()  # type: ignore[union-attr]
        engine.shutdown()


class StaysOpen(QWidget):
    """Another top-level window still showing when the main window hides itself instead
    of closing, as the tray icon's own X11 window is whenever Qt asks it after the main
    one.  Qt's quit gives up while any such window remains."""

    def closeEvent(self, event: QCloseEvent) -> None:
        event.ignore()


def exec_until(trigger: Callable[[], None]) -> int:
    """Run the app's event loop as ``main`` does, ``trigger`` a Quit in it, and return the
    exit code, or NOT_QUIT if the loop was still running after QUIT_WITHIN_MS."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    quit_on_last = app.quitOnLastWindowClosed()
    app.setQuitOnLastWindowClosed(False)  # as main sets it: hiding must not quit
    give_up = QTimer()
    give_up.setSingleShot(True)
    give_up.timeout.connect(lambda: app.exit(NOT_QUIT))
    give_up.start(QUIT_WITHIN_MS)
    QTimer.singleShot(0, trigger)
    try:
        return app.exec()
    finally:
        give_up.stop()
        app.setQuitOnLastWindowClosed(quit_on_last)


def quit_action(window: MainWindow) -> QAction:
    return next(a for a in window.findChildren(QAction) if a.text() == "Quit")


def quit_from_the_tray_over_the_settings_dialog(window: MainWindow) -> None:
    tray_quit = window.tray.quit_action  # type: ignore[union-attr]
    QTimer.singleShot(0, tray_quit.trigger)  # runs in the dialog's own event loop
    window.show_settings()  # modal: returns when its loop ends


@pytest.mark.parametrize("how", ["menu", "keys", "tray", "tray over a modal dialog"])
def test_every_quit_ends_the_app_even_with_keep_running_on(
    qtbot: QtBot, app_window: MainWindow, how: str
) -> None:
    other = StaysOpen()
    qtbot.addWidget(other)
    other.show()
    app_window.activateWindow()
    qtbot.waitActive(app_window)
    control = Qt.KeyboardModifier.ControlModifier
    triggers: dict[str, Callable[[], None]] = {
        "menu": quit_action(app_window).trigger,
        "keys": lambda: qtbot.keyClick(app_window, Qt.Key.Key_Q, control),
        "tray": app_window.tray.quit_action.trigger,  # type: ignore[union-attr]
        "tray over a modal dialog": lambda: quit_from_the_tray_over_the_settings_dialog(app_window),
    }
    try:
        assert exec_until(triggers[how]) == 0
    finally:
        other.hide()


def test_closing_the_window_with_keep_running_on_only_hides_it(
    qtbot: QtBot, app_window: MainWindow
) -> None:
    with qtbot.assertNotEmitted(app_window.quit_requested):
        app_window.close()
    assert not app_window.isVisible()
    app_window.tray.search_action.trigger()  # type: ignore[union-attr]
    assert app_window.isVisible()


@pytest.mark.model
def test_the_app_process_quits_cleanly_with_keep_running_on() -> None:
    save_settings(Settings(keep_running=True), Locations.from_environment().settings)
    with AppProcess() as app:
        app.wait_for("model ready", timeout=180)
        app.process.send_signal(signal.SIGTERM)  # what logging out sends
        assert app.exit_code(timeout=15) == 0
        app.wait_for("stopped")  # the engine shut down and closed the index


# -- the Help menu and the window's size ---------------------------------------------


@pytest.fixture
def window(qtbot: QtBot) -> Iterator[MainWindow]:
    engine = Engine()  # never started: menus and sizes need no index
    window = build(engine)
    qtbot.addWidget(window)
    window.show()
    yield window
    window.hide()
    window.tray.hide()  # type: ignore[union-attr]
    engine.shutdown()


def menu_action(window: MainWindow, menu: str, text: str) -> QAction:
    titles = {a.text(): a.menu() for a in window.menuBar().actions()}
    assert menu in titles, f"no {menu} menu in {list(titles)}"
    return next(a for a in titles[menu].actions() if a.text() == text)


def native(keys: str) -> str:
    return QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)


def test_the_shortcut_list_names_every_key_the_window_answers(
    qtbot: QtBot, window: MainWindow
) -> None:
    menu_action(window, "&Help", "Keyboard shortcuts").trigger()
    dialog = window.findChild(ShortcutsDialog)
    assert dialog is not None and dialog.isVisible()
    listed = dict(dialog.rows())
    actions = [a for a in window.findChildren(QAction) if not a.shortcut().isEmpty()]
    assert len(actions) >= 7
    for action in actions:
        key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        assert key in listed, f"{action.text()} ({key}) is not listed"
        assert listed[key] == action.text().rstrip("…")
    for keys in ("Ctrl+F", "Ctrl+L", "Ctrl+Q", "Ctrl+Shift+F", "Ctrl+Shift+S", "Ctrl+Shift+C"):
        assert native(keys) in listed
    assert native("Ctrl+Return") in listed and native("Esc") in listed
    assert {"Down", "Enter"} <= set(listed)
    # Linux has no standard Settings key, and the offscreen platform no Quit key either.
    assert not menu_action(window, "&Trove", "Settings…").shortcut().isEmpty()


def test_about_names_the_version_and_where_the_data_lives(qtbot: QtBot, window: MainWindow) -> None:
    menu_action(window, "&Help", "About Trove").trigger()
    box = window.findChild(QMessageBox)
    assert box is not None and box.isVisible()
    assert version("trove") in box.text()
    places = Locations.from_environment()
    for path in (places.database, places.settings, places.cache):
        assert str(path) in box.informativeText()


def test_the_window_cannot_be_crushed(qtbot: QtBot, window: MainWindow) -> None:
    window.resize(200, 150)
    assert window.width() >= MIN_SIZE[0] and window.height() >= MIN_SIZE[1]
