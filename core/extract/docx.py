"""Word documents (.docx) via python-docx: body text and tables in reading order."""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ExtractionFailed

from .base import Category, Document
from .pieces import Outline, Sections

if TYPE_CHECKING:
    from collections.abc import Iterator

    from docx.document import Document as WordDocument
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Office stores a password-protected .docx as a compound file holding this stream.
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_MB = 1024 * 1024
# Real documents compress text about 10:1; zeros compress 1000:1.  Small files may
# compress well without being a threat, so the ratio only counts above a floor.
_RATIO_FLOOR_BYTES = 20 * _MB
_HEADING = re.compile(r"^(?:Heading|heading)\s*(\d)?")
_MAX_TABLE_DEPTH = 5


class DocxExtractor:
    kind = "docx"

    def __init__(self, max_unpacked_bytes: int = 200 * _MB, max_ratio: int = 100) -> None:
        self.max_unpacked_bytes = max_unpacked_bytes
        self.max_ratio = max_ratio

    def extract(self, path: Path) -> Document:
        self._check_container(path)
        word = _open(path)
        return _Reader(word).run()

    def _check_container(self, path: Path) -> None:
        """Refuse encrypted, foreign and zip-bomb files before python-docx unpacks them."""
        with path.open("rb") as file:
            if file.read(len(OLE_MAGIC)) == OLE_MAGIC:
                raise _ole_failure(file.read())
        try:
            with zipfile.ZipFile(path) as archive:
                entries = archive.infolist()
        except (zipfile.BadZipFile, EOFError) as error:
            raise ExtractionFailed(Category.CORRUPT, f"the file is damaged ({error})") from None
        unpacked = sum(entry.file_size for entry in entries)
        packed = sum(entry.compress_size for entry in entries)
        if unpacked > self.max_unpacked_bytes:
            raise ExtractionFailed(
                Category.CORRUPT,
                f"it would unpack to {unpacked // _MB} MB, more than the "
                f"{self.max_unpacked_bytes // _MB} MB allowed (a zip bomb?)",
            )
        if unpacked > _RATIO_FLOOR_BYTES and unpacked > self.max_ratio * max(packed, 1):
            raise ExtractionFailed(
                Category.CORRUPT,
                f"it is compressed {unpacked // max(packed, 1)}:1, far beyond any real document "
                "(a zip bomb?)",
            )


def _ole_failure(rest: bytes) -> ExtractionFailed:
    if _ENCRYPTED_STREAM in rest:
        return ExtractionFailed(Category.PASSWORD, "the document is protected with a password")
    return ExtractionFailed(
        Category.WRONG_TYPE, "it is a legacy Word (.doc) or other Office file, not a .docx"
    )


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
