"""What indexing is doing, in the status bar: files done of the run's total, movement
inside a large file, time left, a pause button and the count of files that could not be
read.  While it indexes, this is the one place that counts files."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from desktop import theme

# The bar counts hundredths of a file, so it moves inside a large one.
STEPS_PER_FILE = 100
PAUSING = "Pausing…"
PAUSED = "Paused"


class IndexActivity(QWidget):
    pause_toggled = Signal(bool)  # True: pause
    failures_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setTextVisible(False)
        self.bar.hide()
        self.pause = QToolButton()
        self.pause.setCheckable(True)
        self.pause.setAutoRaise(True)
        self.pause.toggled.connect(self._toggled)
        self.pause.setEnabled(False)  # until the engine says this window may write
        self.failures = QToolButton()
        self.failures.setAutoRaise(True)
        self.failures.setIcon(theme.icon("warning"))
        self.failures.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.failures.clicked.connect(self.failures_clicked)
        self.failures.hide()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.failures, self.label, self.bar, self.pause):
            layout.addWidget(widget)
        self._show_pause(False)
        self.busy = False  # counting a run's files: the count is here, nowhere else

    # -- fed by the engine's signals -------------------------------------------------

    def progressed(self, progress: Any) -> None:
        if self.pause.isChecked():
            return  # "Pausing…" stays until the pass has stopped
        self.busy = True
        done, total = progress.files_done, max(1, progress.files_total)
        self.bar.show()
        self.bar.setRange(0, total * STEPS_PER_FILE)
        self.bar.setValue(min(done * STEPS_PER_FILE + _inside(progress), total * STEPS_PER_FILE))
        self.label.setText(_describe(progress))
        rate = f"{progress.chunks_per_s:,.0f} passages/s" if progress.chunks_per_s else ""
        self.label.setToolTip(rate)

    def rested(self, paused: bool) -> None:
        """The watcher has stopped indexing: paused, or up to date.  Either word only
        if it is still what was asked for (a click may have crossed the news)."""
        if paused == self.pause.isChecked():
            self._rest(PAUSED if paused else "Up to date")

    def set_paused(self, paused: bool) -> None:
        self.pause.blockSignals(True)
        self.pause.setChecked(paused)
        self.pause.blockSignals(False)
        self._show_pause(paused)
        self._asked(paused)

    def set_failed(self, count: int) -> None:
        self.failures.setVisible(count > 0)
        self.failures.setText(f"{count:,} failed")
        self.failures.setToolTip("Files Trove could not read: show why, and retry")

    # -- showing ---------------------------------------------------------------------

    def _toggled(self, paused: bool) -> None:
        self._show_pause(paused)
        self.pause_toggled.emit(paused)
        self._asked(paused)

    def _asked(self, paused: bool) -> None:
        """Until the watcher says it has stopped, a pause is only asked for."""
        if paused and self.label.text() != PAUSED:
            self.label.setText(PAUSING)
        elif not paused:
            self.label.setText("Resuming…")

    def _rest(self, text: str) -> None:
        self.busy = False
        self.bar.hide()
        self.label.setText(text)
        self.label.setToolTip("")

    def _show_pause(self, paused: bool) -> None:
        self.pause.setIcon(theme.icon("play" if paused else "pause"))
        self.pause.setToolTip("Resume indexing" if paused else "Pause indexing")


def _describe(progress: Any) -> str:
    """Reads like "Indexing 11 of 277 files · big.pdf: 1,200 of 4,800 passages · about 2 min
    left", or "… · reading scan.pdf (OCR: 3 pages so far)"."""
    text = f"Indexing {progress.files_done:,} of {progress.files_total:,} files"
    name = os.path.basename(progress.current)
    if progress.reading and name:
        text += f" · reading {name}"
        if progress.pages_read:
            text += f" (OCR: {_pages(progress.pages_read)} so far)"
    elif 0 < progress.file_chunks_done < progress.file_chunks:
        text += f" · {name}: {progress.file_chunks_done:,} of {progress.file_chunks:,} passages"
    if progress.eta_s:
        text += f" · {_duration(progress.eta_s)} left"
    return text


def _pages(count: int) -> str:
    return "1 page" if count == 1 else f"{count:,} pages"


def _inside(progress: Any) -> int:
    """How far into the current file, in hundredths of a file."""
    if not progress.file_chunks or progress.file_chunks_done >= progress.file_chunks:
        return 0
    return int(progress.file_chunks_done * STEPS_PER_FILE // progress.file_chunks)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
