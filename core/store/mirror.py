"""The index's vectors in memory, quantised, kept in step with SQLite.

SQLite stays the source of truth.  Every vector the store adds or removes is also written
to the ``vector_changes`` log in the same transaction, so a copy that knows the last
change it has seen (its ``seq``) is brought up to date by reading the log after it, inside
the caller's read snapshot.  A copy is saved beside the index (``<index>-vectors``, as
private as the index) so the next process starts from it instead of reading every vector;
it records the ``seq`` it reflects.  The writer deletes log entries older than the saved
copy; a copy older than what the log still holds (``vector_log_from``), one from another
model, or an unreadable one is rebuilt from the vector tables, as is a missing one.

A copy can only be behind SQLite, never hold what SQLite removed and did not log: a crash
loses at most the saving of a copy, and the log still holds what came after it.  Search
still reads every result's rows from SQLite, so a vector whose passage is gone in the
caller's snapshot (a copy saved by a newer process) is dropped there.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from core.paths import create_private_file, remove_abandoned
from core.store.connection import fetch_all, fetch_one
from core.store.quantised import Neighbours, QuantisedVectors, directions
from core.store.saved import SavedArrays
from core.store.schema import VECTOR_TABLES

log = logging.getLogger(__name__)

SPACES = ("chunk", "file")
REBUILD_BATCH = 20_000
VECTOR_COPY = "-vectors"  # the saved copy's name: the index file's, with this added
FORMAT = 2  # 2: made from the index's int8 codes (schema 0007_vectors_in_int8)


class VectorMirror:
    """Passage and file vectors of one index, quantised (core.store.quantised)."""

    def __init__(self, conn: apsw.Connection, copy_path: Path | None) -> None:
        self.conn = conn
        self.copy_path = copy_path
        self.identity: tuple[str, str, int] | None = None  # index file, model, dimension
        self.seq = -1
        self.spaces: dict[str, QuantisedVectors] = {}

    @property
    def chunks(self) -> QuantisedVectors:
        return self.spaces["chunk"]

    @property
    def files(self) -> QuantisedVectors:
        return self.spaces["file"]

    def nearest(
        self, space: str, query: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> Neighbours:
        """The ``k`` nearest ``query`` in a space (``allowed``: as QuantisedVectors.nearest).
        The copy holds the index's own int8 codes, so its scores are the stored vectors'
        cosine (call inside the snapshot the copy was synced to)."""
        return self.spaces[space].nearest(query, k, allowed)

    def sync(self, binding: tuple[str, int]) -> None:
        """Bring the copy up to the connection's current snapshot (call inside it)."""
        latest = latest_change(self.conn)
        identity = (index_id(self.conn), *binding)
        if identity != self.identity or not log_start(self.conn) <= self.seq <= latest:
            self._load_or_rebuild(identity, latest)
        if latest > self.seq:
            self._follow_log(latest)

    def save(self) -> None:
        """Write the copy beside the index, replacing the old one at once."""
        if self.copy_path is None or self.identity is None:
            return
        remove_abandoned(self.copy_path)
        temporary = self.copy_path.with_name(f"{self.copy_path.name}.{os.getpid()}.tmp")
        create_private_file(temporary)
        arrays: dict[str, Any] = {
            f"{space}_{name}": array
            for space in SPACES
            for name, array in self.spaces[space].state().items()
        }
        arrays["meta"] = np.array([FORMAT, self.seq, self.identity[2]], dtype=np.int64)
        arrays["names"] = np.array(self.identity[:2])
        with open(temporary, "wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, self.copy_path)

    # -- internals -------------------------------------------------------------------

    def _load_or_rebuild(self, identity: tuple[str, str, int], latest: int) -> None:
        self.identity = identity
        if self._load(identity, latest):
            return
        log.info("building the in-memory vector copy from the index")
        self.spaces = {space: QuantisedVectors(identity[2]) for space in SPACES}
        for space in SPACES:
            for keys, groups, vectors in self._stored(space):
                self.spaces[space].add(keys, groups, vectors)
        self.seq = latest
        try:
            self.save()
        except OSError as error:  # a read-only folder: the copy lives in memory only
            log.info("vector copy not saved: %s", error)

    def _load(self, identity: tuple[str, str, int], latest: int) -> bool:
        """Start from the saved copy, if it is this index's and the log reaches it."""
        if self.copy_path is None or not self.copy_path.is_file():
            return False
        try:
            with SavedArrays(self.copy_path) as saved:
                fmt, seq, dimension = (int(v) for v in saved.read("meta"))
                names = tuple(str(name) for name in saved.read("names"))
                if (fmt, *names, dimension) != (FORMAT, *identity):
                    return False
                if not log_start(self.conn) <= seq <= latest:
                    return False
                spaces = {space: _read_space(saved, space, dimension) for space in SPACES}
        except (OSError, ValueError, KeyError) as error:  # SavedArrays: ValueError if damaged
            log.warning("the saved vector copy is unreadable, rebuilding it: %s", error)
            return False
        self.spaces, self.seq = spaces, seq
        return True

    def _stored(self, space: str) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Every vector of a space in SQLite, in batches: (keys, groups, vectors)."""
        table, key = VECTOR_TABLES[space]
        group = "c.file_id" if space == "chunk" else "v.file_id"
        join = "JOIN chunks c ON c.id = v.chunk_id" if space == "chunk" else ""
        last = -1
        while True:
            rows = fetch_all(
                self.conn,
                f"SELECT v.{key}, {group}, v.embedding FROM {table} v {join} "
                f"WHERE v.{key} > ? ORDER BY v.{key} LIMIT ?",
                (last, REBUILD_BATCH),
            )
            if not rows:
                return
            yield _batch(rows)
            last = int(rows[-1][0])

    def _follow_log(self, latest: int) -> None:
        rows = fetch_all(
            self.conn,
            "SELECT space, key, added FROM vector_changes WHERE seq > ? AND seq <= ? ORDER BY seq",
            (self.seq, latest),
        )
        final: dict[tuple[str, int], bool] = {}
        for space, key, added in rows:
            final.pop((str(space), int(key)), None)  # keeps the order of last changes
            final[(str(space), int(key))] = bool(added)
        for space in SPACES:
            gone = [k for (s, k), added in final.items() if s == space and not added]
            self.spaces[space].remove(gone)
            came = [k for (s, k), added in final.items() if s == space and added]
            if came:
                self._add_stored(space, came)
        self.seq = latest

    def _add_stored(self, space: str, keys: list[int]) -> None:
        rows = [row for row in self._rows_by_key(space, keys) if row[1] is not None]
        if rows:
            self.spaces[space].add(*_batch(rows))

    def _rows_by_key(self, space: str, keys: list[int]) -> list[tuple[Any, ...]]:
        """(key, group or None, embedding) of each key stored, one primary key lookup each:
        vec0 scans its whole table for ``IN (...)``."""
        table, key = VECTOR_TABLES[space]
        group = "v.file_id"
        if space == "chunk":
            group = "(SELECT file_id FROM chunks WHERE id = v.chunk_id)"
        query = f"SELECT v.{key}, {group}, v.embedding FROM {table} v WHERE v.{key} = ?"
        rows = (fetch_one(self.conn, query, (item,)) for item in keys)
        return [tuple(row) for row in rows if row is not None]


def index_id(conn: apsw.Connection) -> str:
    row = fetch_one(conn, "SELECT value FROM meta WHERE key = 'index_id'")
    return "" if row is None else str(row[0])


def latest_change(conn: apsw.Connection) -> int:
    row = fetch_one(conn, "SELECT seq FROM sqlite_sequence WHERE name = 'vector_changes'")
    return 0 if row is None else int(row[0])


def log_start(conn: apsw.Connection) -> int:
    """Changes up to this one may have left the log: a copy must have seen them."""
    row = fetch_one(conn, "SELECT value FROM meta WHERE key = 'vector_log_from'")
    return 0 if row is None else int(row[0])


def _read_space(saved: SavedArrays, space: str, dimension: int) -> QuantisedVectors:
    count = saved.members[f"{space}_keys"].shape[0]
    return QuantisedVectors.from_saved(
        dimension, count, lambda name, out: saved.read_into(f"{space}_{name}", out)
    )


def _batch(rows: list[tuple[object, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keys = np.array([int(r[0]) for r in rows], dtype=np.int64)  # type: ignore[call-overload]
    groups = np.array([int(r[1]) for r in rows], dtype=np.int64)  # type: ignore[call-overload]
    codes = np.frombuffer(b"".join(bytes(r[2]) for r in rows), dtype=np.int8)  # type: ignore[call-overload]
    return keys, groups, directions(codes.reshape(len(rows), -1))
