"""The skipped files of one watched folder: what Trove found there and leaves unread on
purpose, and why (a private rule, an ignore pattern, a format it cannot read yet).

Nothing is silently missing from a search: a file that is neither here, nor indexed,
nor failed is not a document Trove reads (a picture, a program, an archive).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.widgets import Throttle, read_only_table

if TYPE_CHECKING:
    from desktop.engine import Engine

# Passes can end many times a minute while a folder is indexed; the list need not follow.
REFRESH_THROTTLE_MS = 1000
COLUMNS = ("Name", "In", "Skipped", "Why")
STATE_LABELS = {"excluded": "Excluded", "unsupported": "Not supported"}
HINT = (
    "Excluded files match a private rule (never read, whatever the patterns say) or an "
    "ignore pattern, which you can change in the Folders dialog. A folder skipped whole "
    "(node_modules/, a private folder, one a pattern names) is not looked into, so its "
    "files are not listed. Files in a format Trove cannot read yet are listed with what "
    "to do instead."
)

Skipped = tuple[str, str, str]  # (path, state, reason), as core.app.Trove.skipped


def skipped_summary(folder: str, skipped: list[Skipped]) -> str:
    """One line: how many files of ``folder`` are skipped, and for which reasons."""
    if not skipped:
        return f"Trove reads every document it found in {folder}."
    excluded = sum(1 for _, state, _ in skipped if state == "excluded")
    parts = []
    if excluded:
        parts.append(f"{excluded:,} excluded")
    if len(skipped) - excluded:
        parts.append(f"{len(skipped) - excluded:,} in formats Trove cannot read")
    files = "file" if len(skipped) == 1 else "files"
    return f"{len(skipped):,} {files} in {folder} are not read: {' and '.join(parts)}."


class SkippedDialog(QDialog):
    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._folder = ""
        self._skipped: list[Skipped] = []
        self._soon = Throttle(REFRESH_THROTTLE_MS, self.refresh, self)
        self._build()
        engine.pass_finished.connect(self._soon.soon)
        engine.folders_changed.connect(self.refresh)

    def _build(self) -> None:
        self.resize(820, 420)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.table = read_only_table(COLUMNS, self)
        self.table.setWordWrap(True)  # reasons are sentences: they wrap
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 180)
        self.table.setColumnWidth(1, 120)
        hint = QLabel(HINT, self)
        hint.setWordWrap(True)
        hint.setEnabled(False)  # the disabled colour reads as a quiet hint
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        layout.addWidget(close)

    # -- reading -----------------------------------------------------------------------

    def show_folder(self, folder: str) -> None:
        """Show (and raise) the skipped files of ``folder``, a watched folder."""
        if folder != self._folder:
            self._folder = folder
            self._show_skipped([])
            self.summary.setText(f"Reading the skipped files of {folder}…")
        self.setWindowTitle(f"Skipped files in {os.path.basename(folder) or folder}")
        self.show()
        self.raise_()
        self.activateWindow()
        self.refresh()

    def skipped(self) -> list[Skipped]:
        return list(self._skipped)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        self._soon.cancel()
        if not self.isVisible() or not self._folder:
            return
        folder = self._folder
        self._engine.read(
            lambda trove: trove.skipped(folder),
            lambda skipped: self._read(folder, skipped),
            self._read_failed,
            latest="skipped-dialog",
        )

    def _read(self, folder: str, skipped: list[Skipped]) -> None:
        if isValid(self) and folder == self._folder:
            self._show_skipped(skipped)

    def _show_skipped(self, skipped: list[Skipped]) -> None:
        self._skipped = skipped
        self.summary.setText(skipped_summary(self._folder, skipped))
        self.table.setRowCount(len(skipped))
        for row, entry in enumerate(skipped):
            self._fill_row(row, entry)
        self.table.resizeRowsToContents()

    def _fill_row(self, row: int, entry: Skipped) -> None:
        path, state, reason = entry
        where = os.path.relpath(os.path.dirname(path), self._folder)
        cells = (
            os.path.basename(path),
            "" if where == "." else where,
            STATE_LABELS.get(state, state),
            reason,
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(path if column < 3 else f"{path}\n\n{reason}")
            self.table.setItem(row, column, item)

    def _read_failed(self, error: BaseException) -> None:
        if isValid(self):
            self.summary.setText(f"The skipped files could not be read: {error}")
