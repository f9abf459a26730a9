"""Running core work off the GUI thread, with its outcome delivered back on it.

A ``Tasks`` owns one background thread and runs jobs on it in order.  The callbacks a
caller attaches (on done, on error) run on the GUI thread, through a queued signal, so
they may touch widgets.  One thread per kind of work keeps the core's rule of one
connection per thread: reads on one, writes on the watcher's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

T = TypeVar("T")
OnDone = Callable[[Any], None]
OnError = Callable[[BaseException], None]

log = logging.getLogger(__name__)


class Tasks(QObject):
    _settled = Signal(object)  # a zero-argument callable to run on the GUI thread

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._closed = False
        self._settled.connect(self._call, Qt.ConnectionType.QueuedConnection)

    def run(
        self,
        job: Callable[[], T],
        on_done: Callable[[T], None] | None = None,
        on_error: OnError | None = None,
    ) -> Future[T]:
        """Run ``job`` on this thread after the jobs already queued.  After ``shutdown``
        (the app is closing, while a timer may still fire) the job is dropped."""
        if self._closed:
            dropped: Future[T] = Future()
            dropped.cancel()
            return dropped
        future = self._executor.submit(job)
        self.follow(future, on_done, on_error)
        return future

    def follow(
        self,
        future: Future[T],
        on_done: Callable[[T], None] | None = None,
        on_error: OnError | None = None,
    ) -> None:
        """Deliver the outcome of a future run elsewhere (the watcher's loop)."""

        def settled(done: Future[T]) -> None:
            if done.cancelled():
                return
            error = done.exception()
            if error is None:
                if on_done is not None:
                    value = done.result()
                    self._settled.emit(lambda: on_done(value))
            elif on_error is not None:
                self._settled.emit(lambda: on_error(error))
            else:
                log.error("background job failed", exc_info=error)

        future.add_done_callback(settled)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._executor.shutdown(wait=wait, cancel_futures=True)

    def _call(self, callback: Callable[[], None]) -> None:
        callback()
