"""PDF via PDFium: one piece per page.

A page with (almost) no text layer, a scanned one, is drawn and read by OCR when a
``TextReader`` is given, up to ``ocr_pages`` pages of one file; a PDF of typed pages
costs no OCR, and a mixed one only for its scanned pages.

PDFium is not thread-safe.  Extraction runs in worker processes with one file at a time
(see pool.py), so nothing here locks.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ExtractionFailed

from .base import Category, Document, Piece
from .pieces import split_long

if TYPE_CHECKING:
    import pypdfium2

    from core.ocr import TextReader

_METADATA_TITLE = "Title"
# A page is taken for a scan when its text layer holds fewer words than this (a scanner
# may stamp a page number or a date on it as text) and pictures cover at least this
# share of it.
SCANNED_BELOW_WORDS = 5
SCANNED_PICTURE_SHARE = 0.1
# Pages are drawn at this many dots per inch for OCR, or smaller for a very large page.
OCR_DPI = 200
OCR_LONGEST_SIDE = 2400
# Where a passage read by OCR sits: its page, marked as read from a picture of it.
SCAN_LOCATION = re.compile(r"page (\d+) \(scan\)")


def scan_location(number: int) -> str:
    return f"page {number} (scan)"


def scanned_page(location: str) -> int | None:
    """The page number of a passage read by OCR (``scan_location``); None for others."""
    found = SCAN_LOCATION.fullmatch(location)
    return int(found.group(1)) if found else None


class PdfExtractor:
    kind = "pdf"

    def __init__(self, reader: TextReader | None = None, ocr_pages: int = 50) -> None:
        self.reader = reader
        self.ocr_pages = ocr_pages

    def extract(self, path: Path) -> Document:
        pdf = _open(path)
        try:
            pieces = [piece for piece in self._pages(pdf) if piece.text.strip()]
            if not pieces:
                how = "OCR found none" if self.reader else "OCR is off"
                raise ExtractionFailed(
                    Category.NO_TEXT_LAYER,
                    f"none of its {len(pdf)} pages has text ({how})",
                )
            return Document(pieces=pieces, title=_title(pdf))
        finally:
            pdf.close()

    def _pages(self, pdf: pypdfium2.PdfDocument) -> list[Piece]:
        pieces: list[Piece] = []
        read_by_ocr = 0
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                text, where = _page_text(page), f"page {index + 1}"
                reader = self.reader if read_by_ocr < self.ocr_pages else None
                if reader is not None and _scanned(page, text):
                    read_by_ocr += 1
                    seen = reader.text(_drawn(page))
                    if len(seen) > len(text):
                        text, where = seen, scan_location(index + 1)
            finally:
                page.close()
            # Dense pages can exceed the piece size; every part keeps its page label.
            pieces.extend(Piece(run, where) for run in split_long(text))
        return pieces


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


def _scanned(page: Any, text: str) -> bool:
    """Whether a page is a picture of text rather than text: next to no text layer,
    and pictures over a good part of it."""
    import pypdfium2.raw as pdfium_c

    if len(text.split()) >= SCANNED_BELOW_WORDS:
        return False
    width, height = page.get_size()
    covered = 0.0
    for picture in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = picture.get_bounds()
        covered += max(0.0, right - left) * max(0.0, top - bottom)
    return bool(covered >= SCANNED_PICTURE_SHARE * max(width * height, 1e-6))


def _drawn(page: Any) -> Any:
    """The page as a picture for OCR (a Pillow image)."""
    width, height = page.get_size()  # in points, 72 to the inch
    scale = min(OCR_DPI / 72, OCR_LONGEST_SIDE / max(width, height, 1))
    bitmap = page.render(scale=scale)
    try:
        return bitmap.to_pil().copy()  # the copy outlives the bitmap's buffer
    finally:
        bitmap.close()


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
