"""Nearest neighbours in milliseconds: a small, quantised copy of a set of vectors in memory.

Each vector is kept twice, in little space: its signs (one bit a dimension, 48 bytes at 384
dimensions) and its components as int8 with one scale (388 bytes), a sixth of float32 in
all.  A query first ranks every vector by the signs it shares with the query (Hamming
distance: word-wide XOR and bit counts over columns of 64-bit words), then scores the best
few thousand on their int8 components and keeps the best ``k``.  The index stores vectors
as these same int8 codes (``int8_codes``), so those scores are the stored vectors' exact
cosine, and within about 0.002 of the cosine of the model's float vectors.  How many are
rescored trades speed for recall against exact search (benchmarks/scale.py measures both).

Keys are caller ids (passage or file ids, up to a few million); each vector also carries
a group (its file's id), which is what a search may be limited to.  Removed vectors are
marked dead and their rows reused when the dead outnumber a quarter of the rows.
This module knows nothing of SQLite: ``core.store.mirror`` keeps it in step with the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

RESCORED = 8192  # vectors scored on int8 after the first pass on signs
EXACT_BELOW = 32768  # fewer vectors in scope than this are all scored on int8
_NOWHERE = -1
# Room kept for vectors added after a load (a sixteenth), and how much the arrays grow when
# it runs out (an eighth): at a million passages the copy is 460 MB, and growing it holds
# the old arrays and the new at once.
HEADROOM = 16
GROWTH = 8


@dataclass(frozen=True, slots=True)
class Neighbours:
    """Keys, their groups and their cosine similarity to the query, best first."""

    keys: np.ndarray
    groups: np.ndarray
    scores: np.ndarray

    def __len__(self) -> int:
        return len(self.keys)


class QuantisedVectors:
    STATE = ("keys", "groups", "bits", "codes", "scales")

    def __init__(self, dimension: int, capacity: int = 1024) -> None:
        capacity = max(capacity, 1024)
        self.dimension = dimension
        self.words = (dimension + 63) // 64
        self.size = 0  # rows in use, dead ones included
        self.dead = 0
        self._keys = np.zeros(capacity, dtype=np.int64)
        self._groups = np.zeros(capacity, dtype=np.int64)
        self._alive = np.zeros(capacity, dtype=bool)
        self._bits = np.zeros((self.words, capacity), dtype=np.uint64)
        self._codes = np.zeros((capacity, dimension), dtype=np.int8)
        self._scales = np.zeros(capacity, dtype=np.float32)
        self._where = np.full(0, _NOWHERE, dtype=np.int64)  # key -> row

    def __len__(self) -> int:
        return self.size - self.dead

    def __contains__(self, key: int) -> bool:
        return 0 <= key < len(self._where) and self._where[key] != _NOWHERE

    def state(self) -> dict[str, np.ndarray]:
        """The live rows' arrays, to save; ``from_saved`` makes a copy from them again."""
        live = np.flatnonzero(self._alive[: self.size])
        return {
            "keys": self._keys[live],
            "groups": self._groups[live],
            "bits": np.ascontiguousarray(self._bits[:, live]),
            "codes": self._codes[live],
            "scales": self._scales[live],
        }

    @classmethod
    def from_saved(
        cls, dimension: int, count: int, read: Callable[[str, np.ndarray], None]
    ) -> QuantisedVectors:
        """A copy of ``count`` saved vectors: ``read(name, out)`` fills each of the ``STATE``
        arrays into ``out``, the part of this copy's array that keeps it, so nothing is held
        twice on the way."""
        made = cls(dimension, count + count // HEADROOM)
        for name in cls.STATE:
            array = getattr(made, f"_{name}")
            read(name, array[:, :count] if name == "bits" else array[:count])
        keys = made._keys[:count]
        if len(np.unique(keys)) != count:
            raise ValueError("the saved vectors repeat a key")
        made._alive[:count] = True
        if count:
            made._grow_where(int(keys.max()) + 1)
            made._where[keys] = np.arange(count)
        made.size = count
        return made

    # -- changes ---------------------------------------------------------------------

    def add(self, keys: np.ndarray, groups: np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors (float, any scale: they are normalised here)."""
        keys = np.asarray(keys, dtype=np.int64)
        if len(keys) == 0:
            return
        if len(np.unique(keys)) != len(keys):
            raise ValueError("a key is given twice")
        self.remove(keys)
        self._reserve(self.size + len(keys))
        rows = np.arange(self.size, self.size + len(keys))
        bits, codes, scales = self.encode(np.asarray(vectors, dtype=np.float32))
        self._keys[rows] = keys
        self._groups[rows] = np.asarray(groups, dtype=np.int64)
        self._alive[rows] = True
        self._bits[:, rows] = bits.T
        self._codes[rows] = codes
        self._scales[rows] = scales
        self._grow_where(int(keys.max()) + 1)
        self._where[keys] = rows
        self.size += len(keys)

    def remove(self, keys: np.ndarray | list[int]) -> None:
        keys = np.asarray(keys, dtype=np.int64)
        keys = keys[(keys >= 0) & (keys < len(self._where))]
        rows = self._where[keys]
        rows = rows[rows != _NOWHERE]
        if len(rows) == 0:
            return
        self._alive[rows] = False
        self._where[self._keys[rows]] = _NOWHERE
        self.dead += len(rows)
        if self.dead > max(1024, self.size // 4):
            self._compact()

    # -- reading ---------------------------------------------------------------------

    def nearest(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None) -> Neighbours:
        """The ``k`` vectors nearest ``query``; with ``allowed`` (a boolean array indexed
        by group), only among vectors whose group it marks."""
        in_scope = self._alive[: self.size].copy()
        if allowed is not None:
            groups = self._groups[: self.size]
            known = groups < len(allowed)
            in_scope[known] &= allowed[groups[known]]
            in_scope[~known] = False
        count = int(in_scope.sum())
        if count == 0 or k <= 0:
            return self._neighbours(np.zeros(0, dtype=np.int64), np.zeros(0, np.float32))
        q = _unit(np.asarray(query, dtype=np.float32))
        if count <= max(EXACT_BELOW, k):
            rows = np.flatnonzero(in_scope)
        else:
            rows = self._by_signs(q, in_scope, min(count, max(RESCORED, 4 * k)))
        scores = self._scores(rows, q)
        if len(rows) > k:
            best = np.argpartition(-scores, k - 1)[:k]
            rows, scores = rows[best], scores[best]
        order = np.argsort(-scores, kind="stable")
        return self._neighbours(rows[order], scores[order])

    def similarity(self, query: np.ndarray, keys: np.ndarray | list[int]) -> Neighbours:
        """The cosine similarity of ``query`` to each of ``keys`` held (others are left out),
        in the order given."""
        rows = self._rows(keys)
        q = _unit(np.asarray(query, dtype=np.float32))
        return self._neighbours(rows, self._scores(rows, q))

    def keys_held(self) -> list[int]:
        keys: list[int] = self._keys[: self.size][self._alive[: self.size]].tolist()
        return keys

    def vectors(self, keys: np.ndarray | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(keys held, their vectors as float32, unit length up to quantisation)."""
        rows = self._rows(keys)
        return self._keys[rows], self._codes[rows].astype(np.float32) * self._scales[rows, None]

    def encode(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sign bits as 64-bit words, int8 components, scales) of each row."""
        units = _unit_rows(vectors)
        packed = np.packbits(units > 0, axis=1)
        padded = np.zeros((len(units), self.words * 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        scales = _scales(units)
        codes = np.rint(units / scales[:, None]).astype(np.int8)
        return padded.view(np.uint64), codes, scales.astype(np.float32)

    # -- internals -------------------------------------------------------------------

    def _by_signs(self, q: np.ndarray, in_scope: np.ndarray, wanted: int) -> np.ndarray:
        """Rows in scope whose signs differ least from the query's: at least ``wanted``
        of them (more where distances tie at the cut)."""
        query_bits = self.encode(q[None, :])[0][0]
        n = self.size
        distance = np.bitwise_count(self._bits[0, :n] ^ query_bits[0]).astype(np.uint16)
        for word in range(1, self.words):
            distance += np.bitwise_count(self._bits[word, :n] ^ query_bits[word])
        outside = self.words * 64 + 1
        if not in_scope.all():
            distance[~in_scope] = outside
        counts = np.cumsum(np.bincount(distance, minlength=outside + 1))
        cut = int(np.searchsorted(counts, wanted))
        rows = np.flatnonzero(distance <= cut)
        if len(rows) > 2 * wanted:  # many ties at the cut: keep the nearest ones
            rows = rows[np.argpartition(distance[rows], wanted - 1)[:wanted]]
        return rows

    def _scores(self, rows: np.ndarray, q: np.ndarray) -> np.ndarray:
        products = self._codes[rows].astype(np.float32) @ q
        return np.asarray(products * self._scales[rows], dtype=np.float32)

    def _rows(self, keys: np.ndarray | list[int]) -> np.ndarray:
        keys = np.asarray(keys, dtype=np.int64)
        keys = keys[(keys >= 0) & (keys < len(self._where))]
        rows: np.ndarray = self._where[keys]
        found: np.ndarray = rows[rows != _NOWHERE]
        return found

    def _neighbours(self, rows: np.ndarray, scores: np.ndarray) -> Neighbours:
        return Neighbours(self._keys[rows], self._groups[rows], scores)

    def _reserve(self, rows: int) -> None:
        capacity = len(self._keys)
        if rows <= capacity:
            return
        grown = max(rows, capacity + max(1024, capacity // GROWTH))
        self._keys = _resized(self._keys, grown)
        self._groups = _resized(self._groups, grown)
        self._alive = _resized(self._alive, grown)
        self._codes = _resized(self._codes, grown)
        self._scales = _resized(self._scales, grown)
        bits = np.zeros((self.words, grown), dtype=np.uint64)
        bits[:, : self.size] = self._bits[:, : self.size]
        self._bits = bits

    def _grow_where(self, length: int) -> None:
        if length > len(self._where):
            where = np.full(max(length, len(self._where) * 5 // 4), _NOWHERE, dtype=np.int64)
            where[: len(self._where)] = self._where
            self._where = where

    def _compact(self) -> None:
        """Move the live rows together, in their order."""
        live = np.flatnonzero(self._alive[: self.size])
        count = len(live)
        for name in ("_keys", "_groups", "_alive", "_codes", "_scales"):
            array = getattr(self, name)
            array[:count] = array[live]
        self._bits[:, :count] = self._bits[:, live]
        self._alive[count : self.size] = False
        self._where[self._keys[:count]] = np.arange(count)
        self.size, self.dead = count, 0


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def int8_codes(vectors: np.ndarray) -> np.ndarray:
    """Each row's direction in int8, scaled so that its largest component is 127 (or
    -127): how the index stores vectors.  The cosine of two vectors so kept is within
    about 0.002 of their own; a copy made from them (``encode``) holds the same codes."""
    units = _unit_rows(np.atleast_2d(np.asarray(vectors, dtype=np.float32)))
    codes: np.ndarray = np.rint(units / _scales(units)[:, None]).astype(np.int8)
    return codes


def vector_blob(vector: np.ndarray) -> bytes:
    """A vector as the index keeps it: its ``int8_codes``, as bytes."""
    return bytes(int8_codes(vector)[0].tobytes())


def stored_vector(blob: bytes) -> np.ndarray:
    """The unit vector a blob of the index stands for."""
    unit: np.ndarray = directions(np.frombuffer(blob, dtype=np.int8))[0]
    return unit


def directions(codes: np.ndarray) -> np.ndarray:
    """The unit vectors that rows of int8 codes stand for."""
    units: np.ndarray = _unit_rows(np.atleast_2d(codes).astype(np.float32))
    return units


def _scales(units: np.ndarray) -> np.ndarray:
    scales: np.ndarray = np.maximum(np.abs(units).max(axis=1), 1e-12) / 127.0
    return scales


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    units: np.ndarray = vectors / np.maximum(norms, 1e-12)
    return units


def _resized(array: np.ndarray, length: int) -> np.ndarray:
    grown = np.zeros((length, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
