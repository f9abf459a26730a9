"""The watcher: keeps the index in line with the folders while Trove runs.

Observer threads only note changed paths (``ChangeQueue``).  One loop, the only writer,
takes them once they have settled and runs a targeted index pass over them, so moves,
copies, deletes and skipped files are settled by exactly the rules of ``trove index``.
Because notifications get lost (kernel queues overflow, network shares send none), the
loop also reconciles: every folder at start, every folder periodically, and a folder at
once when its watch fails, overflows or comes back online.  A reconcile is a targeted
pass over the folder's root, which is a full scan of it and cheap when nothing changed.

The loop is a generator of events (``events``) for a caller's thread, or runs on its own
thread with a callback (``start``/``stop``).  It holds the writer lock throughout, so an
application that watches sends its other writes (adding a folder, retrying failures)
through ``submit``, which runs them on the loop between passes.  ``pause`` stops indexing
(cancelling a pass under way, whose finished files stay) while changes keep being
noted; ``resume`` reconciles every folder, which picks up whatever was left.  Once the
pass under way has stopped (within about a second: the indexer checks between short
model calls), the loop says so with ``Resting(paused=True)``; once a run of passes is
over, with ``Resting(paused=False)``.

Progress counts a run, not a pass: passes that follow one another without a rest (the
passes of one turn, or a pass cut by a pause and the one after resume) continue one
count, "126 of 277" rather than "0 of 151".
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from core.app import Trove
from core.events import CancelToken, Event, Finished, Notice, Progress, ScanDone
from core.indexer import Indexer
from core.scanner import unreachable
from core.store import Folder
from core.watch.changes import ChangeQueue
from core.watch.count import RunCount
from core.watch.observers import FolderWatches

# How often folders are checked for going offline, coming back, or a dead watch.
HEALTH_EVERY_S = 2.0

# In the pending roots: every folder (expanded on the loop's thread, which owns the index).
ALL_FOLDERS = "\0all"
T = TypeVar("T")
_Call = tuple[Callable[[], Any], Future[Any]]


@dataclass(frozen=True, slots=True)
class WatchOptions:
    quiet_s: float = 0.4
    max_wait_s: float = 2.0
    reconcile_every_s: float = 15 * 60.0
    # Folders (as added) watched by polling: network shares and removable drives.
    poll: frozenset[str] = frozenset()
    poll_interval_s: float = 5.0


@dataclass(frozen=True, slots=True)
class Batch:
    """One indexing pass of the watcher, and what it did."""

    # "changes", "start", "periodic", "overflow", "back online", "watch lost", "added",
    # "resumed", "requested"
    reason: str
    paths: int
    to_index: int = 0
    indexed: int = 0
    moved: int = 0
    copied: int = 0
    deleted: int = 0
    failed: int = 0
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Resting:
    """Nothing is being indexed now: paused (nothing is written until ``resume``), or
    caught up with every change noted so far."""

    paused: bool


WatchEvent = Event | Batch | Resting


@dataclass(slots=True)
class _Pending:
    """Folder roots to reconcile, and why; noted from any thread."""

    roots: dict[str, str] = field(default_factory=dict)
    guard: threading.Lock = field(default_factory=threading.Lock)

    def add(self, roots: list[str], reason: str) -> None:
        with self.guard:
            for root in roots:
                self.roots.setdefault(root, reason)

    def take(self) -> dict[str, str]:
        with self.guard:
            taken, self.roots = self.roots, {}
            return taken


class Watcher:
    def __init__(self, trove: Trove, options: WatchOptions | None = None) -> None:
        self.trove = trove
        self.options = options or WatchOptions()
        self.changes = ChangeQueue(self.options.quiet_s, self.options.max_wait_s)
        self._pending = _Pending()
        self._lock = trove.lock
        self._cancel = CancelToken()
        self._pass_cancel = CancelToken()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._busy = False
        self._paused = False
        self._run = RunCount()
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._stopped = False  # the loop has ended: calls submitted now fail at once
        self._nudge = threading.Event()
        self._own = tuple(
            os.path.join(os.path.realpath(folder), "") for folder in trove.locations.own_folders()
        )

    @property
    def idle(self) -> bool:
        """Nothing noted, pending or being indexed (events may still be on their way)."""
        return not self._busy and not len(self.changes) and not self._pending.roots

    @property
    def paused(self) -> bool:
        return self._paused

    # -- control from any thread -----------------------------------------------------

    def note(self, paths: Iterable[str]) -> None:
        """Changed paths, as the observers report them.  Trove's own files are left out:
        when a watched folder holds Trove's data folder (a watched home), every commit
        changes the index's log, and each would wake a pass for nothing."""
        self.changes.note(path for path in paths if not path.startswith(self._own))

    def submit(self, call: Callable[[], T]) -> Future[T]:
        """Run ``call`` on the loop, between passes, under the writer lock the loop holds.

        The way for the watching application to write; also runs while paused.
        """
        future: Future[T] = Future()
        self._calls.put((call, future))
        if self._stopped:
            self._fail_calls()
        self._wake()
        return future

    def pause(self) -> None:
        """Stop indexing until ``resume``: the pass under way stops after the model's
        current step (about a second at most) and ``Paused`` follows."""
        self._paused = True
        self._pass_cancel.cancel()
        self._wake()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._pending.add([ALL_FOLDERS], "resumed")
            self._wake()

    def reconcile(self, roots: list[str] | None = None, reason: str = "requested") -> None:
        """Look at these folders (default: all) in full on the next turn of the loop."""
        self._pending.add(roots or [ALL_FOLDERS], reason)
        self._wake()

    def set_reconcile_every(self, seconds: float) -> None:
        self.options = replace(self.options, reconcile_every_s=seconds)
        self._wake()

    def _wake(self) -> None:
        self._nudge.set()
        self.changes.wake()

    # -- running on the caller's thread ----------------------------------------------

    def events(self, cancel: CancelToken | None = None) -> Iterator[WatchEvent]:
        """Watch until cancelled; yields what each pass did.  Raises ``IndexLocked`` if
        another process writes the index."""
        cancel = cancel or self._cancel
        with self._lock:
            self.trove.store.check_model(self.trove.embedder.model_id)
            watches = FolderWatches(
                self.note,
                self._overflowed,
                poll_interval_s=self.options.poll_interval_s,
            )
            watches.start()
            try:
                with self.trove.extraction_pool() as pool:
                    yield from self._loop(watches, self.trove.indexer(pool), cancel)
            finally:
                watches.stop()

    # -- running on a thread of its own ----------------------------------------------

    def start(self, on_event: Callable[[WatchEvent], None] = lambda _: None) -> None:
        # Take the lock here, so that a refused start fails in the caller.
        self._lock.acquire()
        self._cancel = CancelToken()
        self._stopped = False
        self._thread = threading.Thread(
            target=self._serve, args=(on_event,), name="trove-watch", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._cancel.cancel()
        self._wake()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self._lock.release()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> Watcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _serve(self, on_event: Callable[[WatchEvent], None]) -> None:
        try:
            for event in self.events(self._cancel):
                on_event(event)
        except BaseException as exc:  # raised again in the thread that calls stop()
            self._error = exc
            with contextlib.suppress(Exception):
                on_event(Notice(f"Watching stopped: {exc}"))
        finally:
            self._stopped = True
            self._fail_calls()

    def _fail_calls(self) -> None:
        """Answer the calls the ended loop will never run, so no caller waits forever."""
        while True:
            try:
                _, future = self._calls.get_nowait()
            except queue.Empty:
                return
            future.set_exception(RuntimeError("Trove has stopped watching"))

    # -- the loop --------------------------------------------------------------------

    def _loop(
        self, watches: FolderWatches, indexer: Indexer, cancel: CancelToken
    ) -> Iterator[WatchEvent]:
        offline: set[int] = set()
        watched: dict[int, Folder] = {}
        yield from self._sync_folders(watches, watched, "start")
        next_reconcile = time.monotonic() + self.options.reconcile_every_s
        next_health = time.monotonic() + HEALTH_EVERY_S
        said: Resting | None = None  # how the loop last said it rests; None: it works
        while not cancel.cancelled:
            if self._run_calls():
                yield from self._sync_folders(watches, watched, "added")
            # A new token first: ``pause`` sets the flag, then cancels the current token.
            self._pass_cancel = CancelToken(cancel)
            if self._paused:
                said = yield from _say(Resting(paused=True), said)
                self._nudge.wait(0.5)
                self._nudge.clear()
                continue
            if (yield from self._turn(indexer)):
                said = None
            else:
                self._run.rest()
                said = yield from _say(Resting(paused=False), said)
            now = time.monotonic()
            if now >= next_health:
                next_health = now + HEALTH_EVERY_S
                yield from self._check_health(watches, offline)
            next_reconcile = min(next_reconcile, now + self.options.reconcile_every_s)
            if now >= next_reconcile:
                next_reconcile = now + self.options.reconcile_every_s
                self._pending.add([ALL_FOLDERS], "periodic")

    def _turn(self, indexer: Indexer) -> Generator[WatchEvent, None, bool]:
        """The passes due: folders to reconcile, then the changes that have settled.
        Returns whether any pass ran."""
        ran = False
        for reason, roots in _by_reason(self._expand(self._pending.take())).items():
            yield from self._pass(indexer, roots, reason, self._pass_cancel)
            ran = True
        paths = self.changes.take(timeout=min(0.5, HEALTH_EVERY_S))
        if paths and not self._pass_cancel.cancelled:
            yield from self._pass(indexer, paths, "changes", self._pass_cancel)
            ran = True
        return ran

    def _run_calls(self) -> bool:
        """Run what ``submit`` queued; whether anything ran."""
        ran = False
        while True:
            try:
                call, future = self._calls.get_nowait()
            except queue.Empty:
                return ran
            ran = True
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:  # the submitter's to handle
                    future.set_exception(exc)

    def _sync_folders(
        self, watches: FolderWatches, watched: dict[int, Folder], reason: str
    ) -> Iterator[WatchEvent]:
        """Watch folders added (or whose settings changed) and drop removed ones."""
        current = {folder.id: folder for folder in self.trove.folders()}
        for folder_id in watched.keys() - current.keys():
            watches.unwatch(watched.pop(folder_id))
        for folder in current.values():
            if watched.get(folder.id) != folder:
                watched[folder.id] = folder
                yield from self._watch(watches, folder)
                self._pending.add([folder.path], reason)

    def _pass(
        self, indexer: Indexer, paths: list[str], reason: str, cancel: CancelToken
    ) -> Iterator[WatchEvent]:
        self._busy = True
        try:
            scan, finished = None, None
            for event in indexer.run(cancel, paths):
                if isinstance(event, Progress):
                    event = self._run.counted(event)
                elif isinstance(event, Finished):
                    finished = event
                yield event
                if isinstance(event, ScanDone):
                    scan = event
                    if event.to_index and not cancel.cancelled:
                        yield self._run.planned(event)
            if scan is not None and finished is not None:
                yield _batch(reason, len(paths), scan, finished)
        finally:
            self._run.pass_ended()
            self._busy = False

    def _watch(self, watches: FolderWatches, folder: Folder) -> Iterator[WatchEvent]:
        if unreachable(folder.path) is not None:
            return  # offline: the health check takes it up when it returns
        notice = watches.watch(folder, poll=self._polls(folder))
        if notice is not None:
            yield notice

    def _check_health(self, watches: FolderWatches, offline: set[int]) -> Iterator[WatchEvent]:
        for folder in self.trove.folders():
            why = unreachable(folder.path)
            online = why is None
            if not online and folder.id not in offline:
                offline.add(folder.id)
                watches.unwatch(folder)
                yield Notice(
                    f"{folder.path} {why}; its files stay in the index and it is watched "
                    "again when it returns"
                )
            elif online and folder.id in offline:
                offline.discard(folder.id)
                yield Notice(f"{folder.path} is back; catching up with its changes")
                yield from self._watch(watches, folder)
                self._pending.add([folder.path], "back online")
            elif online and not watches.alive(folder):
                yield from self._watch(watches, folder)
                self._pending.add([folder.path], "watch lost")

    def _overflowed(self) -> None:
        """Called on a watchdog thread: events were lost, so look at everything again."""
        self._pending.add([ALL_FOLDERS], "overflow")
        self.changes.wake()

    def _expand(self, roots: dict[str, str]) -> dict[str, str]:
        """Replace the "every folder" mark with the folders.  Only the loop's thread may
        read the index: other threads (watchdog's, the app's) just leave the mark."""
        reason = roots.pop(ALL_FOLDERS, None)
        if reason is not None:
            for folder in self.trove.folders():
                roots.setdefault(folder.path, reason)
        return roots

    def _polls(self, folder: Folder) -> bool:
        wanted = {os.path.realpath(os.path.expanduser(p)) for p in self.options.poll}
        return folder.poll or folder.path in wanted


def _say(resting: Resting, said: Resting | None) -> Generator[WatchEvent, None, Resting]:
    """Say how the loop rests, once, not on every idle turn."""
    if resting != said:
        yield resting
    return resting


def _by_reason(roots: dict[str, str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for root, reason in roots.items():
        grouped.setdefault(reason, []).append(root)
    return grouped


def _batch(reason: str, paths: int, scan: ScanDone, finished: Finished) -> Batch:
    return Batch(
        reason=reason,
        paths=paths,
        to_index=scan.to_index,
        indexed=finished.files_indexed,
        moved=scan.moved,
        copied=scan.copied,
        deleted=scan.deleted,
        failed=finished.files_failed,
        elapsed_s=finished.elapsed_s,
    )
