"""The search box and the filters beside it.

Typing searches after a short pause (each keystroke restarts the wait), Enter searches at
once, and Escape (the window's shortcut) clears.  The filters narrow by type, folder and
date; changing one searches again straight away.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

from desktop import theme
from desktop.engine import Query

DEBOUNCE_MS = 250

TYPES: list[tuple[str, tuple[str, ...]]] = [
    ("All types", ()),
    ("PDF", ("pdf",)),
    ("Documents", ("docx", "odt", "rtf")),
    ("Notes and text", ("text", "markdown")),
    ("Code", ("code",)),
    ("Web pages", ("html",)),
    ("Spreadsheets", ("xlsx", "ods", "csv")),
    ("Presentations", ("pptx", "odp")),
    ("E-books", ("epub",)),
    ("Mail", ("email",)),
]

DATES: list[tuple[str, timedelta | None]] = [
    ("Any time", None),
    ("Past day", timedelta(days=1)),
    ("Past week", timedelta(days=7)),
    ("Past month", timedelta(days=31)),
    ("Past year", timedelta(days=365)),
]


class SearchBar(QWidget):
    query_changed = Signal(object)  # Query, after typing paused or a filter changed
    down = Signal()  # Down arrow: move into the results

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.box = QLineEdit()
        self.box.setObjectName("searchBox")
        self.box.setPlaceholderText("Describe what you are looking for…")
        self.box.setClearButtonEnabled(True)
        self.box.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.box.installEventFilter(self)
        self.types = _combo([label for label, _ in TYPES], "Only files of this type")
        self.folder = _combo(["All folders"], "Only files in this folder")
        self.dates = _combo([label for label, _ in DATES], "Only files modified since")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.box, 1)
        for combo in (self.types, self.folder, self.dates):
            layout.addWidget(combo)
            combo.currentIndexChanged.connect(self.search_now)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.search_now)
        self.box.textEdited.connect(self._timer.start)
        self.box.returnPressed.connect(self.search_now)
        self.box.textChanged.connect(self._cleared)

    def query(self) -> Query:
        since = DATES[self.dates.currentIndex()][1]
        folder = self.folder.currentData()
        return Query(
            text=self.box.text().strip(),
            types=TYPES[self.types.currentIndex()][1],
            folder=folder if isinstance(folder, str) else None,
            since=datetime.now() - since if since else None,
        )

    def search_now(self) -> None:
        self._timer.stop()
        self.query_changed.emit(self.query())

    def set_folders(self, paths: list[str]) -> None:
        chosen = self.folder.currentData()
        self.folder.blockSignals(True)
        self.folder.clear()
        self.folder.addItem("All folders", None)
        for path in paths:
            self.folder.addItem(theme.icon("folder"), os.path.basename(path) or path, path)
            self.folder.setItemData(self.folder.count() - 1, path, Qt.ItemDataRole.ToolTipRole)
        found = self.folder.findData(chosen) if chosen else 0
        self.folder.setCurrentIndex(max(0, found))
        self.folder.blockSignals(False)
        if chosen and found < 0:
            self.search_now()  # the folder filtered on is gone

    def filter_names(self) -> list[str]:
        """The filters in force, as the user chose them ("PDF", "Past week")."""
        return [
            combo.currentText()
            for combo in (self.types, self.folder, self.dates)
            if combo.currentIndex() > 0
        ]

    def clear_filters(self) -> None:
        """Every filter back to "all", then one search."""
        for combo in (self.types, self.folder, self.dates):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        self.search_now()

    def clear(self) -> None:
        self.box.clear()
        self.search_now()

    def _cleared(self, text: str) -> None:
        if not text:  # the clear button, or everything deleted
            self.search_now()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.box and isinstance(event, QKeyEvent):
            key = event.key() if event.type() == QEvent.Type.KeyPress else None
            if key == Qt.Key.Key_Down:
                self.down.emit()
                return True
        return super().eventFilter(watched, event)


def _combo(labels: list[str], tip: str) -> QComboBox:
    combo = QComboBox()
    combo.addItems(labels)
    combo.setToolTip(tip)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo
