"""The failures dialog: files Trove found but could not read, and why.

It reads the list while it is shown (the main window's "3 failed" badge counts on its
own), and again as new failures arrive or a pass ends.  "Retry all" says what came of
it once the files it asked for have been read again: "2 now indexed, 1 still failing".
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop import theme
from desktop.widgets import Throttle, read_only_table

if TYPE_CHECKING:
    from core.app import Trove
    from desktop.engine import Engine

# A big folder can fail hundreds of files in one pass; one read a second keeps up.
REFRESH_THROTTLE_MS = 1000
COLUMNS = ("Name", "Folder", "Category", "Reason")
EMPTY_TEXT = "No failures: every file Trove found could be read."

Failure = tuple[str, str, str]  # (path, category, reason), as core.app.Trove.failures


def _read_failures(trove: Trove) -> list[Failure]:
    return trove.failures()


def _read_states(paths: list[str]) -> Callable[[Trove], dict[str, int]]:
    """How many of ``paths`` are in each state now ("gone" for those the index lost)."""

    def read(trove: Trove) -> dict[str, int]:
        states: Counter[str] = Counter()
        for path in paths:
            row = trove.store.file_by_path(path)
            states[row.state if row is not None else "gone"] += 1
        return dict(states)

    return read


def retry_outcome(states: dict[str, int]) -> str:
    """What a retry came to, in one line: "Retry done: 2 now indexed, 1 still failing"."""
    parts = [
        f"{count:,} {words}"
        for state, words in (
            ("indexed", "now indexed"),
            ("failed", "still failing"),
            ("unsupported", "in a format Trove cannot read"),
            ("excluded", "now excluded"),
            ("gone", "no longer there"),
        )
        if (count := states.get(state, 0))
    ]
    return f"Retry done: {', '.join(parts)}." if parts else "Retry done."


class FailuresDialog(QDialog):
    count_changed = Signal(int)  # how many files failed, after every refresh that changes it

    def __init__(self, engine: Engine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._engine = engine
        self._failures: list[Failure] = []
        self._count: int | None = None
        # A retry is "asked" until the writer has reset the failures, then "reading" until
        # a pass has read every one of ``_retried`` (the paths listed when it was asked).
        self._retry = ""
        self._retried_paths: list[str] = []
        self._writable = True
        self._soon = Throttle(REFRESH_THROTTLE_MS, self.refresh, self)
        self._build()
        self._connect()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.setWindowTitle("Files Trove could not read")
        self.resize(820, 460)
        self.table = read_only_table(COLUMNS, self)
        self.table.setWordWrap(True)  # reasons are sentences: they wrap
        header = self.table.horizontalHeader()
        for column, mode in enumerate(
            (
                QHeaderView.ResizeMode.Interactive,
                QHeaderView.ResizeMode.Interactive,
                QHeaderView.ResizeMode.ResizeToContents,
                QHeaderView.ResizeMode.Stretch,
            )
        ):
            header.setSectionResizeMode(column, mode)
        self.table.setColumnWidth(0, 180)
        self.table.setColumnWidth(1, 220)

        self.empty = QLabel(EMPTY_TEXT, self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setEnabled(False)  # the disabled colour reads as a quiet hint
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.table)
        self.pages.addWidget(self.empty)

        self.retry_button = QPushButton(theme.icon("retry"), "Retry all", self)
        self.retry_button.setToolTip("Read every failed file again, for example after fixing it")
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        bottom = QHBoxLayout()
        bottom.addWidget(self.retry_button)
        bottom.addWidget(self.note, 1)
        bottom.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        # Nothing is known until the first read answers: count_changed waits for it.
        self.pages.setCurrentWidget(self.empty)
        self._update_retry()

    def _connect(self) -> None:
        self.retry_button.clicked.connect(self.retry_all)
        self._engine.ready.connect(self.refresh)
        self._engine.file_failed.connect(self._soon.soon)
        self._engine.pass_finished.connect(self._pass_finished)
        self._engine.writable.connect(self._set_writable)

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        return len(self._failures)

    def failures(self) -> list[Failure]:
        return list(self._failures)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        self._soon.cancel()
        if not self.isVisible():  # showEvent reads it afresh
            return
        self._engine.read(
            _read_failures, self._show_failures, self._read_failed, latest="failures-dialog"
        )

    def _pass_finished(self) -> None:
        if self._retry == "reading":
            # Not every pass reads the retried files (one may have been under way when
            # they were reset): ask where they stand, and wait on while any is pending.
            self._engine.read(
                _read_states(self._retried_paths), self._retry_read, latest="failures-retry"
            )
        self._soon.soon()

    def _show_failures(self, failures: list[Failure]) -> None:
        if not isValid(self):  # closed and deleted while the read ran
            return
        self._failures = failures
        self.table.setRowCount(len(failures))
        for row, failure in enumerate(failures):
            self._fill_row(row, failure)
        self.table.resizeRowsToContents()
        self.pages.setCurrentWidget(self.table if failures else self.empty)
        # Mid-retry the files are pending, not read: no success to announce yet.
        self.empty.setText("Reading the files again…" if self._retry else EMPTY_TEXT)
        self._update_retry()
        if self._count != len(failures):
            self._count = len(failures)
            self.count_changed.emit(self._count)

    def _fill_row(self, row: int, failure: Failure) -> None:
        path, category, reason = failure
        cells = (os.path.basename(path), os.path.dirname(path), category, reason)
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(path if column < 3 else f"{path}\n\n{reason}")
            if column == 0:
                item.setIcon(theme.icon("warning"))
            self.table.setItem(row, column, item)

    def _read_failed(self, error: BaseException) -> None:
        if isValid(self):
            self.note.setText(f"The list of failures could not be read: {error}")

    # -- retrying ----------------------------------------------------------------------

    def retry_all(self) -> None:
        if not self._writable:
            self.note.setText("Another Trove process is updating the index; retry from there.")
            return
        self._retry = "asked"
        self._retried_paths = [path for path, _, _ in self._failures]
        self._update_retry()
        self.note.setText("Asking Trove to read the failed files again…")
        self._engine.retry_failed(on_done=self._retried)

    def _retried(self, count: int) -> None:
        if not isValid(self):
            return
        if count == 0:
            self._retry = ""
            self.note.setText("Nothing to retry.")
        else:
            self._retry = "reading"
            files = "file" if count == 1 else "files"
            self.note.setText(f"Retrying {count:,} {files}…")
        # The rows stay until that pass ends: an empty list now would claim a success.
        self._update_retry()

    def _retry_read(self, states: dict[str, int]) -> None:
        if not isValid(self) or self._retry != "reading" or states.get("pending"):
            return
        self._retry = ""
        self.note.setText(retry_outcome(states))
        self.refresh()  # the list as that pass left it, without "Reading the files again…"

    def _set_writable(self, writable: bool) -> None:
        self._writable = writable
        self._update_retry()

    def _update_retry(self) -> None:
        self.retry_button.setEnabled(self._writable and bool(self._failures) and not self._retry)
