"""Pictures in the window: a photo's or a scanned page's thumbnail in its result row, and
the picture above its text in the preview, drawn off the GUI thread."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

from PIL import Image
from pytestqt.qtbot import QtBot

from benchmarks.ocr_quality import PICTURES, save
from core.pictures import picture
from desktop.pictures import Pictures
from tests.desktop_support import running_app, search, wait_for
from tests.fakes import FakeEmbedder
from tests.test_ocr import _joined_pdf, _png

SCAN = next(p for p in PICTURES if p.name == "boiler_scan.pdf")


def _size(png: bytes | None) -> tuple[int, int]:
    assert png is not None
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_a_photo_and_a_scanned_page_are_drawn_at_the_size_asked(tmp_path: Path) -> None:
    photo = tmp_path / "wide.jpg"
    Image.new("RGB", (1600, 900), "#406080").save(photo)
    assert _size(picture(str(photo), "picture", 200)) == (200, 113)
    scan = _joined_pdf(tmp_path / "two.pdf", save(SCAN, tmp_path), save(SCAN, tmp_path))
    assert max(_size(picture(str(scan), "page 2 (scan)", 300))) == 300
    assert picture(str(scan), "page 1", 300) is None  # a typed page: its text is enough
    assert picture(str(scan), "page 9 (scan)", 300) is None  # no such page


def test_a_picture_too_large_or_gone_is_not_drawn(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    huge.write_bytes(_png(30_000, 30_000, rows=10))
    assert picture(str(huge), "picture", 200) is None
    assert picture(str(tmp_path / "gone.jpg"), "picture", 200) is None


def test_pictures_arrive_from_their_thread_and_are_kept(qtbot: QtBot, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (640, 480), "#806040").save(photo)
    pictures = Pictures()
    try:
        result = SimpleNamespace(path=str(photo), location="picture")
        with qtbot.waitSignal(pictures.ready, timeout=10_000) as arrived:
            assert pictures.get(result, 96) is None  # asked for: it comes later
        assert arrived.args == [str(photo), "picture"]
        image = pictures.get(result, 96)
        assert image is not None and (image.width(), image.height()) == (96, 72)
        text = SimpleNamespace(path=str(tmp_path / "notes.txt"), location="line 1")
        assert not pictures.has(text) and pictures.get(text, 96) is None
    finally:
        pictures.shutdown()


def test_a_photographed_notice_shows_its_picture_above_its_text(
    qtbot: QtBot, tmp_path: Path
) -> None:
    folder = tmp_path / "pictures"
    folder.mkdir()
    notice = save(next(p for p in PICTURES if p.name == "pool_notice.webp"), folder)
    with running_app(qtbot, FakeEmbedder()) as window:
        window.engine.add_folder(str(folder))
        wait_for(qtbot, lambda: bool(search(qtbot, window, "swimming maintenance")))
        window.list.setCurrentIndex(window.results.index(0))
        wait_for(qtbot, lambda: window.preview.picture.isVisible(), 10_000)
        assert window.selected().path == str(notice)
        assert not window.preview.picture.pixmap().isNull()
        assert "swimming pool is closed" in window.preview.text.toPlainText()
        # The row draws the thumbnail, which is kept for it.
        row = window.selected()
        wait_for(qtbot, lambda: window.engine.pictures.get(row, 96) is not None, 10_000)
