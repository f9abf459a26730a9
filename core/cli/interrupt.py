"""Ctrl-C for a command that runs until it is stopped (``trove watch``).

The first Ctrl-C cancels a token that the work checks between steps, so that it can stop
cleanly.  But the work may be deep in a step that checks nothing for seconds (importing
torch, embedding a batch, hashing a large folder), and once torch is loaded Python's own
shutdown takes about two seconds more.  So the process ends at once, with the same
goodbye and exit status, when the clean stop is done, when it is not done within
``GRACE_S``, or at a second Ctrl-C.  Extraction workers are killed first; what the index
had not committed the database rolls back, and the next pass reads it again.

The signal is read from a wakeup socket by a thread of its own rather than acted on in a
Python signal handler, which runs only once the main thread is back in Python code: it
may spend seconds inside one native call (a tokenizer, a torch operation).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import socket
import sys
import threading
from types import FrameType, TracebackType
from typing import IO, Any, NoReturn

from core.events import CancelToken

# Long enough for a clean stop when idle (the watcher looks every 0.5 s), short enough
# that a busy or slow machine still ends well within two seconds of Ctrl-C.
GRACE_S = 1.0
_STOP_LISTENING = 0  # the byte this module sends itself; no signal is numbered 0


class Interrupt:
    """While the block runs (in the main thread), Ctrl-C stops the work as above.

    For the command line only: once Ctrl-C was pressed, leaving the block ends the
    process.  ``token`` is what the work checks.
    """

    def __init__(self, out: IO[str], farewell: str, grace_s: float = GRACE_S) -> None:
        self.token = CancelToken()
        self._out = out
        self._farewell = farewell
        self._grace_s = grace_s
        self._said = threading.Lock()
        self._listener, self._alarm = socket.socketpair()
        self._previous: tuple[Any, int] | None = None

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._alarm.setblocking(False)  # written to from the C signal handler
            handler = signal.signal(signal.SIGINT, _noted_by_the_listener)
            wakeup = signal.set_wakeup_fd(self._alarm.fileno(), warn_on_full_buffer=False)
            self._previous = (handler, wakeup)
            threading.Thread(target=self._listen, name="trove-interrupt", daemon=True).start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if not self.token.cancelled:
            self._restore()
        elif error is None:
            self.end_process()
        # An error on the way out after Ctrl-C: it is reported, and the deadline still
        # ends the process.

    def end_process(self) -> NoReturn:
        """Say goodbye, kill the extraction workers and end the process now, status 0."""
        try:  # nothing here (a closed pipe, say) may keep the process alive
            for child in multiprocessing.active_children():
                with contextlib.suppress(Exception):  # the clean stop may be closing it
                    child.kill()
            if self._said.acquire(blocking=False):
                self._out.write(self._farewell)
            for stream in (self._out, sys.stderr):
                stream.flush()
        finally:
            os._exit(0)

    def _listen(self) -> None:
        try:
            if not self._interrupted():
                return
            self.token.cancel()
            self._listener.settimeout(self._grace_s)
            with contextlib.suppress(TimeoutError):
                self._interrupted()  # a second Ctrl-C: no more waiting
        finally:
            self._listener.close()
        self.end_process()

    def _interrupted(self) -> bool:
        """Wait for Ctrl-C (True) or for the block to end without one (False)."""
        while True:
            received = self._listener.recv(64)
            if not received or _STOP_LISTENING in received:
                return False
            if signal.SIGINT in received:
                return True

    def _restore(self) -> None:
        if self._previous is None:
            self._listener.close()
        else:
            handler, wakeup = self._previous
            signal.set_wakeup_fd(wakeup)
            signal.signal(signal.SIGINT, handler)
            with contextlib.suppress(OSError):
                self._alarm.send(bytes([_STOP_LISTENING]))
        self._alarm.close()


def _noted_by_the_listener(number: int, frame: FrameType | None) -> None:
    """Python's own handler must stay installed for the wakeup socket to be written, and
    must not raise KeyboardInterrupt in the middle of the clean stop."""
