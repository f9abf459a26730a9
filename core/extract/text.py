"""Plain text and source code."""

from __future__ import annotations

from pathlib import Path

from .base import Document, Piece
from .decoding import decode
from .pieces import MAX_PIECE_CHARS, split_long

TITLE_MAX_CHARS = 150


class TextExtractor:
    """Reads a text file of any common encoding; one piece per blank-line-separated block."""

    def __init__(self, kind: str = "text") -> None:
        self.kind = kind

    def extract(self, path: Path) -> Document:
        text = decode(path.read_bytes())
        pieces = blocks(text)
        return Document(pieces=pieces, title=title_line(pieces) if self.kind == "text" else None)


def title_line(pieces: list[Piece]) -> str | None:
    """A short first line standing alone above the rest, as notes and papers open."""
    if len(pieces) < 2:
        return None
    first = pieces[0].text.strip()
    if "\n" in first or len(first) > TITLE_MAX_CHARS or first[-1] in ",;:":
        return None
    return first if any(ch.isalpha() for ch in first) else None


def blocks(text: str) -> list[Piece]:
    """Split text at blank lines; each piece is located by the line it starts on."""
    pieces: list[Piece] = []
    block: list[str] = []
    start = 1
    for number, line in enumerate(lines_of(text), start=1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            pieces.extend(_capped(block, start))
            block = []
    if block:
        pieces.extend(_capped(block, start))
    return pieces


def lines_of(text: str) -> list[str]:
    """Lines as editors count them: only CR, LF and CRLF end a line (not form feeds)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _capped(lines: list[str], start: int) -> list[Piece]:
    """One piece for the block, or several when it is too long, each with its own line."""
    text = "\n".join(lines)
    pieces: list[Piece] = []
    line = start
    for run in split_long(text, MAX_PIECE_CHARS):
        if run.strip():
            pieces.append(Piece(run.strip("\n"), f"line {line}"))
        line += run.count("\n")
    return pieces
