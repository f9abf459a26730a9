"""Progress events yielded by long operations, and the token that cancels them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


class CancelToken:
    """Set from any thread; long operations check it between batches.

    A token made with a ``parent`` is also cancelled when the parent is: the watcher
    cancels one indexing pass (to pause) without stopping itself.
    """

    def __init__(self, parent: CancelToken | None = None) -> None:
        self._event = threading.Event()
        self._parent = parent

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or (self._parent is not None and self._parent.cancelled)


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know that does not stop the run."""

    message: str


@dataclass(frozen=True, slots=True)
class ScanDone:
    files_seen: int
    unchanged: int
    to_index: int
    moved: int = 0
    copied: int = 0
    deleted: int = 0


@dataclass(frozen=True, slots=True)
class FileFailed:
    path: str
    category: str
    reason: str


@dataclass(frozen=True, slots=True)
class Progress:
    """How far embedding has gone.  ``files_done`` counts files finished (written, or
    failed); inside a file of many passages, ``file_chunks_done`` of ``file_chunks`` say
    how far into ``current`` the model is, so a large file shows movement too."""

    files_done: int
    files_total: int
    chunks_done: int
    chunks_per_s: float
    eta_s: float | None
    current: str = ""
    file_chunks_done: int = 0
    file_chunks: int = 0
    reading: bool = False  # ``current`` is still being read, before any of it is embedded
    pages_read: int = 0  # while reading: its pages (or pictures) OCR has read so far


@dataclass(frozen=True, slots=True)
class Finished:
    files_indexed: int = 0
    files_failed: int = 0
    chunks_embedded: int = 0
    elapsed_s: float = 0.0
    cancelled: bool = False
    failures: list[FileFailed] = field(default_factory=list)


Event = Notice | ScanDone | FileFailed | Progress | Finished
