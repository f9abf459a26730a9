"""What every extractor produces and promises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol


class Category:
    """Stable labels for why a file could not be indexed."""

    PASSWORD = "password protected"
    CORRUPT = "corrupt"
    WRONG_TYPE = "not what its extension says"
    NO_TEXT_LAYER = "no text layer"
    UNSUPPORTED = "unsupported"
    TOO_LARGE = "too large"
    TIMEOUT = "timed out"
    UNREADABLE = "unreadable"
    EMPTY = "no text"
    CRASHED = "extractor crashed"
    CHANGING = "being written"
    # Not a failure: an indexed file of which only the beginning is searchable.
    PARTIAL = "partly indexed"


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text and where it sits in its document ("page 3", "line 40", "Setup")."""

    text: str
    location: str = ""


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A picture shrunk for a model that reads pictures (core.picture_model): plain RGB
    pixels, row by row, so the process that embeds it decodes no file format."""

    width: int
    height: int
    pixels: bytes

    def image(self) -> Any:
        """The pixels as a Pillow image."""
        from PIL import Image

        return Image.frombytes("RGB", (self.width, self.height), self.pixels)


@dataclass(slots=True)
class Document:
    """The text of one file, in reading order."""

    pieces: list[Piece] = field(default_factory=list)
    title: str | None = None
    # Only the beginning of the file's text: it was longer than Trove keeps of one file.
    truncated: bool = False
    # When a photo was taken (its camera's clock, local time): date filters use it
    # instead of the file's modification time, which a copy or an edit changes.
    taken: datetime | None = None
    # A picture's pixels, shrunk, when pictures are searched by what they show.
    thumbnail: Thumbnail | None = None

    @property
    def char_count(self) -> int:
        return sum(len(p.text) for p in self.pieces)


class Extractor(Protocol):
    """Turns one kind of file into a Document or raises ExtractionFailed."""

    kind: str  # "pdf", "docx", "markdown", "html", "text", "code", ...

    def extract(self, path: Path) -> Document: ...


def size_label(count: int) -> str:
    """A byte count as a person reads it in a failure reason: "10 bytes", "2 KB",
    "3.0 MB", "512 MB", "1.5 GB"."""
    kb, mb = 1024, 1024 * 1024
    if count >= 1024 * mb:
        return f"{count / (1024 * mb):.1f} GB"
    if count >= mb:
        return f"{count / mb:.1f} MB" if count < 10 * mb else f"{count / mb:.0f} MB"
    if count >= kb:
        return f"{count / kb:.0f} KB"
    return f"{count} bytes"
