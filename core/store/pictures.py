"""Pictures' vectors from a picture model (core.picture_model), in a table of their own.

They live in another space than the passages' (another model, another dimension), so
they get their own vec0 table, made when the first one is written and named in ``meta``
with its model.  A different picture model, or none, empties the table: its vectors mean
nothing to another model.  Pictures are few next to passages, so a search asks sqlite-vec
for the nearest directly instead of keeping a copy in memory.
"""

from __future__ import annotations

from collections.abc import Iterable

import apsw
import numpy as np

from core.store.connection import fetch_all, fetch_one

TABLE = "picture_vec"
MODEL_KEY, DIMENSION_KEY = "picture_model", "picture_dim"


class PictureVectors:
    def __init__(self, conn: apsw.Connection) -> None:
        self.conn = conn

    def binding(self) -> tuple[str, int] | None:
        """The picture model the table's vectors come from, and their dimension."""
        rows = fetch_all(
            self.conn,
            "SELECT key, value FROM meta WHERE key IN (?, ?)",
            (MODEL_KEY, DIMENSION_KEY),
        )
        values = {str(key): str(value) for key, value in rows}
        if len(values) < 2:
            return None
        return values[MODEL_KEY], int(values[DIMENSION_KEY])

    def bound_to(self, model_id: str) -> bool:
        binding = self.binding()
        return binding is not None and binding[0] == model_id

    def bind(self, model_id: str, dimension: int) -> None:
        """Make the table for ``model_id`` (call inside a transaction); any other
        model's vectors go."""
        if self.binding() == (model_id, dimension):
            return
        self.forget()
        self.conn.execute(
            f"CREATE VIRTUAL TABLE {TABLE} USING vec0(file_id INTEGER PRIMARY KEY, "
            f"embedding float[{dimension}] distance_metric=cosine)"
        )
        for key, value in ((MODEL_KEY, model_id), (DIMENSION_KEY, str(dimension))):
            self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def forget(self) -> None:
        """Drop every picture vector and the model they came from (inside a transaction)."""
        self.conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.conn.execute("DELETE FROM meta WHERE key IN (?, ?)", (MODEL_KEY, DIMENSION_KEY))

    def write(self, file_id: int, vector: np.ndarray) -> None:
        self.delete([file_id])
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        self.conn.execute(f"INSERT INTO {TABLE}(file_id, embedding) VALUES (?, ?)", (file_id, blob))

    def delete(self, file_ids: Iterable[int]) -> None:
        if self.binding() is None:
            return
        for file_id in file_ids:
            self.conn.execute(f"DELETE FROM {TABLE} WHERE file_id = ?", (file_id,))

    def copy(self, source_id: int, target_id: int) -> None:
        """A copy of a picture has the same vector."""
        vector = self.vector(source_id)
        if vector is not None:
            self.write(target_id, vector)

    def vector(self, file_id: int) -> np.ndarray | None:
        if self.binding() is None:
            return None
        row = fetch_one(self.conn, f"SELECT embedding FROM {TABLE} WHERE file_id = ?", (file_id,))
        return None if row is None else np.frombuffer(bytes(row[0]), dtype=np.float32)

    def holders(self) -> set[int]:
        """The files that have a picture vector."""
        if self.binding() is None:
            return set()
        return {int(row[0]) for row in fetch_all(self.conn, f"SELECT file_id FROM {TABLE}")}

    def count(self) -> int:
        """How many files have a picture vector."""
        if self.binding() is None:
            return 0
        row = fetch_one(self.conn, f"SELECT count(*) FROM {TABLE}")
        return 0 if row is None else int(row[0])

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(file id, cosine similarity) of the ``k`` pictures nearest ``vector``."""
        if self.binding() is None or k <= 0:
            return []
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        rows = fetch_all(
            self.conn,
            f"SELECT file_id, distance FROM {TABLE} WHERE embedding MATCH ? AND k = ? "
            "ORDER BY distance",
            (blob, k),
        )
        return [(int(file_id), 1.0 - float(distance)) for file_id, distance in rows]
