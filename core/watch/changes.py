"""The coalescing queue between the observer threads and the indexing loop.

Observers only note which paths changed; a path noted many times is one entry.  The loop
takes paths once they have been quiet for a short window, so an editor's save (truncate,
write, rename) or a file copied in several writes is read once, with its final content,
and a burst (git checkout, unzip) becomes a few large batches instead of thousands of
small ones.
"""

from __future__ import annotations

import os
import stat as stat_module
import threading
import time
from collections.abc import Callable, Iterable

# A file whose mtime keeps moving is still being written; past this age it is taken
# anyway (a clock skewed into the future must not hold a file back forever).
MAX_SETTLE_S = 30.0


class ChangeQueue:
    """Thread-safe: ``note`` from any thread, ``take`` from the one indexing loop."""

    def __init__(
        self,
        quiet_s: float = 0.4,
        max_wait_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quiet_s = quiet_s
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._last: dict[str, float] = {}
        self._first: dict[str, float] = {}
        self._changed = threading.Condition()

    def note(self, paths: Iterable[str]) -> None:
        with self._changed:
            now = self._clock()
            for path in paths:
                self._last[path] = now
                self._first.setdefault(path, now)
            self._changed.notify()

    def __len__(self) -> int:
        with self._changed:
            return len(self._last)

    def wake(self) -> None:
        """Let a waiting ``take`` return early (to stop, or to reconcile)."""
        with self._changed:
            self._changed.notify()

    def take(self, timeout: float) -> list[str]:
        """The paths ready to index, waiting at most ``timeout`` seconds for some.

        Ready means: everything once no change at all arrived for the quiet window;
        during a long burst, the paths quiet for the window once the oldest has waited
        ``max_wait_s``, so a burst is indexed as it goes rather than only at its end.
        """
        deadline = self._clock() + timeout
        with self._changed:
            while True:
                ready = self._ready()
                now = self._clock()
                if ready or now >= deadline:
                    return ready
                self._changed.wait(min(deadline, self._next_check(now)) - now)

    def _ready(self) -> list[str]:
        if not self._last:
            return []
        now = self._clock()
        quiet_all = now - max(self._last.values()) >= self.quiet_s
        waited = now - min(self._first.values()) >= self.max_wait_s
        if not (quiet_all or waited):
            return []
        ready = [p for p, last in self._last.items() if now - last >= self.quiet_s]
        taken = []
        for path in ready:
            if _still_written(path, self.quiet_s) and now - self._first[path] < MAX_SETTLE_S:
                self._last[path] = now
                continue
            del self._last[path], self._first[path]
            taken.append(path)
        return taken

    def _next_check(self, now: float) -> float:
        if not self._last:
            return now + 3600.0
        moments = (
            max(self._last.values()) + self.quiet_s,
            min(self._first.values()) + self.max_wait_s,
            min(self._last.values()) + self.quiet_s,
        )
        return min((m for m in moments if m > now), default=now + self.quiet_s / 4)


def _still_written(path: str, quiet_s: float) -> bool:
    """Whether a file's content changed within the quiet window (its mtime says so)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    if not stat_module.S_ISREG(info.st_mode):
        return False
    return 0 <= time.time() - info.st_mtime < quiet_s
