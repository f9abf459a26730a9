"""Opening SQLite with sqlite-vec loaded, and the one way writes are grouped."""

from __future__ import annotations

import errno
import itertools
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import sqlite_vec

from core.errors import DiskFull, IndexDamaged, StoreError

BUSY_TIMEOUT_MS = 10_000
WAL_RETRY_S = 0.01


def connect(path: Path | str, *, readonly: bool = False) -> apsw.Connection:
    """A connection with sqlite-vec loaded and Trove's pragmas applied.

    The standard library's sqlite3 cannot load extensions on every platform (python.org
    macOS builds, some Linux builds), so Trove uses apsw, which always can.
    """
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
    if not readonly:
        flags |= apsw.SQLITE_OPEN_CREATE
    try:
        conn = apsw.Connection(str(path), flags=flags)
    except apsw.Error as exc:
        raise StoreError(f"cannot open the index at {path}: {exc}") from exc
    conn.enable_load_extension(True)
    try:
        conn.load_extension(sqlite_vec.loadable_path())
    except apsw.Error as exc:
        raise StoreError(f"the sqlite-vec extension did not load: {exc}") from exc
    finally:
        conn.enable_load_extension(False)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    if not readonly:
        _use_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def fold_log(path: Path) -> None:
    """Fold the write-ahead log into the database file and stop using one: the file
    alone is then the whole index."""
    conn = connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


def _use_wal(conn: apsw.Connection) -> None:
    """Switch to WAL (a no-op once the file is in WAL mode).

    Two processes switching a new file at once each hold a lock the other's switch waits
    for; SQLite answers one of them "database is locked" at once instead of waiting out
    the busy timeout, so that one tries again until the other has switched the file.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except apsw.BusyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(WAL_RETRY_S)


# What SQLite says when the file itself is unsound.
DAMAGE_ERRORS = (apsw.CorruptError, apsw.NotADBError)


def explained(error: apsw.Error, path: Path | str) -> StoreError | None:
    """The error a person can act on for a known SQLite condition; None for others,
    which are bugs."""
    if isinstance(error, DAMAGE_ERRORS):
        return IndexDamaged(path, _first_line(error))
    if isinstance(error, apsw.FullError) or _no_space(error):
        return DiskFull(path)
    return None


@contextmanager
def explaining(path: Path | str) -> Iterator[None]:
    """Known SQLite conditions inside become Trove's errors, naming ``path``."""
    try:
        yield
    except apsw.Error as error:
        known = explained(error, path)
        if known is None:
            raise
        raise known from error


def _no_space(error: apsw.Error) -> bool:
    # A full disk met while writing the log or a temporary file can reach SQLite as an
    # I/O error; the OS's errno says what it was.
    if getattr(error, "system_errno", 0) in (errno.ENOSPC, errno.EDQUOT):
        return True
    # sqlite-vec reports SQLITE_FULL met while making its tables inside its own message.
    return "database or disk is full" in str(error)


def _first_line(error: BaseException) -> str:
    text = str(error).split(":", 1)[-1].strip() or type(error).__name__
    return text.splitlines()[0]


_savepoints = itertools.count()


@contextmanager
def atomic(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """Everything inside commits together or not at all (nests as savepoints)."""
    name = f"trove_{next(_savepoints)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield conn
    except BaseException:
        # After a full disk or an I/O error SQLite has already rolled the whole
        # transaction back; rolling back again would hide the error that did it.
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")


@contextmanager
def snapshot(conn: apsw.Connection) -> Iterator[None]:
    """Reads that all see one state of the index, however the writer moves on meanwhile
    (WAL gives each read transaction its own snapshot): a passage found by one query is
    still there for the next.  Inside a transaction already, it is that transaction."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")  # nothing was written: ending the read is all it does


@contextmanager
def immediate(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """A transaction that takes the write lock before it reads (waiting up to the busy
    timeout), so what it reads stays true until it commits: for a check-then-write that
    several processes may run at once.  ``atomic`` nests inside it as savepoints."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite rolls back by itself after some errors
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


Row = tuple[Any, ...]


def fetch_all(conn: apsw.Connection, sql: str, params: Sequence[object] = ()) -> list[Row]:
    """All rows of a query, typed loosely: SQLite values are checked where they are used."""
    return [tuple(row) for row in conn.execute(sql, params)]


def fetch_one(conn: apsw.Connection, sql: str, params: Sequence[object] = ()) -> Row | None:
    row = conn.execute(sql, params).fetchone()
    return None if row is None else tuple(row)


def vec_version(conn: apsw.Connection) -> str:
    row = conn.execute("SELECT vec_version()").fetchone()
    return str(row[0]) if row else "?"
