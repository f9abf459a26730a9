"""A timer on the GUI thread that notices when it could not run: the longest gap
between its beats is the longest time the window could not have answered the user.

To find what stalls it, give it ``trace_after``: when a beat is that late, Python's
fault handler (a thread of its own, needing no GIL) prints every thread's stack to
stderr while the stall lasts."""

from __future__ import annotations

import faulthandler
import sys
import time

from PySide6.QtCore import QObject, QTimer

BEAT_MS = 10


class Heartbeat(QObject):
    def __init__(self, parent: QObject | None = None, trace_after: float | None = None) -> None:
        super().__init__(parent)
        self.trace_after = trace_after
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
        if self.trace_after is not None:
            faulthandler.cancel_dump_traceback_later()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last - BEAT_MS / 1000)
        self._last = now
        self.beats += 1
        if self.trace_after is not None:
            # Each beat puts the deadline off again; a late one lets it pass.
            faulthandler.dump_traceback_later(self.trace_after, file=sys.stderr)
