"""Feeding passages to the model in short steps.

The indexer lines up the files it has read; each step hands the model the next passages
in line, across files or inside one: as many as take about ``STEP_S``, but never fewer
than ``MIN_STEP``.  Steps that short let a pause be answered, and progress move, within
about a second even in a file of thousands of passages; on a fast device the steps grow
and the model's batches stay full.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from core.events import Progress
from core.passages import Passages
from core.store import FileStat
from core.store.index import mean_direction

# What one model call should take: pause and progress answer within about this.
STEP_S = 0.5
# The fewest passages a call gets (unless a commit is smaller): the model's own batch.
# Smaller calls waste the CPU: on a busy two-core machine, calls of one passage ran at
# 1.1 passages/s, of 8 at 6.0, of 32 at 11.5 and of 64 at 10.7.
MIN_STEP = 32


@dataclass(slots=True)
class Job:
    """A file planned for embedding: its ledger row, as it was on disk, and its hash."""

    file_id: int
    stat: FileStat
    digest: str


@dataclass(slots=True)
class Writing:
    """A file in line for the model: its passages, how many are embedded and written,
    and the vectors embedded but not written yet."""

    job: Job
    passages: Passages
    embedded: int = 0
    written: int = 0
    vectors: list[np.ndarray] = field(default_factory=list)
    total_vector: np.ndarray | None = None  # the sum of every vector so far
    picture: np.ndarray | None = None  # a picture's vector from a picture model

    @property
    def total(self) -> int:
        return len(self.passages.chunks)

    @property
    def left(self) -> int:
        """Passages not embedded yet."""
        return self.total - self.embedded

    @property
    def unwritten(self) -> int:
        return self.embedded - self.written

    def add(self, vectors: np.ndarray) -> None:
        self.vectors.append(vectors)
        self.embedded += len(vectors)
        total = vectors.sum(axis=0, dtype=np.float64)
        self.total_vector = total if self.total_vector is None else self.total_vector + total

    def take(self) -> np.ndarray:
        """The vectors not written yet, now counted as written."""
        vectors = np.concatenate(self.vectors) if len(self.vectors) != 1 else self.vectors[0]
        self.vectors = []
        self.written += len(vectors)
        return vectors

    def direction(self) -> np.ndarray:
        """The file's own vector, from every passage embedded."""
        assert self.total_vector is not None, "no passage is embedded yet"
        return mean_direction(self.total_vector[None])


@dataclass(frozen=True, slots=True)
class Slice:
    """The passages ``start:stop`` of a file, as one step takes them."""

    writing: Writing
    start: int
    stop: int

    @property
    def inputs(self) -> list[str]:
        return self.writing.passages.inputs[self.start : self.stop]


def waiting(queue: deque[Writing]) -> int:
    """Passages in line, not embedded yet."""
    return sum(writing.left for writing in queue)


def take(queue: deque[Writing], size: int) -> list[Slice]:
    """The next ``size`` passages in line (fewer if fewer wait), file by file."""
    slices, room = [], size
    for writing in queue:
        if room <= 0:
            break
        count = min(writing.left, room)
        if count:
            slices.append(Slice(writing, writing.embedded, writing.embedded + count))
            room -= count
    return slices


def hand_out(slices: Sequence[Slice], vectors: np.ndarray) -> None:
    """Give each file the vectors of its passages in a step."""
    offset = 0
    for piece in slices:
        count = piece.stop - piece.start
        piece.writing.add(vectors[offset : offset + count])
        offset += count


@dataclass(slots=True)
class Pace:
    """How many passages a step hands the model: as many as took about ``STEP_S``
    last time, between ``MIN_STEP`` and ``limit`` (a commit's worth); growing at most
    twofold a step (one fast step says little), shrinking at once."""

    limit: int
    size: int = 0

    def __post_init__(self) -> None:
        self.limit = max(1, self.limit)
        self.size = self.least

    @property
    def least(self) -> int:
        return min(MIN_STEP, self.limit)

    def measure(self, passages: int, seconds: float) -> None:
        if passages < self.size:
            return  # a short step (the end of the line) says little about the pace
        ideal = int(passages * STEP_S / max(seconds, 1e-6))
        self.size = max(self.least, min(ideal, self.size * 2, self.limit))


@dataclass(slots=True)
class Tally:
    """How far the embedding phase has gone, for progress events."""

    total: int
    started: float = field(default_factory=time.monotonic)
    files: int = 0
    chunks: int = 0
    indexed: int = 0
    reported: int = 0  # files done, as the last progress said

    def progress(self, current: Writing | None = None) -> Progress:
        self.reported = self.files
        elapsed = max(time.monotonic() - self.started, 1e-6)
        inside = current.embedded / current.total if current and current.left else 0.0
        finished = self.files + inside
        eta = (self.total - finished) * elapsed / finished if finished else None
        if current is None:
            return Progress(self.files, self.total, self.chunks, self.chunks / elapsed, eta)
        return Progress(
            self.files,
            self.total,
            self.chunks,
            self.chunks / elapsed,
            eta,
            current.job.stat.path,
            current.embedded,
            current.total,
        )

    def reading(self, path: str, pages: int = 0) -> Progress:
        return replace(self.progress(), current=path, reading=True, pages_read=pages)
