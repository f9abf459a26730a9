"""A damaged index is set aside, never deleted, and a new one starts for the same folders.

SQLite reports a file that is cut short or overwritten as corrupt or "not a database".
Nothing in it can be trusted, but it may still be worth something to the person (or to
a recovery tool), so it is renamed beside the new index with its write-ahead log, which
may hold its last transactions.  The folders it watched are read from it where they can
be, so rebuilding needs no more than ``trove index``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import apsw

from core.errors import StoreError
from core.lock import WriterLock
from core.store.connection import connect, fetch_all
from core.store.index import Store
from core.store.mirror import VECTOR_COPY
from core.store.records import Folder
from core.store.words import WORD_COPY

SIDE_FILES = ("-wal", "-shm", VECTOR_COPY, WORD_COPY)
# The first 24 bytes of every index Trove writes: the magic string, 4,096-byte pages, and
# the format numbers SQLite always uses (read as a rollback-journal file, so a read-only
# copy needs no -shm).
STANDARD_HEADER = b"SQLite format 3\x00" + (4096).to_bytes(2, "big") + bytes([1, 1, 0, 64, 32, 32])


@dataclass(frozen=True, slots=True)
class Recovery:
    moved_to: Path
    folders: list[Folder]


def set_aside(database: Path) -> Recovery:
    """Move the index at ``database`` aside and start an empty one watching the folders
    the old one recorded.  Holds the writer lock: no other Trove may be writing."""
    with WriterLock.beside(database):
        folders = salvage_folders(database)
        moved_to = _move_aside(database)
        store = Store.open(database)
        try:
            with store.transaction():
                for folder in folders:
                    store.add_folder(folder.path, folder.ignore, folder.poll)
        finally:
            store.close()
    return Recovery(moved_to, folders)


def salvage_folders(database: Path) -> list[Folder]:
    """The watched folders recorded in a damaged index, or none if they cannot be read.

    A file whose first bytes were overwritten is read again through a copy given the
    header every Trove index starts with (the copy lives in the private data folder and
    is removed at once)."""
    folders = _read_folders(database)
    if folders or not database.is_file():
        return folders
    with tempfile.TemporaryDirectory(dir=database.parent, prefix=".salvage-") as scratch:
        copy = Path(scratch) / database.name
        shutil.copyfile(database, copy)
        with open(copy, "r+b") as handle:
            handle.write(STANDARD_HEADER)
            handle.write(bytes(8))  # change counter and size: SQLite then trusts the file
        return _read_folders(copy)


def _read_folders(database: Path) -> list[Folder]:
    try:
        conn = connect(database, readonly=True)
    except (StoreError, apsw.Error):
        return []
    try:
        rows = fetch_all(conn, "SELECT id, path, ignore, poll FROM folders")
        return [Folder(int(i), str(p), str(ig or ""), bool(poll)) for i, p, ig, poll in rows]
    except apsw.Error:
        return []
    finally:
        conn.close()


def _move_aside(database: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = database.with_name(f"{database.stem}.damaged-{stamp}{database.suffix}")
    for suffix in ("", *SIDE_FILES):
        source = Path(f"{database}{suffix}")
        if source.exists():
            os.replace(source, f"{target}{suffix}")
    return target
