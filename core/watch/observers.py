"""watchdog observers on the watched folders, feeding changed paths to a callback.

Observers run on watchdog's threads and do nothing but note paths: all judgement (what
changed, what to read) happens in the indexing loop.  What watchdog cannot promise is
reported instead: a kernel queue overflow (seen only in watchdog's log) and a folder
whose native watch cannot be set up (the inotify watch limit), which falls back to
polling.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from collections.abc import Callable, Iterable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from core.events import Notice
from core.store.records import Folder

Note = Callable[[Iterable[str]], None]
# watchdog reports a lost inotify queue only through its log.
_OVERFLOW_LOGGERS = ("watchdog.observers.inotify_c", "watchdog.observers.inotify")
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class _Forward(FileSystemEventHandler):
    def __init__(self, note: Note) -> None:
        self._note = note

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # a folder's own timestamp: the files inside report themselves
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        self._note(paths)


class _OverflowAlarm(logging.Handler):
    def __init__(self, on_overflow: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self._on_overflow = on_overflow

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage().lower()
        if "overflow" in message or "unable to rebuild" in message:
            self._on_overflow()


class FolderWatches:
    """One watch per folder: native where possible, polling where asked or needed."""

    def __init__(
        self,
        note: Note,
        on_overflow: Callable[[], None],
        *,
        poll_interval_s: float = 5.0,
        native: Callable[[], BaseObserver] = Observer,
    ) -> None:
        self._handler = _Forward(note)
        self._alarm = _OverflowAlarm(on_overflow)
        self._native = native()
        self._polling = PollingObserver(timeout=poll_interval_s)
        self._watches: dict[int, tuple[BaseObserver, ObservedWatch]] = {}

    def start(self) -> None:
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).addHandler(self._alarm)
        self._native.start()
        self._polling.start()

    def stop(self) -> None:
        for observer in (self._native, self._polling):
            observer.stop()
        for observer in (self._native, self._polling):
            if observer.is_alive():
                observer.join()
        for name in _OVERFLOW_LOGGERS:
            logging.getLogger(name).removeHandler(self._alarm)
        self._watches.clear()

    def watch(self, folder: Folder, *, poll: bool = False) -> Notice | None:
        """Start watching ``folder``; returns a notice if it had to fall back to polling."""
        self.unwatch(folder)
        if not poll:
            try:
                self._schedule(self._native, folder)
                return None
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EMFILE):
                    raise
                notice = Notice(
                    f"{folder.path}: the system limit on watched folders is reached "
                    f"({exc.strerror}); checking it for changes by polling instead, which "
                    "is slower. On Linux, raise fs.inotify.max_user_watches to fix this."
                )
                self.unwatch(folder)
        else:
            notice = None
        self._schedule(self._polling, folder)
        return notice

    def unwatch(self, folder: Folder) -> None:
        held = self._watches.pop(folder.id, None)
        if held is not None:
            observer, watch = held
            # Its emitter may already have stopped (the folder vanished).
            with contextlib.suppress(KeyError, OSError):
                observer.unschedule(watch)

    def alive(self, folder: Folder) -> bool:
        """Whether the folder's watch is still delivering events."""
        held = self._watches.get(folder.id)
        if held is None:
            return False
        observer, watch = held
        return any(e.watch == watch and e.is_alive() for e in observer.emitters)

    def _schedule(self, observer: BaseObserver, folder: Folder) -> None:
        watch = observer.schedule(self._handler, folder.path, recursive=True)
        self._watches[folder.id] = (observer, watch)
