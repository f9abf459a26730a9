"""Plain records that cross the store's boundary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def dir_key(path: str) -> str:
    """The parent folder of ``path`` ending in a separator, as stored for prefix filters."""
    return os.path.join(os.path.dirname(path), "")


def folder_prefix_bounds(folder: str) -> tuple[str, str]:
    """Bounds so that ``low <= dir < high`` holds for every file at or below ``folder``."""
    low = os.path.join(folder, "")
    return low, low[:-1] + chr(ord(low[-1]) + 1)


@dataclass(frozen=True, slots=True)
class Folder:
    id: int
    path: str
    ignore: str = ""
    poll: bool = False  # watched by polling (network shares, removable drives)


@dataclass(frozen=True, slots=True)
class FileStat:
    """A file as the scanner found it on disk."""

    path: str
    folder_id: int
    size: int
    mtime_ns: int
    kind: str

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def columns(self) -> tuple[int, str, str, str, str, str, int, int]:
        """folder_id, path, dir, name, ext, kind, size, mtime_ns: as the files table has them."""
        return (
            self.folder_id,
            self.path,
            self.dir,
            self.name,
            self.ext,
            self.kind,
            self.size,
            self.mtime_ns,
        )

    @property
    def ext(self) -> str:
        return Path(self.path).suffix.lower().lstrip(".")

    @property
    def dir(self) -> str:
        return dir_key(self.path)


@dataclass(frozen=True, slots=True)
class FileRow:
    """A file as the index remembers it."""

    id: int
    folder_id: int
    path: str
    size: int
    mtime_ns: int
    hash: str | None
    state: str
    kind: str

    def unchanged(self, stat: FileStat) -> bool:
        return self.size == stat.size and self.mtime_ns == stat.mtime_ns


@dataclass(frozen=True, slots=True)
class Chunk:
    """One passage of a document: its text, where it sits, and its character span."""

    ord: int
    start: int
    end: int
    location: str
    text: str


FILE_STATES = ("indexed", "pending", "failed", "excluded", "unsupported")
