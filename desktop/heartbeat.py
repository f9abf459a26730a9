"""A timer on the GUI thread that notices when it could not run: the longest gap
between its beats is the longest time the window could not have answered the user."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

BEAT_MS = 10


class Heartbeat(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.longest = 0.0  # seconds a beat came late, at most
        self.beats = 0
        self._last = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setInterval(BEAT_MS)
        self.timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last - BEAT_MS / 1000)
        self._last = now
        self.beats += 1
