"""The writer lock: one process at a time updates the index.

SQLite would serialise two writers on its own, but two indexing processes would each
plan against a view the other is changing, and both would embed the same files.  So
whatever writes the index (``trove index``, ``trove watch``, the desktop app) first takes
an OS file lock on a file beside the database.  The OS drops the lock when the process
dies, so a crash never leaves a stale lock behind; the pid written inside is only there
to name the holder in the message.  Readers (search) take no lock: WAL lets them read
while the writer writes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from pathlib import Path
from types import TracebackType

from core.errors import IndexLocked
from core.paths import PRIVATE_FILE, make_private_folder

# msvcrt locks are mandatory, so Windows locks a byte past the pid, which stays readable.
_WINDOWS_LOCK_OFFSET = 64


class WriterLock:
    """An exclusive, non-blocking lock held by one object; re-entrant for that object.

    Re-entrant so that a long-lived holder (the watcher) can run indexing passes that
    take the same lock again.  A second ``WriterLock`` on the same file, in this process
    or another, is refused with ``IndexLocked``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._depth = 0
        self._guard = threading.Lock()

    @classmethod
    def beside(cls, database: Path) -> WriterLock:
        return cls(database.with_name(database.name + ".lock"))

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self) -> None:
        with self._guard:
            if self._depth:
                self._depth += 1
                return
            make_private_folder(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
            try:
                _lock(fd)
            except OSError:
                holder = _read_pid(fd)
                os.close(fd)
                raise IndexLocked(_message(holder)) from None
            _write_pid(fd)
            self._fd, self._depth = fd, 1

    def release(self) -> None:
        with self._guard:
            if not self._depth:
                return
            self._depth -= 1
            if self._depth or self._fd is None:
                return
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
                _unlock(fd)
            finally:
                os.close(fd)

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()


def _message(pid: int | None) -> str:
    holder = f"pid {pid}" if pid else "pid unknown"
    return (
        f"another Trove process ({holder}) is updating the index; wait for it to finish, "
        "or stop it (`trove watch`, `trove index` or the desktop app) and try again"
    )


def _write_pid(fd: int) -> None:
    # The pid only names the holder in a message: on a full disk the lock holds without it.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{os.getpid()}\n".encode())


def _read_pid(fd: int) -> int | None:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
