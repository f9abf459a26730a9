"""CSV and TSV files: rows in pieces, each piece opening with the header row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .base import Document, Piece
from .decoding import decode
from .pieces import Rows
from .text import blocks

_DELIMITERS = ",;\t|"
# The delimiter shows in the first lines; sniffing more only costs time.
_SNIFF_CHARS = 16 * 1024


class DelimitedExtractor:
    kind = "csv"

    def extract(self, path: Path) -> Document:
        text = decode(path.read_bytes())
        default = "\t" if path.suffix.lower() == ".tsv" else ","
        return Document(table_pieces(text, _delimiter(text, default)))


def table_pieces(text: str, delimiter: str) -> list[Piece]:
    """Rows numbered as a spreadsheet would (the header is row 1), cells joined by " | ".

    A file the csv module cannot parse (a field beyond its size limit, stray NULs) is
    still text, and is read as plain text instead.
    """
    rows = Rows(repeat_header=True)
    try:
        for number, fields in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
            cells = [field.strip() for field in fields]
            while cells and not cells[-1]:
                cells.pop()
            rows.add(number, " | ".join(cells))
    except csv.Error:
        return blocks(text)
    return rows.pieces()


def _delimiter(text: str, default: str) -> str:
    sample = text[:_SNIFF_CHARS]
    cut = sample.rfind("\n")
    if cut > 0:
        sample = sample[:cut]  # a partial last line would skew the counts
    try:
        return csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return default
