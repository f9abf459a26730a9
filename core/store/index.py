"""The index database: folders, files, passages, their vectors and their words.

``Store`` is the only code that writes SQL for the index.  It owns one connection; the
process that writes holds the only writing Store, readers open their own.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import apsw
import numpy as np

from core.errors import ConfigError, DiskFull, ModelMismatch
from core.paths import create_private_file, make_private_folder
from core.store.connection import (
    atomic,
    connect,
    explaining,
    fetch_all,
    fetch_one,
    snapshot,
)
from core.store.filters import Filters
from core.store.keywords import fts_title
from core.store.mirror import VECTOR_COPY, VectorMirror, latest_change, log_start
from core.store.pictures import PictureVectors
from core.store.quantised import stored_vector, vector_blob
from core.store.records import Chunk, FileRow, FileStat, Folder, folder_prefix_bounds
from core.store.schema import create_vector_tables, migrate
from core.store.texts import Texts
from core.store.words import WordCopy

# Less free space than this after a failed write means the disk was full.
LOW_SPACE_BYTES = 1 << 20
# Vector changes logged before the writer saves the copy of the vectors and trims the log
# (or a tenth of all passages, if more).
VECTOR_LOG_KEPT = 20_000
_FILE_COLUMNS = "id, folder_id, path, size, mtime_ns, hash, state, kind"


class Store:
    def __init__(self, conn: apsw.Connection, path: Path | None = None) -> None:
        self.conn = conn
        self.path = path
        self.texts = Texts(conn)
        self.pictures = PictureVectors(conn)
        self._mirror: VectorMirror | None = None
        self._words: WordCopy | None = None

    @property
    def vectors(self) -> VectorMirror:
        """The vectors in memory, quantised (core.store.mirror): sync it inside a read
        snapshot before use.  Saved beside the index file, as private as it."""
        if self._mirror is None:
            copy = None if self.path is None else Path(f"{self.path}{VECTOR_COPY}")
            self._mirror = VectorMirror(self.conn, copy)
        return self._mirror

    @property
    def words(self) -> WordCopy:
        """The keyword copy (core.store.words): sync it inside a read
        snapshot; FTS5 answers whenever it cannot."""
        if self._words is None:
            self._words = WordCopy(self.conn, self.path)
        return self._words

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False) -> Store:
        make_private_folder(path.parent)
        if not readonly:
            with suppress(OSError):  # connect says why it cannot make the file, if so
                create_private_file(path)
        with explaining(path):
            conn = connect(path, readonly=readonly)
            try:
                if not readonly:
                    migrate(conn, path)
                # A file cut short can open and still be unsound: read the schema
                # before anything relies on it.
                conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
            except BaseException:
                conn.close()
                raise
        return cls(conn, path)

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes that commit together; a full disk or a damaged file is reported as
        such, and the transaction leaves nothing behind."""
        try:
            with explaining(self.path or "the index"), atomic(self.conn):
                yield
        except apsw.Error as error:
            # sqlite-vec words a full disk met inside its tables as other errors
            # ("out of memory"); where there is no room left, that is what it was.
            if self._out_of_room():
                raise DiskFull(self.path or "the index") from error
            raise

    def _out_of_room(self) -> bool:
        folder = self.path.parent if self.path is not None else Path.cwd()
        return shutil.disk_usage(folder).free < LOW_SPACE_BYTES

    def settle_vector_log(self, *, longer_than: int = VECTOR_LOG_KEPT) -> bool:
        """Once the log of vector changes is long, save the vectors' copy beside the
        index and drop the log behind it (core.store.mirror); whether it did.  The copy
        is made from the saved one and the log, then let go: the writer never searches."""
        binding = self.model_binding()
        waiting = latest_change(self.conn) - log_start(self.conn)
        if binding is None or waiting <= max(longer_than, self.chunk_count() // 10):
            return False
        mirror = VectorMirror(self.conn, self.vectors.copy_path)
        with snapshot(self.conn):
            mirror.sync(binding)
        mirror.save()
        with self.transaction():
            self.conn.execute("DELETE FROM vector_changes WHERE seq <= ?", (mirror.seq,))
            self.set_meta("vector_log_from", str(mirror.seq))
        return True

    # -- metadata and model binding ------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def model_binding(self) -> tuple[str, int] | None:
        model, dim = self.meta("model_id"), self.meta("model_dim")
        return None if model is None or dim is None else (model, int(dim))

    def check_model(self, model_id: str) -> None:
        """Refuse to mix vectors of two models in one index."""
        bound = self.model_binding()
        if bound is not None and bound[0] != model_id:
            raise ModelMismatch(bound[0], bound[1], model_id, None)

    def bind_model(self, model_id: str, dimension: int) -> None:
        bound = self.model_binding()
        if bound == (model_id, dimension):
            return
        if bound is not None:
            raise ModelMismatch(bound[0], bound[1], model_id, dimension)
        with self.transaction():
            create_vector_tables(self.conn, dimension)
            self.set_meta("model_id", model_id)
            self.set_meta("model_dim", str(dimension))

    # -- folders ---------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        rows = self.conn.execute("SELECT id, path, ignore, poll FROM folders ORDER BY path")
        return [Folder(int(i), str(p), str(ig), bool(poll)) for i, p, ig, poll in rows]

    def add_folder(self, path: str, ignore: str = "", poll: bool = False) -> Folder:
        """Watch ``path``; adding it again updates how it is watched (patterns if given)."""
        for folder in self.folders():
            if folder.path == path:
                patterns = ignore or folder.ignore
                self.conn.execute(
                    "UPDATE folders SET ignore = ?, poll = ? WHERE id = ?",
                    (patterns, int(poll), folder.id),
                )
                return Folder(folder.id, path, patterns, poll)
            if _contains(folder.path, path):
                raise ConfigError(f"{path} is already inside the watched folder {folder.path}")
            if _contains(path, folder.path):
                raise ConfigError(
                    f"{path} contains the watched folder {folder.path}; remove that one first"
                )
        self.conn.execute(
            "INSERT INTO folders(path, ignore, poll, added_at) VALUES (?, ?, ?, ?)",
            (path, ignore, int(poll), time.time()),
        )
        return Folder(self.conn.last_insert_rowid(), path, ignore, poll)

    def set_folder_ignore(self, folder_id: int, ignore: str) -> None:
        self.conn.execute("UPDATE folders SET ignore = ? WHERE id = ?", (ignore, folder_id))

    def folder_counts(self) -> dict[int, dict[str, int]]:
        """Per folder, how many files are in each state."""
        counts: dict[int, dict[str, int]] = {}
        rows = self.conn.execute(
            "SELECT folder_id, state, count(*) FROM files GROUP BY folder_id, state"
        )
        for folder_id, state, n in rows:
            counts.setdefault(int(folder_id), {})[str(state)] = int(n)
        return counts

    def remove_folder(self, folder: Folder) -> int:
        with atomic(self.conn):
            ids = [
                r[0]
                for r in self.conn.execute("SELECT id FROM files WHERE folder_id = ?", (folder.id,))
            ]
            self.delete_files(ids)
            self.conn.execute("DELETE FROM folders WHERE id = ?", (folder.id,))
        return len(ids)

    # -- files -----------------------------------------------------------------------

    def files_in(self, folder_id: int) -> dict[str, FileRow]:
        rows = self.conn.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE folder_id = ?", (folder_id,)
        )
        return {row[2]: FileRow(*row) for row in rows}

    def files_under(self, folder_id: int, targets: Iterable[str]) -> dict[str, FileRow]:
        """The files of a folder at or below each of ``targets`` (read by the path index,
        so a targeted pass costs the same in a folder of ten files or a million)."""
        found: dict[str, FileRow] = {}
        for target in targets:
            low, high = folder_prefix_bounds(target)
            rows = self.conn.execute(
                f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ? OR (path >= ? AND path < ?)",
                (target, low, high),
            )
            # Filtered here: a condition on folder_id would make SQLite read the whole
            # folder through its index instead of the path range.
            found.update((row[2], FileRow(*row)) for row in rows if row[1] == folder_id)
        return found

    def file_by_path(self, path: str) -> FileRow | None:
        row = self.conn.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", (path,)
        ).fetchone()
        return None if row is None else FileRow(*row)

    def indexed_with_hash(self, digest: str) -> FileRow | None:
        row = self.conn.execute(
            f"SELECT {_FILE_COLUMNS} FROM files WHERE hash = ? AND state = 'indexed' LIMIT 1",
            (digest,),
        ).fetchone()
        return None if row is None else FileRow(*row)

    def upsert_file(
        self,
        stat: FileStat,
        state: str,
        *,
        digest: str | None = None,
        category: str | None = None,
        reason: str | None = None,
        title: str | None = None,
    ) -> int:
        """Record a file's state; returns its id (kept across updates).

        A file in any state but "indexed" keeps no passages, vectors or text: whatever
        an earlier version of it held leaves the index now, so text that is no longer
        in the file (or a file that can no longer be read) is never found again.
        """
        self.conn.execute(
            """
            INSERT INTO files(folder_id, path, dir, name, ext, kind, size, mtime_ns, hash,
                              state, category, reason, title, indexed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(path) DO UPDATE SET
                folder_id = excluded.folder_id, kind = excluded.kind, size = excluded.size,
                mtime_ns = excluded.mtime_ns, hash = COALESCE(excluded.hash, files.hash),
                state = excluded.state, category = excluded.category, reason = excluded.reason,
                title = COALESCE(excluded.title, files.title), indexed_at = excluded.indexed_at
            """,
            (*stat.columns(), digest, state, category, reason, title, time.time()),
        )
        file_id = int(self._value("SELECT id FROM files WHERE path = ?", (stat.path,)))
        if state != "indexed":
            self.drop_content(file_id)
        return file_id

    def set_taken(self, file_id: int, taken_ns: int | None) -> None:
        """When a photo was taken, which date filters use instead of its file's time
        (None: the file's own time)."""
        self.conn.execute("UPDATE files SET taken_ns = ? WHERE id = ?", (taken_ns, file_id))

    def touch_file(self, file_id: int, stat: FileStat) -> None:
        """Same content, new timestamp: remember the new (size, mtime) pair, which the
        date filter reads."""
        self.conn.execute(
            "UPDATE files SET size = ?, mtime_ns = ? WHERE id = ?",
            (stat.size, stat.mtime_ns, file_id),
        )

    def write_document(
        self,
        file_id: int,
        stat: FileStat,
        title: str,
        text: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
    ) -> None:
        """Replace a file's passages, vectors and words with a freshly embedded set."""
        self.write_text(file_id, text)
        self.add_passages(file_id, stat, title, chunks, vectors)
        self.write_file_vector(file_id, mean_direction(vectors))

    def write_text(self, file_id: int, text: str) -> None:
        """Start a file's content afresh with its text; passages follow with
        ``add_passages`` (a large file in several transactions) and the file's own
        vector last, with ``write_file_vector``."""
        self.drop_content(file_id)
        self.texts.write(file_id, text)

    def add_passages(
        self,
        file_id: int,
        stat: FileStat,
        title: str,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
    ) -> None:
        title_column = fts_title(stat.name, title)
        for chunk, vector in zip(chunks, vectors, strict=True):
            self._insert_chunk(file_id, chunk, title_column, vector)

    def write_file_vector(self, file_id: int, vector: np.ndarray) -> None:
        """The direction of a whole file (its passages' mean), which "similar" compares."""
        self._insert_vector("file_vec", "file_id", file_id, vector)

    def move_file(self, row: FileRow, stat: FileStat) -> None:
        """A renamed or moved file keeps its passages and vectors; only its place changes."""
        self.conn.execute(
            "UPDATE files SET folder_id = ?, path = ?, dir = ?, name = ?, ext = ?, kind = ?, "
            "size = ?, mtime_ns = ? WHERE id = ?",
            (*stat.columns(), row.id),
        )
        self._rewrite_fts_titles(row.id, stat.name)

    def copy_document(self, source_id: int, target_id: int, stat: FileStat) -> None:
        """A copy of an indexed file reuses the original's passages and vectors."""
        self.drop_content(target_id)
        self.texts.copy(source_id, target_id)
        title_column = fts_title(stat.name, self.title_of(source_id))
        rows = fetch_all(
            self.conn,
            "SELECT c.ord, c.start, c.end, c.location, v.embedding "
            "FROM chunks c JOIN chunk_vec v ON v.chunk_id = c.id WHERE c.file_id = ? "
            "ORDER BY c.ord",
            (source_id,),
        )
        text = self.texts.document(source_id) or ""
        for order, start, end, location, blob in rows:
            chunk = Chunk(order, start, end, location, text[start:end])
            self._insert_chunk(target_id, chunk, title_column, blob)
        file_vector = self.file_vector(source_id)
        if file_vector is not None:
            self._insert_vector("file_vec", "file_id", target_id, file_vector)
        self.pictures.copy(source_id, target_id)
        self.conn.execute(
            "UPDATE files SET taken_ns = (SELECT taken_ns FROM files WHERE id = ?) WHERE id = ?",
            (source_id, target_id),
        )

    def delete_files(self, file_ids: Iterable[int]) -> None:
        for file_id in file_ids:
            self.drop_content(file_id)
            self.conn.execute("DELETE FROM files WHERE id = ?", (file_id,))

    # -- reading ---------------------------------------------------------------------

    def title_of(self, file_id: int) -> str:
        row = self.conn.execute("SELECT title FROM files WHERE id = ?", (file_id,)).fetchone()
        return "" if row is None or row[0] is None else str(row[0])

    def chunk_span(self, chunk_id: int) -> tuple[int, int, int] | None:
        """The file a passage belongs to, and where it lies in the document's text."""
        row = self.conn.execute(
            "SELECT file_id, start, end FROM chunks WHERE id = ?", (chunk_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def passage_spans(self, file_id: int) -> list[tuple[int, int, int]]:
        """(passage id, start, end) of each of a file's passages, in the order of its
        text."""
        rows = self.conn.execute(
            "SELECT id, start, end FROM chunks WHERE file_id = ? ORDER BY start, end",
            (file_id,),
        )
        return [(int(chunk), int(start), int(end)) for chunk, start, end in rows]

    def file_vector(self, file_id: int) -> np.ndarray | None:
        if not self._has_vectors():
            return None
        row = self.conn.execute(
            "SELECT embedding FROM file_vec WHERE file_id = ?", (file_id,)
        ).fetchone()
        return None if row is None else stored_vector(row[0])

    def chunk_vector(self, chunk_id: int) -> np.ndarray | None:
        if not self._has_vectors():
            return None
        row = self.conn.execute(
            "SELECT embedding FROM chunk_vec WHERE chunk_id = ?", (chunk_id,)
        ).fetchone()
        return None if row is None else stored_vector(row[0])

    def state_counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) FROM files GROUP BY state")
        return {str(state): int(n) for state, n in rows}

    def passages_of(self, file_ids: Sequence[int]) -> dict[int, list[int]]:
        """The passage ids of each file, in one query per 900 files."""
        passages: dict[int, list[int]] = defaultdict(list)
        for start in range(0, len(file_ids), 900):
            part = list(file_ids[start : start + 900])
            marks = ",".join("?" * len(part))
            for chunk_id, file_id in self.conn.execute(
                f"SELECT id, file_id FROM chunks WHERE file_id IN ({marks})", part
            ):
                passages[int(file_id)].append(int(chunk_id))
        return passages

    def version(self) -> tuple[int, int]:
        """Changes whenever the index does: another connection's commits move SQLite's
        data_version, this connection's own writes its change count."""
        return int(self._value("PRAGMA data_version")), int(self.conn.total_changes())

    def files_passing(self, filters: Filters) -> list[int]:
        """Ids of the indexed files a filtered search may return."""
        where, params = filters.file_sql()
        rows = self.conn.execute(
            f"SELECT fi.id FROM files fi WHERE fi.state = 'indexed'{where}", params
        )
        return [int(r[0]) for r in rows]

    def file_path(self, file_id: int) -> str | None:
        row = self.conn.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()
        return None if row is None else str(row[0])

    def retry_failed(self) -> int:
        """Mark every failed file for reading again; how many there were."""
        self.conn.execute("UPDATE files SET state = 'pending' WHERE state = 'failed'")
        return int(self.conn.changes())

    def result_rows(self, chunk_ids: Sequence[int]) -> dict[int, tuple[str, str, int, str, str]]:
        """(path, kind, mtime_ns, text, location) of each passage still in the index, by
        passage id: the rows for a page of results, in one query."""
        marks = ",".join("?" * len(chunk_ids))
        rows = fetch_all(
            self.conn,
            "SELECT c.id, f.path, f.kind, f.mtime_ns, c.file_id, c.start, c.end, c.location "
            f"FROM chunks c JOIN files f ON f.id = c.file_id "
            # "+": not through the index on state, which SQLite (no statistics) would
            # start from, visiting every indexed file: 200 ms at a million passages.
            f"WHERE c.id IN ({marks}) AND +f.state = 'indexed'",
            list(chunk_ids),
        )
        documents = self.texts.documents(int(r[4]) for r in rows)
        return {
            int(chunk): (str(path), str(kind), int(mtime), documents.get(int(f), "")[a:b], str(at))
            for chunk, path, kind, mtime, f, a, b, at in rows
        }

    def chunk_count(self) -> int:
        return int(self._value("SELECT count(*) FROM chunks"))

    def failures(self) -> list[tuple[str, str, str]]:
        rows = self.conn.execute(
            "SELECT path, COALESCE(category, ''), COALESCE(reason, '') FROM files "
            "WHERE state = 'failed' ORDER BY path"
        )
        return [(str(p), str(c), str(r)) for p, c, r in rows]

    def skipped(self, folder_id: int) -> list[tuple[str, str, str]]:
        """(path, state, reason) of a folder's files left unread on purpose: excluded by
        a rule, or in a format Trove recognizes but cannot read."""
        rows = self.conn.execute(
            "SELECT path, state, COALESCE(reason, '') FROM files "
            "WHERE folder_id = ? AND state IN ('excluded', 'unsupported') ORDER BY path",
            (folder_id,),
        )
        return [(str(p), str(s), str(r)) for p, s, r in rows]

    def partly_indexed(self) -> list[tuple[str, str]]:
        """(path, note) of indexed files of which only the beginning is searchable."""
        rows = self.conn.execute(
            "SELECT path, COALESCE(reason, '') FROM files "
            "WHERE state = 'indexed' AND category IS NOT NULL ORDER BY path"
        )
        return [(str(p), str(r)) for p, r in rows]

    def integrity_check(self) -> str:
        with explaining(self.path or "the index"):
            return str(self._value("PRAGMA quick_check"))

    # -- internals -------------------------------------------------------------------

    def _value(self, sql: str, params: tuple[object, ...] = ()) -> Any:
        row = fetch_one(self.conn, sql, params)
        if row is None:
            raise LookupError(f"no row for {sql!r}")
        return row[0]

    def _has_vectors(self) -> bool:
        return self.model_binding() is not None

    def _chunk_ids(self, file_id: int) -> list[int]:
        return [
            int(r[0])
            for r in self.conn.execute("SELECT id FROM chunks WHERE file_id = ?", (file_id,))
        ]

    def drop_content(self, file_id: int) -> None:
        """Remove a file's text, passages, vectors and words; its ledger row stays."""
        chunk_ids = self._chunk_ids(file_id)
        vectors = self._has_vectors()
        for chunk_id in chunk_ids:
            self.conn.execute("DELETE FROM chunk_fts WHERE rowid = ?", (chunk_id,))
            if vectors:
                self.conn.execute("DELETE FROM chunk_vec WHERE chunk_id = ?", (chunk_id,))
                self._log_vector("chunk", chunk_id, added=False)
        if vectors and self.file_vector(file_id) is not None:
            self.conn.execute("DELETE FROM file_vec WHERE file_id = ?", (file_id,))
            self._log_vector("file", file_id, added=False)
        self.conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))
        self.texts.delete(file_id)
        self.pictures.delete([file_id])

    def _insert_chunk(
        self,
        file_id: int,
        chunk: Chunk,
        title_column: str,
        vector: np.ndarray | bytes,
    ) -> None:
        # The passage's text is the span start:end of the document's text (`texts`).
        self.conn.execute(
            "INSERT INTO chunks(file_id, ord, start, end, location) VALUES (?, ?, ?, ?, ?)",
            (file_id, chunk.ord, chunk.start, chunk.end, chunk.location),
        )
        chunk_id = self.conn.last_insert_rowid()
        self.conn.execute(
            "INSERT INTO chunk_fts(rowid, title, text) VALUES (?, ?, ?)",
            (chunk_id, title_column, chunk.text),
        )
        self._insert_vector("chunk_vec", "chunk_id", chunk_id, vector)

    def _insert_vector(self, table: str, key: str, item: int, vector: np.ndarray | bytes) -> None:
        # vec0 in sqlite-vec 0.1.9 rejects INSERT OR REPLACE; callers delete first.
        blob = vector if isinstance(vector, bytes) else vector_blob(vector)
        self.conn.execute(
            f"INSERT INTO {table}({key}, embedding) VALUES (?, vec_int8(?))", (item, blob)
        )
        self._log_vector("chunk" if table == "chunk_vec" else "file", item, added=True)

    def _log_vector(self, space: str, key: int, *, added: bool) -> None:
        """Note a vector's arrival or removal, for the copies in memory to follow."""
        self.conn.execute(
            "INSERT INTO vector_changes(space, key, added) VALUES (?, ?, ?)",
            (space, key, int(added)),
        )

    def _rewrite_fts_titles(self, file_id: int, name: str) -> None:
        title = fts_title(name, self.title_of(file_id))
        text = self.texts.document(file_id) or ""
        spans = fetch_all(
            self.conn, "SELECT id, start, end FROM chunks WHERE file_id = ?", (file_id,)
        )
        for chunk_id, start, end in spans:
            self.conn.execute("DELETE FROM chunk_fts WHERE rowid = ?", (chunk_id,))
            self.conn.execute(
                "INSERT INTO chunk_fts(rowid, title, text) VALUES (?, ?, ?)",
                (chunk_id, title, text[int(start) : int(end)]),
            )
            # Logged again, for the keyword copy (core.store.words) to read its new
            # title; the vector copy reads its vector again, unchanged.
            self._log_vector("chunk", int(chunk_id), added=True)


def mean_direction(vectors: np.ndarray) -> np.ndarray:
    mean = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return np.asarray(mean / norm if norm > 0 else mean, dtype=np.float32)


def _contains(parent: str, child: str) -> bool:
    return child == parent or child.startswith(os.path.join(parent, ""))
