"""PDF and Word files, written here and read back, and their broken or hostile variants."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category, Registry
from core.extract.archive import ZipLimits
from core.extract.docx import DocxExtractor
from tests.extract_files import MB, extract, failure, ole_file

# ---------------------------------------------------------------- hand-made files


def make_pdf(path: Path, pages: list[str | None], title: str | None = None) -> Path:
    """A small valid PDF: one line of Helvetica text per page; None draws a box, no text."""
    catalog = "<< /Type /Catalog /Pages 2 0 R >>"
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    objects = [catalog, "", font]  # the page tree (2) is filled in once the pages exist
    kids = []
    for text in pages:
        if text is None:
            stream = "0 0 1 rg 100 100 200 200 re f"
        else:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            stream = f"BT /F1 12 Tf 72 720 Td ({escaped}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {len(objects)} 0 R >>"
        )
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>"
    objects.append(f"<< /Title ({title}) >>" if title else "<< >>")
    path.write_bytes(_pdf_file(objects))
    return path


def _pdf_file(objects: list[str]) -> bytes:
    """Numbered objects (the last one is /Info), a cross-reference table and a trailer."""
    body = b"%PDF-1.4\n"
    offsets = []
    for number, content in enumerate(objects, start=1):
        offsets.append(len(body))
        body += f"{number} 0 obj\n{content}\nendobj\n".encode("latin-1")
    xref = len(body)
    body += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    body += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    trailer = f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>"
    return body + f"{trailer}\nstartxref\n{xref}\n%%EOF\n".encode()


def make_docx(path: Path) -> Path:
    import docx

    word = docx.Document()
    word.core_properties.title = "Quarterly Report"
    word.add_paragraph("Prepared for the board.")
    word.add_heading("Revenue", level=1)
    word.add_paragraph("Revenue grew by twelve percent.")
    table = word.add_table(rows=2, cols=2)
    for row, (left, right) in enumerate([("Region", "Sales"), ("North", "42")]):
        table.cell(row, 0).text = left
        table.cell(row, 1).text = right
    word.add_heading("Outlook", level=2)
    word.add_paragraph("Next year looks bright.")
    word.save(str(path))
    return path


# ---------------------------------------------------------------- pdf


def test_pdf_gives_one_piece_per_page_and_the_metadata_title(
    registry: Registry, tmp_path: Path
) -> None:
    path = make_pdf(tmp_path / "report.pdf", ["First page text", "Second page text"], "Annual")
    document = extract(registry, path)
    assert [(p.location, p.text.strip()) for p in document.pieces] == [
        ("page 1", "First page text"),
        ("page 2", "Second page text"),
    ]
    assert document.title == "Annual"


def test_pdf_pages_without_text_have_no_text_layer(registry: Registry, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [None, None])
    assert failure(registry, path).category == Category.NO_TEXT_LAYER


def test_pdf_blank_pages_are_skipped(registry: Registry, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "mixed.pdf", [None, "Only the second page speaks"])
    assert [p.location for p in extract(registry, path).pieces] == ["page 2"]


def test_pdf_with_no_pages_is_empty(registry: Registry, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "nothing.pdf", [])
    assert failure(registry, path).category == Category.EMPTY


def test_damaged_pdf_is_corrupt(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catal" + os.urandom(64))
    assert failure(registry, path).category == Category.CORRUPT


def test_text_named_pdf_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_text("Dear reader, this is plain text.\n", encoding="utf-8")
    assert failure(registry, path).category == Category.WRONG_TYPE


def test_zip_named_pdf_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = make_docx(tmp_path / "report.docx").rename(tmp_path / "report.pdf")
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "ZIP" in failed.reason


# ---------------------------------------------------------------- docx


def test_docx_reads_paragraphs_and_tables_in_order_by_section(
    registry: Registry, tmp_path: Path
) -> None:
    document = extract(registry, make_docx(tmp_path / "report.docx"))
    assert document.title == "Quarterly Report"
    assert [(p.location, p.text) for p in document.pieces] == [
        ("paragraph 1", "Prepared for the board."),
        ("Revenue", "Revenue\n\nRevenue grew by twelve percent.\n\nRegion | Sales\nNorth | 42"),
        ("Revenue › Outlook", "Outlook\n\nNext year looks bright."),
    ]


def test_docx_title_falls_back_to_the_first_heading(registry: Registry, tmp_path: Path) -> None:
    import docx

    word = docx.Document()
    word.add_heading("Minutes of the meeting", level=0)  # the "Title" style
    word.add_paragraph("Attendees were few.")
    path = tmp_path / "minutes.docx"
    word.save(str(path))
    assert extract(registry, path).title == "Minutes of the meeting"


def test_pdf_named_docx_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "report.pdf", ["hello"]).rename(tmp_path / "report.docx")
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "PDF" in failed.reason


def test_truncated_docx_is_corrupt(registry: Registry, tmp_path: Path) -> None:
    whole = make_docx(tmp_path / "whole.docx").read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(whole[: len(whole) // 2])
    assert failure(registry, path).category == Category.CORRUPT


def test_plain_zip_named_docx_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = tmp_path / "hollow.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "not an office document")
    failed = failure(registry, path)
    assert failed.category == Category.WRONG_TYPE
    assert "plain ZIP archive" in failed.reason


def test_docx_missing_its_main_part_is_corrupt(registry: Registry, tmp_path: Path) -> None:
    source = make_docx(tmp_path / "source.docx")
    path = tmp_path / "hollow.docx"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as copy:
        for entry in original.infolist():
            if entry.filename != "word/document.xml":
                copy.writestr(entry, original.read(entry))
    assert failure(registry, path).category == Category.CORRUPT


def test_other_office_file_named_docx_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    source = make_docx(tmp_path / "source.docx")
    path = tmp_path / "workbook.docx"
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(path, "w") as copy:
        for entry in original.infolist():
            data = original.read(entry)
            if entry.filename == "[Content_Types].xml":
                word = b"application/vnd.openxmlformats-officedocument.wordprocessingml"
                data = data.replace(word + b".document.main+xml", sheet.encode())
            copy.writestr(entry, data)
    assert failure(registry, path).category == Category.WRONG_TYPE


@pytest.mark.parametrize("name", ["secret.docx", "secret.xlsx"])
def test_password_protected_office_file_needs_a_password(
    registry: Registry, tmp_path: Path, name: str
) -> None:
    path = ole_file(tmp_path / name, "EncryptedPackage")
    assert failure(registry, path).category == Category.PASSWORD


def test_legacy_word_file_named_docx_is_the_wrong_type(registry: Registry, tmp_path: Path) -> None:
    path = ole_file(tmp_path / "old.docx", "WordDocument")
    assert failure(registry, path).category == Category.WRONG_TYPE


def _docx_with_padding(source: Path, target: Path, padding_bytes: int) -> Path:
    """Copy of a real docx plus one highly compressible entry of zeros."""
    with (
        zipfile.ZipFile(source) as original,
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy,
    ):
        for entry in original.infolist():
            copy.writestr(entry, original.read(entry))
        copy.writestr("word/media/padding.bin", bytes(padding_bytes))
    return target


def test_docx_zip_bomb_is_refused_before_unpacking(registry: Registry, tmp_path: Path) -> None:
    source = make_docx(tmp_path / "source.docx")
    bomb = _docx_with_padding(source, tmp_path / "bomb.docx", 40 * MB)
    assert bomb.stat().st_size < 1 * MB
    failed = failure(registry, bomb)
    assert failed.category == Category.CORRUPT
    assert "decompression bomb" in failed.reason


def test_docx_unpacked_size_limit(tmp_path: Path) -> None:
    source = make_docx(tmp_path / "source.docx")
    padded = _docx_with_padding(source, tmp_path / "padded.docx", 2 * MB)
    assert DocxExtractor().extract(padded).title == "Quarterly Report"
    with pytest.raises(ExtractionFailed) as caught:
        DocxExtractor(ZipLimits(max_total_bytes=1 * MB)).extract(padded)
    assert caught.value.category == Category.CORRUPT
    assert "more than the 1.0 MB allowed" in caught.value.reason
