"""Opening SQLite with sqlite-vec loaded, and the one way writes are grouped."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import sqlite_vec

from core.errors import StoreError

BUSY_TIMEOUT_MS = 10_000


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
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


@contextmanager
def atomic(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """Everything inside commits together or not at all (nests as savepoints)."""
    with conn:
        yield conn


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
