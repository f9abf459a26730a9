"""The documents' texts: each file's extracted text, kept once, zlib-compressed, and its
passages read as spans of it (``chunks`` holds only each passage's span)."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import apsw

from core.store.connection import fetch_all, fetch_one

BATCH = 900  # ids in one IN (...), under SQLite's limit on parameters


class Texts:
    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn

    def write(self, file_id: int, text: str) -> None:
        self.conn.execute(
            "INSERT INTO texts(file_id, body) VALUES (?, ?)",
            (file_id, zlib.compress(text.encode("utf-8", "surrogatepass"), 6)),
        )

    def copy(self, source_id: int, target_id: int) -> None:
        self.conn.execute(
            "INSERT INTO texts(file_id, body) SELECT ?, body FROM texts WHERE file_id = ?",
            (target_id, source_id),
        )

    def delete(self, file_id: int) -> None:
        self.conn.execute("DELETE FROM texts WHERE file_id = ?", (file_id,))

    def document(self, file_id: int) -> str | None:
        row = fetch_one(self.conn, "SELECT body FROM texts WHERE file_id = ?", (file_id,))
        return None if row is None else _decompressed(row[0])

    def documents(self, file_ids: Iterable[int]) -> dict[int, str]:
        """The texts of documents, by file id, in one query per ``BATCH``."""
        ids = sorted(set(file_ids))
        documents: dict[int, str] = {}
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            marks = ",".join("?" * len(part))
            for file_id, body in self.conn.execute(
                f"SELECT file_id, body FROM texts WHERE file_id IN ({marks})", part
            ):
                documents[int(file_id)] = _decompressed(body)
        return documents

    def passages(self, chunk_ids: Sequence[int]) -> dict[int, str]:
        """The text of each passage, by id: spans of their documents' texts, each
        document read once."""
        texts: dict[int, str] = {}
        for start in range(0, len(chunk_ids), BATCH):
            part = list(chunk_ids[start : start + BATCH])
            marks = ",".join("?" * len(part))
            spans = fetch_all(
                self.conn, f"SELECT id, file_id, start, end FROM chunks WHERE id IN ({marks})", part
            )
            documents = self.documents(int(f) for _, f, _, _ in spans)
            for chunk_id, file_id, begin, end in spans:
                texts[int(chunk_id)] = documents.get(int(file_id), "")[int(begin) : int(end)]
        return texts


def _decompressed(body: bytes) -> str:
    return zlib.decompress(body).decode("utf-8", "surrogatepass")
