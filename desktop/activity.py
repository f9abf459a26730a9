"""What indexing is doing, in the status bar: files done of total, rate, time left,
a pause button and the count of files that could not be read."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QToolButton, QWidget

from desktop import theme


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
        self._pass_total = 0

    # -- fed by the engine's signals -------------------------------------------------

    def scanned(self, scan: Any) -> None:
        self._pass_total = scan.to_index
        if scan.to_index:
            self._show(0, scan.to_index, "")

    def progressed(self, progress: Any) -> None:
        rate = f" · {progress.chunks_per_s:.0f} passages/s" if progress.chunks_per_s else ""
        left = f" · {_duration(progress.eta_s)} left" if progress.eta_s else ""
        self._show(progress.files_done, progress.files_total, rate + left)

    def pass_finished(self, batch: Any) -> None:
        self._pass_total = 0
        self.bar.hide()
        self.label.setText("Paused" if self.pause.isChecked() else "Up to date")

    def set_paused(self, paused: bool) -> None:
        self.pause.blockSignals(True)
        self.pause.setChecked(paused)
        self.pause.blockSignals(False)
        self._show_pause(paused)
        if paused:
            self.label.setText("Paused")

    def set_failed(self, count: int) -> None:
        self.failures.setVisible(count > 0)
        self.failures.setText(f"{count:,} failed")
        self.failures.setToolTip("Files Trove could not read: show why, and retry")

    # -- showing ---------------------------------------------------------------------

    def _show(self, done: int, total: int, details: str) -> None:
        if self.pause.isChecked():
            return
        self.bar.show()
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(min(done, total))
        self.label.setText(f"Indexing {done:,} of {total:,} files{details}")

    def _toggled(self, paused: bool) -> None:
        self._show_pause(paused)
        self.pause_toggled.emit(paused)
        if paused:
            self.label.setText("Paused")
            self.bar.hide()

    def _show_pause(self, paused: bool) -> None:
        self.pause.setIcon(theme.icon("play" if paused else "pause"))
        self.pause.setToolTip("Resume indexing" if paused else "Pause indexing")


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"about {max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"
