"""Word documents (.docx) via python-docx: body text and tables in reading order."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ExtractionFailed

from .archive import MB, Archive, ZipLimits, refuse_ole
from .base import Category, Document
from .package import expect
from .pieces import Outline, Sections

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document as WordDocument
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

# python-docx holds every part in memory, so a Word file gets a smaller budget.
DOCX_LIMITS = ZipLimits(max_total_bytes=200 * MB)
_HEADING = re.compile(r"^(?:Heading|heading)\s*(\d)?")
_MAX_TABLE_DEPTH = 5


class DocxExtractor:
    kind = "docx"

    def __init__(self, limits: ZipLimits = DOCX_LIMITS) -> None:
        self.limits = limits

    def extract(self, path: Path) -> Document:
        self._check_container(path)
        word = _open(path)
        return _Reader(word).run()

    def _check_container(self, path: Path) -> None:
        """Refuse encrypted, foreign and zip-bomb files before python-docx unpacks them."""
        refuse_ole(path, "a Word document", "legacy Word (.doc) document")
        with Archive(path, self.limits) as archive:
            expect(archive, frozenset({"docx", "ooxml"}), "a Word document")


def _open(path: Path) -> WordDocument:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    # lxml's XMLSyntaxError is a SyntaxError; a KeyError is a part the package lacks.
    damaged = (PackageNotFoundError, KeyError, SyntaxError, zipfile.BadZipFile, zlib.error)
    try:
        return docx.Document(str(path))
    except damaged as error:
        raise ExtractionFailed(
            Category.CORRUPT, f"the document is damaged or incomplete ({error})"
        ) from None
    except ValueError as error:
        # python-docx's way of saying the package is a workbook or a presentation.
        if "not a Word file" not in str(error):
            raise
        raise ExtractionFailed(
            Category.WRONG_TYPE, "it is an Office file of another kind, not a Word document"
        ) from None


class _Reader:
    """Walks the body once, turning headings into sections and tables into rows of text."""

    def __init__(self, word: WordDocument) -> None:
        self.word = word
        self.sections = Sections()
        self.outline = Outline(title_level=0)
        self.title: str | None = (word.core_properties.title or "").strip() or None
        self.paragraphs = 0

    def run(self) -> Document:
        from docx.text.paragraph import Paragraph

        for block in self.word.iter_inner_content():
            if isinstance(block, Paragraph):
                self._paragraph(block)
            else:
                self.sections.add("\n".join(_table_lines(block)), self._where())
        for text in _headers_and_footers(self.word):
            self.sections.add(text, "header and footer")
        return Document(pieces=self.sections.pieces(), title=self.title)

    def _paragraph(self, paragraph: Paragraph) -> None:
        text = paragraph.text.strip()
        if not text:
            return
        self.paragraphs += 1
        level = _heading_level(paragraph)
        if level is None:
            self.sections.add(text, self._where())
            return
        if self.title is None and level <= 1:
            self.title = text
        self.sections.heading(self.outline.enter(level, text), text)

    def _where(self) -> str:
        return f"paragraph {max(self.paragraphs, 1)}"


def _heading_level(paragraph: Paragraph) -> int | None:
    """1-9 for a heading, 0 for the Title style, None for body text."""
    style = paragraph.style
    name = (style.name or "") if style is not None else ""
    if name == "Title":
        return 0
    match = _HEADING.match(name)
    if match is None:
        return None
    return int(match.group(1) or 1)


def _table_lines(table: Table, depth: int = 0) -> Iterator[str]:
    """One line per row, cells separated by " | "; nested tables follow their row."""
    for row in table.rows:
        cells: list[str] = []
        nested: list[Table] = []
        for cell in row.cells:
            text = _cell_text(cell)
            # A merged cell is repeated once per grid column it spans.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
            nested.extend(cell.tables)
        if cells:
            yield " | ".join(cells)
        if depth < _MAX_TABLE_DEPTH:
            for inner in nested:
                yield from _table_lines(inner, depth + 1)


def _cell_text(cell: _Cell) -> str:
    return " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())


def _headers_and_footers(word: WordDocument) -> list[str]:
    """Distinct header and footer text (sections often share or repeat them)."""
    seen: list[str] = []
    for section in word.sections:
        for part in (section.header, section.footer):
            text = "\n".join(p.text.strip() for p in part.paragraphs if p.text.strip())
            if text and text not in seen:
                seen.append(text)
    return seen
