"""The system tray icon: Trove keeps watching with the window closed, and comes back
from here.

The menu and its actions exist whether or not the system has a tray, so they can be
driven (and tested) without ever showing the icon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop import theme

if TYPE_CHECKING:
    from desktop.engine import Engine

PAUSE_TEXT = "Pause indexing"
RESUME_TEXT = "Resume indexing"


class Tray(QObject):
    search_requested = Signal()  # bring the window up with the search box focused
    quit_requested = Signal()  # leave Trove for good, not just close the window

    def __init__(self, engine: Engine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self.icon = QSystemTrayIcon(theme.icon("trove-tray"), self)
        self.icon.setToolTip("Trove")
        # A QMenu takes only a widget as parent; this object owns it through the reference.
        self.menu = QMenu()
        self.search_action = QAction(theme.icon("search"), "Search…", self.menu)
        self.pause_action = QAction(PAUSE_TEXT, self.menu)
        self.pause_action.setCheckable(True)
        self.quit_action = QAction("Quit Trove", self.menu)
        self.menu.addAction(self.search_action)
        self.menu.addSeparator()
        self.menu.addAction(self.pause_action)
        self.menu.addSeparator()
        self.menu.addAction(self.quit_action)
        self.icon.setContextMenu(self.menu)
        self._connect()
        self._show_paused(engine.paused)

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        if self.available():
            self.icon.show()

    def hide(self) -> None:
        self.icon.hide()

    def _connect(self) -> None:
        self.search_action.triggered.connect(self.search_requested)
        self.quit_action.triggered.connect(self.quit_requested)
        self.pause_action.triggered.connect(self._pause_triggered)
        self.icon.activated.connect(self._activated)
        self._engine.paused_changed.connect(self._show_paused)
        self._engine.writable.connect(self.pause_action.setEnabled)
        self._engine.status.connect(self._show_status)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        # The context menu opens itself on a right click; a plain click means "search".
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.search_requested.emit()

    def _pause_triggered(self, checked: bool) -> None:
        self._engine.set_paused(checked)
        # Without a watcher (another process indexes) nothing changes: undo the tick.
        self._show_paused(self._engine.paused)

    def _show_paused(self, paused: bool) -> None:
        self.pause_action.setChecked(paused)
        self.pause_action.setText(RESUME_TEXT if paused else PAUSE_TEXT)
        self.pause_action.setIcon(theme.icon("play" if paused else "pause"))

    def _show_status(self, status: str) -> None:
        self.icon.setToolTip(f"Trove: {status}")
