"""The Help menu's windows: the keyboard shortcuts and About Trove.

The shortcut list is read from the window's own actions and shortcuts, so a key changed
there changes here too.  Only the keys the window handles itself, in its key filters,
are written out below.
"""

from __future__ import annotations

import html
from importlib.metadata import PackageNotFoundError, version

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QMessageBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import theme
from desktop.widgets import read_only_table

# Handled in the search box's and the result lists' key filters, not by actions.
FILTERED_KEYS = [
    ("Down", "From the search box into the results"),
    ("Up", "From the first result back to the search box"),
    ("Enter", "Search now (in the search box); open the file (in the results)"),
]
COLUMNS = ("Key", "Does")


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(key, what it does) for each of the window's shortcuts, as this system writes them."""
    direct = Qt.FindChildOption.FindDirectChildrenOnly
    rows = [
        (_keys(action.shortcuts()), _label(action.text()))
        for action in window.findChildren(QAction, options=direct)
        if action.shortcuts()
    ]
    rows += [
        (_keys([shortcut.key()]), shortcut.whatsThis())
        for shortcut in window.findChildren(QShortcut, options=direct)
        if not shortcut.key().isEmpty()
    ]
    return rows + FILTERED_KEYS


def _keys(sequences: list[QKeySequence]) -> str:
    return ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)


def _label(text: str) -> str:
    return text.replace("&", "").rstrip("…")


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window)
        self.table = read_only_table(COLUMNS, self)
        self.table.setRowCount(len(rows))
        for row, cells in enumerate(rows):
            for column, text in enumerate(cells):
                self.table.setItem(row, column, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        # Tall enough for every row: a short list should not need scrolling.
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)

    def rows(self) -> list[tuple[str, str]]:
        """What the table shows, row by row."""
        table = self.table
        return [
            (table.item(row, 0).text(), table.item(row, 1).text())
            for row in range(table.rowCount())
        ]


def about_box(parent: QWidget) -> QMessageBox:
    """Trove's version and where it keeps its index, settings and cache."""
    from core.paths import Locations  # light: platformdirs only

    places = Locations.from_environment()
    box = QMessageBox(parent)
    box.setWindowTitle("About Trove")
    box.setIconPixmap(theme.icon("trove").pixmap(64, 64))
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(f"<b>Trove {html.escape(trove_version())}</b><br>Find files by what they mean.")
    lines = [("Index", places.database), ("Settings", places.settings), ("Cache", places.cache)]
    where = "<br>".join(f"<nobr>{name}: {html.escape(str(path))}</nobr>" for name, path in lines)
    box.setInformativeText(f"<p>Everything stays on this computer:</p><p>{where}</p>")
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setModal(False)
    return box


def trove_version() -> str:
    try:
        return version("trove")
    except PackageNotFoundError:  # run from a source folder that was never installed
        return "(version unknown)"
