"""Text in pictures and scanned PDFs, read on the device (core/ocr.py): real OCR on
pictures drawn here, photos without text, hostile pictures, and scans found by meaning."""

from __future__ import annotations

import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from benchmarks.ocr_quality import PICTURES, accuracy, save, truth
from core.app import Trove
from core.errors import ExtractionFailed
from core.extract import Category, Document, ExtractionPool, Registry
from core.extract.image import ImageExtractor, photo_facts
from core.extract.pdf import PdfExtractor
from core.ocr import TextReader, model_files, read_characters
from tests.conftest import SHARED, open_trove, run_index

MB = 1024 * 1024
PICTURE = {picture.name: picture for picture in PICTURES}


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader()


def _drawn(tmp_path: Path, name: str) -> Path:
    return save(PICTURE[name], tmp_path)


def _text(document: Document) -> str:
    return "\n".join(piece.text for piece in document.pieces if piece.location != "picture")


def test_the_recognisers_alphabet_comes_from_the_model_file() -> None:
    _detector, _recogniser, characters = model_files()
    alphabet = read_characters(characters)
    assert alphabet[0] == "" and alphabet[-1] == " "  # CTC's blank first, a space last
    assert {"A", "z", "7", "€", ":"} <= set(alphabet)


def test_a_photographed_receipt_is_read_with_the_spaces_between_its_words(
    tmp_path: Path, reader: TextReader
) -> None:
    path = _drawn(tmp_path, "receipt.jpg")  # 20 px, turned 1.5 degrees, JPEG quality 55
    text = _text(ImageExtractor(reader).extract(path))
    assert "Amount paid: 46.50 by card" in text
    assert accuracy(text, truth(PICTURE["receipt.jpg"])) >= 0.95


def test_small_slanted_print_is_read_row_by_row(tmp_path: Path, reader: TextReader) -> None:
    path = _drawn(tmp_path, "library_slip.jpg")  # 10 px, turned 4 degrees, JPEG quality 40
    lines = _text(ImageExtractor(reader).extract(path)).splitlines()
    assert lines == list(PICTURE["library_slip.jpg"].lines)


def test_a_two_column_page_is_read_one_column_after_the_other(
    tmp_path: Path, reader: TextReader
) -> None:
    path = _drawn(tmp_path, "newsletter_page.png")
    text = _text(ImageExtractor(reader).extract(path))
    left, right = PICTURE["newsletter_page.png"].columns or ((), ())
    assert text.splitlines() == [*left, *right]


def test_light_text_on_a_dark_photo_is_read(tmp_path: Path, reader: TextReader) -> None:
    path = _drawn(tmp_path, "pool_notice.webp")
    assert "swimming pool is closed for maintenance" in _text(ImageExtractor(reader).extract(path))


def test_a_photo_without_text_is_a_document_of_its_name_and_camera_facts(
    tmp_path: Path, reader: TextReader
) -> None:
    path = _photo(tmp_path / "IMG_2041.jpg")
    document = ImageExtractor(reader).extract(path)
    assert [piece.location for piece in document.pieces] == ["picture"]
    assert document.pieces[0].text == (
        "IMG_2041\nPhoto taken on 14 July 2024 at 09:30 with a Canon EOS 80D at 48.8581, 2.2944."
    )
    with Image.open(path) as image:
        facts = photo_facts(image)
    assert facts.position == pytest.approx((48.858056, 2.294444), abs=1e-5)


def test_with_ocr_off_a_picture_is_its_name_and_a_scan_says_why_it_has_no_text(
    tmp_path: Path,
) -> None:
    picture = _drawn(tmp_path, "receipt.jpg")
    assert [p.location for p in ImageExtractor(None).extract(picture).pieces] == ["picture"]
    with pytest.raises(ExtractionFailed) as caught:
        PdfExtractor(None).extract(_drawn(tmp_path, "boiler_scan.pdf"))
    assert caught.value.category == Category.NO_TEXT_LAYER
    assert "OCR is off" in caught.value.reason


def test_a_scanned_pdf_is_read_by_ocr_and_keeps_its_page_numbers(
    tmp_path: Path, reader: TextReader
) -> None:
    first, second = _drawn(tmp_path, "boiler_scan.pdf"), _drawn(tmp_path, "insurance_scan.pdf")
    both = _joined_pdf(tmp_path / "both.pdf", first, second)
    document = PdfExtractor(reader).extract(both)
    pages = {piece.location: piece.text for piece in document.pieces}
    assert "serviced every twelve months" in pages["page 1 (scan)"]
    assert "Claim reference 77-AX-310" in pages["page 2 (scan)"]


def test_a_mixed_pdf_reads_only_its_scanned_pages_by_ocr_up_to_the_cap(
    tmp_path: Path, reader: TextReader
) -> None:
    typed = SHARED / "docs_robustness" / "pdf" / "sf__minimal-document.pdf"
    scan = _drawn(tmp_path, "boiler_scan.pdf")
    mixed = _joined_pdf(tmp_path / "mixed.pdf", typed, scan, scan)
    counted = _Counting(reader)
    document = PdfExtractor(counted, ocr_pages=1).extract(mixed)  # type: ignore[arg-type]
    located = {piece.location for piece in document.pieces}
    assert counted.calls == 1  # the typed page costs no OCR, the third is over the cap
    assert {"page 1", "page 2 (scan)"} <= located and "page 3" not in located


def test_the_image_only_pdf_of_the_shared_corpus_becomes_searchable(reader: TextReader) -> None:
    path = SHARED / "docs_robustness" / "pdf" / "tika__testOCR.pdf"
    assert "Happy New Year 2003" in _text(PdfExtractor(reader).extract(path))


# -- hostile pictures, in a real worker process ----------------------------------------------


@pytest.fixture(scope="module")
def pool():  # type: ignore[no-untyped-def]
    with ExtractionPool(workers=1, timeout_s=60, memory_mb=2048, max_bytes=100 * MB) as pool:
        yield pool


def _failure(pool: ExtractionPool, path: Path) -> ExtractionFailed:
    with pytest.raises(ExtractionFailed) as caught:
        pool.extract(path)
    return caught.value


def test_a_truncated_jpeg_is_a_recorded_failure(pool: ExtractionPool, tmp_path: Path) -> None:
    whole = _drawn(tmp_path, "receipt.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole[: len(whole) // 2])
    failure = _failure(pool, cut)
    assert failure.category == Category.CORRUPT and "truncated" in failure.reason


def test_a_decompression_bomb_is_refused_before_it_is_decoded(
    pool: ExtractionPool, tmp_path: Path
) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(_png(100_000, 100_000, rows=10))  # claims 10 gigapixels in a few bytes
    failure = _failure(pool, bomb)
    assert failure.category == Category.TOO_LARGE
    assert "100000 x 100000 pixels" in failure.reason


def test_a_30000_pixel_square_picture_is_refused_and_the_worker_lives_on(
    pool: ExtractionPool, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png(30_000, 30_000))  # a real, complete 1-bit PNG of 900 megapixels
    started = time.monotonic()
    assert _failure(pool, huge).category == Category.TOO_LARGE
    assert time.monotonic() - started < 10
    readable = _drawn(tmp_path, "parking_permit.png")
    assert "permit number 5521" in _text(pool.extract(readable))


def test_a_text_file_named_like_a_picture_is_a_recorded_failure(
    pool: ExtractionPool, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.png"
    fake.write_text("not a picture at all\n" * 20)
    assert _failure(pool, fake).category == Category.CORRUPT


# -- a long scan: the worker says it moves on, and the time limit is on silence ---------------


class _Slow:
    """Reads for 2 s in steps of 0.4 s, saying after each that it moves on (or not)."""

    kind = "slow"

    def __init__(self, registry: Registry, speaks: bool) -> None:
        self.registry, self.speaks = registry, speaks

    def extract(self, path: Path) -> Document:
        for _ in range(5):
            time.sleep(0.4)
            if self.speaks and self.registry.ocr is not None:
                self.registry.ocr.progress()
        from core.extract import Piece

        return Document([Piece("read at last")])


def slow_registry(speaks: bool = True, **_: object) -> Registry:
    registry = Registry(TextReader())
    registry.register(_Slow(registry, speaks), ("slow",), accepts=None)
    return registry


@pytest.mark.parametrize("speaks", [True, False])
def test_the_time_limit_is_on_silence_not_on_a_long_scan(tmp_path: Path, speaks: bool) -> None:
    path = tmp_path / "long.slow"
    path.write_text("pages")
    options = {"speaks": speaks}
    with ExtractionPool(
        1, 1.0, 2048, MB, registry_factory="tests.test_ocr:slow_registry", registry_options=options
    ) as pool:
        if speaks:
            assert pool.extract(path).pieces[0].text == "read at last"
        else:
            assert _failure(pool, path).category == Category.TIMEOUT


def test_while_a_scan_is_read_its_pages_read_so_far_are_known(tmp_path: Path) -> None:
    path = tmp_path / "long.slow"
    path.write_text("pages")
    seen: list[int] = []
    with (
        ExtractionPool(1, 5.0, 2048, MB, registry_factory="tests.test_ocr:slow_registry") as pool,
        ThreadPoolExecutor(1) as reading,
    ):
        read = reading.submit(pool.extract, path)
        while not wait([read], timeout=0.05).done:
            seen.append(pool.pages_read(str(path)))
        assert read.result().pieces[0].text == "read at last"
        assert pool.pages_read(str(path)) == 0  # read: nothing in progress
    counts = sorted(set(seen))
    assert counts[-1] >= 4 and counts[0] <= 1, counts
    assert seen == sorted(seen)  # it only moves on


# -- found by meaning, with the real model ---------------------------------------------------


@pytest.mark.model
def test_a_scan_and_a_photographed_page_are_found_by_a_paraphrase(
    tmp_path: Path, real_embedder: object
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("boiler_scan.pdf", "bread_recipe.jpg", "dentist_letter.png"):
        save(PICTURE[name], folder)
    _photo(folder / "IMG_2041.jpg")
    (folder / "note.txt").write_text("Remember to water the fig tree on Sundays.\n")
    trove = open_trove(real_embedder)
    try:
        trove.add_folder(folder)
        finished, _ = run_index(trove)
        assert finished.files_indexed == 5 and not finished.failures
        for name in ("boiler_scan.pdf", "bread_recipe.jpg"):
            query = PICTURE[name].query
            assert Path(trove.search(query, 3, floor=False)[0].path).name == name, query
        photo = trove.search("IMG_2041", 3)
        assert photo and Path(photo[0].path).name == "IMG_2041.jpg"
    finally:
        trove.close()


# -- helpers ---------------------------------------------------------------------------------


class _Counting:
    def __init__(self, reader: TextReader) -> None:
        self.reader, self.calls = reader, 0

    def text(self, image: Image.Image) -> str:
        self.calls += 1
        return self.reader.text(image)


def _photo(path: Path) -> Path:
    """A photo with no text in it, with its camera's facts: when, with what, where."""
    image = Image.radial_gradient("L").resize((640, 480)).convert("RGB")
    exif = Image.Exif()
    exif[271], exif[272] = "Canon", "Canon EOS 80D"
    exif.get_ifd(0x8769)[36867] = "2024:07:14 09:30:00"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    image.save(path, exif=exif, quality=85)
    return path


def _joined_pdf(path: Path, *parts: Path) -> Path:
    joined = pypdfium2.PdfDocument.new()
    for part in parts:
        source = pypdfium2.PdfDocument(part)
        joined.import_pages(source)
        source.close()
    joined.save(path)
    joined.close()
    return path


def _png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit black PNG of ``width`` x ``height``, with ``rows`` rows of pixel data (all
    of them when None), made without ever holding the picture in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    data = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    data += packer.flush()
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_a_photo_is_dated_by_when_it_was_taken_for_date_filters(
    tmp_path: Path, fake_trove: Trove
) -> None:
    from datetime import datetime, timedelta

    folder = tmp_path / "camera"
    folder.mkdir()
    _photo(folder / "IMG_2041.jpg")  # taken 14 July 2024; the file itself is new
    (folder / "IMG_2041.txt").write_text("IMG_2041 caption: the Eiffel Tower at dawn\n")
    fake_trove.add_folder(folder)
    run_index(fake_trove)
    week = datetime.now() - timedelta(days=7)

    def names(since: datetime) -> set[str]:
        found = fake_trove.search("IMG_2041", 10, since=since, floor=False)
        return {Path(result.path).name for result in found}

    assert names(week) == {"IMG_2041.txt"}
    assert names(datetime(2024, 7, 1)) == {"IMG_2041.jpg", "IMG_2041.txt"}
    assert names(datetime(2024, 7, 15)) == {"IMG_2041.txt"}
