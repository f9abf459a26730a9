"""PDF via PDFium: one piece per page.

PDFium is not thread-safe.  Extraction runs in worker processes with one file at a time
(see pool.py), so nothing here locks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ExtractionFailed

from .base import Category, Document, Piece
from .pieces import split_long

if TYPE_CHECKING:
    import pypdfium2

_METADATA_TITLE = "Title"


class PdfExtractor:
    kind = "pdf"

    def extract(self, path: Path) -> Document:
        pdf = _open(path)
        try:
            pieces = [piece for piece in _pages(pdf) if piece.text.strip()]
            if not pieces:
                raise ExtractionFailed(
                    Category.NO_TEXT_LAYER,
                    f"none of its {len(pdf)} pages has text (a scan without OCR?)",
                )
            return Document(pieces=pieces, title=_title(pdf))
        finally:
            pdf.close()


def _open(path: Path) -> pypdfium2.PdfDocument:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    # The raw call, unlike PdfDocument(path), tells a failed load (NULL) from a valid
    # PDF with no pages; PDFium's last-error code is only fresh after a failure.
    # No password: PDFium then tries the empty one, which opens "protected" PDFs that
    # only restrict printing or copying.
    raw = pdfium_c.FPDF_LoadDocument(os.fsencode(path) + b"\x00", None)
    if not raw:
        raise _failure(path, pdfium_c.FPDF_GetLastError())
    pdf = pypdfium2.PdfDocument(raw)
    if len(pdf) == 0:
        pdf.close()
        raise ExtractionFailed(Category.EMPTY, "the PDF has no pages")
    return pdf


def _failure(path: Path, code: int) -> ExtractionFailed:
    import pypdfium2.raw as pdfium_c

    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return ExtractionFailed(Category.PASSWORD, "it needs a password to open")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return ExtractionFailed(Category.PASSWORD, "it is encrypted in a way Trove cannot open")
    if not _has_pdf_header(path):
        return ExtractionFailed(Category.WRONG_TYPE, "it does not start like a PDF file")
    return ExtractionFailed(Category.CORRUPT, "the PDF is damaged and cannot be read")


def _has_pdf_header(path: Path) -> bool:
    with path.open("rb") as file:
        return b"%PDF-" in file.read(1024)


def _pages(pdf: pypdfium2.PdfDocument) -> list[Piece]:
    pieces: list[Piece] = []
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            text = _page_text(page)
        finally:
            page.close()
        # Dense pages can exceed the piece size; every part keeps its page label.
        pieces.extend(Piece(run, f"page {index + 1}") for run in split_long(text))
    return pieces


def _page_text(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        text: str = textpage.get_text_range()
    finally:
        textpage.close()
    # PDFium ends lines with CRLF and marks soft hyphens/unknowns with control characters.
    return text.replace("\r\n", "\n").replace("\ufffe", "").replace("\x02", "")


def _title(pdf: pypdfium2.PdfDocument) -> str | None:
    import pypdfium2

    try:
        title = str(pdf.get_metadata_value(_METADATA_TITLE)).strip()
    except (pypdfium2.PdfiumError, UnicodeDecodeError):
        return None  # garbled metadata must not cost us the text
    return title or None
