"""The index schema and its named migrations.

Each migration is a function applied atomically together with the row that records it,
under the write lock.  A database that records a migration this version does not know
was written by a newer Trove and is refused; an older one is copied aside before it is
migrated.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import apsw
import numpy as np

from core.errors import SchemaTooNew
from core.paths import create_private_file
from core.store.connection import atomic, fetch_all, immediate
from core.store.quantised import int8_codes

log = logging.getLogger(__name__)

Migration = Callable[[apsw.Connection], None]


def _initial(conn: apsw.Connection) -> None:
    conn.execute(
        """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE folders(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            ignore TEXT NOT NULL DEFAULT '',
            added_at REAL NOT NULL
        );
        CREATE TABLE files(
            id INTEGER PRIMARY KEY,
            folder_id INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
            path TEXT NOT NULL UNIQUE,
            dir TEXT NOT NULL,          -- parent folder ending in a separator, for prefix filters
            name TEXT NOT NULL,
            ext TEXT NOT NULL,
            kind TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'indexed', 'failed', 'excluded', 'unsupported')),
            category TEXT,
            reason TEXT,
            title TEXT,
            indexed_at REAL
        );
        CREATE INDEX files_folder ON files(folder_id);
        CREATE INDEX files_hash ON files(hash);
        CREATE INDEX files_state ON files(state);
        CREATE TABLE chunks(
            id INTEGER PRIMARY KEY,
            file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
            ord INTEGER NOT NULL,
            start INTEGER NOT NULL,     -- character offsets into the document's text
            end INTEGER NOT NULL,
            location TEXT NOT NULL,
            text TEXT NOT NULL
        );
        CREATE INDEX chunks_file ON chunks(file_id, ord);
        CREATE TABLE texts(
            file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,
            body BLOB NOT NULL          -- zlib-compressed UTF-8 of the whole document
        );
        CREATE VIRTUAL TABLE chunk_fts USING fts5(
            title, text, content='', contentless_delete=1,
            tokenize='porter unicode61 remove_diacritics 2'
        );
        -- How many passages hold each word: the rarity that weighs query words.
        CREATE VIRTUAL TABLE chunk_vocab USING fts5vocab(chunk_fts, row);
        """
    )


def _folder_polling(conn: apsw.Connection) -> None:
    # Network shares and removable drives send no change events: such a folder is
    # watched by polling, and the choice is remembered with the folder.
    conn.execute("ALTER TABLE folders ADD COLUMN poll INTEGER NOT NULL DEFAULT 0")


def _vector_changes(conn: apsw.Connection) -> None:
    # Every vector added or removed, in order: a process holding a copy of the vectors in
    # memory (core.store.mirror) brings it up to date by reading what came after it.
    # Filters pick files by type, folder and date through the indexes below.
    conn.execute(
        """
        CREATE TABLE vector_changes(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            space TEXT NOT NULL CHECK (space IN ('chunk', 'file')),
            key INTEGER NOT NULL,
            added INTEGER NOT NULL
        );
        CREATE INDEX files_ext ON files(ext);
        CREATE INDEX files_dir ON files(dir);
        CREATE INDEX files_mtime ON files(mtime_ns);
        """
    )
    # Names this index file: a saved vector copy belongs to one file only, and a file put
    # in another's place (a rebuild for a new model, a restored backup) starts a new log.
    conn.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES ('index_id', ?)", (uuid.uuid4().hex,)
    )


def _passage_text_once(conn: apsw.Connection) -> None:
    # A passage is a span of its document's text, which `texts` keeps compressed: a
    # second, plain copy of every passage took a quarter of the index. Passages are read
    # from the document now (core.store.texts).
    conn.execute("ALTER TABLE chunks DROP COLUMN text")


def _vectors_alone(conn: apsw.Connection) -> None:
    # The vector tables also held each vector's file type, folder and date, for filters
    # inside sqlite-vec's KNN search. Search runs on the copy in memory now and filters by
    # file, so nothing read them (about 155 bytes a passage): the vectors move to tables
    # without them, with the same keys, so the copy in memory stays valid.
    row = conn.execute("SELECT value FROM meta WHERE key = 'model_dim'").fetchone()
    if row is None:  # no model bound yet: no vector tables
        return
    for table, key in VECTOR_TABLES.values():
        conn.execute(f"CREATE TEMP TABLE moving AS SELECT {key} AS key, embedding FROM {table}")
        conn.execute(f"DROP TABLE {table}")
        create_vector_table(conn, table, int(row[0]), "float")
        conn.execute(f"INSERT INTO {table}({key}, embedding) SELECT key, embedding FROM moving")
        conn.execute("DROP TABLE moving")


def _date_taken(conn: apsw.Connection) -> None:
    # When a photo was taken, from its camera (core.extract.image): what a date filter
    # compares for it, instead of the file's modification time.
    conn.execute("ALTER TABLE files ADD COLUMN taken_ns INTEGER")


def _vectors_in_int8(conn: apsw.Connection) -> None:
    # Vectors are kept as int8, each scaled to its largest component (core.store.quantised
    # int8_codes): 384 bytes a passage instead of 1,536, a third of the index, for cosines
    # within about 0.002.  Keys stay, so the log of vector changes stays valid; the saved
    # copy in memory is made again once (its format changed with this).  vec0 tables
    # cannot be renamed: the codes wait in a plain table while the vector table is made
    # again.
    row = conn.execute("SELECT value FROM meta WHERE key = 'model_dim'").fetchone()
    if row is None:  # no model bound yet: no vector tables
        return
    for table, key in VECTOR_TABLES.values():
        conn.execute("CREATE TABLE converting(key INTEGER PRIMARY KEY, codes BLOB NOT NULL)")
        last = -1
        while batch := fetch_all(
            conn,
            f"SELECT {key}, embedding FROM {table} WHERE {key} > ? ORDER BY {key} LIMIT 20000",
            (last,),
        ):
            vectors = np.frombuffer(b"".join(blob for _, blob in batch), dtype=np.float32)
            codes = int8_codes(vectors.reshape(len(batch), -1))
            conn.executemany(
                "INSERT INTO converting(key, codes) VALUES (?, ?)",
                [(item, code.tobytes()) for (item, _), code in zip(batch, codes, strict=True)],
            )
            last = int(batch[-1][0])
        conn.execute(f"DROP TABLE {table}")
        create_vector_table(conn, table, int(row[0]), "int8")
        conn.execute(
            f"INSERT INTO {table}({key}, embedding) SELECT key, vec_int8(codes) FROM converting"
        )
        conn.execute("DROP TABLE converting")


# Migrations that free much of the file: the index is compacted after them.
COMPACTING = {"0007_vectors_in_int8"}

MIGRATIONS: list[tuple[str, Migration]] = [
    ("0001_initial", _initial),
    ("0002_folder_polling", _folder_polling),
    ("0003_vector_changes", _vector_changes),
    ("0004_passage_text_once", _passage_text_once),
    ("0005_vectors_alone", _vectors_alone),
    ("0006_date_taken", _date_taken),
    ("0007_vectors_in_int8", _vectors_in_int8),
]


def applied_migrations(conn: apsw.Connection) -> list[str]:
    """The migrations this database records (none for a new file); reads, never writes."""
    table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'"
    ).fetchone()
    if table is None:
        return []
    return [row[0] for row in conn.execute("SELECT name FROM migrations ORDER BY name")]


def migrate(conn: apsw.Connection, db_path: Path | None) -> list[str]:
    """Bring the schema up to date; return the names of the migrations applied now.

    Commands started together on a new index all find it unmigrated, so the migrations
    run under the write lock, and what is applied is read again once it is held: the
    first process migrates, the others wait and then find nothing to do.  An up-to-date
    index (the usual open) takes no write lock.
    """
    if not _pending(applied_migrations(conn), db_path):
        return []
    with immediate(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )
        done = applied_migrations(conn)
        pending = _pending(done, db_path)
        if pending and done and db_path is not None:
            _back_up(db_path, done[-1])
        for name, step in pending:
            with atomic(conn):
                step(conn)
                conn.execute(
                    "INSERT INTO migrations(name, applied_at) VALUES (?, ?)", (name, time.time())
                )
    applied = [name for name, _ in pending]
    if COMPACTING.intersection(applied):
        _compact(conn)
    return applied


def _compact(conn: apsw.Connection) -> None:
    """Give the room a migration freed back to the disk (10.7 s for a million passages);
    SQLite would otherwise keep it for the index to grow into."""
    try:
        conn.execute("VACUUM")
    except apsw.Error as error:  # busy, or no room for the copy VACUUM makes: not needed
        log.warning("the index keeps the room its migration freed: %s", error)


def _pending(done: list[str], db_path: Path | None) -> list[tuple[str, Migration]]:
    known = [name for name, _ in MIGRATIONS]
    unknown = [name for name in done if name not in known]
    if unknown:
        raise SchemaTooNew(
            f"this index was written by a newer version of Trove (it has migration "
            f"{unknown[-1]!r}); update Trove or move {db_path} aside"
        )
    return [(name, step) for name, step in MIGRATIONS if name not in done]


def _back_up(db_path: Path, version: str) -> None:
    """Copy the database aside, private like the index, before it is migrated.

    Read through a connection of its own: the migrating one is inside a transaction,
    where it cannot fold the log into the file for a plain copy; SQLite's backup from a
    reader copies the log's pages too.
    """
    target = db_path.with_name(f"{db_path.stem}.before-{version}{db_path.suffix}")
    target.unlink(missing_ok=True)  # a copy left by an attempt that failed
    create_private_file(target)
    source = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    copy = apsw.Connection(str(target))
    try:
        with copy.backup("main", source, "main") as backup:
            backup.step()
    finally:
        copy.close()
        source.close()


# Each space of vectors: its table and key (core.store.mirror copies them by space).
VECTOR_TABLES = {"chunk": ("chunk_vec", "chunk_id"), "file": ("file_vec", "file_id")}


def create_vector_tables(conn: apsw.Connection, dimension: int) -> None:
    """Vector tables depend on the model's dimension, so they are made when a model is
    bound. Searches run on the copy in memory (core.store.mirror), which applies filters
    by file; the tables hold the vectors alone, as int8 codes (``int8_codes``)."""
    for table in VECTOR_TABLES.values():
        create_vector_table(conn, table[0], dimension, "int8")


def create_vector_table(conn: apsw.Connection, table: str, dimension: int, element: str) -> None:
    key = dict(VECTOR_TABLES.values())[table]
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0({key} INTEGER PRIMARY KEY, "
        f"embedding {element}[{dimension}] distance_metric=cosine)"
    )
