"""The keyword side of the index: FTS5 queries over the passages' words.

Ranking (core.search) asks in terms of query expressions and file filters; this module
holds the SQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import apsw

from core.store.connection import fetch_all, fetch_one


def fts_title(name: str, title: str | None) -> str:
    """What a passage's title column holds: its file's name without the extension, and
    the document's own title where it has another."""
    stem = os.path.splitext(name)[0]
    return stem if not title or title == stem else f"{stem} {title}"


class KeywordIndex:
    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn

    def matches(
        self, expression: str, limit: int, title_weight: float, where: str, params: list[object]
    ) -> list[tuple[int, int, float]]:
        """(passage, file, bm25 score, higher better) of the best ``limit`` passages
        matching ``expression`` in files passing ``where`` (SQL on ``fi``, the files)."""
        if where:
            rows = fetch_all(
                self.conn,
                "SELECT t.rowid, c.file_id, -bm25(chunk_fts, ?, 1.0) AS score FROM chunk_fts t "
                "JOIN chunks c ON c.id = t.rowid JOIN files fi ON fi.id = c.file_id "
                f"WHERE chunk_fts MATCH ?{where} ORDER BY score DESC LIMIT ?",
                [title_weight, expression, *params, limit],
            )
            return [(int(r), int(f), float(s)) for r, f, s in rows]
        # Unfiltered, the files of the best few are looked up afterwards: joining every
        # match (two thirds of all passages, for a query of everyday words) costs more
        # than ranking them.
        ranked = fetch_all(
            self.conn,
            "SELECT rowid, -bm25(chunk_fts, ?, 1.0) AS score FROM chunk_fts "
            "WHERE chunk_fts MATCH ? ORDER BY score DESC LIMIT ?",
            [title_weight, expression, limit],
        )
        files = self._files_of([int(r) for r, _ in ranked])
        return [(int(r), files[int(r)], float(s)) for r, s in ranked if int(r) in files]

    def _files_of(self, passages: list[int]) -> dict[int, int]:
        files: dict[int, int] = {}
        for start in range(0, len(passages), 900):
            part = passages[start : start + 900]
            rows = fetch_all(
                self.conn,
                f"SELECT id, file_id FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            files.update((int(c), int(f)) for c, f in rows)
        return files

    def holders(self, phrase: str, limit: int, where: str, params: list[object]) -> list[int]:
        """Files (up to ``limit``) with passages matching ``phrase``."""
        rows = fetch_all(
            self.conn,
            "SELECT DISTINCT c.file_id FROM chunk_fts t JOIN chunks c ON c.id = t.rowid "
            f"JOIN files fi ON fi.id = c.file_id WHERE chunk_fts MATCH ?{where} LIMIT ?",
            [phrase, *params, limit],
        )
        return [int(r[0]) for r in rows]

    def passages_with(self, stem: str) -> int:
        """How many passages hold the word ``stem``."""
        row = fetch_one(self.conn, "SELECT doc FROM chunk_vocab WHERE term = ?", (stem,))
        return 0 if row is None else int(row[0])

    def any_indexed(self, stems: Iterable[str]) -> bool:
        return any(self.passages_with(stem) for stem in stems)
