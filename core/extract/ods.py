"""OpenDocument spreadsheets (.ods): each sheet's rows, streamed from content.xml.

A sheet often declares a million repeated empty rows or columns to fill its grid;
repeats are counted, never copied out.
"""

from __future__ import annotations

from .archive import Archive
from .base import Piece
from .odf import cell_text, inline
from .pieces import Rows, column_name
from .xmltree import Element, attribute, local, stream

# Identical neighbouring cells or rows are stored once with a repeat count; a few copies
# keep a row such as "0 | 0 | 0" whole, and a repeat across the whole grid stays short.
_MAX_COPIES = 10


def read_spreadsheet(archive: Archive) -> list[Piece]:
    pieces: list[Piece] = []
    sheet = _Sheet("")
    depth = sheets = 0  # tables may nest inside cells; only the outer ones are sheets
    chunks = archive.chunks("content.xml")
    for event, node in stream(chunks, "content.xml", {"table", "table-row"}, {"table"}):
        if local(node.tag) == "table-row":
            sheet.row(node)
        elif event == "start":
            depth += 1
            if depth == 1:
                sheets += 1
                sheet = _Sheet(attribute(node, "name") or f"Sheet{sheets}")
        else:
            depth -= 1
            if depth == 0:
                pieces.extend(sheet.pieces())
    return pieces


class _Sheet:
    def __init__(self, name: str) -> None:
        self.name = name
        self.rows = Rows(name)
        self.comments: list[str] = []
        self.number = 0

    def row(self, row: Element) -> None:
        self.number += 1
        cells: list[str] = []
        column = 0
        for cell in row:
            if local(cell.tag) not in ("table-cell", "covered-table-cell"):
                continue
            repeat = _repeat(attribute(cell, "number-columns-repeated"))
            text = cell_text(cell) or _value(cell)
            if text:
                cells.extend([text] * min(repeat, _MAX_COPIES))
            self._comments(cell, column)
            column += repeat
        line = " | ".join(cells)
        repeat = _repeat(attribute(row, "number-rows-repeated"))
        for copy in range(min(repeat, _MAX_COPIES) if line else 0):
            self.rows.add(self.number + copy, line)
        self.number += repeat - 1

    def pieces(self) -> list[Piece]:
        pieces = self.rows.pieces()
        if self.comments:
            pieces.append(Piece("\n".join(self.comments), f"{self.name}, comments"))
        return pieces

    def _comments(self, cell: Element, column: int) -> None:
        for note in cell:
            if local(note.tag) != "annotation":
                continue
            texts = (inline(p)[0] for p in note.iter() if local(p.tag) == "p")
            text = " ".join(t for t in texts if t)
            if text:
                self.comments.append(f"{column_name(column)}{self.number}: {text}")


def _value(cell: Element) -> str:
    """A cell's value when it has no displayed text (written by some generators)."""
    for name in ("value", "date-value", "time-value", "boolean-value", "string-value"):
        value = attribute(cell, name)
        if value:
            return value
    return ""


def _repeat(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1
