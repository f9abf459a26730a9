"""Small pieces the views share: a refresh that waits for a pause in the events that
ask for it, and the read-only table the dialogs list things in."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QWidget


class Throttle(QObject):
    """Runs ``action`` at most once per ``interval_ms``, however often ``soon`` is called:
    indexing sends progress many times a second, and each refresh is a read."""

    def __init__(self, interval_ms: int, action: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(action)

    def soon(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    @property
    def pending(self) -> bool:
        return self._timer.isActive()

    def cancel(self) -> None:
        self._timer.stop()


def read_only_table(columns: Sequence[str], parent: QWidget) -> QTableWidget:
    """A table of whole rows to look at and select, not to edit; long paths elide in the
    middle, where they differ least."""
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    table.verticalHeader().hide()
    return table
