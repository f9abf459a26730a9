"""The desktop app as a real process on the test's TROVE_HOME, offscreen, telling what it
does through its start-up probe lines on stderr."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from types import TracebackType

from tests.conftest import REPO


class AppProcess:
    """``python -m desktop.main ARGS``; its stderr is read on a thread, line by line."""

    def __init__(self, *args: str) -> None:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TROVE_STARTUP_PROBE": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "desktop.main", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self._new.put(line.rstrip("\n"))
        self._new.put(None)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """The first line holding ``text``; fails if the process ends or time runs out."""
        found = [line for line in self.lines if text in line]
        end = time.monotonic() + timeout
        while not found:
            try:
                line = self._new.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {text!r} in time; stderr:\n{self.output()}") from None
            if line is None:
                raise AssertionError(f"ended without {text!r}; stderr:\n{self.output()}")
            self.lines.append(line)
            found = [line] if text in line else []
        return found[0]

    def exit_code(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        while not self._new.empty():
            line = self._new.get()
            if line is not None:
                self.lines.append(line)
        return "\n".join(self.lines)

    def __enter__(self) -> AppProcess:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self._reader.join(30)  # it reads to the end of the closed pipe
        assert self.process.stderr is not None
        self.process.stderr.close()
